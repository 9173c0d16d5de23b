// Frames built to cost the provider (spec/framing.md "Transport", PROTO-047..049; issue 15,
// finding 1): the small frame limit before auth.ok, the structural scan before JSON.parse, and the
// per-connection read budget, each attacked on a real port.
import { expect } from 'chai';
import { SCHEMA_LIMITS } from '../../../schemas/limits.ts';
import { scanStructure } from '../../../reference-impl/server/frame-scan.ts';
import { DEFAULT_LIMITS, type RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, sleep, startTestProvider, Wire, type AnyFrame } from './support/harness.ts';

const { maxFrameDepth, maxFrameElements } = SCHEMA_LIMITS;
const scan = (text: string) => scanStructure(Buffer.from(text), maxFrameDepth, maxFrameElements);

/** The parser bombs: 3.7 MiB of nested arrays, and a flat array of a million `{}`. */
const NESTED_BOMB = `${'['.repeat(1_900_000)}${']'.repeat(1_900_000)}`;
const FLAT_BOMB = `[${Array<string>(1_000_000).fill('{}').join(',')}]`;

async function greeted(provider: RunningProvider): Promise<{ wire: Wire; welcome: AnyFrame }> {
  const wire = await Wire.open(provider.wsUrl);
  const welcome = await wire.request('hello', { versions: [1] });
  return { wire, welcome };
}

const isError = (f: AnyFrame): boolean => f.type === 'error';

describe('the structural scan of a frame before it is parsed (PROTO-048)', () => {
  it('lets a frame 32 levels deep through and refuses one 33 levels deep', () => {
    expect(scan(`${'['.repeat(32)}${']'.repeat(32)}`)).to.equal(undefined);
    expect(scan(`${'['.repeat(33)}${']'.repeat(33)}`)).to.equal('depth');
    expect(scan(`{"a":${'{"b":'.repeat(31)}1${'}'.repeat(32)}`)).to.equal(undefined);
    expect(scan(`{"a":${'{"b":'.repeat(32)}1${'}'.repeat(33)}`)).to.equal('depth');
  });

  it('counts array elements and object members at every level: 10 000 pass, 10 001 do not', () => {
    const flat = (n: number) => `[${Array<string>(n).fill('0').join(',')}]`;
    expect(scan(flat(maxFrameElements))).to.equal(undefined);
    expect(scan(flat(maxFrameElements + 1))).to.equal('elements');
    const half = (n: number) => `[${Array<string>(n).fill('{}').join(',')}]`;
    // n empty objects in an array, plus the one member of the top object that holds it.
    expect(scan(`{"a":${half(maxFrameElements - 1)}}`)).to.equal(undefined);
    expect(scan(`{"a":${half(maxFrameElements)}}`)).to.equal('elements');
    expect(scan('[]')).to.equal(undefined);
  });

  it('does not count brackets, commas and escaped quotes inside strings', () => {
    const inString = JSON.stringify({ s: `\\"${'[,{'.repeat(20_000)}"\\` });
    expect(scan(inString)).to.equal(undefined);
    expect(JSON.parse(inString)).to.be.an('object');
  });

  it('refuses the issue’s bombs within the first few kilobytes', () => {
    expect(scan(NESTED_BOMB)).to.equal('depth');
    expect(scan(FLAT_BOMB)).to.equal('elements');
  });

  it('passes every example frame of the schemas (no client frame comes near the bounds)', async () => {
    const { FRAME_EXAMPLES } = await import('../../../schemas/examples.ts');
    for (const [type, frame] of Object.entries(FRAME_EXAMPLES))
      expect(scan(JSON.stringify(frame)), type).to.equal(undefined);
  });
});

