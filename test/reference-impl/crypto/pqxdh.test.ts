// PQXDH session set-up and the rules libsignal 0.103.0 applies around it (reference-impl/crypto/
// session.ts, cipher.ts, pqxdh.ts, address.ts): signed Kyber prekeys, one-time and last-resort Kyber
// prekey handling, base-key checks, version 3 refused, field 6, device ids, the 30-day rule, the
// body size limit and sessions with oneself. Every refusal leaves the serialised session unchanged.
import { expect } from 'chai';
import { hkdfSync, randomUUID } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import {
  BadMacError,
  decrypt,
  encrypt,
  InvalidDeviceIdError,
  InvalidKeyError,
  InvalidMessageError,
  LegacyVersionError,
  limits,
  MessageTooFarAheadError,
  MessageTooLargeError,
  NoSessionError,
  ReusedBaseKeyError,
  serializeSessionRecord,
  SessionRecord,
  SignatureValidationError,
  UnknownKyberPreKeyError,
  type CiphertextMessage,
} from '../../../reference-impl/crypto/index.ts';
import { calculateAgreement, generateKeyPair } from '../../../reference-impl/crypto/curve.ts';
import { generateKyberKeyPair, kyberDecapsulate } from '../../../reference-impl/crypto/kem.ts';
import {
  initializeAliceSession,
  initializeBobSession,
} from '../../../reference-impl/crypto/pqxdh.ts';
import { nextChainKey } from '../../../reference-impl/crypto/ratchet.ts';
import { initialSpqrState } from '../../../reference-impl/crypto/spqr.ts';
import {
  encodePreKeySignalMessage,
  encodeSignalMessage,
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../reference-impl/crypto/wire.ts';
import { ParleyParty, text, untext } from './support/parties.ts';

const DAY = 24 * 60 * 60 * 1000;

const aci = (deviceId = 1): { name: string; deviceId: number } => ({
  name: randomUUID(),
  deviceId,
});

async function snapshot(party: ParleyParty, peer: ParleyParty): Promise<string> {
  const record = await party.store.loadSession(peer.address);
  const identity = await party.store.getIdentity(peer.address);
  return JSON.stringify({
    record: record === undefined ? null : Buffer.from(serializeSessionRecord(record)).toString(),
    identity: identity === undefined ? null : Buffer.from(identity).toString('hex'),
  });
}

async function refusal(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function expectRefused(
  party: ParleyParty,
  peer: ParleyParty,
  message: CiphertextMessage,
  errorClass: new (...args: never[]) => Error,
): Promise<Error> {
  const before = await snapshot(party, peer);
  const caught = await refusal(() => party.decrypt(peer.address, message));
  expect(caught).to.be.instanceOf(errorClass);
  expect(await snapshot(party, peer), 'session state after the refusal').to.equal(before);
  return caught as Error;
}

async function exchange(from: ParleyParty, to: ParleyParty, message: string): Promise<void> {
  expect(
    untext(await to.decrypt(from.address, await from.encrypt(to.address, text(message)))),
  ).to.equal(message);
}

/** The prekey message with its base key replaced (the MAC does not cover the outer message). */
function withBaseKey(message: CiphertextMessage, baseKey: Uint8Array): CiphertextMessage {
  const parsed = parsePreKeySignalMessage(message.body);
  return {
    type: 'prekey',
    body: encodePreKeySignalMessage({ ...parsed, baseKey, message: parsed.message.serialized }),
  };
}

const P = 2n ** 255n - 19n;
function invert(value: bigint): bigint {
  let [r0, r1, s0, s1] = [P, ((value % P) + P) % P, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return ((s0 % P) + P) % P;
}
/** 0x05 ‖ the Montgomery u = (1 + y) / (1 − y) of an Edwards point. */
function montgomeryOf(edwards: Uint8Array): Uint8Array {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? edwards[i]! & 0x7f : edwards[i]!);
  let u = ((1n + y) * invert(1n - y)) % P;
  const out = new Uint8Array(33);
  out[0] = 0x05;
  for (let i = 1; i <= 32; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

describe('reference-impl/crypto/pqxdh sessions', () => {
  it('alice refuses a bundle whose Kyber prekey signature does not verify, storing nothing', async () => {
    const alice = new ParleyParty(aci());
    const bob = new ParleyParty(aci());
    const bundle = await bob.bundle();
    const forged = Uint8Array.from(bundle.kyberPreKeySignature);
    forged[5] = forged[5]! ^ 1;
    const error = await refusal(() =>
      alice.startSession(bob.address, { ...bundle, kyberPreKeySignature: forged }),
    );
    expect(error).to.be.instanceOf(SignatureValidationError);
    expect((error as SignatureValidationError).code).to.equal('SIGNATURE_VALIDATION_FAILED');
    expect(await alice.store.loadSession(bob.address)).to.equal(undefined);
    // the signed EC prekey's signature over the Kyber key does not stand in for the Kyber one
    const swapped = await refusal(() =>
      alice.startSession(bob.address, {
        ...bundle,
        kyberPreKeySignature: bundle.signedPreKeySignature,
      }),
    );
    expect(swapped).to.be.instanceOf(SignatureValidationError);
  });

  it('alice refuses a bundle whose Kyber key is ML-KEM (0x0A), truncated or missing, or whose Kyber prekey id is not a 24-bit id, with InvalidKeyError', async () => {
    const alice = new ParleyParty(aci());
    const bob = new ParleyParty(aci());
    const bundle = await bob.bundle();
    const mlkem = Uint8Array.from(bundle.kyberPreKey);
    mlkem[0] = 0x0a;
    for (const kyberPreKey of [mlkem, bundle.kyberPreKey.subarray(0, 1568), undefined]) {
      const error = await refusal(() =>
        alice.startSession(bob.address, { ...bundle, kyberPreKey: kyberPreKey as Uint8Array }),
      );
      expect(error).to.be.instanceOf(InvalidKeyError);
    }
    for (const kyberPreKeyId of [undefined, -1, 0x1000000, 2.5]) {
      const error = await refusal(() =>
        alice.startSession(bob.address, { ...bundle, kyberPreKeyId: kyberPreKeyId as number }),
      );
      expect(error, String(kyberPreKeyId)).to.be.instanceOf(InvalidKeyError);
    }
    expect(await alice.store.loadSession(bob.address)).to.equal(undefined);
  });

  it('bob consumes a one-time Kyber prekey once: a second session on it fails with UnknownKyberPreKeyError', async () => {
    const bob = new ParleyParty(aci());
    const bundle = await bob.bundle(false);
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, bundle);
    await exchange(alice, bob, 'first');
    expect(await bob.store.getKyberPreKey(bundle.kyberPreKeyId)).to.equal(undefined);
    const carol = new ParleyParty(aci());
    await carol.startSession(bob.address, bundle);
    const error = await expectRefused(
      bob,
      carol,
      await carol.encrypt(bob.address, text('late')),
      UnknownKyberPreKeyError,
    );
    expect((error as UnknownKyberPreKeyError).code).to.equal('UNKNOWN_KYBER_PREKEY');
  });

  it('bob keeps the last-resort Kyber prekey, so several alices start sessions on it', async () => {
    const bob = new ParleyParty(aci());
    const first = await bob.bundle(false, true);
    const second = await bob.bundle(false, true);
    expect(second.kyberPreKeyId).to.equal(first.kyberPreKeyId);
    for (const bundle of [first, second]) {
      const alice = new ParleyParty(aci());
      await alice.startSession(bob.address, bundle);
      await exchange(alice, bob, 'on the last-resort key');
      await exchange(bob, alice, 'reply');
    }
    expect(await bob.store.getKyberPreKey(first.kyberPreKeyId)).not.to.equal(undefined);
  });

  it('bob refuses a replayed first message on the last-resort Kyber prekey with ReusedBaseKeyError once its session is gone', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle(false, true));
    const first = await alice.encrypt(bob.address, text('first'));
    expect(untext(await bob.decrypt(alice.address, first))).to.equal('first');
    // while the session exists, a retransmission is recognised by its base key (a duplicate)
    // once bob has lost it, the same message would build a second session on a prekey never consumed
    await bob.store.storeSession(alice.address, new SessionRecord());
    const error = await expectRefused(bob, alice, first, ReusedBaseKeyError);
    expect((error as ReusedBaseKeyError).code).to.equal('REUSED_BASE_KEY');
  });

  it('bob refuses a prekey message naming a Kyber prekey he never issued with UnknownKyberPreKeyError', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    const bundle = await bob.bundle();
    await alice.startSession(bob.address, { ...bundle, kyberPreKeyId: 0xabcdef });
    await expectRefused(
      bob,
      alice,
      await alice.encrypt(bob.address, text('x')),
      UnknownKyberPreKeyError,
    );
  });

  it('bob refuses base keys that are not canonical or not torsion-free with InvalidMessageError', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    const message = await alice.encrypt(bob.address, text('x'));
    const good = parsePreKeySignalMessage(message.body).baseKey;
    // u + p: the same point, not canonically encoded (bit 255 clear, value ≥ p is impossible for
    // most u, so take u = 1 → 1 + p fits below 2^255)
    const nonCanonical = new Uint8Array(33);
    nonCanonical[0] = 0x05;
    let v = P + 1n;
    for (let i = 1; i <= 32; i++) {
      nonCanonical[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    const highBit = Uint8Array.from(good);
    highBit[32] = highBit[32]! | 0x80;
    // a valid point plus a point of order 8: on the curve, but with a torsion component
    const torsion = Buffer.from(
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'hex',
    );
    const point = sodium.crypto_scalarmult_ed25519_base(sodium.randombytes_buf(32));
    const withTorsion = montgomeryOf(sodium.crypto_core_ed25519_add(point, torsion));
    // the control: the same point without torsion is accepted as a key (the MAC then fails)
    const clean = montgomeryOf(point);
    await expectRefused(bob, alice, withBaseKey(message, clean), BadMacError);
    for (const [what, key] of [
      ['u ≥ p', nonCanonical],
      ['bit 255 set', highBit],
      ['torsion component', withTorsion],
    ] as const) {
      const error = await expectRefused(bob, alice, withBaseKey(message, key), InvalidMessageError);
      expect(error.message, what).to.contain('base key');
    }
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('x');
  });

  it('bob refuses a version-3 (X3DH) prekey message with LegacyVersionError, "X3DH no longer supported"', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    const message = await alice.encrypt(bob.address, text('x'));
    const body = Uint8Array.from(message.body);
    body[0] = 0x33;
    const error = await expectRefused(bob, alice, { type: 'prekey', body }, LegacyVersionError);
    expect(error.message).to.contain('X3DH no longer supported');
  });

  it('alice stops encrypting with NoSessionError once her first message has gone unanswered for 30 days', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle(), t0);
    const first = await alice.encrypt(bob.address, text('day 0'), t0);
    expect((await alice.encrypt(bob.address, text('day 30'), t0 + 30 * DAY)).type).to.equal(
      'prekey',
    );
    const before = await snapshot(alice, bob);
    const error = await refusal(() =>
      alice.encrypt(bob.address, text('day 30 + 1 ms'), t0 + 30 * DAY + 1),
    );
    expect(error).to.be.instanceOf(NoSessionError);
    expect(await snapshot(alice, bob)).to.equal(before);
    // an answered session has no such limit
    await bob.decrypt(alice.address, first);
    await alice.decrypt(bob.address, await bob.encrypt(alice.address, text('answer')));
    expect((await alice.encrypt(bob.address, text('day 400'), t0 + 400 * DAY)).type).to.equal(
      'whisper',
    );
  });

  it('an archived session drops its pending prekey data, so it never sends a second prekey message', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    await alice.startSession(bob.address, await bob.bundle());
    const record = (await alice.store.loadSession(bob.address))!;
    expect(record.current!.pendingPreKey).not.to.equal(null);
    expect(record.previous).to.have.length(1);
    expect(record.previous[0]!.pendingPreKey).to.equal(null);
    const json = JSON.parse(Buffer.from(serializeSessionRecord(record)).toString()) as {
      previous: { pendingPreKey: unknown }[];
    };
    expect(json.previous[0]!.pendingPreKey).to.equal(null);
  });

  it('alice refuses to encrypt a plaintext whose body would exceed MAX_CIPHERTEXT_BYTES, the same bound bob applies', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const before = await snapshot(alice, bob);
    const error = await refusal(() =>
      alice.encrypt(bob.address, new Uint8Array(limits.MAX_CIPHERTEXT_BYTES)),
    );
    expect(error).to.be.instanceOf(MessageTooLargeError);
    expect(await snapshot(alice, bob)).to.equal(before);
    // the largest plaintext that fits: whole AES blocks, 16 bytes of padding at most
    const fits = new Uint8Array(limits.MAX_CIPHERTEXT_BYTES - 200);
    const message = await alice.encrypt(bob.address, fits);
    expect(message.body.length).to.be.at.most(limits.MAX_CIPHERTEXT_BYTES);
    expect((await bob.decrypt(alice.address, message)).length).to.equal(fits.length);
  });

  it('alice’s prekey messages carry field 6 and bob checks it: another recipient refuses with BadMacError', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    const message = await alice.encrypt(bob.address, text('to bob, device 1'));
    expect(parsePreKeySignalMessage(message.body).message.addresses).to.have.length(36);
    // bob's store, but bob believing he is another account, or has no address: refused
    for (const localAddress of [aci(), { ...bob.address, deviceId: 2 }, undefined]) {
      const error = await refusal(() =>
        decrypt(
          message,
          alice.address,
          bob.store,
          localAddress === undefined ? {} : { localAddress },
        ),
      );
      expect(error, JSON.stringify(localAddress)).to.be.instanceOf(BadMacError);
    }
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('to bob, device 1');
    // replies and later messages carry no field 6, as libsignal
    const reply = await bob.encrypt(alice.address, text('reply'));
    expect(parseSignalMessage(reply.body).addresses).to.equal(null);
  });

  it('names that are not service ids carry no field 6', async () => {
    const bob = new ParleyParty({ name: 'bob@example.org', deviceId: 1 });
    const alice = new ParleyParty({ name: 'alice@example.org', deviceId: 1 });
    await alice.startSession(bob.address, await bob.bundle());
    const message = await alice.encrypt(bob.address, text('x'));
    expect(parsePreKeySignalMessage(message.body).message.addresses).to.equal(null);
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('x');
  });

  it('refuses device ids outside 1..127 with InvalidDeviceIdError', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    const bundle = await bob.bundle();
    for (const deviceId of [0, 128, 1.5, -1]) {
      const address = { name: bob.address.name, deviceId };
      const error = await refusal(() => alice.startSession(address, bundle));
      expect(error, `device ${deviceId}`).to.be.instanceOf(InvalidDeviceIdError);
      expect((error as InvalidDeviceIdError).code).to.equal('INVALID_DEVICE_ID');
      expect(await refusal(() => encrypt(text('x'), address, alice.store))).to.be.instanceOf(
        InvalidDeviceIdError,
      );
    }
    await alice.startSession({ name: bob.address.name, deviceId: 127 }, bundle);
  });

  it('a session with oneself (same identity and service id) accepts a jump past 25 000; another account’s does not', async () => {
    const account = aci(1);
    const phone = new ParleyParty(account);
    const laptop = new ParleyParty({ name: account.name, deviceId: 2 }, phone.identity);
    const stranger = new ParleyParty(aci(2), phone.identity); // same key, other service id
    for (const [peer, self] of [
      [laptop, true],
      [stranger, false],
    ] as const) {
      await peer.startSession(phone.address, await phone.bundle());
      await exchange(peer, phone, 'hi');
      await exchange(phone, peer, 'hello');
      const record = (await peer.store.loadSession(phone.address))!;
      const sender = record.current!.senderChain;
      let chainKey = sender.chainKey;
      for (let i = 0; i < 25_001; i++) chainKey = nextChainKey(chainKey);
      record.current!.senderChain = { ratchetKeyPair: sender.ratchetKeyPair, chainKey };
      const far = await peer.encrypt(phone.address, text('far'));
      if (self) expect(untext(await phone.decrypt(peer.address, far))).to.equal('far');
      else await expectRefused(phone, peer, far, MessageTooFarAheadError);
    }
  });

  it('bob refuses a SignalMessage whose SPQR field 5 was removed with InvalidMessageError (V1 is required), keeping the session', async () => {
    const bob = new ParleyParty(aci());
    const alice = new ParleyParty(aci());
    await alice.startSession(bob.address, await bob.bundle());
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const message = await alice.encrypt(bob.address, text('x'));
    const parsed = parseSignalMessage(message.body);
    const stripped = encodeSignalMessage({
      ...parsed,
      macKey: new Uint8Array(32),
      pqRatchet: new Uint8Array(0),
      senderIdentity: alice.identityKey,
      receiverIdentity: bob.identityKey,
    });
    const error = await expectRefused(
      bob,
      alice,
      { type: 'whisper', body: stripped },
      InvalidMessageError,
    );
    expect(error.message).to.contain('V1 is required');
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('x');
  });
});

