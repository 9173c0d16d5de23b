// Sampling of polynomials: the matrix Â by rejection from SHAKE-128 (FIPS 203 §4.2.2 Algorithm 7,
// SampleNTT) and small noise by the centered binomial distribution from SHAKE-256 (Algorithm 8).
import { shake128, shake256 } from '@noble/hashes/sha3.js';
import { N, Q } from './ntt.ts';

/** SHAKE-128's rate: one squeeze yields 168 bytes, a multiple of 3, so no triple straddles two. */
const XOF_BLOCK = 168;
/** Three blocks give 256 coefficients with overwhelming probability; more are squeezed if not. */
const XOF_FIRST = 3 * XOF_BLOCK;

/**
 * Fills the k × k matrix Â (or its transpose) from ρ: entry (i, j) is SampleNTT(ρ ‖ j ‖ i), or
 * SampleNTT(ρ ‖ i ‖ j) when `transposed`. Entry (i, j) lands at a[(i · k + j) · 256]. The
 * rejection branches on public data only (ρ is part of the public key).
 */
export function sampleMatrix(a: Int16Array, rho: Uint8Array, k: number, transposed: boolean): void {
  const seed = new Uint8Array(34);
  seed.set(rho.subarray(0, 32));
  const first = new Uint8Array(XOF_FIRST);
  const more = new Uint8Array(XOF_BLOCK);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      seed[32] = transposed ? i : j;
      seed[33] = transposed ? j : i;
      const xof = shake128.create({}).update(seed);
      const o = (i * k + j) * N;
      let filled = rejectUniform(a, o, 0, xof.xofInto(first));
      while (filled < N) filled = rejectUniform(a, o, filled, xof.xofInto(more));
      xof.destroy();
    }
  }
}

/** Parses 12-bit candidates from `bytes` into a[o + filled..], keeping those below q. */
function rejectUniform(a: Int16Array, o: number, filled: number, bytes: Uint8Array): number {
  for (let p = 0; p + 3 <= bytes.length && filled < N; p += 3) {
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    const b2 = bytes[p + 2]!;
    const d1 = b0 | ((b1 & 0x0f) << 8);
    const d2 = (b1 >> 4) | (b2 << 4);
    if (d1 < Q) a[o + filled++] = d1;
    if (d2 < Q && filled < N) a[o + filled++] = d2;
  }
  return filled;
}

/**
 * Writes CBD_η(PRF_η(σ, nonce)) to r[o..o+256] (Algorithm 8 with PRF = SHAKE-256(σ ‖ nonce),
 * 64 · η bytes). Bit counting only: no branch or index depends on the secret bytes.
 */
export function sampleNoise(
  r: Int16Array,
  o: number,
  sigma: Uint8Array,
  nonce: number,
  eta: number,
): void {
  const input = new Uint8Array(33);
  input.set(sigma.subarray(0, 32));
  input[32] = nonce;
  const buf = shake256(input, { dkLen: 64 * eta });
  if (eta === 2) cbd2(r, o, buf);
  else if (eta === 3) cbd3(r, o, buf);
  else throw new RangeError(`unsupported η ${eta}`);
  buf.fill(0);
}

function cbd2(r: Int16Array, o: number, buf: Uint8Array): void {
  for (let i = 0; i < N / 8; i++) {
    const t =
      (buf[4 * i]! | (buf[4 * i + 1]! << 8) | (buf[4 * i + 2]! << 16) | (buf[4 * i + 3]! << 24)) >>>
      0;
    const d = (t & 0x55555555) + ((t >>> 1) & 0x55555555);
    for (let j = 0; j < 8; j++) {
      const x = (d >>> (4 * j)) & 3;
      const y = (d >>> (4 * j + 2)) & 3;
      r[o + 8 * i + j] = x - y;
    }
  }
}

function cbd3(r: Int16Array, o: number, buf: Uint8Array): void {
  for (let i = 0; i < N / 4; i++) {
    const t = buf[3 * i]! | (buf[3 * i + 1]! << 8) | (buf[3 * i + 2]! << 16);
    const d = (t & 0x249249) + ((t >> 1) & 0x249249) + ((t >> 2) & 0x249249);
    for (let j = 0; j < 4; j++) {
      const x = (d >> (6 * j)) & 7;
      const y = (d >> (6 * j + 3)) & 7;
      r[o + 4 * i + j] = x - y;
    }
  }
}
