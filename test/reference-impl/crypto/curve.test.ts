// The PQXDH base-key check (reference-impl/crypto/curve.ts checkCanonicalBaseKey): one X25519
// multiplication by SUBGROUP_SCALAR_HEX decides "canonical and torsion-free" exactly as the
// birational map to Edwards followed by libsodium's crypto_core_ed25519_is_valid_point does. The
// arithmetic that makes it exact is rechecked here, and the verdicts are compared with libsodium's
// on points of the prime-order subgroup, the same points with each torsion component, the
// small-order points, random u-coordinates (half of them on the twist) and non-canonical encodings.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import {
  calculateAgreement,
  checkCanonicalBaseKey,
  DJB_TYPE,
  keyPairFromPrivate,
  montgomeryToEdwards,
  PRIVATE_KEY_IMPORT_FORM,
  SUBGROUP_SCALAR_HEX,
} from '../../../reference-impl/crypto/curve.ts';
import { InvalidMessageError } from '../../../reference-impl/crypto/errors.ts';

await sodium.ready;

const P = 2n ** 255n - 19n;
const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/** The twist's order is 2p + 2 − 8ℓ = 4ℓ′. */
const TWIST_ORDER = 2n * P + 2n - 8n * ORDER;
const TWIST_PRIME = TWIST_ORDER / 4n;

const fromLittleEndian = (bytes: Uint8Array): bigint => {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
};

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** Miller–Rabin with the first 20 primes as bases (ample for a 253-bit number). */
function isProbablePrime(n: bigint): boolean {
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n, 43n, 47n]) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < r && composite; i++) {
      x = (x * x) % n;
      if (x === n - 1n) composite = false;
    }
    if (composite) return false;
  }
  return true;
}

