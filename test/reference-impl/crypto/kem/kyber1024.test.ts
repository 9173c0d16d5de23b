// Round-3 CRYSTALS-Kyber-1024 (reference-impl/crypto/kem/kyber1024.ts): the NIST round-3 known
// answers, interoperation with crystals-kyber@5.1.0 both ways, implicit rejection as libsignal
// (libcrux) computes it, libsignal's handling of non-canonical public keys, and length errors.
import { shake256, sha3_256 } from '@noble/hashes/sha3.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { ProtocolErrorCode } from '../../../../reference-impl/crypto/errors.ts';
import * as kyber1024 from '../../../../reference-impl/crypto/kem/kyber1024.ts';
import { crystalsKyber, hex, NistKatDrbg, packageFile, readRsp } from './support.ts';

const KAT = readRsp(packageFile('crystals-kyber/PQCkemKAT_3168.rsp'));

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

/** Rewrites one 12-bit coefficient of a public key whose value is below 4096 − q to value + q. */
function nonCanonical(publicKey: Uint8Array): { publicKey: Uint8Array; index: number } {
  const out = publicKey.slice();
  for (let p = 0; p < 1536; p += 3) {
    const d1 = out[p]! | ((out[p + 1]! & 0x0f) << 8);
    if (d1 + 3329 < 4096) {
      const value = d1 + 3329;
      out[p] = value & 0xff;
      out[p + 1] = (out[p + 1]! & 0xf0) | (value >> 8);
      return { publicKey: out, index: (2 * p) / 3 };
    }
  }
  throw new Error('no small coefficient found');
}

/** A secret key carrying a different public key (and its hash), as a peer holding it would have. */
function withPublicKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const out = secretKey.slice();
  out.set(publicKey, 1536);
  out.set(sha3_256(publicKey), 1536 + 1568);
  return out;
}

