// FIPS 203 ML-KEM-768 (reference-impl/crypto/kem/mlkem768.ts) and ML-KEM-1024 from the same core
// (fips203.ts): byte-equal with @noble/post-quantum@0.7.1 on seeded keys and encapsulations, the
// §7.2 / §7.3 key checks, implicit rejection, and the incremental split SPQR sends.
import { shake256, sha3_256 } from '@noble/hashes/sha3.js';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { ProtocolErrorCode } from '../../../../reference-impl/crypto/errors.ts';
import { mlKem } from '../../../../reference-impl/crypto/kem/fips203.ts';
import * as mlkem768 from '../../../../reference-impl/crypto/kem/mlkem768.ts';
import { PARAMS_1024 } from '../../../../reference-impl/crypto/kem/params.ts';
import { hex } from './support.ts';

const mlkem1024 = mlKem(PARAMS_1024, 'ML-KEM-1024');

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

/** Sets the first 12-bit coefficient of an encoded vector to q (non-canonical). */
function withCoefficientQ(vector: Uint8Array): Uint8Array {
  const out = vector.slice();
  out[0] = 3329 & 0xff;
  out[1] = (out[1]! & 0xf0) | (3329 >> 8);
  return out;
}

describe('reference-impl/crypto/kem/mlkem768 (FIPS 203 ML-KEM-768)', () => {
  it('generates the same keys as @noble/post-quantum ml_kem768 from 100 seeds d ‖ z, and encapsulates the same ciphertext and secret for each m', () => {
    for (let i = 0; i < 100; i++) {
      const seed = randomBytes(64);
      const ours = mlkem768.generateKeyPair(seed);
      const theirs = ml_kem768.keygen(seed);
      expect(hex(ours.encapsulationKey)).to.equal(hex(theirs.publicKey));
      expect(hex(ours.decapsulationKey)).to.equal(hex(theirs.secretKey));
      const m = randomBytes(32);
      const encapsulated = mlkem768.encapsulate(ours.encapsulationKey, m);
      const expected = ml_kem768.encapsulate(theirs.publicKey, m);
      expect(hex(encapsulated.ciphertext)).to.equal(hex(expected.cipherText));
      expect(hex(encapsulated.sharedSecret)).to.equal(hex(expected.sharedSecret));
      expect(hex(mlkem768.decapsulate(expected.cipherText, ours.decapsulationKey))).to.equal(
        hex(expected.sharedSecret),
      );
    }
  });

  it('bob decapsulates what @noble/post-quantum encapsulates with its own randomness, and the other way round', () => {
    for (let i = 0; i < 20; i++) {
      const ours = mlkem768.generateKeyPair();
      const theirs = ml_kem768.encapsulate(ours.encapsulationKey);
      expect(hex(mlkem768.decapsulate(theirs.cipherText, ours.decapsulationKey))).to.equal(
        hex(theirs.sharedSecret),
      );
      const { publicKey, secretKey } = ml_kem768.keygen();
      const toThem = mlkem768.encapsulate(publicKey);
      expect(hex(ml_kem768.decapsulate(toThem.ciphertext, secretKey))).to.equal(
        hex(toThem.sharedSecret),
      );
    }
  });

  it('ML-KEM-1024 from the same core matches @noble/post-quantum ml_kem1024 on 30 seeds', () => {
    for (let i = 0; i < 30; i++) {
      const seed = randomBytes(64);
      const ours = mlkem1024.generateKeyPair(seed);
      const theirs = ml_kem1024.keygen(seed);
      expect(hex(ours.decapsulationKey)).to.equal(hex(theirs.secretKey));
      const m = randomBytes(32);
      const encapsulated = mlkem1024.encapsulate(ours.encapsulationKey, m);
      const expected = ml_kem1024.encapsulate(theirs.publicKey, m);
      expect(hex(encapsulated.ciphertext)).to.equal(hex(expected.cipherText));
      expect(hex(encapsulated.sharedSecret)).to.equal(hex(expected.sharedSecret));
    }
  });

  it('turns a tampered ciphertext into the implicit-rejection secret J(z ‖ c), the same as @noble/post-quantum', () => {
    for (let i = 0; i < 10; i++) {
      const seed = randomBytes(64);
      const keys = mlkem768.generateKeyPair(seed);
      const { ciphertext, sharedSecret } = mlkem768.encapsulate(keys.encapsulationKey);
      const tampered = ciphertext.slice();
      tampered[i * 100]! ^= 1 << (i % 8);
      const rejected = mlkem768.decapsulate(tampered, keys.decapsulationKey);
      expect(hex(rejected)).to.equal(
        hex(shake256(new Uint8Array([...seed.subarray(32), ...tampered]), { dkLen: 32 })),
      );
      expect(hex(rejected)).to.equal(hex(ml_kem768.decapsulate(tampered, keys.decapsulationKey)));
      expect(hex(rejected)).to.not.equal(hex(sharedSecret));
    }
  });

  it('refuses an encapsulation key with a coefficient ≥ q (FIPS 203 §7.2 modulus check) or of the wrong length with INVALID_KEY, as @noble/post-quantum refuses it', () => {
    const { encapsulationKey } = mlkem768.generateKeyPair();
    const bad = new Uint8Array([
      ...withCoefficientQ(encapsulationKey.subarray(0, 1152)),
      ...encapsulationKey.subarray(1152),
    ]);
    expect(codeOf(() => mlkem768.encapsulate(bad))).to.equal(ProtocolErrorCode.InvalidKey);
    expect(() => mlkem768.checkEncapsulationKey(bad)).to.throw(/modulus check/);
    expect(() => ml_kem768.encapsulate(bad)).to.throw();
    expect(codeOf(() => mlkem768.encapsulate(encapsulationKey.subarray(1)))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(() => mlkem768.checkEncapsulationKey(encapsulationKey)).to.not.throw();
  });

  it('refuses a decapsulation key whose stored H(ek) does not match its ek (FIPS 203 §7.3 hash check) or of the wrong length with INVALID_KEY, and a ciphertext of the wrong length with INVALID_MESSAGE', () => {
    const { encapsulationKey, decapsulationKey } = mlkem768.generateKeyPair();
    const { ciphertext } = mlkem768.encapsulate(encapsulationKey);
    const bad = decapsulationKey.slice();
    bad[1152 + 5]! ^= 1; // inside the embedded ek, so H(ek) no longer matches
    expect(codeOf(() => mlkem768.decapsulate(ciphertext, bad))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(() => mlkem768.checkDecapsulationKey(bad)).to.throw(/hash check/);
    expect(codeOf(() => mlkem768.decapsulate(ciphertext, decapsulationKey.subarray(1)))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(codeOf(() => mlkem768.decapsulate(ciphertext.subarray(1), decapsulationKey))).to.equal(
      ProtocolErrorCode.InvalidMessage,
    );
    expect(() => mlkem768.checkDecapsulationKey(decapsulationKey)).to.not.throw();
  });

  it('bob turns any 1088 bytes into J(z ‖ c) when they are no encapsulation, never an error (property)', () => {
    const seed = randomBytes(64);
    const keys = mlkem768.generateKeyPair(seed);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1088, maxLength: 1088 }), (bytes) => {
        const expected = shake256(new Uint8Array([...seed.subarray(32), ...bytes]), { dkLen: 32 });
        expect(hex(mlkem768.decapsulate(bytes, keys.decapsulationKey))).to.equal(hex(expected));
      }),
      { numRuns: 30 },
    );
  });

  describe('the incremental split SPQR sends (header, encapsulation-key vector, two ciphertext parts)', () => {
    it('splits the key into a 64-byte header ρ ‖ H(ek) and the 1152-byte vector t̂, and joins them back', () => {
      const { encapsulationKey } = mlkem768.generateKeyPair();
      const header = mlkem768.header(encapsulationKey);
      const vector = mlkem768.encapsulationKeyVector(encapsulationKey);
      expect(header).to.have.length(64);
      expect(vector).to.have.length(1152);
      expect(hex(header.subarray(0, 32))).to.equal(hex(encapsulationKey.subarray(1152)));
      expect(hex(header.subarray(32))).to.equal(hex(sha3_256(encapsulationKey)));
      expect(hex(vector)).to.equal(hex(encapsulationKey.subarray(0, 1152)));
      expect(hex(mlkem768.joinEncapsulationKey(header, vector))).to.equal(hex(encapsulationKey));
    });

    it('alice’s two parts (960 + 128 bytes) join into exactly the ciphertext and secret @noble/post-quantum encapsulates for the same m, on 50 keys', () => {
      for (let i = 0; i < 50; i++) {
        const seed = randomBytes(64);
        const bob = mlkem768.generateKeyPair(seed);
        const m = randomBytes(32);
        const first = mlkem768.encapsulate1(mlkem768.header(bob.encapsulationKey), m);
        expect(first.ciphertext1).to.have.length(960);
        const ciphertext2 = mlkem768.encapsulate2(
          first.state,
          mlkem768.encapsulationKeyVector(bob.encapsulationKey),
        );
        expect(ciphertext2).to.have.length(128);
        const expected = ml_kem768.encapsulate(ml_kem768.keygen(seed).publicKey, m);
        expect(hex(first.ciphertext1) + hex(ciphertext2)).to.equal(hex(expected.cipherText));
        expect(hex(first.sharedSecret)).to.equal(hex(expected.sharedSecret));
        const whole = new Uint8Array([...first.ciphertext1, ...ciphertext2]);
        expect(hex(mlkem768.decapsulate(whole, bob.decapsulationKey))).to.equal(
          hex(first.sharedSecret),
        );
      }
    });

    it('a vector matches only its own header: another key’s vector, a changed header hash or a coefficient ≥ q do not, and encapsulate2 refuses them with INVALID_KEY', () => {
      const bob = mlkem768.generateKeyPair();
      const carol = mlkem768.generateKeyPair();
      const header = mlkem768.header(bob.encapsulationKey);
      const vector = mlkem768.encapsulationKeyVector(bob.encapsulationKey);
      expect(mlkem768.vectorMatchesHeader(header, vector)).to.equal(true);
      const carolsVector = mlkem768.encapsulationKeyVector(carol.encapsulationKey);
      expect(mlkem768.vectorMatchesHeader(header, carolsVector)).to.equal(false);
      const changed = header.slice();
      changed[40]! ^= 1;
      expect(mlkem768.vectorMatchesHeader(changed, vector)).to.equal(false);
      const nonCanonical = withCoefficientQ(vector);
      const nonCanonicalHeader = new Uint8Array([
        ...header.subarray(0, 32),
        ...sha3_256(new Uint8Array([...nonCanonical, ...header.subarray(0, 32)])),
      ]);
      expect(mlkem768.vectorMatchesHeader(nonCanonicalHeader, nonCanonical)).to.equal(false);
      expect(mlkem768.vectorMatchesHeader(header, vector.subarray(1))).to.equal(false);
      const { state } = mlkem768.encapsulate1(header);
      expect(codeOf(() => mlkem768.encapsulate2(state, carolsVector))).to.equal(
        ProtocolErrorCode.InvalidKey,
      );
      expect(codeOf(() => mlkem768.joinEncapsulationKey(header, carolsVector))).to.equal(
        ProtocolErrorCode.InvalidKey,
      );
      expect(codeOf(() => mlkem768.encapsulate1(header.subarray(1)))).to.equal(
        ProtocolErrorCode.InvalidKey,
      );
    });

    it('alice and bob agree on the secret through the two-part encapsulation for any seed and m (property)', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 64, maxLength: 64 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (seed, m) => {
            const bob = mlkem768.generateKeyPair(seed);
            const first = mlkem768.encapsulate1(mlkem768.header(bob.encapsulationKey), m);
            const ciphertext2 = mlkem768.encapsulate2(
              first.state,
              mlkem768.encapsulationKeyVector(bob.encapsulationKey),
            );
            const whole = new Uint8Array([...first.ciphertext1, ...ciphertext2]);
            expect(hex(mlkem768.decapsulate(whole, bob.decapsulationKey))).to.equal(
              hex(first.sharedSecret),
            );
            const direct = mlkem768.encapsulate(bob.encapsulationKey, m);
            expect(hex(direct.ciphertext)).to.equal(hex(whole));
          },
        ),
        { numRuns: 50 },
      );
    });
  });
});