describe('reference-impl/crypto/pqxdh key agreement', () => {
  it('bob derives HKDF(0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 ‖ DH4 ‖ Kyber secret, no salt, "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96) = root ‖ chain ‖ SPQR key, and alice agrees', () => {
    const [aliceIdentity, aliceBase, bobIdentity, bobSigned, bobOneTime] = [1, 2, 3, 4, 5].map(() =>
      generateKeyPair(),
    ) as [ReturnType<typeof generateKeyPair>, ...ReturnType<typeof generateKeyPair>[]];
    const bobKyber = generateKyberKeyPair();
    for (const oneTime of [bobOneTime!, null]) {
      const { state: alice, kyberCiphertext } = initializeAliceSession({
        ourIdentityKeyPair: aliceIdentity,
        ourBaseKeyPair: aliceBase!,
        theirIdentityKey: bobIdentity!.publicKey,
        theirSignedPreKey: bobSigned!.publicKey,
        theirOneTimePreKey: oneTime === null ? null : oneTime.publicKey,
        theirKyberPreKey: bobKyber.publicKey,
        theirRatchetKey: bobSigned!.publicKey,
        selfSession: false,
      });
      const bob = initializeBobSession({
        ourIdentityKeyPair: bobIdentity!,
        ourSignedPreKeyPair: bobSigned!,
        ourOneTimePreKeyPair: oneTime,
        ourKyberPreKeyPair: bobKyber,
        ourRatchetKeyPair: bobSigned!,
        theirIdentityKey: aliceIdentity.publicKey,
        theirBaseKey: aliceBase!.publicKey,
        theirKyberCiphertext: kyberCiphertext,
        selfSession: false,
      });
      const secrets = [
        new Uint8Array(32).fill(0xff),
        calculateAgreement(aliceIdentity.publicKey, bobSigned!.privateKey),
        calculateAgreement(aliceBase!.publicKey, bobIdentity!.privateKey),
        calculateAgreement(aliceBase!.publicKey, bobSigned!.privateKey),
        ...(oneTime === null ? [] : [calculateAgreement(aliceBase!.publicKey, oneTime.privateKey)]),
        kyberDecapsulate(kyberCiphertext, bobKyber.secretKey),
      ];
      const okm = Buffer.from(
        hkdfSync(
          'sha256',
          Buffer.concat(secrets),
          new Uint8Array(0),
          'WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024',
          96,
        ),
      );
      expect(Buffer.from(bob.rootKey)).to.deep.equal(okm.subarray(0, 32));
      expect(Buffer.from(bob.senderChain.chainKey.key)).to.deep.equal(okm.subarray(32, 64));
      const spqr = initialSpqrState(okm.subarray(64, 96), 'B2A', false);
      expect(Buffer.from(bob.spqr.chain.links[0]!.send.next!)).to.deep.equal(
        Buffer.from(spqr.chain.links[0]!.send.next!),
      );
      expect(bob.spqr.braid.auth).to.deep.equal(spqr.braid.auth);
      expect(Buffer.from(alice.receiverChains[0]!.chainKey.key)).to.deep.equal(
        okm.subarray(32, 64),
      );
      expect(Buffer.from(alice.spqr.chain.links[0]!.receive.next)).to.deep.equal(
        Buffer.from(spqr.chain.links[0]!.send.next!),
      );
      expect(alice.sessionVersion).to.equal(4);
      expect(bob.sessionVersion).to.equal(4);
    }
  });
});
