// Regressions found by the fuzzer (tools/fuzz/), one test per finding with the frame that
// triggered it; spec/framing.md PROTO-030, PROTO-031, PROTO-032, PROTO-048. Since PROTO-048 the
// deeply nested frames are refused by the structural scan before they are parsed; the tests keep
// the frames that once ended the process, now answered FRAME_TOO_COMPLEX.
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, startTestProvider } from './support/harness.ts';

/** JSON text of arrays nested `depth` deep: JSON.stringify of the parsed value overflows the stack. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('provider regressions found by the fuzzer', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([]);
  });
  after(() => provider.close());

  /** The error that answers an unparsed frame: no `re`, since its id was never read. */
  const isError = (f: Record<string, unknown>): boolean => f.type === 'error';

  // Seed 1, frame 687 (deep-nesting of request.respond): the UNKNOWN_TYPE message quoted the
  // type with JSON.stringify, which threw RangeError; logging the failure threw again, and the
  // rejection ended the provider process.
  it('answers a frame whose type is an array nested 20 000 deep with FRAME_TOO_COMPLEX and keeps serving (PROTO-048)', async () => {
    const alice = await firstParty(provider, 'deep-type', 0);
    alice.wire.raw(
      `{"v":1,"type":${nested(20_000)},"id":"f687","from":"bob@chat.example","action":"accept"}`,
    );
    const error = await alice.wire.next(isError);
    expect(error).to.include({ type: 'error', code: 'FRAME_TOO_COMPLEX' });
    expect(error).to.not.have.property('re');
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('answers a frame whose v is an array nested 20 000 deep with FRAME_TOO_COMPLEX before judging v (PROTO-030, PROTO-048)', async () => {
    const alice = await firstParty(provider, 'deep-v', 0);
    alice.wire.raw(`{"v":${nested(20_000)},"type":"ping","id":"deep-v"}`);
    expect(await alice.wire.next(isError)).to.include({ code: 'FRAME_TOO_COMPLEX' });
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('answers a member nested 20 000 deep with FRAME_TOO_COMPLEX (PROTO-048)', async () => {
    const alice = await firstParty(provider, 'deep-member', 0);
    alice.wire.raw(`{"v":1,"type":"consent.set","id":"deep-m","interop":${nested(20_000)}}`);
    expect(await alice.wire.next(isError)).to.include({ code: 'FRAME_TOO_COMPLEX' });
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('answers a member nested 32 deep, the most PROTO-048 lets through, with SCHEMA_VIOLATION at that member (PROTO-032)', async () => {
    const alice = await firstParty(provider, 'deep-member-ok', 0);
    alice.wire.raw(`{"v":1,"type":"consent.set","id":"deep-ok","interop":${nested(31)}}`);
    const error = await alice.wire.next((f) => f.re === 'deep-ok');
    expect(error).to.include({ type: 'error', code: 'SCHEMA_VIOLATION', pointer: '/interop' });
  });

  it('quotes at most 100 characters of an unknown type of 3 MB in its error message', async () => {
    // Authenticated: before auth.ok a 3 MB frame is too large (PROTO-047).
    const { wire } = await firstParty(provider, 'long-type', 0);
    wire.raw(JSON.stringify({ v: 1, type: 'x'.repeat(3_000_000), id: 'long-type' }));
    const error = await wire.next((f) => f.re === 'long-type');
    expect(error).to.include({ code: 'UNKNOWN_TYPE' });
    expect(error.message.length).to.be.below(140);
  });
});
