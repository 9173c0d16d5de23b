// The fuzzer (tools/fuzz/): its generator and oracle, and a seeded short run of 20 000 frames
// against `parley serve` with an honest conversation beside it (issue 7 part 4).
import { expect } from 'chai';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { loadSeeds } from '../../tools/fuzz/corpus.ts';
import { generate, type FuzzInput } from '../../tools/fuzz/mutators.ts';
import { CLOSE_INVALID_UTF8, expect as expectAnswer, judge } from '../../tools/fuzz/oracle.ts';
import { fuzz } from '../../tools/fuzz/run.ts';

const validator = createFrameValidator(SCHEMA_DIR);
const seeds = loadSeeds();
const MAX = 262_144;

function input(payload: string | Buffer, extra: Partial<FuzzInput> = {}): FuzzInput {
  return {
    index: 0,
    mutator: 'test',
    seedType: 'ping',
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    binary: false,
    fragments: 1,
    ...extra,
  };
}

describe('the fuzzer generator (tools/fuzz/mutators.ts)', () => {
  it('seeds from an example of every client frame type in spec/messages', () => {
    expect(seeds.map((s) => s.type)).to.include.members([
      'hello',
      'auth',
      'ping',
      'account.register',
      'keys.publish',
      'keys.claim',
      'message.send',
      'message.ack',
      'consent.set',
      'attachment.slot',
    ]);
  });

  it('makes the same input from the same seed and index, so every finding replays', () => {
    for (let i = 0; i < 200; i++) {
      const a = generate(42, i, seeds, { maxFrameBytes: MAX });
      const b = generate(42, i, seeds, { maxFrameBytes: MAX });
      expect(a).to.deep.equal(b);
    }
    const other = Array.from({ length: 50 }, (_, i) =>
      generate(43, i, seeds, { maxFrameBytes: MAX }),
    );
    const same = other.filter((x, i) =>
      x.payload.equals(generate(42, i, seeds, { maxFrameBytes: MAX }).payload),
    );
    expect(same.length).to.be.below(10);
  });

  it('uses every mutator, binary frames, invalid UTF-8, oversize frames and fragment storms within 5 000 inputs', () => {
    const inputs = Array.from({ length: 5000 }, (_, i) =>
      generate(7, i, seeds, { maxFrameBytes: MAX }),
    );
    const mutators = new Set(inputs.map((x) => x.mutator));
    expect([...mutators]).to.include.members([
      'valid',
      'wrong-type',
      'missing-member',
      'extra-member',
      'huge-number',
      'huge-string',
      'deep-nesting',
      'bad-base64',
      'broken-signal',
      'bad-enum',
      'envelope',
      'type-swap',
      'not-object',
      'bytes',
      'binary',
      'invalid-utf8',
      'oversize',
    ]);
    expect(inputs.some((x) => x.fragments >= 200)).to.equal(true);
    expect(
      inputs.filter((x) => x.mutator === 'oversize').every((x) => x.payload.length > MAX),
    ).to.equal(true);
  });
});