describe('reference-impl/crypto/kem/kyber1024 (round-3 CRYSTALS-Kyber-1024, libsignal key type 0x08)', () => {
  it(`reproduces all ${KAT.length} NIST round-3 known answers (PQCkemKAT_3168.rsp): public key, secret key, ciphertext and shared secret`, () => {
    expect(KAT).to.have.length(100);
    for (const vector of KAT) {
      const drbg = new NistKatDrbg(vector.seed);
      const d = drbg.bytes(32);
      const z = drbg.bytes(32);
      const keys = kyber1024.generateKeyPair(new Uint8Array([...d, ...z]));
      expect(hex(keys.publicKey), `pk of count ${vector.count}`).to.equal(hex(vector.pk));
      expect(hex(keys.secretKey), `sk of count ${vector.count}`).to.equal(hex(vector.sk));
      const { ciphertext, sharedSecret } = kyber1024.encapsulate(keys.publicKey, drbg.bytes(32));
      expect(hex(ciphertext), `ct of count ${vector.count}`).to.equal(hex(vector.ct));
      expect(hex(sharedSecret), `ss of count ${vector.count}`).to.equal(hex(vector.ss));
      expect(hex(kyber1024.decapsulate(vector.ct, vector.sk))).to.equal(hex(vector.ss));
    }
  });

  it('bob decapsulates what crystals-kyber encapsulates to his key, and crystals-kyber decapsulates what alice encapsulates, on 40 key pairs of each side', () => {
    for (let i = 0; i < 40; i++) {
      const [theirPublic, theirSecret] = crystalsKyber.KeyGen1024();
      const [ciphertext, secret] = crystalsKyber.Encrypt1024(theirPublic);
      expect(
        hex(kyber1024.decapsulate(new Uint8Array(ciphertext), new Uint8Array(theirSecret))),
      ).to.equal(hex(secret));
      const toThem = kyber1024.encapsulate(new Uint8Array(theirPublic));
      expect(hex(crystalsKyber.Decrypt1024(toThem.ciphertext, theirSecret))).to.equal(
        hex(toThem.sharedSecret),
      );

      const ours = kyber1024.generateKeyPair();
      const [theirCiphertext, theirSecretToUs] = crystalsKyber.Encrypt1024(ours.publicKey);
      expect(hex(kyber1024.decapsulate(new Uint8Array(theirCiphertext), ours.secretKey))).to.equal(
        hex(theirSecretToUs),
      );
      const toUs = kyber1024.encapsulate(ours.publicKey);
      expect(hex(crystalsKyber.Decrypt1024(toUs.ciphertext, ours.secretKey))).to.equal(
        hex(toUs.sharedSecret),
      );
    }
  });

  it('lays out keys as crystals-kyber does: sk = dk_PKE ‖ pk ‖ SHA3-256(pk) ‖ z, public key 1568 bytes, ciphertext 1568 bytes, secret 32 bytes', () => {
    const [theirPublic, theirSecret] = crystalsKyber.KeyGen1024();
    expect(theirPublic).to.have.length(kyber1024.PUBLIC_KEY_LENGTH);
    expect(theirSecret).to.have.length(kyber1024.SECRET_KEY_LENGTH);
    expect(hex(theirSecret.slice(1536, 3104))).to.equal(hex(theirPublic));
    expect(hex(theirSecret.slice(3104, 3136))).to.equal(hex(sha3_256(new Uint8Array(theirPublic))));

    const seed = randomBytes(64);
    const ours = kyber1024.generateKeyPair(seed);
    expect(ours.publicKey).to.have.length(1568);
    expect(ours.secretKey).to.have.length(3168);
    expect(hex(ours.secretKey.subarray(1536, 3104))).to.equal(hex(ours.publicKey));
    expect(hex(ours.secretKey.subarray(3104, 3136))).to.equal(hex(sha3_256(ours.publicKey)));
    expect(hex(ours.secretKey.subarray(3136))).to.equal(hex(seed.subarray(32)));
    const { ciphertext, sharedSecret } = kyber1024.encapsulate(ours.publicKey);
    expect(ciphertext).to.have.length(1568);
    expect(sharedSecret).to.have.length(32);
  });

  it('is not FIPS 203: the same seed gives a different key than ML-KEM-1024 and ML-KEM-1024 derives a different secret from our ciphertext', () => {
    const seed = randomBytes(64);
    const ours = kyber1024.generateKeyPair(seed);
    const theirs = ml_kem1024.keygen(seed);
    expect(hex(ours.publicKey)).to.not.equal(hex(theirs.publicKey));
    const { ciphertext, sharedSecret } = kyber1024.encapsulate(ours.publicKey);
    expect(hex(ml_kem1024.decapsulate(ciphertext, ours.secretKey))).to.not.equal(hex(sharedSecret));
  });

  it('turns a tampered ciphertext into libsignal’s implicit-rejection secret SHAKE-256(SHAKE-256(z ‖ c) ‖ SHA3-256(c)), deterministically, where crystals-kyber gives SHAKE-256(z ‖ SHA3-256(c))', () => {
    for (let i = 0; i < 10; i++) {
      const seed = randomBytes(64);
      const z = seed.subarray(32);
      const keys = kyber1024.generateKeyPair(seed);
      const { ciphertext, sharedSecret } = kyber1024.encapsulate(keys.publicKey);
      const tampered = ciphertext.slice();
      tampered[i * 150]! ^= 1 << (i % 8);
      const rejected = kyber1024.decapsulate(tampered, keys.secretKey);
      const libcrux = shake256(
        new Uint8Array([
          ...shake256(new Uint8Array([...z, ...tampered]), { dkLen: 32 }),
          ...sha3_256(tampered),
        ]),
        { dkLen: 32 },
      );
      const reference = shake256(new Uint8Array([...z, ...sha3_256(tampered)]), { dkLen: 32 });
      expect(hex(rejected)).to.equal(hex(libcrux));
      expect(hex(rejected)).to.not.equal(hex(sharedSecret));
      expect(hex(kyber1024.decapsulate(tampered, keys.secretKey))).to.equal(hex(rejected));
      expect(hex(crystalsKyber.Decrypt1024(tampered, keys.secretKey))).to.equal(hex(reference));
    }
  });

  it('accepts, as libsignal does, a public key with a coefficient ≥ q, using its residue: crystals-kyber agrees both ways on the secret', () => {
    for (let i = 0; i < 5; i++) {
      const keys = kyber1024.generateKeyPair();
      const { publicKey } = nonCanonical(keys.publicKey);
      const secretKey = withPublicKey(keys.secretKey, publicKey);
      const ours = kyber1024.encapsulate(publicKey);
      expect(hex(crystalsKyber.Decrypt1024(ours.ciphertext, secretKey))).to.equal(
        hex(ours.sharedSecret),
      );
      expect(hex(kyber1024.decapsulate(ours.ciphertext, secretKey))).to.equal(
        hex(ours.sharedSecret),
      );
      const [ciphertext, secret] = crystalsKyber.Encrypt1024(publicKey);
      expect(hex(kyber1024.decapsulate(new Uint8Array(ciphertext), secretKey))).to.equal(
        hex(secret),
      );
      // The coins are the same, so only H(pk) differs from the canonical key's encapsulation.
      const coins = randomBytes(32);
      const canonical = kyber1024.encapsulate(keys.publicKey, coins);
      expect(hex(kyber1024.encapsulate(publicKey, coins).sharedSecret)).to.not.equal(
        hex(canonical.sharedSecret),
      );
    }
  });

  it('refuses a public key of 1567 or 1569 bytes (libsignal’s 0x08-prefixed form included) with INVALID_KEY', () => {
    const { publicKey } = kyber1024.generateKeyPair();
    expect(codeOf(() => kyber1024.encapsulate(publicKey.subarray(1)))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(codeOf(() => kyber1024.encapsulate(new Uint8Array([0x08, ...publicKey])))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(() => kyber1024.encapsulate(new Uint8Array(0))).to.throw(
      /Kyber-1024 public key must be 1568 bytes, got 0/,
    );
  });

  it('refuses a ciphertext that is not 1568 bytes with INVALID_MESSAGE and a secret key that is not 3168 bytes with INVALID_KEY', () => {
    const { publicKey, secretKey } = kyber1024.generateKeyPair();
    const { ciphertext } = kyber1024.encapsulate(publicKey);
    expect(codeOf(() => kyber1024.decapsulate(ciphertext.subarray(1), secretKey))).to.equal(
      ProtocolErrorCode.InvalidMessage,
    );
    expect(
      codeOf(() => kyber1024.decapsulate(new Uint8Array([...ciphertext, 0]), secretKey)),
    ).to.equal(ProtocolErrorCode.InvalidMessage);
    expect(codeOf(() => kyber1024.decapsulate(ciphertext, secretKey.subarray(0, 3167)))).to.equal(
      ProtocolErrorCode.InvalidKey,
    );
    expect(() => kyber1024.generateKeyPair(new Uint8Array(32))).to.throw(RangeError, /64 bytes/);
    expect(() => kyber1024.encapsulate(publicKey, new Uint8Array(31))).to.throw(
      RangeError,
      /32 bytes/,
    );
  });

  it('bob turns any 1568 bytes into a 32-byte secret, the rejection secret for bytes that are no encapsulation, never an error (property)', () => {
    const seed = randomBytes(64);
    const keys = kyber1024.generateKeyPair(seed);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1568, maxLength: 1568 }), (bytes) => {
        const secret = kyber1024.decapsulate(bytes, keys.secretKey);
        const inner = shake256(new Uint8Array([...seed.subarray(32), ...bytes]), { dkLen: 32 });
        const expected = shake256(new Uint8Array([...inner, ...sha3_256(bytes)]), { dkLen: 32 });
        expect(hex(secret)).to.equal(hex(expected));
      }),
      { numRuns: 30 },
    );
  });

  it('alice and bob agree on the secret for any seed and coins (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seed, coins) => {
          const keys = kyber1024.generateKeyPair(seed);
          const { ciphertext, sharedSecret } = kyber1024.encapsulate(keys.publicKey, coins);
          expect(hex(kyber1024.decapsulate(ciphertext, keys.secretKey))).to.equal(
            hex(sharedSecret),
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});
