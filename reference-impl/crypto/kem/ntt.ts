// Arithmetic in R_q = Z_3329[X]/(X^256 + 1) and its number-theoretic transform (FIPS 203 §4.3,
// Algorithms 9–12; round-3 Kyber §1.1), with Montgomery and Barrett reductions and no branches.
//
// Polynomials are Int16Array slices of 256 coefficients; a vector of k polynomials is one
// Int16Array of k · 256 addressed by offset, so the hot loops allocate nothing. Coefficients stay
// within the bounds the pqcrystals reference code proves, so every value fits an int16.

export const N = 256;
export const Q = 3329;
/** q^-1 mod 2^16, signed. */
const QINV = -3327;
/** 2^16 mod q: the Montgomery factor R. */
const MONT = 2285;
/** round(2^26 / q), for Barrett reduction. */
const BARRETT_V = 20159;
/** R² / 128 mod q: undoes the 128 of the inverse transform and enters the Montgomery domain. */
const INVNTT_F = 1441;
/** R² mod q: multiplying by it with a Montgomery reduction converts into the Montgomery domain. */
const TOMONT_F = 1353;

/** a · R^-1 mod q in (-q, q), for |a| < 2^15 · q. Arithmetic only. */
export function montgomeryReduce(a: number): number {
  const t = (Math.imul(a, QINV) << 16) >> 16;
  return (a - Math.imul(t, Q)) >> 16;
}

/** a · b · R^-1 mod q. */
function fqmul(a: number, b: number): number {
  return montgomeryReduce(Math.imul(a, b));
}

/** The representative of a mod q in [-(q-1)/2, (q-1)/2], for |a| < 2^15. Arithmetic only. */
export function barrettReduce(a: number): number {
  const t = (Math.imul(BARRETT_V, a) + (1 << 25)) >> 26;
  return a - Math.imul(t, Q);
}

/** ζ^BitRev7(i) · R mod q, centered, for ζ = 17 (FIPS 203 Appendix A, in Montgomery form). */
const ZETAS: Int16Array = (() => {
  const powers = new Array<number>(128);
  powers[0] = MONT;
  for (let i = 1; i < 128; i++) powers[i] = (powers[i - 1]! * 17) % Q;
  const zetas = new Int16Array(128);
  for (let i = 0; i < 128; i++) {
    let rev = 0;
    for (let b = 0; b < 7; b++) rev |= ((i >> b) & 1) << (6 - b);
    let z = powers[rev]!;
    if (z > Q >> 1) z -= Q;
    zetas[i] = z;
  }
  return zetas;
})();

/** In-place forward NTT of the polynomial at r[o..o+256] (Algorithm 9), then Barrett-reduced. */
export function ntt(r: Int16Array, o: number): void {
  let k = 1;
  for (let len = 128; len >= 2; len >>= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[k++]!;
      const end = o + start + len;
      for (let j = o + start; j < end; j++) {
        const t = fqmul(zeta, r[j + len]!);
        const x = r[j]!;
        r[j + len] = x - t;
        r[j] = x + t;
      }
    }
  }
  reduce(r, o);
}

/** In-place inverse NTT (Algorithm 10), leaving the result multiplied by R (Montgomery form). */
export function invNtt(r: Int16Array, o: number): void {
  let k = 127;
  for (let len = 2; len <= 128; len <<= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[k--]!;
      const end = o + start + len;
      for (let j = o + start; j < end; j++) {
        const t = r[j]!;
        const u = r[j + len]!;
        r[j] = barrettReduce(t + u);
        r[j + len] = fqmul(zeta, u - t);
      }
    }
  }
  for (let j = o; j < o + N; j++) r[j] = fqmul(r[j]!, INVNTT_F);
}

/**
 * r[ro..] = Σ_i a[ao + 256i..] ∘ b[bo + 256i..] over i < k, the NTT-domain inner product of two
 * vectors (Algorithms 11–12, accumulated), multiplied by R^-1 and Barrett-reduced.
 *
 * Products are accumulated unreduced and Montgomery-reduced once per output coefficient (only
 * a₁b₁ and a₃b₃ are reduced first, to be multiplied by ζ). Bounds: one input is a decoded key
 * (0 ≤ x < 2^12) or a sampled matrix entry, the other an NTT output (|x| < q), so each product is
 * below 4096 · 3329 < 1.37 · 10^7 and a sum over k ≤ 4 of two products per term below
 * 1.1 · 10^8, far inside the range where montgomeryReduce is exact (|a − tq| < 2^31); its result
 * (|·| ≤ 1.1 · 10^8 / 2^16 + q/2 < q) is then Barrett-reduced to the same centered value as
 * reducing every product (lattice.test.ts compares the two at these extremes).
 */
export function basemulAcc(
  r: Int16Array,
  ro: number,
  a: Int16Array,
  ao: number,
  b: Int16Array,
  bo: number,
  k: number,
): void {
  for (let i = 0; i < 64; i++) {
    const zeta = ZETAS[64 + i]!;
    let r0 = 0;
    let r1 = 0;
    let r2 = 0;
    let r3 = 0;
    for (let v = 0; v < k; v++) {
      const x = ao + v * N + 4 * i;
      const y = bo + v * N + 4 * i;
      const a0 = a[x]!;
      const a1 = a[x + 1]!;
      const a2 = a[x + 2]!;
      const a3 = a[x + 3]!;
      const b0 = b[y]!;
      const b1 = b[y + 1]!;
      const b2 = b[y + 2]!;
      const b3 = b[y + 3]!;
      r0 += Math.imul(fqmul(a1, b1), zeta) + Math.imul(a0, b0);
      r1 += Math.imul(a0, b1) + Math.imul(a1, b0);
      r2 += Math.imul(fqmul(a3, b3), -zeta) + Math.imul(a2, b2);
      r3 += Math.imul(a2, b3) + Math.imul(a3, b2);
    }
    const z = ro + 4 * i;
    r[z] = barrettReduce(montgomeryReduce(r0));
    r[z + 1] = barrettReduce(montgomeryReduce(r1));
    r[z + 2] = barrettReduce(montgomeryReduce(r2));
    r[z + 3] = barrettReduce(montgomeryReduce(r3));
  }
}

/** Barrett-reduces every coefficient of the polynomial at r[o..]. */
export function reduce(r: Int16Array, o: number): void {
  for (let j = o; j < o + N; j++) r[j] = barrettReduce(r[j]!);
}

/** Converts the polynomial at r[o..] into the Montgomery domain (multiplies by R). */
export function toMont(r: Int16Array, o: number): void {
  for (let j = o; j < o + N; j++) r[j] = montgomeryReduce(Math.imul(r[j]!, TOMONT_F));
}

/** r[ro..ro+len] += a[ao..ao+len], coefficient-wise (no reduction). */
export function addInto(r: Int16Array, ro: number, a: Int16Array, ao: number, len: number): void {
  for (let j = 0; j < len; j++) r[ro + j] = r[ro + j]! + a[ao + j]!;
}

/** r[ro..ro+256] = a[ao..] − r[ro..], coefficient-wise (no reduction). */
export function subFrom(r: Int16Array, ro: number, a: Int16Array, ao: number): void {
  for (let j = 0; j < N; j++) r[ro + j] = a[ao + j]! - r[ro + j]!;
}