describe('the fuzzer oracle (tools/fuzz/oracle.ts, spec/framing.md PROTO-030)', () => {
  const ping = '{"v":1,"type":"ping","id":"a"}';

  it('expects the first fault in the order binary, size, UTF-8, JSON, v, type, state, schema', () => {
    const at = (i: FuzzInput, state: 'opened' | 'greeted' | 'authenticated' = 'greeted') =>
      expectAnswer(i, state, MAX, validator);
    expect(at(input(ping, { binary: true }))).to.include({
      kind: 'error',
      code: 'BINARY_NOT_SUPPORTED',
    });
    expect(at(input(Buffer.alloc(MAX + 1, 0xff)))).to.include({ code: 'FRAME_TOO_LARGE' });
    expect(at(input(Buffer.from([0x7b, 0xff, 0x7d])))).to.deep.equal({
      kind: 'close',
      code: CLOSE_INVALID_UTF8,
    });
    expect(at(input(`\ufeff${ping}`))).to.include({ code: 'BAD_JSON' });
    expect(at(input('{"v":2,"type":"nope","id":"a"}'))).to.include({
      code: 'UNSUPPORTED_VERSION',
      re: 'a',
    });
    expect(at(input('{"v":1,"type":"nope","id":"a"}'))).to.include({ code: 'UNKNOWN_TYPE' });
    expect(at(input(ping), 'opened')).to.include({ code: 'OUT_OF_ORDER' });
    expect(at(input('{"v":1,"type":"consent.get","id":"a"}'))).to.include({
      code: 'NOT_AUTHENTICATED',
    });
    expect(at(input('{"v":1,"type":"ping","id":"a","x":1}'))).to.include({
      code: 'SCHEMA_VIOLATION',
      pointer: '/x',
    });
    expect(at(input(ping))).to.deep.equal({ kind: 'handled', type: 'ping', re: 'a' });
  });

  it('finds INTERNAL, codes outside the registry, a wrong re and a missing close', () => {
    const handled = expectAnswer(input(ping), 'greeted', MAX, validator);
    const reply = (frame: Record<string, unknown>, closeCode?: number) => ({
      reply: { v: 1, ...frame },
      timedOut: false,
      ...(closeCode !== undefined ? { closeCode } : {}),
    });
    expect(judge(handled, reply({ type: 'pong', re: 'a' }), validator)).to.equal(undefined);
    expect(
      judge(handled, reply({ type: 'error', re: 'a', code: 'INTERNAL', message: 'x' }), validator),
    ).to.match(/INTERNAL/);
    expect(judge(handled, reply({ type: 'pong', re: 'b' }), validator)).to.match(/re/);
    expect(judge(handled, { timedOut: true }, validator)).to.match(/nothing/);
    const version = expectAnswer(
      input('{"v":2,"type":"ping","id":"a"}'),
      'greeted',
      MAX,
      validator,
    );
    const unsupported = { type: 'error', re: 'a', code: 'UNSUPPORTED_VERSION', message: 'x' };
    expect(judge(version, reply(unsupported, 4000), validator)).to.equal(undefined);
    expect(judge(version, reply(unsupported), validator)).to.match(/close 4000/);
  });
});

describe('a seeded fuzzing run against parley serve (issue 7)', function () {
  // 20 000 frames take 25-60 s on a shared, loaded 2-core machine; the bound leaves room.
  this.timeout(240_000);

  it('gets a registry error, the specified close or a valid reply for each of 20 000 fuzzed frames, with no unhandled error, nothing lost or duplicated in the honest conversation, and memory back to its baseline', async () => {
    const report = await fuzz({ frames: 20_000, seed: 20261126, connections: 32 });
    const shown = JSON.stringify(
      {
        findings: report.findings.slice(0, 5),
        server: report.serverProblems.slice(0, 5),
        honest: report.honest,
        memory: report.memory,
      },
      null,
      2,
    );
    expect(report.findings, shown).to.deep.equal([]);
    expect(report.serverProblems, shown).to.deep.equal([]);
    expect(report.frames).to.equal(20_000);
    expect(report.honest.accepted).to.be.at.least(20);
    expect(report.honest.lost).to.deep.equal([]);
    expect(report.honest.duplicated).to.deep.equal([]);
    expect(report.honest.failedSends).to.deep.equal([]);
    if (report.memory) expect(report.memory.ok, shown).to.equal(true);
    // The run reached every layer: envelope, state and schema checks, handlers after auth down to
    // the Signal body checks, and the closes.
    expect(Object.keys(report.answers)).to.include.members([
      'BAD_JSON',
      'BINARY_NOT_SUPPORTED',
      'FRAME_TOO_LARGE',
      'UNSUPPORTED_VERSION',
      'UNKNOWN_TYPE',
      'OUT_OF_ORDER',
      'NOT_AUTHENTICATED',
      'SCHEMA_VIOLATION',
      'NOT_SIGNAL_CIPHERTEXT',
      'DEVICE_MISMATCH',
      `close ${CLOSE_INVALID_UTF8}`,
      'pong',
      'consent.state',
    ]);
    expect(report.ok).to.equal(true);
  });
});