/** 0x05 ‖ the Montgomery u = (1 + y) / (1 − y) of an Edwards point (not the identity). */
function montgomeryOf(edwards: Uint8Array): Uint8Array {
  const y = fromLittleEndian(Uint8Array.from(edwards, (b, i) => (i === 31 ? b & 0x7f : b)));
  let u = ((1n + y) * modPow((1n - y + P) % P, P - 2n, P)) % P;
  const out = new Uint8Array(33);
  out[0] = 0x05;
  for (let i = 1; i <= 32; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

const keyOf = (u: bigint): Uint8Array => {
  const out = new Uint8Array(33);
  out[0] = 0x05;
  let v = u;
  for (let i = 1; i <= 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

/** The previous check, kept as the oracle: u < p with bit 255 clear, then libsodium on the Edwards y. */
function libsodiumAccepts(key: Uint8Array): boolean {
  const u = key.subarray(1);
  if ((u[31]! & 0x80) !== 0 || fromLittleEndian(u) >= P) return false;
  const y = montgomeryToEdwards(u, 0);
  return y !== null && sodium.crypto_core_ed25519_is_valid_point(y);
}

function accepts(key: Uint8Array): boolean {
  try {
    checkCanonicalBaseKey(key);
    return true;
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidMessageError);
    expect((error as InvalidMessageError).code).to.equal('INVALID_MESSAGE');
    return false;
  }
}

// A point of order 8 (its multiples are the whole 8-torsion group).
const ORDER_8 = Buffer.from(
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'hex',
);
/** T, 2T, …, 7T: the seven torsion points other than the identity. */
function torsionPoints(): Uint8Array[] {
  const points: Uint8Array[] = [Uint8Array.from(ORDER_8)];
  for (let i = 1; i < 7; i++) points.push(sodium.crypto_core_ed25519_add(points[i - 1]!, ORDER_8));
  return points;
}

describe('reference-impl/crypto/curve checkCanonicalBaseKey (PQXDH base keys)', () => {
  it('multiplies by a scalar k that X25519’s clamping keeps, with k ≡ 0 (mod 8), k ≡ −1 (mod ℓ) and k ≢ ±1 (mod ℓ′), the twist’s prime factor', () => {
    const scalar = Buffer.from(SUBGROUP_SCALAR_HEX, 'hex');
    expect(scalar).to.have.length(32);
    const k = fromLittleEndian(scalar);
    expect(k % 8n).to.equal(0n);
    expect(k >= 2n ** 254n && k < 2n ** 255n).to.equal(true);
    expect(k % ORDER).to.equal(ORDER - 1n);
    expect(TWIST_ORDER % 4n).to.equal(0n);
    expect(isProbablePrime(ORDER)).to.equal(true);
    expect(isProbablePrime(TWIST_PRIME)).to.equal(true);
    expect([1n, TWIST_PRIME - 1n, 0n]).to.not.include(k % TWIST_PRIME);
  });

  it('accepts 300 points of the prime-order subgroup and refuses each of them plus each of the 7 torsion components, as libsodium’s is_valid_point does (InvalidMessageError)', () => {
    const torsion = torsionPoints();
    for (let i = 0; i < 300; i++) {
      const point = sodium.crypto_scalarmult_ed25519_base(sodium.randombytes_buf(32));
      const clean = montgomeryOf(point);
      expect(libsodiumAccepts(clean)).to.equal(true);
      expect(accepts(clean)).to.equal(true);
      const t = torsion[i % 7]!;
      const dirty = montgomeryOf(sodium.crypto_core_ed25519_add(point, t));
      expect(libsodiumAccepts(dirty)).to.equal(false);
      expect(accepts(dirty), `point ${i} plus torsion ${(i % 7) + 1}`).to.equal(false);
    }
  });

  it('refuses the small-order points, u = 0, 1, p − 1, and u ≥ p or with bit 255 set', () => {
    const keys = [
      ...torsionPoints().map(montgomeryOf), // orders 8, 4, 8, 2 (u = 0), 8, 4, 8
      keyOf(0n),
      keyOf(1n),
      keyOf(P - 1n),
      keyOf(P),
      keyOf(P + 1n),
      keyOf(2n ** 255n - 1n),
    ];
    const good = montgomeryOf(sodium.crypto_scalarmult_ed25519_base(sodium.randombytes_buf(32)));
    const highBit = Uint8Array.from(good);
    highBit[32] = highBit[32]! | 0x80;
    keys.push(highBit);
    for (const key of keys) {
      expect(libsodiumAccepts(key), Buffer.from(key).toString('hex')).to.equal(false);
      expect(accepts(key), Buffer.from(key).toString('hex')).to.equal(false);
    }
  });

  it('agrees with libsodium on 3000 random u-coordinates, on the curve and on the twist', () => {
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const key = new Uint8Array(33);
      key[0] = 0x05;
      key.set(randomBytes(32), 1);
      key[32] = key[32]! & 0x7f;
      const expected = libsodiumAccepts(key);
      expect(accepts(key), Buffer.from(key).toString('hex')).to.equal(expected);
      if (expected) accepted++;
    }
    // About 1 in 16 random u is on the curve (1/2) and torsion-free (1/8).
    expect(accepted).to.be.within(100, 300);
  });
});

describe('X25519 private key import on every supported Node', () => {
  // RFC 7748 §6.1: alice's and bob's private and public keys, and their shared secret.
  const alicePrivate = Buffer.from(
    '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
    'hex',
  );
  const bobPublic = Buffer.from(
    'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    'hex',
  );
  const shared = '4a5d9d5b a4ce2de1 728e3bf4 80350f25 e07e21c9 47d19e33 76f09b3c 1e161742';

  it('imports a raw private key in a form this Node accepts and derives RFC 7748 alice and bob', () => {
    expect(['raw-private', 'jwk', 'pkcs8-der']).to.include(PRIVATE_KEY_IMPORT_FORM);
    const alice = keyPairFromPrivate(alicePrivate);
    expect(Buffer.from(alice.publicKey).toString('hex')).to.equal(
      '058520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    const bob = Uint8Array.from([DJB_TYPE, ...bobPublic]);
    expect(Buffer.from(calculateAgreement(bob, alice.privateKey)).toString('hex')).to.equal(
      shared.replaceAll(' ', ''),
    );
  });

  it('uses a JWK on Node 20 and 22 and never a JWK on Node 24, which refuses one without x', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(PRIVATE_KEY_IMPORT_FORM).to.be.oneOf(
      major >= 24 ? ['raw-private', 'pkcs8-der'] : ['jwk'],
    );
  });
});
