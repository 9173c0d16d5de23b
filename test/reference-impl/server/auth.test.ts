// Authentication and accounts: challenge, device proof, partner tokens, registration and devices
// (spec/auth.md).
import { expect } from 'chai';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  DOMAIN,
  Device,
  firstParty,
  makePartner,
  partnerToken,
  startTestProvider,
  thirdParty,
  TOKEN,
  Wire,
  type AnyFrame,
  type Partner,
  freshDeviceKey,
} from './support/harness.ts';

describe('provider authentication (spec/auth.md)', () => {
  let provider: RunningProvider;
  let partner: Partner;
  let stranger: Partner;
  let selfIssuer: Partner;
  let offset = 0;
  before(async () => {
    partner = await makePartner();
    stranger = await makePartner('other.example');
    selfIssuer = await makePartner(DOMAIN);
    provider = await startTestProvider([partner, selfIssuer], { now: () => Date.now() + offset });
  });
  after(() => provider.close());
  afterEach(() => (offset = 0));

  async function expectAuthFailed(device: Device, reply: AnyFrame): Promise<void> {
    expect(reply).to.include({
      type: 'error',
      code: 'AUTH_FAILED',
      message: 'authentication failed',
    });
    expect(reply).not.to.have.property('details');
    expect(await device.wire.closed).to.equal(4401);
  }

  it('draws a fresh 32-byte challenge for every connection (AUTH-001)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const wire = await Wire.open(provider.wsUrl);
      const w = await wire.request('hello', { versions: [1] });
      expect(Buffer.from(w.challenge, 'base64url')).to.have.length(32);
      seen.add(w.challenge);
      wire.close();
    }
    expect(seen.size).to.equal(5);
  });

  it('accepts a device auth over its own challenge and replies auth.ok with a first-party origin (AUTH-007, AUTH-020, AUTH-025)', async () => {
    const alice = await firstParty(provider, 'alice', 0);
    alice.wire.close();
    await alice.connect(provider);
    const ok = await alice.authDevice();
    expect(ok).to.deep.include({
      type: 'auth.ok',
      address: `alice@${DOMAIN}`,
      deviceId: 1,
      origin: { platform: DOMAIN, thirdParty: false },
    });
    alice.wire.close();
  });

  it('refuses a proof over the challenge of another connection (AUTH-002, AUTH-006)', async () => {
    const bob = await firstParty(provider, 'bob', 0);
    bob.wire.close();
    const other = await Wire.open(provider.wsUrl);
    const otherWelcome = await other.request('hello', { versions: [1] });
    await bob.connect(provider);
    const reply = await bob.wire.request('auth', {
      method: 'device',
      address: bob.address,
      deviceId: 1,
      signature: bob.proof(bob.address, 1, otherWelcome.challenge),
    });
    await expectAuthFailed(bob, reply);
    other.close();
  });

  it('refuses a second auth on a connection whose challenge was used (AUTH-003)', async () => {
    const carol = await firstParty(provider, 'carol', 0);
    expect((await carol.authDevice()).code).to.equal('OUT_OF_ORDER');
    carol.wire.close();
  });

  it('refuses an auth more than 60 seconds after its welcome (AUTH-004)', async () => {
    const dave = await firstParty(provider, 'dave', 0);
    dave.wire.close();
    await dave.connect(provider);
    offset = 61_000;
    await expectAuthFailed(dave, await dave.authDevice());
  });

  it('refuses a device proof by another key, an unknown device and a foreign address alike (AUTH-006, AUTH-007, AUTH-008)', async () => {
    const erin = await firstParty(provider, 'erin', 0);
    erin.wire.close();
    const impostor = new Device(erin.address, 1, IdentityKeyPair.generate());
    await impostor.connect(provider);
    await expectAuthFailed(impostor, await impostor.authDevice());
    const wrongDevice = new Device(erin.address, 2, erin.identity);
    await wrongDevice.connect(provider);
    await expectAuthFailed(wrongDevice, await wrongDevice.authDevice());
    const foreign = new Device('erin@elsewhere.example', 1, erin.identity);
    await foreign.connect(provider);
    await expectAuthFailed(foreign, await foreign.authDevice());
  });

  it('accepts a partner token with a device proof and replies auth.ok with a third-party origin (AUTH-018, AUTH-021)', async () => {
    const bob = new Device('bob@chat.example', 3, IdentityKeyPair.generate());
    await bob.connect(provider);
    const ok = await bob.authPartner(partner);
    expect(ok).to.deep.include({
      type: 'auth.ok',
      address: 'bob@chat.example',
      deviceId: 3,
      origin: { platform: 'chat.example', thirdParty: true },
    });
    bob.wire.close();
  });

  async function partnerRefused(
    claims: Parameters<Device['authPartner']>[1],
    signer: Partner = partner,
  ): Promise<void> {
    const dev = new Device(
      `p${Math.random().toString(36).slice(2, 8)}@${signer.domain}`,
      1,
      IdentityKeyPair.generate(),
    );
    await dev.connect(provider);
    await expectAuthFailed(dev, await dev.authPartner(signer, claims));
  }

  it('refuses a token whose alg is not EdDSA (AUTH-009, AUTH-010)', async () => {
    const { SignJWT } = await import('jose');
    const dev = new Device('hs@chat.example', 1, IdentityKeyPair.generate());
    await dev.connect(provider);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: partner.kid })
      .setIssuer('chat.example')
      .setSubject(dev.address)
      .setAudience(DOMAIN)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('a-unique-token-id-123')
      .sign(new TextEncoder().encode('a shared secret nobody enlisted'));
    const reply = await dev.wire.request('auth', {
      method: 'partner',
      token,
      deviceId: 1,
      registrationId: dev.registrationId,
      identityKey: dev.identityKey,
      signature: dev.proof(),
    });
    await expectAuthFailed(dev, reply);
  });

  it('refuses a token from an issuer that is not enlisted (AUTH-011)', async () => {
    await partnerRefused({}, stranger);
  });

  it('refuses a token whose signature does not verify under the enlisted key (AUTH-011)', async () => {
    const forger = await makePartner('chat.example');
    const dev = new Device('forged@chat.example', 1, IdentityKeyPair.generate());
    await dev.connect(provider);
    const token = await partnerToken(forger, { sub: dev.address }, partner.kid);
    const reply = await dev.wire.request('auth', {
      method: 'partner',
      token,
      deviceId: 1,
      registrationId: dev.registrationId,
      identityKey: dev.identityKey,
      signature: dev.proof(),
    });
    await expectAuthFailed(dev, reply);
  });

  it('refuses a token whose aud is not the provider domain (AUTH-012)', async () => {
    await partnerRefused({ aud: 'other.example' });
  });

  it('refuses a token whose sub is not an address of its issuer (AUTH-013)', async () => {
    await partnerRefused({ sub: `mallory@${DOMAIN}` });
  });

  it('refuses a token whose iss is the provider itself (AUTH-014)', async () => {
    await partnerRefused({}, selfIssuer);
  });

  it('refuses an expired token and one issued in the future (AUTH-015)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await partnerRefused({ iat: now - 400, exp: now - 61 });
    await partnerRefused({ iat: now + 120, exp: now + 300 });
  });

  it('accepts a token expired by less than the 60-second skew (AUTH-015)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const dev = new Device('skew@chat.example', 1, IdentityKeyPair.generate());
    await dev.connect(provider);
    expect((await dev.authPartner(partner, { iat: now - 100, exp: now - 30 })).type).to.equal(
      'auth.ok',
    );
    dev.wire.close();
  });

  it('refuses a token living longer than 3600 seconds (AUTH-016)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await partnerRefused({ iat: now, exp: now + 3601 });
  });

  it('refuses a token whose iss and jti were already accepted (AUTH-017)', async () => {
    const jti = 'replayed-token-id-0001';
    const dev = new Device('replay@chat.example', 1, IdentityKeyPair.generate());
    await dev.connect(provider);
    expect((await dev.authPartner(partner, { jti })).type).to.equal('auth.ok');
    dev.wire.close();
    await dev.connect(provider);
    await expectAuthFailed(dev, await dev.authPartner(partner, { jti }));
  });

  it('bob’s token, first presented by mallory with her own identity key and refused, is refused to bob too: it was spent (AUTH-029)', async () => {
    const bob = new Device('spent@chat.example', 1, IdentityKeyPair.generate());
    const token = await partnerToken(partner, {
      sub: 'spent@chat.example',
      jti: 'spent-token-id-00001',
      identityKey: bob.identity.publicKey,
    });
    const mallory = IdentityKeyPair.generate();
    await bob.connect(provider);
    const stolen = await bob.wire.request('auth', {
      method: 'partner',
      token,
      deviceId: 1,
      registrationId: bob.registrationId,
      identityKey: Buffer.from(mallory.publicKey).toString('base64url'),
      signature: bob.identityProof(),
    });
    await expectAuthFailed(bob, stolen);
    await bob.connect(provider);
    const own = await bob.wire.request('auth', {
      method: 'partner',
      token,
      deviceId: 1,
      registrationId: bob.registrationId,
      identityKey: bob.identityKey,
      signature: bob.identityProof(),
    });
    await expectAuthFailed(bob, own);
  });

  it('mallory’s 4th wrong registration token on one connection is RATE_LIMITED, and then the right one too; her address gets 20 in all (AUTH-030)', async () => {
    const guesser = await startTestProvider([]);
    const register = (d: Device, token: string) =>
      d.wire.request('account.register', {
        registrationToken: token,
        name: d.address.split('@')[0],
        identityKey: d.identityKey,
        registrationId: d.registrationId,
        deviceKey: d.deviceKey,
      });
    const answers: string[] = [];
    let connections = 0;
    for (let c = 0; c < 8; c += 1) {
      const mallory = new Device(`guess${c}@wa.example`, 1, IdentityKeyPair.generate());
      await mallory.connect(guesser);
      connections += 1;
      for (let i = 0; i < 4; i += 1) {
        const reply = await register(mallory, `guess-${c}-${i}`);
        answers.push(reply.code);
      }
      if (c === 0) expect((await register(mallory, TOKEN)).code).to.equal('RATE_LIMITED');
      mallory.wire.close();
    }
    expect(answers.slice(0, 4)).to.deep.equal([
      'REGISTRATION_REFUSED',
      'REGISTRATION_REFUSED',
      'REGISTRATION_REFUSED',
      'RATE_LIMITED',
    ]);
    expect(answers.filter((a) => a === 'REGISTRATION_REFUSED')).to.have.length(20);
    expect(connections).to.equal(8);
    await guesser.close();
  });

  it('closes with 1008 a connection that pings but never authenticates once the advertised authentication window passed, and not alice’s (AUTH-031)', async function () {
    this.timeout(20_000);
    const windowed = await startTestProvider([], {
      limits: { advertised: { authWindowSeconds: 5 } },
    });
    const alice = await firstParty(windowed, 'window-alice', 0);
    const mallory = await Wire.open(windowed.wsUrl);
    const opened = Date.now();
    const welcome = await mallory.request('hello', { versions: [1] });
    expect(welcome.type).to.equal('welcome');
    expect((welcome.limits as { authWindowSeconds: number }).authWindowSeconds).to.equal(5);
    const pinger = setInterval(() => {
      if (mallory.closeCode === undefined) mallory.send({ v: 1, type: 'ping', id: 'p' });
    }, 50);
    try {
      expect(await mallory.closed).to.equal(1008);
    } finally {
      clearInterval(pinger);
    }
    expect(Date.now() - opened).to.be.within(5000, 8000);
    expect((await alice.wire.request('ping')).type).to.equal('pong');
    await windowed.close();
  });

  it('refuses a partner auth whose device proof does not verify under its identityKey (AUTH-019)', async () => {
    const dev = new Device('proof@chat.example', 1, IdentityKeyPair.generate());
    await dev.connect(provider);
    const other = IdentityKeyPair.generate();
    const reply = await dev.wire.request('auth', {
      method: 'partner',
      token: await partnerToken(partner, { sub: dev.address, identityKey: other.publicKey }),
      deviceId: 1,
      registrationId: dev.registrationId,
      identityKey: Buffer.from(other.publicKey).toString('base64url'),
      signature: dev.identityProof(),
    });
    await expectAuthFailed(dev, reply);
  });

  it('records the identity key of the latest partner authentication and drops prekeys signed by the old one', async () => {
    const bob = await thirdParty(provider, partner, 'rekeyed', 3);
    bob.wire.close();
    const alice = await firstParty(provider, 'rekey-alice', 0);
    expect((await alice.wire.request('keys.claim', { address: bob.address })).type).to.equal(
      'keys.bundle',
    );
    const fresh = new Device(bob.address, 1, IdentityKeyPair.generate());
    await fresh.connect(provider);
    expect((await fresh.authPartner(partner)).type).to.equal('auth.ok');
    expect((await alice.wire.request('keys.claim', { address: bob.address })).code).to.equal(
      'NOT_FOUND',
    );
    await fresh.publish(1);
    const bundle = await alice.wire.request('keys.claim', { address: bob.address });
    expect(bundle.devices[0].identityKey).to.equal(fresh.identityKey);
    alice.wire.close();
    fresh.wire.close();
  });

  it('attributes later frames to the session, not to what they claim (AUTH-022)', async () => {
    const bob = await thirdParty(provider, partner, 'spoofer', 0);
    // consent.get is first-party only; a partner session cannot become first-party by any frame.
    expect((await bob.wire.request('consent.get')).code).to.equal('FORBIDDEN');
    bob.wire.close();
  });
});

