// The key directory: publishing, claiming each one-time prekey at most once, exhaustion and the
// low-prekey push (spec/keys.md).
import { expect } from 'chai';
import { generatePreKeys, generateSignedPreKey } from '../../../reference-impl/crypto/index.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, startTestProvider, type AnyFrame, type Device } from './support/harness.ts';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function publishFrame(device: Device, count: number, startId = 100): AnyFrame {
  const signed = generateSignedPreKey(device.identity, 7);
  return {
    identityKey: device.identityKey,
    signedPreKey: {
      keyId: 7,
      publicKey: b64(signed.keyPair.publicKey),
      signature: b64(signed.signature),
    },
    oneTimePreKeys: generatePreKeys(startId, count).map((k) => ({
      keyId: k.keyId,
      publicKey: b64(k.keyPair.publicKey),
    })),
  };
}

describe('provider key directory (spec/keys.md)', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], {
      limits: {
        advertised: { lowPreKeyThreshold: 3, maxOneTimePreKeysPerPublish: 20 },
        rates: { claimPerAccount: { burst: 1000, perMinute: 1000 } },
      },
    });
  });
  after(() => provider.close());

  it('refuses a signed prekey whose signature does not verify with BAD_SIGNATURE and stores nothing (KEYS-001, PROTO-042)', async () => {
    const alice = await firstParty(provider, 'k1', 0);
    const frame = publishFrame(alice, 2);
    frame.signedPreKey.signature = b64(alice.identity.sign(Buffer.from('something else')));
    expect((await alice.wire.request('keys.publish', frame)).code).to.equal('BAD_SIGNATURE');
    expect(provider.store.countOneTimePreKeys(alice.address, 1)).to.equal(0);
    alice.wire.close();
  });

  it('refuses a Kyber prekey whose signature does not verify with BAD_SIGNATURE (KEYS-002)', async () => {
    const alice = await firstParty(provider, 'k2', 0);
    const kyber = Buffer.alloc(1569, 0x44);
    kyber[0] = 0x08;
    const frame = publishFrame(alice, 1);
    frame.kyberPreKey = {
      keyId: 1,
      publicKey: b64(kyber),
      signature: b64(alice.identity.sign(Buffer.from('x'))),
    };
    expect((await alice.wire.request('keys.publish', frame)).code).to.equal('BAD_SIGNATURE');
    frame.kyberPreKey.signature = b64(alice.identity.sign(kyber));
    expect((await alice.wire.request('keys.publish', frame)).type).to.equal('keys.published');
    alice.wire.close();
  });

  it('refuses an identity key other than the device’s with IDENTITY_MISMATCH (KEYS-003)', async () => {
    const alice = await firstParty(provider, 'k3', 0);
    const mallory = await firstParty(provider, 'k3m', 0);
    const frame = publishFrame(mallory, 1);
    expect((await alice.wire.request('keys.publish', frame)).code).to.equal('IDENTITY_MISMATCH');
    alice.wire.close();
    mallory.wire.close();
  });

  it('refuses a public key that does not begin with 0x05 with SCHEMA_VIOLATION at that key (KEYS-004)', async () => {
    const alice = await firstParty(provider, 'k4', 0);
    const frame = publishFrame(alice, 2);
    const bad = Buffer.from(frame.oneTimePreKeys[1].publicKey, 'base64url');
    bad[0] = 0x06;
    frame.oneTimePreKeys[1].publicKey = b64(bad);
    expect(await alice.wire.request('keys.publish', frame)).to.include({
      code: 'SCHEMA_VIOLATION',
      pointer: '/oneTimePreKeys/1/publicKey',
    });
    alice.wire.close();
  });

  it('refuses more one-time prekeys than maxOneTimePreKeysPerPublish with SCHEMA_VIOLATION (KEYS-005)', async () => {
    const alice = await firstParty(provider, 'k5', 0);
    expect(alice.welcome.limits.maxOneTimePreKeysPerPublish).to.equal(20);
    const reply = await alice.wire.request('keys.publish', publishFrame(alice, 21));
    expect(reply).to.include({ code: 'SCHEMA_VIOLATION', pointer: '/oneTimePreKeys/20' });
    alice.wire.close();
  });

  it('adds one-time prekeys, replaces same keyIds, and replies the stored count (KEYS-006, KEYS-007)', async () => {
    const alice = await firstParty(provider, 'k6', 0);
    expect(
      (await alice.wire.request('keys.publish', publishFrame(alice, 5, 1))).oneTimePreKeyCount,
    ).to.equal(5);
    expect(
      (await alice.wire.request('keys.publish', publishFrame(alice, 5, 4))).oneTimePreKeyCount,
    ).to.equal(8);
    alice.wire.close();
  });

  it('answers a claim with one entry per device with keys, restricted to deviceIds, and the signed prekey as published (KEYS-011, KEYS-014)', async () => {
    const alice = await firstParty(provider, 'k11', 0);
    const frame = publishFrame(alice, 2);
    await alice.wire.request('keys.publish', frame);
    await alice.wire.request('device.add', { registrationId: 99 }); // no keys: no entry
    const bob = await firstParty(provider, 'k11b', 0);
    const all = await bob.wire.request('keys.claim', { address: alice.address });
    expect(all.devices).to.have.length(1);
    expect(all.devices[0]).to.deep.include({
      deviceId: 1,
      registrationId: alice.registrationId,
      identityKey: alice.identityKey,
      signedPreKey: frame.signedPreKey,
    });
    const none = await bob.wire.request('keys.claim', { address: alice.address, deviceIds: [2] });
    expect(none.code).to.equal('NOT_FOUND');
    alice.wire.close();
    bob.wire.close();
  });

  it('hands out 10 distinct one-time prekeys to 20 concurrent claims, then signals exhaustion (KEYS-012, KEYS-013, KEYS-018, KEYS-019)', async () => {
    const alice = await firstParty(provider, 'k12', 0);
    await alice.wire.request('keys.publish', publishFrame(alice, 10));
    const claimers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => firstParty(provider, `k12c${i}`, 0)),
    );
    const bundles = await Promise.all(
      claimers.map((c) => c.wire.request('keys.claim', { address: alice.address })),
    );
    const handed = bundles.map((b) => b.devices[0].oneTimePreKey).filter((k) => k !== null);
    expect(handed).to.have.length(10);
    expect(new Set(handed.map((k: AnyFrame) => k.keyId)).size).to.equal(10);
    const exhausted = bundles.filter((b) => b.exhausted);
    expect(exhausted).to.have.length(10);
    for (const b of exhausted) expect(b.devices[0].oneTimePreKey).to.equal(null);
    for (const b of bundles.filter((x) => !x.exhausted)) expect(b.exhausted).to.equal(false);
    expect(provider.store.countOneTimePreKeys(alice.address, 1)).to.equal(0);
    for (const c of claimers) c.wire.close();
    alice.wire.close();
  });

  it('never puts a kyberPreKey in a bundle while kyber is not a capability (KEYS-015)', async () => {
    const alice = await firstParty(provider, 'k15', 0);
    const kyber = Buffer.alloc(1569, 0x45);
    kyber[0] = 0x08;
    const frame = publishFrame(alice, 1);
    frame.kyberPreKey = {
      keyId: 1,
      publicKey: b64(kyber),
      signature: b64(alice.identity.sign(kyber)),
    };
    await alice.wire.request('keys.publish', frame);
    const bundle = await alice.wire.request('keys.claim', { address: alice.address });
    expect(bundle.devices[0]).not.to.have.property('kyberPreKey');
    alice.wire.close();
  });

  it('pushes keys.low to the connected device when a claim leaves it under the threshold (KEYS-021)', async () => {
    const alice = await firstParty(provider, 'k21', 0);
    await alice.wire.next((f) => f.type === 'keys.low'); // KEYS-022 at auth: no keys yet
    await alice.wire.request('keys.publish', publishFrame(alice, 4));
    const bob = await firstParty(provider, 'k21b', 0);
    await bob.wire.request('keys.claim', { address: alice.address });
    expect(await alice.wire.sees((f) => f.type === 'keys.low', 200)).to.equal(false);
    await bob.wire.request('keys.claim', { address: alice.address });
    const low = await alice.wire.next((f) => f.type === 'keys.low');
    expect(low).to.include({ oneTimePreKeyCount: 2, threshold: 3 });
    alice.wire.close();
    bob.wire.close();
  });

  it('pushes keys.low after auth.ok to a device under the threshold (KEYS-022)', async () => {
    const alice = await firstParty(provider, 'k22', 0);
    await alice.wire.next((f) => f.type === 'keys.low');
    await alice.wire.request('keys.publish', publishFrame(alice, 3));
    alice.wire.close();
    await alice.connect(provider);
    await alice.authDevice();
    expect(await alice.wire.sees((f) => f.type === 'keys.low', 200)).to.equal(false);
    alice.wire.close();
  });

  it('rate-limits keys.claim per claiming account with RATE_LIMITED and retryAfterMs (KEYS-017, PROTO-041)', async () => {
    const limited = await startTestProvider([], {
      limits: { rates: { claimPerAccount: { burst: 2, perMinute: 1 } } },
    });
    const alice = await firstParty(limited, 'rl', 1);
    for (let i = 0; i < 2; i++)
      expect((await alice.wire.request('keys.claim', { address: alice.address })).type).to.equal(
        'keys.bundle',
      );
    const refused = await alice.wire.request('keys.claim', { address: alice.address });
    expect(refused.code).to.equal('RATE_LIMITED');
    expect(refused.retryAfterMs).to.be.a('number').greaterThan(0);
    await limited.close();
  });
});
