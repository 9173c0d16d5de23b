// The known answers libcrux-ml-kem (the KEM under libsignal's PQXDH and SPQR) is tested against,
// reproduced by reference-impl/crypto/kem: round-3 Kyber-1024, ML-KEM-768, and libcrux's refusals
// of ML-KEM-768 keys (vectors: test/reference-impl/crypto/vectors/libcrux-ml-kem-kats.json).
import { sha3_256 } from '@noble/hashes/sha3.js';
import { expect } from 'chai';
import { ProtocolErrorCode } from '../../../../reference-impl/crypto/errors.ts';
import * as kyber1024 from '../../../../reference-impl/crypto/kem/kyber1024.ts';
import * as mlkem768 from '../../../../reference-impl/crypto/kem/mlkem768.ts';
import vectors from '../vectors/libcrux-ml-kem-kats.json' with { type: 'json' };
import { hex } from './support.ts';

const bytes = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'hex'));

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('reference-impl/crypto/kem against libcrux-ml-kem’s known answers (libsignal’s KEM library)', () => {
  it(`derives libcrux's ${vectors.kyber1024.length} round-3 Kyber-1024 keys, ciphertexts and secrets from their seeds`, () => {
    for (const [i, vector] of vectors.kyber1024.entries()) {
      const keys = kyber1024.generateKeyPair(bytes(vector.keyGenerationSeed));
      expect(hex(sha3_256(keys.publicKey)), `public key ${i}`).to.equal(vector.sha3_256OfPublicKey);
      expect(hex(sha3_256(keys.secretKey)), `secret key ${i}`).to.equal(vector.sha3_256OfSecretKey);
      const { ciphertext, sharedSecret } = kyber1024.encapsulate(
        keys.publicKey,
        bytes(vector.encapsulationSeed),
      );
      expect(hex(sha3_256(ciphertext)), `ciphertext ${i}`).to.equal(vector.sha3_256OfCiphertext);
      expect(hex(sharedSecret), `shared secret ${i}`).to.equal(vector.sharedSecret);
      expect(hex(kyber1024.decapsulate(ciphertext, keys.secretKey))).to.equal(vector.sharedSecret);
    }
  });

  it(`derives libcrux's ${vectors.mlkem768.length} ML-KEM-768 keys, ciphertexts and secrets from their seeds, also through the two-part encapsulation`, () => {
    for (const [i, vector] of vectors.mlkem768.entries()) {
      const keys = mlkem768.generateKeyPair(bytes(vector.keyGenerationSeed));
      expect(hex(sha3_256(keys.encapsulationKey)), `encapsulation key ${i}`).to.equal(
        vector.sha3_256OfPublicKey,
      );
      expect(hex(sha3_256(keys.decapsulationKey)), `decapsulation key ${i}`).to.equal(
        vector.sha3_256OfSecretKey,
      );
      const m = bytes(vector.encapsulationSeed);
      const { ciphertext, sharedSecret } = mlkem768.encapsulate(keys.encapsulationKey, m);
      expect(hex(sha3_256(ciphertext)), `ciphertext ${i}`).to.equal(vector.sha3_256OfCiphertext);
      expect(hex(sharedSecret), `shared secret ${i}`).to.equal(vector.sharedSecret);
      const first = mlkem768.encapsulate1(mlkem768.header(keys.encapsulationKey), m);
      const second = mlkem768.encapsulate2(
        first.state,
        mlkem768.encapsulationKeyVector(keys.encapsulationKey),
      );
      expect(hex(first.sharedSecret)).to.equal(vector.sharedSecret);
      expect(hex(sha3_256(new Uint8Array([...first.ciphertext1, ...second])))).to.equal(
        vector.sha3_256OfCiphertext,
      );
      expect(hex(mlkem768.decapsulate(ciphertext, keys.decapsulationKey))).to.equal(
        vector.sharedSecret,
      );
    }
  });

  it(`refuses each of libcrux's ${vectors.mlkem768InvalidModulusEncapsulationKeys.length} ML-KEM-768 encapsulation keys that fail the modulus check with INVALID_KEY, whole or as a header and vector`, () => {
    for (const key of vectors.mlkem768InvalidModulusEncapsulationKeys.map(bytes)) {
      expect(codeOf(() => mlkem768.encapsulate(key))).to.equal(ProtocolErrorCode.InvalidKey);
      expect(codeOf(() => mlkem768.checkEncapsulationKey(key))).to.equal(
        ProtocolErrorCode.InvalidKey,
      );
      const header = mlkem768.header(key);
      const vector = mlkem768.encapsulationKeyVector(key);
      expect(mlkem768.vectorMatchesHeader(header, vector)).to.equal(false);
      const { state } = mlkem768.encapsulate1(header);
      expect(codeOf(() => mlkem768.encapsulate2(state, vector))).to.equal(
        ProtocolErrorCode.InvalidKey,
      );
    }
  });

  it('refuses libcrux’s ML-KEM-768 decapsulation key that fails the hash check with INVALID_KEY', () => {
    const { decapsulationKey, ciphertext } = vectors.mlkem768InvalidDecapsulationKey;
    expect(codeOf(() => mlkem768.decapsulate(bytes(ciphertext), bytes(decapsulationKey)))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(() => mlkem768.checkDecapsulationKey(bytes(decapsulationKey))).to.throw(/hash check/);
  });
});
