// Kyber-1024 keys as libsignal-client serialises them (type byte 0x08 ‖ raw key): libsignal's
// generated keys work with our encapsulation and decapsulation, and libsignal takes ours. The
// package exposes no KEM encapsulate/decapsulate to JavaScript (0.72.1 nor 0.103.0), so the shared
// secret itself is checked against libsignal through PQXDH: in the session interop tests for valid
// ciphertexts, and here for implicit rejection (a PreKeySignalMessage keyed with a chosen secret).
import * as Signal from '@signalapp/libsignal-client';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { generateKeyPair } from '../../../../reference-impl/crypto/curve.ts';
import { InvalidKeyError } from '../../../../reference-impl/crypto/errors.ts';
import type { PreKeyBundle, ProtocolAddress } from '../../../../reference-impl/crypto/index.ts';
import * as kyber1024 from '../../../../reference-impl/crypto/kem/kyber1024.ts';
import { initializeAliceSession } from '../../../../reference-impl/crypto/pqxdh.ts';
import { copyRecord } from '../../../../reference-impl/crypto/session.ts';
import { parsePreKeySignalMessage } from '../../../../reference-impl/crypto/wire.ts';
import { LibsignalParty, ParleyParty, text, untext } from '../support/parties.ts';
import { crystalsKyber, hex } from './support.ts';

const KYBER_1024_TYPE = 0x08;

describe('reference-impl/crypto/kem/kyber1024 with libsignal-client Kyber keys', () => {
  it('alice encapsulates to libsignal-generated Kyber-1024 keys and bob decapsulates with libsignal’s secret key, whose layout is dk_PKE ‖ pk ‖ H(pk) ‖ z behind type byte 0x08', () => {
    for (let i = 0; i < 20; i++) {
      const pair = Signal.KEMKeyPair.generate();
      const publicKey = new Uint8Array(pair.getPublicKey().serialize());
      const secretKey = new Uint8Array(pair.getSecretKey().serialize());
      expect(publicKey).to.have.length(1 + kyber1024.PUBLIC_KEY_LENGTH);
      expect(secretKey).to.have.length(1 + kyber1024.SECRET_KEY_LENGTH);
      expect(publicKey[0]).to.equal(KYBER_1024_TYPE);
      expect(secretKey[0]).to.equal(KYBER_1024_TYPE);
      const rawPublic = publicKey.subarray(1);
      const rawSecret = secretKey.subarray(1);
      expect(hex(rawSecret.subarray(1536, 3104))).to.equal(hex(rawPublic));
      expect(hex(rawSecret.subarray(3104, 3136))).to.equal(hex(sha3_256(rawPublic)));
      const { ciphertext, sharedSecret } = kyber1024.encapsulate(rawPublic);
      expect(hex(kyber1024.decapsulate(ciphertext, rawSecret))).to.equal(hex(sharedSecret));
    }
  });

  it('libsignal takes our Kyber-1024 keys behind type byte 0x08 and serialises them back unchanged, a public key with a coefficient ≥ q included', () => {
    const { publicKey, secretKey } = kyber1024.generateKeyPair();
    const typedPublic = Buffer.from([KYBER_1024_TYPE, ...publicKey]);
    const typedSecret = Buffer.from([KYBER_1024_TYPE, ...secretKey]);
    expect(hex(Signal.KEMPublicKey.deserialize(typedPublic).serialize())).to.equal(
      hex(typedPublic),
    );
    expect(hex(Signal.KEMSecretKey.deserialize(typedSecret).serialize())).to.equal(
      hex(typedSecret),
    );

    const nonCanonical = typedPublic.slice();
    nonCanonical[1] = 0xff; // first coefficient's low 8 bits
    nonCanonical[2] = nonCanonical[2]! | 0x0f; // and its high 4 bits: 4095 ≥ q
    expect(hex(Signal.KEMPublicKey.deserialize(nonCanonical).serialize())).to.equal(
      hex(nonCanonical),
    );
    expect(() => kyber1024.encapsulate(nonCanonical.subarray(1))).to.not.throw();
  });

  it('libsignal refuses a Kyber-1024 key one byte short, as we do (INVALID_KEY)', () => {
    const { publicKey } = kyber1024.generateKeyPair();
    expect(() =>
      Signal.KEMPublicKey.deserialize(Buffer.from([KYBER_1024_TYPE, ...publicKey.subarray(1)])),
    ).to.throw();
    expect(() => kyber1024.encapsulate(publicKey.subarray(1))).to.throw(
      InvalidKeyError,
      /1568 bytes/,
    );
  });
});

/** The raw z of a Kyber-1024 secret key (dk_PKE ‖ pk ‖ H(pk) ‖ z). */
const zOf = (rawSecret: Uint8Array): Uint8Array => rawSecret.subarray(3136, 3168);

/**
 * Starts alice's session with bob as processPreKeyBundle does, but keyed with a chosen Kyber
 * ciphertext and shared secret instead of a fresh encapsulation (the test-only `kem` parameter of
 * pqxdh.ts's initializeAliceSession, which index.ts does not export).
 */
