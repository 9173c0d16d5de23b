// K-PKE, the CPA-secure encryption under both KEMs (FIPS 203 §5, Algorithms 13–15; round-3 Kyber
// §1.3 Algorithms 4–6), on raw byte keys; encryption splits into the u part and the v part.
import {
  compressPoly,
  decompressPoly,
  polyFromBytes,
  polyFromMessage,
  polyToBytes,
  polyToMessage,
} from './encoding.ts';
import { addInto, basemulAcc, invNtt, N, ntt, reduce, subFrom, toMont } from './ntt.ts';
import { sizesOf, type LatticeParams, POLY_BYTES, SYM_BYTES } from './params.ts';
import { sampleMatrix, sampleNoise } from './sampling.ts';

/**
 * K-PKE.KeyGen from the expanded seed (ρ, σ): ek = ByteEncode_12(t̂) ‖ ρ and
 * dk = ByteEncode_12(ŝ). How (ρ, σ) comes from d is the caller's: G(d) in round 3, G(d ‖ k) in FIPS 203.
 */
export function pkeKeyGen(
  p: LatticeParams,
  rho: Uint8Array,
  sigma: Uint8Array,
): { ek: Uint8Array; dk: Uint8Array } {
  const { k, eta1 } = p;
  const sizes = sizesOf(p);
  const a = new Int16Array(k * k * N);
  sampleMatrix(a, rho, k, false);
  const s = new Int16Array(k * N);
  const e = new Int16Array(k * N);
  let nonce = 0;
  for (let i = 0; i < k; i++) sampleNoise(s, i * N, sigma, nonce++, eta1);
  for (let i = 0; i < k; i++) sampleNoise(e, i * N, sigma, nonce++, eta1);
  for (let i = 0; i < k; i++) {
    ntt(s, i * N);
    ntt(e, i * N);
  }
  const t = new Int16Array(k * N);
  for (let i = 0; i < k; i++) {
    basemulAcc(t, i * N, a, i * k * N, s, 0, k);
    toMont(t, i * N);
  }
  addInto(t, 0, e, 0, k * N);
  const ek = new Uint8Array(sizes.publicKey);
  const dk = new Uint8Array(sizes.pkeSecretKey);
  for (let i = 0; i < k; i++) {
    reduce(t, i * N);
    polyToBytes(ek, i * POLY_BYTES, t, i * N);
    polyToBytes(dk, i * POLY_BYTES, s, i * N);
  }
  ek.set(rho.subarray(0, SYM_BYTES), sizes.vector);
  s.fill(0);
  e.fill(0);
  return { ek, dk };
}

/** What the first half of encryption keeps for the second: r̂ and e2 (both secret). */
export interface EncryptionNoise {
  readonly rHat: Int16Array;
  readonly e2: Int16Array;
}

/**
 * The u part of K-PKE.Encrypt (Algorithm 14 lines 2–19, 21–22): samples r, e1, e2 from the coins
 * r, computes u = NTT^-1(Âᵀ ∘ r̂) + e1 and writes c1 = ByteEncode_du(Compress_du(u)) to out[0..].
 * Needs only ρ of the public key; returns the noise the v part needs.
 */
export function encryptU(
  p: LatticeParams,
  out: Uint8Array,
  rho: Uint8Array,
  coins: Uint8Array,
): EncryptionNoise {
  const { k, eta1, eta2, du } = p;
  const at = new Int16Array(k * k * N);
  sampleMatrix(at, rho, k, true);
  const rHat = new Int16Array(k * N);
  const u = new Int16Array(k * N);
  const e2 = new Int16Array(N);
  let nonce = 0;
  for (let i = 0; i < k; i++) sampleNoise(rHat, i * N, coins, nonce++, eta1);
  for (let i = 0; i < k; i++) sampleNoise(u, i * N, coins, nonce++, eta2);
  sampleNoise(e2, 0, coins, nonce, eta2);
  for (let i = 0; i < k; i++) ntt(rHat, i * N);
  const product = new Int16Array(N);
  for (let i = 0; i < k; i++) {
    basemulAcc(product, 0, at, i * k * N, rHat, 0, k);
    invNtt(product, 0);
    addInto(u, i * N, product, 0, N);
    reduce(u, i * N);
    compressPoly(out, i * du * 32, u, i * N, du);
  }
  u.fill(0);
  product.fill(0);
  return { rHat, e2 };
}