describe('a provider facing frames built to cost it (PROTO-047, PROTO-048, PROTO-049)', function () {
  this.timeout(30_000);
  let provider: RunningProvider;

  afterEach(async () => {
    await provider?.close();
  });

  it('mallory, flooding before auth.ok, is read at the smaller budget of an unauthenticated peer; alice’s ping is answered meanwhile (PROTO-049)', async () => {
    provider = await startTestProvider([]);
    const alice = await firstParty(provider, 'alice', 0);
    const { wire } = await greeted(provider);
    const frames = 64;
    const head = (i: number) => `{"v":1,"type":"ping","id":"u${i}","pad":"`;
    for (let i = 0; i < frames; i += 1) wire.raw(`${head(i)}${'x'.repeat(8000)}"}`);
    expect((await alice.wire.request('ping')).type).to.equal('pong');
    await sleep(500);
    // 64 KiB at once, then 1 MiB a minute: about 10 of the 64 frames of 8 kB in half a second,
    // plus what the socket had already read past the budget (64 KiB a read).
    const answered = wire.frames.filter(isError).length;
    expect(answered, 'answered within 500 ms').to.be.within(1, (frames * 3) / 4);
  });

  it('advertises maxUnauthenticatedFrameBytes within PROTO-047’s range, below maxFrameBytes', async () => {
    provider = await startTestProvider([]);
    const { wire, welcome } = await greeted(provider);
    const limit = welcome.limits.maxUnauthenticatedFrameBytes as number;
    expect(limit).to.equal(DEFAULT_LIMITS.advertised.maxUnauthenticatedFrameBytes);
    expect(limit).to.be.within(
      SCHEMA_LIMITS.minUnauthenticatedFrameBytes,
      SCHEMA_LIMITS.maxUnauthenticatedFrameBytes,
    );
    expect(limit).to.be.below(welcome.limits.maxFrameBytes as number);
    wire.close();
  });

  it('mallory, who never authenticates, gets FRAME_TOO_LARGE naming the unauthenticated limit and close 1009 for a frame one byte over it (PROTO-047)', async () => {
    provider = await startTestProvider([]);
    const { wire, welcome } = await greeted(provider);
    const limit = welcome.limits.maxUnauthenticatedFrameBytes as number;
    const head = '{"v":1,"type":"ping","id":"p1","pad":"';
    wire.raw(`${head}${'x'.repeat(limit + 1 - head.length - 2)}"}`);
    const error = await wire.next(isError);
    expect(error.code).to.equal('FRAME_TOO_LARGE');
    expect(error.message).to.include('maxUnauthenticatedFrameBytes');
    expect(await wire.closed).to.equal(1009);
  });

  it('mallory’s 3.7 MiB of nested arrays before hello is refused as too large, not parsed (PROTO-047)', async () => {
    provider = await startTestProvider([]);
    const wire = await Wire.open(provider.wsUrl);
    wire.raw(NESTED_BOMB);
    expect((await wire.next(isError)).code).to.equal('FRAME_TOO_LARGE');
    expect(await wire.closed).to.equal(1009);
  });

  it('alice, once authenticated, may send frames up to maxFrameBytes again (PROTO-047, PROTO-005)', async () => {
    provider = await startTestProvider([]);
    const alice = await firstParty(provider, 'alice', 0);
    const head = '{"v":1,"type":"ping","id":"big","pad":"';
    alice.wire.raw(`${head}${'x'.repeat(200_000)}"}`);
    const error = await alice.wire.next((f) => f.re === 'big');
    expect(error.code).to.equal('SCHEMA_VIOLATION');
    expect(error.pointer).to.equal('/pad');
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('alice’s authenticated parser bombs, nested and flat, get FRAME_TOO_COMPLEX naming the limit and her connection survives (PROTO-048)', async () => {
    provider = await startTestProvider([]);
    const alice = await firstParty(provider, 'alice', 0);
    alice.wire.raw(NESTED_BOMB);
    const deep = await alice.wire.next(isError);
    expect(deep.code).to.equal('FRAME_TOO_COMPLEX');
    expect(deep.message).to.include('maxFrameDepth');
    alice.wire.raw(FLAT_BOMB);
    const wide = await alice.wire.next(isError);
    expect(wide.code).to.equal('FRAME_TOO_COMPLEX');
    expect(wide.message).to.include('maxFrameElements');
    expect((await alice.wire.request('ping')).type).to.equal('pong');
  });

  it('while five connections that never said hello send their worst, bob’s ping is answered and each of them is closed (PROTO-047)', async () => {
    provider = await startTestProvider([]);
    const bob = await firstParty(provider, 'bob', 0);
    const hostile = await Promise.all(Array.from({ length: 5 }, () => Wire.open(provider.wsUrl)));
    for (const wire of hostile) for (let i = 0; i < 5; i += 1) wire.raw(FLAT_BOMB);
    expect((await bob.wire.request('ping', {}, 5000)).type).to.equal('pong');
    for (const wire of hostile) expect(await wire.closed).to.equal(1009);
  });

  it('mallory, flooding past her byte budget, is read at the budget’s pace, and every frame is answered in the end (PROTO-049)', async () => {
    provider = await startTestProvider([], {
      limits: { peers: { bytesPerConnection: { burst: 64 * 1024, perMinute: 12_000 * 1024 } } },
    });
    const { wire } = await firstParty(provider, 'mallory', 0);
    const frames = 96;
    const head = (i: number) => `{"v":1,"type":"ping","id":"f${i}","pad":"`;
    for (let i = 0; i < frames; i += 1) wire.raw(`${head(i)}${'x'.repeat(8000)}"}`);
    await sleep(300);
    const early = wire.frames.filter(isError).length;
    expect(early, 'answered within 300 ms').to.be.below(frames / 2);
    for (let i = 0; i < frames; i += 1) {
      const error = await wire.next((f) => f.re === `f${i}`, 10_000);
      expect(error.code).to.equal('SCHEMA_VIOLATION');
    }
    expect((await wire.request('ping')).type).to.equal('pong');
  });
});
