// Kyber-1024 keys as libsignal-client serialises them (type byte 0x08 ‖ raw key): libsignal's
// generated keys work with our encapsulation and decapsulation, and libsignal takes ours. The
// package exposes no KEM encapsulate/decapsulate to JavaScript (0.72.1 nor 0.103.0), so the shared
// secret itself is checked against libsignal through PQXDH in the session interop tests.
import * as Signal from '@signalapp/libsignal-client';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { expect } from 'chai';
import { InvalidKeyError } from '../../../../reference-impl/crypto/errors.ts';
import * as kyber1024 from '../../../../reference-impl/crypto/kem/kyber1024.ts';
import { hex } from './support.ts';

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