/**
 * The noise of encryption again from the same coins r, without e1: r̂ (nonces 0..k-1) and e2
 * (nonce 2k), exactly as encryptU samples them. Lets a two-part encapsulation keep only r.
 */
export function encryptionNoise(p: LatticeParams, coins: Uint8Array): EncryptionNoise {
  const { k, eta1, eta2 } = p;
  const rHat = new Int16Array(k * N);
  const e2 = new Int16Array(N);
  for (let i = 0; i < k; i++) sampleNoise(rHat, i * N, coins, i, eta1);
  sampleNoise(e2, 0, coins, 2 * k, eta2);
  for (let i = 0; i < k; i++) ntt(rHat, i * N);
  return { rHat, e2 };
}

/**
 * The v part of K-PKE.Encrypt (Algorithm 14 lines 20–21, 23): v = NTT^-1(t̂ᵀ ∘ r̂) + e2 +
 * Decompress_1(m), written as c2 = ByteEncode_dv(Compress_dv(v)) to out[oo..]. `tHat` is the
 * encoded vector (k · 384 bytes, the public key without ρ).
 */
export function encryptV(
  p: LatticeParams,
  out: Uint8Array,
  oo: number,
  tHat: Uint8Array,
  noise: EncryptionNoise,
  m: Uint8Array,
): void {
  const { k, dv } = p;
  const t = new Int16Array(k * N);
  for (let i = 0; i < k; i++) polyFromBytes(t, i * N, tHat, i * POLY_BYTES);
  const v = new Int16Array(N);
  basemulAcc(v, 0, t, 0, noise.rHat, 0, k);
  invNtt(v, 0);
  addInto(v, 0, noise.e2, 0, N);
  const mu = new Int16Array(N);
  polyFromMessage(mu, 0, m);
  addInto(v, 0, mu, 0, N);
  reduce(v, 0);
  compressPoly(out, oo, v, 0, dv);
  v.fill(0);
  mu.fill(0);
}

/** K-PKE.Encrypt(ek, m, r) (Algorithm 14): the whole ciphertext c1 ‖ c2. */
export function pkeEncrypt(
  p: LatticeParams,
  ek: Uint8Array,
  m: Uint8Array,
  coins: Uint8Array,
): Uint8Array {
  const sizes = sizesOf(p);
  const c = new Uint8Array(sizes.ciphertext);
  const noise = encryptU(p, c, ek.subarray(sizes.vector, sizes.publicKey), coins);
  encryptV(p, c, sizes.ciphertext1, ek.subarray(0, sizes.vector), noise, m);
  noise.rHat.fill(0);
  noise.e2.fill(0);
  return c;
}

/** K-PKE.Decrypt(dk, c) (Algorithm 15): m = ByteEncode_1(Compress_1(v − NTT^-1(ŝᵀ ∘ NTT(u)))). */
export function pkeDecrypt(p: LatticeParams, dk: Uint8Array, c: Uint8Array): Uint8Array {
  const { k, du, dv } = p;
  const u = new Int16Array(k * N);
  for (let i = 0; i < k; i++) {
    decompressPoly(u, i * N, c, i * du * 32, du);
    ntt(u, i * N);
  }
  const s = new Int16Array(k * N);
  for (let i = 0; i < k; i++) polyFromBytes(s, i * N, dk, i * POLY_BYTES);
  const w = new Int16Array(N);
  basemulAcc(w, 0, s, 0, u, 0, k);
  invNtt(w, 0);
  const v = new Int16Array(N);
  decompressPoly(v, 0, c, k * du * 32, dv);
  subFrom(w, 0, v, 0);
  reduce(w, 0);
  const m = polyToMessage(w, 0);
  s.fill(0);
  w.fill(0);
  return m;
}