describe('provider accounts and devices (spec/auth.md "Test accounts", "Devices")', () => {
  let provider: RunningProvider;
  let partner: Partner;
  before(async () => {
    partner = await makePartner();
    provider = await startTestProvider([partner]);
  });
  after(() => provider.close());

  function register(wire: Wire, name: string, registrationToken = TOKEN): Promise<AnyFrame> {
    const id = IdentityKeyPair.generate();
    return wire.request('account.register', {
      registrationToken,
      name,
      identityKey: Buffer.from(id.publicKey).toString('base64url'),
      registrationId: 42,
      deviceKey: freshDeviceKey(),
    });
  }

  it('refuses a registration with a wrong token with REGISTRATION_REFUSED and keeps the connection (AUTH-023)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    await wire.request('hello', { versions: [1] });
    expect((await register(wire, 'nope', 'wrong-token')).code).to.equal('REGISTRATION_REFUSED');
    expect((await register(wire, 'nope')).type).to.equal('account.registered');
    wire.close();
  });

  it('refuses every registration when the operator issued no token (AUTH-023)', async () => {
    const closed = await startTestProvider([], { registrationTokens: [] });
    const wire = await Wire.open(closed.wsUrl);
    await wire.request('hello', { versions: [1] });
    expect((await register(wire, 'anyone')).code).to.equal('REGISTRATION_REFUSED');
    await closed.close();
  });

  it('refuses a name already taken with CONFLICT (AUTH-024)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    await wire.request('hello', { versions: [1] });
    expect((await register(wire, 'taken')).type).to.equal('account.registered');
    expect((await register(wire, 'taken')).code).to.equal('CONFLICT');
    wire.close();
  });

  it('creates name@domain with device 1 (AUTH-025)', async () => {
    const wire = await Wire.open(provider.wsUrl);
    await wire.request('hello', { versions: [1] });
    expect(await register(wire, 'fresh')).to.include({
      type: 'account.registered',
      address: `fresh@${DOMAIN}`,
      deviceId: 1,
    });
    wire.close();
  });

  it('refuses device.add and device.remove from a partner session with FORBIDDEN (AUTH-026)', async () => {
    const bob = await thirdParty(provider, partner, 'devbob', 0);
    expect(
      (await bob.wire.request('device.add', { registrationId: 9, deviceKey: freshDeviceKey() }))
        .code,
    ).to.equal('FORBIDDEN');
    expect((await bob.wire.request('device.remove', { deviceId: 1 })).code).to.equal('FORBIDDEN');
    bob.wire.close();
  });

  it('answers device.add with the lowest id no current device has, reusing a removed device’s id (AUTH-027, AUTH-032)', async () => {
    const alice = await firstParty(provider, 'devalice', 0);
    const a = await alice.wire.request('device.add', {
      registrationId: 11,
      deviceKey: freshDeviceKey(),
    });
    expect(a).to.include({ type: 'device.added', deviceId: 2 });
    const c = await alice.wire.request('device.add', {
      registrationId: 13,
      deviceKey: freshDeviceKey(),
    });
    expect(c).to.include({ type: 'device.added', deviceId: 3 });
    expect(await alice.wire.request('device.remove', { deviceId: 2 })).to.include({
      type: 'device.removed',
      deviceId: 2,
    });
    const b = await alice.wire.request('device.add', {
      registrationId: 12,
      deviceKey: freshDeviceKey(),
    });
    expect(b).to.include({ type: 'device.added', deviceId: 2 });
    alice.wire.close();
  });

  it('refuses the device past the account limit with CONFLICT, and the id of a removed one is given again (AUTH-032)', async () => {
    const big = await startTestProvider([], {
      limits: {
        advertised: { maxDevicesPerMessage: 64 },
        maxDevicesPerAccount: 500,
        rates: { writesPerAccount: { burst: 100, perMinute: 100 } },
      },
    });
    const alice = await firstParty(big, 'many', 0);
    const ids: number[] = [];
    for (let i = 0; i < 63; i++)
      ids.push(
        (await alice.wire.request('device.add', { registrationId: 5, deviceKey: freshDeviceKey() }))
          .deviceId as number,
      );
    expect(ids).to.deep.equal(Array.from({ length: 63 }, (_, i) => i + 2));
    const refused = await alice.wire.request('device.add', {
      registrationId: 6,
      deviceKey: freshDeviceKey(),
    });
    expect(refused).to.include({ type: 'error', code: 'CONFLICT' });
    expect(refused.message).to.match(/at most 64 devices, with ids 1 to 127/);
    await alice.wire.request('device.remove', { deviceId: 40 });
    expect(
      await alice.wire.request('device.add', { registrationId: 7, deviceKey: freshDeviceKey() }),
    ).to.include({
      type: 'device.added',
      deviceId: 40,
    });
    alice.wire.close();
    await big.close();
  });

  it('caps devices per account at the advertised maxDevicesPerMessage (DELIV-006)', async () => {
    const small = await startTestProvider([], {
      limits: { advertised: { maxDevicesPerMessage: 2 }, maxDevicesPerAccount: 5 },
    });
    const alice = await firstParty(small, 'cap', 0);
    expect(alice.welcome.limits.maxDevicesPerMessage).to.equal(2);
    expect(
      (await alice.wire.request('device.add', { registrationId: 5, deviceKey: freshDeviceKey() }))
        .type,
    ).to.equal('device.added');
    expect(
      (await alice.wire.request('device.add', { registrationId: 6, deviceKey: freshDeviceKey() }))
        .code,
    ).to.equal('CONFLICT');
    await small.close();
  });

  it('deletes a removed device’s prekeys and queued messages (AUTH-028)', async () => {
    const alice = await firstParty(provider, 'rmalice', 3);
    const { reply: added, device: second } = await alice.addSibling(21);
    await second.connect(provider);
    await second.authDevice();
    await second.publish(3);
    second.wire.close();
    const bob = await firstParty(provider, 'rmbob', 0);
    expect((await bob.sendText(alice.address, 'hi both')).type).to.equal('message.accepted');
    await alice.nextMessage();
    await alice.wire.request('device.remove', { deviceId: added.deviceId });
    expect(provider.store.countOneTimePreKeys(alice.address, added.deviceId)).to.equal(0);
    expect(
      provider.store.pendingDeliveries(alice.address, added.deviceId, 0, Date.now()),
    ).to.have.length(0);
    const claim = await bob.wire.request('keys.claim', { address: alice.address });
    expect(claim.devices.map((d: AnyFrame) => d.deviceId)).to.deep.equal([1]);
    alice.wire.close();
    bob.wire.close();
  });
});
