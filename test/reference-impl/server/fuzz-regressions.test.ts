// Regressions found by the fuzzer (tools/fuzz/), one test per finding with the frame that
// triggered it; spec/framing.md PROTO-030, PROTO-031, PROTO-021, PROTO-032.
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, startTestProvider, Wire } from './support/harness.ts';

/** JSON text of arrays nested `depth` deep: JSON.stringify of the parsed value overflows the stack. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('provider regressions found by the fuzzer', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([]);
  });
  after(() => provider.close());

  async function greeted(): Promise<Wire> {
    const wire = await Wire.open(provider.wsUrl);
    expect((await wire.request('hello', { versions: [1] })).type).to.equal('welcome');
    return wire;
  }

  // Seed 1, frame 687 (deep-nesting of request.respond): the UNKNOWN_TYPE message quoted the
  // type with JSON.stringify, which threw RangeError; logging the failure threw again, and the
  // rejection ended the provider process.
  it('answers a frame whose type is an array nested 20 000 deep with UNKNOWN_TYPE at /type and keeps serving (PROTO-031)', async () => {
    const alice = await firstParty(provider, 'deep-type', 0);
    alice.wire.raw(
      `{"v":1,"type":${nested(20_000)},"id":"f687","from":"bob@chat.example","action":"accept"}`,
    );
    const error = await alice.wire.next((f) => f.re === 'f687');
    expect(error).to.include({ type: 'error', code: 'UNKNOWN_TYPE', pointer: '/type' });
    expect(error.message.length).to.be.below(200);
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('answers a frame whose v is an array nested 20 000 deep with UNSUPPORTED_VERSION and close 4000 (PROTO-021)', async () => {
    const wire = await greeted();
    wire.raw(`{"v":${nested(20_000)},"type":"ping","id":"deep-v"}`);
    const error = await wire.next((f) => f.re === 'deep-v');
    expect(error).to.include({ type: 'error', code: 'UNSUPPORTED_VERSION' });
    expect(await wire.closed).to.equal(4000);
    expect((await (await greeted()).request('ping')).type).to.equal('pong');
  });

  it('answers a member nested 20 000 deep with SCHEMA_VIOLATION at that member (PROTO-032)', async () => {
    const alice = await firstParty(provider, 'deep-member', 0);
    alice.wire.raw(`{"v":1,"type":"consent.set","id":"deep-m","interop":${nested(20_000)}}`);
    const error = await alice.wire.next((f) => f.re === 'deep-m');
    expect(error).to.include({ type: 'error', code: 'SCHEMA_VIOLATION', pointer: '/interop' });
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('quotes at most 100 characters of an unknown type of 3 MB in its error message', async () => {
    const wire = await greeted();
    wire.raw(JSON.stringify({ v: 1, type: 'x'.repeat(3_000_000), id: 'long-type' }));
    const error = await wire.next((f) => f.re === 'long-type');
    expect(error).to.include({ code: 'UNKNOWN_TYPE' });
    expect(error.message.length).to.be.below(140);
  });
});