async function startSessionKeyedWith(
  alice: ParleyParty,
  bob: ProtocolAddress,
  bundle: PreKeyBundle,
  kem: { ciphertext: Uint8Array; sharedSecret: Uint8Array },
): Promise<void> {
  const record = copyRecord(await alice.store.loadSession(bob));
  const ourIdentityKeyPair = await alice.store.getIdentityKeyPair();
  const ourBaseKeyPair = generateKeyPair();
  const { state, kyberCiphertext } = initializeAliceSession(
    {
      ourIdentityKeyPair,
      ourBaseKeyPair,
      theirIdentityKey: bundle.identityKey,
      theirSignedPreKey: bundle.signedPreKey,
      theirOneTimePreKey: bundle.preKey ?? null,
      theirKyberPreKey: bundle.kyberPreKey,
      theirRatchetKey: bundle.signedPreKey,
      selfSession: false,
    },
    undefined,
    kem,
  );
  state.pendingPreKey = {
    preKeyId: bundle.preKeyId ?? null,
    signedPreKeyId: bundle.signedPreKeyId,
    baseKey: ourBaseKeyPair.publicKey,
    kyberPreKeyId: bundle.kyberPreKeyId,
    kyberCiphertext,
    timestamp: Date.now(),
  };
  state.localRegistrationId = await alice.store.getLocalRegistrationId();
  state.remoteRegistrationId = bundle.registrationId;
  await alice.store.saveIdentity(bob, bundle.identityKey);
  record.promoteState(state);
  await alice.store.storeSession(bob, record);
}

const typedCiphertext = (raw: Uint8Array): Uint8Array => Uint8Array.from([KYBER_1024_TYPE, ...raw]);

describe('Kyber-1024 implicit rejection as libsignal-client 0.103.0 computes it', () => {
  it('libsignal bob takes a PreKeySignalMessage whose tampered Kyber ciphertext does not re-encrypt when alice keys PQXDH with SHAKE-256(SHAKE-256(z ‖ c) ‖ SHA3-256(c)) (libcrux, our decapsulate), and refuses it keyed with the round-3 reference’s SHAKE-256(z ‖ SHA3-256(c)) (crystals-kyber)', async () => {
    // Tampered bytes in Compress_11(u) (first, middle) and in Compress_5(v) (last).
    for (const position of [0, 700, kyber1024.CIPHERTEXT_LENGTH - 1]) {
      const bob = new LibsignalParty({ name: randomUUID(), deviceId: 1 });
      const bundle = await bob.bundle();
      const record = await bob.kyberPreKeys.getKyberPreKey(bundle.kyberPreKeyId);
      const bobSecret = new Uint8Array(record.secretKey().serialize()).subarray(1);
      const bobPublic = bundle.kyberPreKey.subarray(1);
      expect(bobSecret).to.have.length(kyber1024.SECRET_KEY_LENGTH);

      const honest = kyber1024.encapsulate(bobPublic);
      const tampered = honest.ciphertext.slice();
      tampered[position]! ^= 0x01;
      const ours = kyber1024.decapsulate(tampered, bobSecret);
      const libcrux = shake256(
        Uint8Array.from([
          ...shake256(Uint8Array.from([...zOf(bobSecret), ...tampered]), { dkLen: 32 }),
          ...sha3_256(tampered),
        ]),
        { dkLen: 32 },
      );
      const reference = shake256(Uint8Array.from([...zOf(bobSecret), ...sha3_256(tampered)]), {
        dkLen: 32,
      });
      // The tampered ciphertext is rejected (no re-encryption match), and the two formulas differ.
      expect(hex(ours)).to.equal(hex(libcrux));
      expect(hex(ours)).to.not.equal(hex(honest.sharedSecret));
      expect(hex(crystalsKyber.Decrypt1024(tampered, bobSecret))).to.equal(hex(reference));
      expect(hex(reference)).to.not.equal(hex(libcrux));

      const ciphertext = typedCiphertext(tampered);
      const keyedReference = new ParleyParty({ name: randomUUID(), deviceId: 1 });
      await startSessionKeyedWith(keyedReference, bob.address, bundle, {
        ciphertext,
        sharedSecret: reference,
      });
      const refused = await keyedReference.encrypt(bob.address, text('round-3 reference'));
      expect(refused.type).to.equal('prekey');
      expect(hex(parsePreKeySignalMessage(refused.body).kyberCiphertext)).to.equal(hex(ciphertext));
      const before = await bob.stateOf(keyedReference.address);
      let error: unknown;
      try {
        await bob.decrypt(keyedReference.address, refused);
      } catch (caught) {
        error = caught;
      }
      // libsignal's SignalProtocolError::InvalidMessage: the first message's MAC did not verify.
      expect(error, 'libsignal refuses the reference-keyed message').to.be.instanceOf(Error);
      expect((error as { code?: unknown }).code).to.equal(Signal.ErrorCode.Generic);
      expect((error as Error).message).to.equal('invalid PreKey message: decryption failed');
      expect(await bob.stateOf(keyedReference.address)).to.equal(before);

      const keyedLibcrux = new ParleyParty({ name: randomUUID(), deviceId: 1 });
      await startSessionKeyedWith(keyedLibcrux, bob.address, bundle, {
        ciphertext,
        sharedSecret: ours,
      });
      const accepted = await keyedLibcrux.encrypt(bob.address, text('libcrux rejection secret'));
      expect(hex(parsePreKeySignalMessage(accepted.body).kyberCiphertext)).to.equal(
        hex(ciphertext),
      );
      expect(untext(await bob.decrypt(keyedLibcrux.address, accepted))).to.equal(
        'libcrux rejection secret',
      );
      // The session works on: bob answers and alice decrypts.
      const reply = await bob.encrypt(keyedLibcrux.address, text('bob answers'));
      expect(untext(await keyedLibcrux.decrypt(bob.address, reply))).to.equal('bob answers');
    }
  });
});
