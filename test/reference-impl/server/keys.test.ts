// The key directory: publishing, claiming each one-time prekey and one-time Kyber prekey at most
// once, the last-resort Kyber prekey, exhaustion and the low-prekey push (spec/keys.md).
import { expect } from 'chai';
import {
  generateKyberPreKey,
  generatePreKeys,
  generateSignedPreKey,
  type IdentityKeyPair,
} from '../../../reference-impl/crypto/index.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  firstParty,
  freshDeviceKey,
  startTestProvider,
  type AnyFrame,
  type Device,
} from './support/harness.ts';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** A signed Kyber prekey as `keys.publish` carries it. */
function kyberKey(identity: IdentityKeyPair, keyId: number): AnyFrame {
  const k = generateKyberPreKey(identity, keyId);
  return { keyId, publicKey: b64(k.keyPair.publicKey), signature: b64(k.signature) };
}

/** A publish of `count` one-time prekeys from `startId`, last-resort Kyber prekey 1 and `kyberCount` one-time Kyber prekeys from 1000. */
function publishFrame(device: Device, count: number, startId = 100, kyberCount = count): AnyFrame {
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
    lastResortKyberPreKey: kyberKey(device.identity, 1),
    oneTimeKyberPreKeys: Array.from({ length: kyberCount }, (_, i) =>
      kyberKey(device.identity, 1000 + i),
    ),
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

  it('refuses a last-resort or one-time Kyber prekey whose signature does not verify with BAD_SIGNATURE at that key and stores nothing (KEYS-002)', async () => {
    const alice = await firstParty(provider, 'k2', 0);
    const frame = publishFrame(alice, 2, 100, 2);
    const forged = b64(alice.identity.sign(Buffer.from('something else')));
    const good = frame.oneTimeKyberPreKeys[1].signature;
    frame.oneTimeKyberPreKeys[1].signature = forged;
    expect(await alice.wire.request('keys.publish', frame)).to.include({
      code: 'BAD_SIGNATURE',
      pointer: '/oneTimeKyberPreKeys/1/signature',
    });
    frame.oneTimeKyberPreKeys[1].signature = good;
    const lastResort = frame.lastResortKyberPreKey.signature;
    frame.lastResortKyberPreKey.signature = forged;
    expect(await alice.wire.request('keys.publish', frame)).to.include({
      code: 'BAD_SIGNATURE',
      pointer: '/lastResortKyberPreKey/signature',
    });
    expect(provider.store.countPreKeys(alice.address, 1)).to.deep.equal({
      oneTime: 0,
      oneTimeKyber: 0,
    });
    frame.lastResortKyberPreKey.signature = lastResort;
    expect(await alice.wire.request('keys.publish', frame)).to.include({
      type: 'keys.published',
      oneTimePreKeyCount: 2,
      oneTimeKyberPreKeyCount: 2,
    });
    alice.wire.close();
  });

  it('refuses a Kyber public key of another length or type byte than 0x08 ‖ 1568 bytes with SCHEMA_VIOLATION at that key (KEYS-024)', async () => {
    const alice = await firstParty(provider, 'k24', 0);
    const frame = publishFrame(alice, 1, 100, 2);
    const key = Buffer.from(frame.oneTimeKyberPreKeys[1].publicKey, 'base64url');
    const variants = [
      Buffer.concat([Buffer.from([0x0a]), key.subarray(1)]), // ML-KEM-1024's type byte
      Buffer.concat([Buffer.from([0x05]), key.subarray(1)]),
      key.subarray(0, 1568),
      Buffer.concat([key, Buffer.from([0])]),
    ];
    for (const bad of variants) {
      frame.oneTimeKyberPreKeys[1].publicKey = b64(bad);
      expect(await alice.wire.request('keys.publish', frame)).to.include({
        code: 'SCHEMA_VIOLATION',
        pointer: '/oneTimeKyberPreKeys/1/publicKey',
      });
    }
    expect(provider.store.countPreKeys(alice.address, 1).oneTimeKyber).to.equal(0);
    alice.wire.close();
  });

  it('refuses more than 100 one-time Kyber prekeys in one publish with SCHEMA_VIOLATION (KEYS-024)', async () => {
    const alice = await firstParty(provider, 'k24b', 0);
    const frame = publishFrame(alice, 1, 100, 1);
    frame.oneTimeKyberPreKeys = Array.from({ length: 101 }, (_, i) => ({
      ...frame.oneTimeKyberPreKeys[0],
      keyId: i,
    }));
    expect(await alice.wire.request('keys.publish', frame)).to.include({
      code: 'SCHEMA_VIOLATION',
      pointer: '/oneTimeKyberPreKeys',
    });
    alice.wire.close();
  });

  it('adds one-time Kyber prekeys, replaces same keyIds and the last-resort one, and replies both counts (KEYS-007, KEYS-025)', async () => {
    const alice = await firstParty(provider, 'k25', 0);
    const first = publishFrame(alice, 1, 100, 3);
    expect(await alice.wire.request('keys.publish', first)).to.include({
      oneTimePreKeyCount: 1,
      oneTimeKyberPreKeyCount: 3,
    });
    const second = publishFrame(alice, 1, 100, 0);
    second.oneTimeKyberPreKeys = [kyberKey(alice.identity, 1002), kyberKey(alice.identity, 1003)];
    second.lastResortKyberPreKey = kyberKey(alice.identity, 2);
    expect(await alice.wire.request('keys.publish', second)).to.include({
      oneTimePreKeyCount: 1,
      oneTimeKyberPreKeyCount: 4,
    });
    const bob = await firstParty(provider, 'k25b', 0);
    const served = [];
    for (let i = 0; i < 5; i++)
      served.push((await bob.wire.request('keys.claim', { address: alice.address })).devices[0]);
    expect(served.map((d) => d.kyberPreKey)).to.deep.equal([
      first.oneTimeKyberPreKeys[0],
      first.oneTimeKyberPreKeys[1],
      second.oneTimeKyberPreKeys[0],
      second.oneTimeKyberPreKeys[1],
      second.lastResortKyberPreKey,
    ]);
    alice.wire.close();
    bob.wire.close();
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
    await alice.wire.request('device.add', { registrationId: 99, deviceKey: freshDeviceKey() }); // no keys: no entry
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

  it('hands out each one-time Kyber prekey once, then the last-resort Kyber prekey to every later claim, as published (KEYS-028, KEYS-029, KEYS-030)', async () => {
    const alice = await firstParty(provider, 'k28', 0);
    const frame = publishFrame(alice, 1, 100, 2);
    await alice.wire.request('keys.publish', frame);
    const bob = await firstParty(provider, 'k28b', 0);
    const entries = [];
    for (let i = 0; i < 5; i++) {
      const bundle = await bob.wire.request('keys.claim', { address: alice.address });
      entries.push(bundle.devices[0]);
    }
    expect(entries.map((e) => e.kyberPreKey)).to.deep.equal([
      frame.oneTimeKyberPreKeys[0],
      frame.oneTimeKyberPreKeys[1],
      frame.lastResortKyberPreKey,
      frame.lastResortKyberPreKey,
      frame.lastResortKyberPreKey,
    ]);
    expect(provider.store.countPreKeys(alice.address, 1).oneTimeKyber).to.equal(0);
    alice.wire.close();
    bob.wire.close();
  });

  it('hands the last one-time Kyber prekey to exactly one of 20 concurrent claims and the last-resort one to the 19 others (KEYS-029, KEYS-030)', async () => {
    const alice = await firstParty(provider, 'k29', 0);
    const frame = publishFrame(alice, 0, 100, 1);
    await alice.wire.request('keys.publish', frame);
    const claimers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => firstParty(provider, `k29c${i}`, 0)),
    );
    const bundles = await Promise.all(
      claimers.map((c) => c.wire.request('keys.claim', { address: alice.address })),
    );
    const served = bundles.map((b) => b.devices[0].kyberPreKey);
    expect(served.filter((k) => k.keyId === 1000)).to.deep.equal([frame.oneTimeKyberPreKeys[0]]);
    expect(served.filter((k) => k.keyId === 1)).to.have.length(19);
    for (const k of served.filter((x) => x.keyId === 1))
      expect(k).to.deep.equal(frame.lastResortKyberPreKey);
    for (const c of claimers) c.wire.close();
    alice.wire.close();
  });

  it('serves no entry for a device that never published a last-resort Kyber prekey (KEYS-011, KEYS-028)', async () => {
    const alice = await firstParty(provider, 'k28n', 0);
    const frame = publishFrame(alice, 2);
    provider.store.publishKeys(alice.address, 1, {
      signedPreKey: {
        keyId: frame.signedPreKey.keyId,
        publicKey: Buffer.from(frame.signedPreKey.publicKey, 'base64url'),
        signature: Buffer.from(frame.signedPreKey.signature, 'base64url'),
      },
      oneTimePreKeys: [],
    }); // as a database migrated from before PQXDH holds it
    const claim = await alice.wire.request('keys.claim', { address: alice.address });
    expect(claim.code).to.equal('NOT_FOUND');
    alice.wire.close();
  });

  it('pushes keys.low with both counts when a claim leaves fewer one-time Kyber prekeys than the threshold (KEYS-031, KEYS-032)', async () => {
    const alice = await firstParty(provider, 'k31', 0);
    await alice.wire.next((f) => f.type === 'keys.low'); // KEYS-022 at auth: no keys yet
    await alice.wire.request('keys.publish', publishFrame(alice, 10, 100, 4));
    const bob = await firstParty(provider, 'k31b', 0);
    await bob.wire.request('keys.claim', { address: alice.address });
    expect(await alice.wire.sees((f) => f.type === 'keys.low', 200)).to.equal(false);
    await bob.wire.request('keys.claim', { address: alice.address });
    const low = await alice.wire.next((f) => f.type === 'keys.low');
    expect(low).to.include({ oneTimePreKeyCount: 8, oneTimeKyberPreKeyCount: 2, threshold: 3 });
    alice.wire.close();
    bob.wire.close();
  });

  it('pushes keys.low after auth.ok to a device whose one-time Kyber prekeys are under the threshold (KEYS-022, KEYS-032)', async () => {
    const alice = await firstParty(provider, 'k22k', 0);
    await alice.wire.next((f) => f.type === 'keys.low');
    await alice.wire.request('keys.publish', publishFrame(alice, 5, 100, 2));
    alice.wire.close();
    await alice.connect(provider);
    await alice.authDevice();
    const low = await alice.wire.next((f) => f.type === 'keys.low');
    expect(low).to.include({ oneTimePreKeyCount: 5, oneTimeKyberPreKeyCount: 2, threshold: 3 });
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
    expect(low).to.include({ oneTimePreKeyCount: 2, oneTimeKyberPreKeyCount: 2, threshold: 3 });
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
