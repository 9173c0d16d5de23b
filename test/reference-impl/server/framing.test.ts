// The provider's framing, session state machine and error answers (spec/framing.md, spec/errors.md).
import { expect } from 'chai';
import { ERROR_CODES } from '../../../schemas/errors.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, startTestProvider, Wire } from './support/harness.ts';

describe('provider framing (spec/framing.md)', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], {
      limits: { advertised: { maxFrameBytes: 300_000 } },
    });
  });
  after(() => provider.close());

  async function greeted(): Promise<Wire> {
    const wire = await Wire.open(provider.wsUrl);
    await wire.request('hello', { versions: [1] });
    return wire;
  }

  it('answers hello with welcome carrying the highest common version, limits and both mandatory capabilities (PROTO-019, PROTO-022, PROTO-006)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    const welcome = await wire.request('hello', { versions: [7, 1] });
    expect(welcome.type).to.equal('welcome');
    expect(welcome.version).to.equal(1);
    expect(welcome.provider).to.deep.equal({ domain: 'wa.example' });
    expect(welcome.capabilities).to.include.members(['attachments', 'consent']);
    expect(welcome.capabilities).not.to.include('kyber');
    expect(welcome.limits.maxFrameBytes).to.be.at.least(262144);
    expect(welcome.limits.attachments.chunkBytes).to.equal(65536);
    wire.close();
  });

  it('refuses a hello without a common version with UNSUPPORTED_VERSION and close 4000 (PROTO-020)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    const error = await wire.request('hello', { versions: [2] });
    expect(error.code).to.equal('UNSUPPORTED_VERSION');
    expect(await wire.closed).to.equal(4000);
  });

  it('refuses a frame whose v is not the negotiated version with UNSUPPORTED_VERSION and close 4000 (PROTO-021)', async () => {
    const wire = await greeted();
    wire.send({ v: 2, type: 'ping', id: 'p1' });
    const error = await wire.next((f) => f.type === 'error');
    expect(error).to.include({ code: 'UNSUPPORTED_VERSION', re: 'p1' });
    expect(await wire.closed).to.equal(4000);
  });

  it('answers a frame without v with SCHEMA_VIOLATION at /v and keeps the connection (PROTO-044)', async () => {
    const wire = await greeted();
    wire.send({ type: 'ping', id: 'p2' });
    const error = await wire.next((f) => f.type === 'error');
    expect(error).to.include({ code: 'SCHEMA_VIOLATION', pointer: '/v', re: 'p2' });
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('answers a binary frame with BINARY_NOT_SUPPORTED and keeps the connection (PROTO-003)', async () => {
    const wire = await greeted();
    wire.raw(Buffer.from('{"v":1,"type":"ping","id":"x"}'), true);
    const error = await wire.next((f) => f.type === 'error');
    expect(error.code).to.equal('BINARY_NOT_SUPPORTED');
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('answers text that is not a JSON object with BAD_JSON, without re, and keeps the connection (PROTO-004, PROTO-033, PROTO-038)', async () => {
    const wire = await greeted();
    for (const text of ['{not json', '[1,2]', '42', 'null']) {
      wire.raw(text);
      const error = await wire.next((f) => f.type === 'error');
      expect(error.code).to.equal('BAD_JSON');
      expect(error).not.to.have.property('re');
    }
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('sends FRAME_TOO_LARGE before closing with 1009 a frame over maxFrameBytes (PROTO-005, PROTO-039)', async () => {
    const wire = await greeted();
    wire.raw(JSON.stringify({ v: 1, type: 'ping', id: 'big', pad: 'x'.repeat(310_000) }));
    const error = await wire.next((f) => f.type === 'error');
    expect(error.code).to.equal('FRAME_TOO_LARGE');
    expect(await wire.closed).to.equal(1009);
  });

  it('answers an unknown or provider-only type with UNKNOWN_TYPE and keeps the connection (PROTO-031)', async () => {
    const wire = await greeted();
    expect((await wire.request('launch.rocket')).code).to.equal('UNKNOWN_TYPE');
    expect((await wire.request('welcome')).code).to.equal('UNKNOWN_TYPE');
    expect((await wire.request('x'.repeat(5000))).message.length).to.be.at.most(1024);
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('answers frames before hello, a second hello and auth after auth.ok with OUT_OF_ORDER (PROTO-025)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    expect((await wire.request('ping')).code).to.equal('OUT_OF_ORDER');
    await wire.request('hello', { versions: [1] });
    expect((await wire.request('hello', { versions: [1] })).code).to.equal('OUT_OF_ORDER');
    wire.close();
    const alice = await firstParty(provider, 'oo-alice', 0);
    const again = await alice.authDevice();
    expect(again.code).to.equal('OUT_OF_ORDER');
    alice.wire.close();
  });

  it('answers frames other than hello, auth, account.register and ping before auth.ok with NOT_AUTHENTICATED (PROTO-026)', async () => {
    const wire = await greeted();
    for (const [type, body] of [
      ['consent.get', {}],
      ['keys.claim', { address: 'bob@wa.example' }],
      ['message.ack', { deliveryIds: ['d.1'] }],
    ] as const) {
      expect((await wire.request(type, body)).code).to.equal('NOT_AUTHENTICATED');
    }
    wire.close();
  });

  it('answers ping with pong carrying re in the greeted and authenticated states (PROTO-027, PROTO-010)', async () => {
    const wire = await greeted();
    const pong = await wire.request('ping');
    expect(pong).to.include({ type: 'pong', v: 1 });
    expect(pong.re).to.match(/^r\d+$/);
    wire.close();
    const alice = await firstParty(provider, 'ping-alice', 0);
    expect((await alice.wire.request('ping')).type).to.equal('pong');
    alice.wire.close();
  });

  it('answers a schema violation with SCHEMA_VIOLATION and a pointer to the first offending member (PROTO-032, PROTO-034)', async () => {
    const wire = await greeted();
    const missing = await wire.request('account.register', { name: 'x' });
    expect(missing.code).to.equal('SCHEMA_VIOLATION');
    expect(missing.pointer).to.match(
      /^\/(registrationToken|identityKey|registrationId|deviceKey)$/,
    );
    const extra = await wire.request('ping', { smuggled: true });
    expect(extra).to.include({ code: 'SCHEMA_VIOLATION', pointer: '/smuggled' });
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('answers a frame without v with SCHEMA_VIOLATION at /v and keeps the connection (PROTO-007)', async () => {
    const wire = await greeted();
    wire.send({ type: 'ping', id: 'nov' });
    expect(await wire.next((f) => f.re === 'nov')).to.include({
      code: 'SCHEMA_VIOLATION',
      pointer: '/v',
    });
    expect((await wire.request('ping')).type).to.equal('pong');
    wire.close();
  });

  it('refuses a padded base64url member with SCHEMA_VIOLATION at that member (PROTO-014)', async () => {
    const wire = await greeted();
    const error = await wire.request('account.register', {
      registrationToken: 'T',
      name: 'pad',
      identityKey: Buffer.alloc(32, 5).toString('base64'), // 44 characters ending in '='
      registrationId: 7,
      deviceKey: `B${'Q'.repeat(43)}`,
    });
    expect(error).to.include({ code: 'SCHEMA_VIOLATION', pointer: '/identityKey' });
    wire.close();
  });

  it('reports the first fault in the order v, type, state, schema (PROTO-030)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    // Unknown type before hello: the type check comes before the session state check.
    expect((await wire.request('no.such')).code).to.equal('UNKNOWN_TYPE');
    // A frame before hello that also fails its schema: state before schema.
    expect((await wire.request('keys.claim', { bogus: 1 })).code).to.equal('OUT_OF_ORDER');
    await wire.request('hello', { versions: [1] });
    // Not authenticated and schema-invalid: state before schema.
    expect((await wire.request('keys.claim', { bogus: 1 })).code).to.equal('NOT_AUTHENTICATED');
    // A wrong v and an unknown type: v first.
    wire.send({ v: 9, type: 'no.such', id: 'v9' });
    expect((await wire.next((f) => f.re === 'v9')).code).to.equal('UNSUPPORTED_VERSION');
  });

  it('sends only registry codes, and pushes carry their own id and no re (PROTO-037, PROTO-011)', async () => {
    const alice = await firstParty(provider, 'reg-alice', 0);
    await alice.wire.request('no.such');
    alice.wire.raw('nope');
    await alice.wire.request('ping');
    const low = await alice.wire.sees((f) => f.type === 'keys.low', 50);
    for (const f of alice.wire.frames)
      if (f.type === 'error') expect(Object.keys(ERROR_CODES)).to.include(f.code);
    expect(low).to.equal(true);
    const push = await alice.wire.next((f) => f.type === 'keys.low');
    expect(push.id).to.be.a('string');
    expect(push).not.to.have.property('re');
    alice.wire.close();
  });

  it('answers unknown HTTP paths with a JSON NOT_FOUND body and refuses upgrades elsewhere than /parley/v1', async () => {
    const res = await fetch(`${provider.httpUrl}/nothing`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ code: 'NOT_FOUND', message: 'no such resource' });
    let failed = false;
    try {
      await Wire.open(provider.wsUrl.replace('/parley/v1', '/other'));
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });
});

describe('provider shutdown (spec/framing.md "Shutdown")', () => {
  it('sends UNAVAILABLE and closes every connection with 1012 when it stops (PROTO-036)', async () => {
    const provider = await startTestProvider([]);
    const a = await Wire.open(provider.wsUrl);
    const b = await Wire.open(provider.wsUrl);
    await a.request('hello', { versions: [1] });
    await provider.close();
    for (const w of [a, b]) {
      const error = await w.next((f) => f.type === 'error');
      expect(error.code).to.equal('UNAVAILABLE');
      expect(await w.closed).to.equal(1012);
    }
  });
});
