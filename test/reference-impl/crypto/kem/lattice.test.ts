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

  it('accumulates the NTT-domain inner product over k ≤ 4 with one reduction per coefficient, equal to reducing every product, at the extremes of its inputs (decoded keys up to 4095, NTT outputs up to ±q)', () => {
    // The reference reduces every product, as the pqcrystals code does; both give centered
    // residues, so they must be equal. ζ_i is read back from basemulAcc with a₁ = b₁ = R (the
    // schoolbook test above checks that basemulAcc's ζ are the right ones).
    const fqmul = (a: number, b: number): number => montgomeryReduce(Math.imul(a, b));
    const zetaProbe = new Int16Array(N);
    const one = new Int16Array(N);
    const mont = 2285; // R mod q: fqmul(x, R) = x
    for (let i = 0; i < 64; i++) {
      one[4 * i + 1] = mont;
      one[4 * i + 3] = mont;
    }
    basemulAcc(zetaProbe, 0, one, 0, one, 0, 1); // r0 = ζ_i · R mod q (centered), r2 = −ζ_i · R
    const reference = (a: Int16Array, b: Int16Array, k: number): Int16Array => {
      const r = new Int16Array(N);
      for (let i = 0; i < 64; i++) {
        // ζ_i in Montgomery form, as basemulAcc multiplies by it
        const zeta = zetaProbe[4 * i]!;
        let r0 = 0;
        let r1 = 0;
        let r2 = 0;
        let r3 = 0;
        for (let v = 0; v < k; v++) {
          const [a0, a1, a2, a3] = a.subarray(v * N + 4 * i, v * N + 4 * i + 4);
          const [b0, b1, b2, b3] = b.subarray(v * N + 4 * i, v * N + 4 * i + 4);
          r0 += fqmul(fqmul(a1!, b1!), zeta) + fqmul(a0!, b0!);
          r1 += fqmul(a0!, b1!) + fqmul(a1!, b0!);
          r2 += fqmul(fqmul(a3!, b3!), -zeta) + fqmul(a2!, b2!);
          r3 += fqmul(a2!, b3!) + fqmul(a3!, b2!);
        }
        r.set([r0, r1, r2, r3].map(barrettReduce), 4 * i);
      }
      return r;
    };
    const pick = (choices: number[]): number => choices[randomInt(0, choices.length)]!;
    for (let round = 0; round < 40; round++) {
      for (const k of [1, 2, 3, 4]) {
        // a: a decoded key (up to 4095) or a sampled matrix entry; b: an NTT output (|b| < q)
        const a = Int16Array.from({ length: k * N }, () =>
          round % 2 === 0 ? pick([4095, 4094, 0, randomInt(0, 4096)]) : randomInt(0, Q),
        );
        const b = Int16Array.from({ length: k * N }, () =>
          pick([-(Q - 1), Q - 1, -1664, 1664, randomInt(-(Q - 1), Q)]),
        );
        const ours = new Int16Array(N);
        basemulAcc(ours, 0, a, 0, b, 0, k);
        expect(Array.from(ours)).to.deep.equal(Array.from(reference(a, b, k)));
      }
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
