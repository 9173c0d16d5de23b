// The lattice core under both KEMs (reference-impl/crypto/kem/ntt.ts, encoding.ts): reductions,
// the NTT, and Compress_d / Decompress_d checked exhaustively against their FIPS 203 §4.2.1 formulas.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import {
  compress,
  decompress,
  isCanonical,
} from '../../../../reference-impl/crypto/kem/encoding.ts';
import {
  barrettReduce,
  basemulAcc,
  invNtt,
  montgomeryReduce,
  N,
  ntt,
  Q,
} from '../../../../reference-impl/crypto/kem/ntt.ts';

const mod = (a: number): number => ((a % Q) + Q) % Q;

/** Schoolbook product in Z_q[X]/(X^256 + 1). */
function schoolbook(a: number[], b: number[]): number[] {
  const r = new Array<number>(N).fill(0);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const k = i + j;
      const term = a[i]! * b[j]!;
      if (k < N) r[k] = mod(r[k]! + term);
      else r[k - N] = mod(r[k - N]! - term);
    }
  }
  return r;
}

describe('reference-impl/crypto/kem lattice core (FIPS 203 §4)', () => {
  it('Compress_d equals ⌈(2^d / q) · x⌋ mod 2^d and Decompress_d equals ⌈(q / 2^d) · y⌋ for every x < q and y < 2^d, d ∈ {1, 4, 5, 10, 11}', () => {
    for (const d of [1, 4, 5, 10, 11]) {
      for (let x = 0; x < Q; x++) {
        expect(compress(x, d), `Compress_${d}(${x})`).to.equal(
          Math.round((x * 2 ** d) / Q) % 2 ** d,
        );
      }
      for (let y = 0; y < 2 ** d; y++) {
        expect(decompress(y, d), `Decompress_${d}(${y})`).to.equal(Math.round((y * Q) / 2 ** d));
      }
    }
  });

  it('Barrett reduction gives the centered residue for every int16, and Montgomery reduction a · 2^-16 mod q in (-q, q)', () => {
    const wrong: number[] = [];
    for (let a = -32768; a < 32768; a++) {
      const r = barrettReduce(a);
      if (mod(r - a) !== 0 || Math.abs(r) > (Q - 1) / 2) wrong.push(a);
    }
    const rInverse = 169; // 2^-16 mod 3329
    for (let i = 0; i < 100_000; i++) {
      const a = randomInt(-(2 ** 15) * Q, 2 ** 15 * Q);
      const r = montgomeryReduce(a);
      if (mod(r) !== mod(mod(a) * rInverse) || Math.abs(r) >= Q) wrong.push(a);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('multiplies polynomials through the NTT as the schoolbook product in Z_q[X]/(X^256 + 1), and the inverse NTT undoes the forward one', () => {
    for (let round = 0; round < 5; round++) {
      const a = Array.from({ length: N }, () => randomInt(0, Q));
      const b = Array.from({ length: N }, () => randomInt(-2, 3));
      const aHat = Int16Array.from(a);
      const bHat = Int16Array.from(b);
      ntt(aHat, 0);
      ntt(bHat, 0);
      const product = new Int16Array(N);
      basemulAcc(product, 0, aHat, 0, bHat, 0, 1);
      invNtt(product, 0); // basemul's R^-1 and invNtt's R cancel
      expect(Array.from(product, mod)).to.deep.equal(schoolbook(a, b));

      const roundTrip = aHat.slice();
      invNtt(roundTrip, 0); // a · R
      const rInverse = 169;
      expect(Array.from(roundTrip, (x) => mod(mod(x) * rInverse))).to.deep.equal(a);
    }
  });

  it('finds a 12-bit coefficient ≥ q in an encoded vector (the modulus check) and none in a canonical one', () => {
    const canonical = new Uint8Array(384);
    canonical.set([0x00, 0x0d, 0xd0]); // 3328 and 3328
    expect(isCanonical(canonical)).to.equal(true);
    expect(isCanonical(new Uint8Array([0x01, 0x0d, 0x00]))).to.equal(false); // 3329
    expect(isCanonical(new Uint8Array([0x00, 0x10, 0xd0]))).to.equal(false); // second = 3329
    expect(isCanonical(new Uint8Array([0xff, 0xff, 0xff]))).to.equal(false);
  });
});
