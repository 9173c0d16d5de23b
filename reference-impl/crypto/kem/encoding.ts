// Byte encoding and compression of polynomials (FIPS 203 §4.2.1: Compress_d, Decompress_d,
// ByteEncode_d, ByteDecode_d, Algorithms 5–6). Arithmetic only: no secret-dependent branch or index.
import { N, Q } from './ntt.ts';

/** ⌈2^36 / q⌉: ⌊x · M / 2^36⌋ = ⌊x / q⌋ exactly for every x < 2^23 (error x · (Mq − 2^36) < 2^36). */
const DIV_Q_MAGIC = Math.ceil(2 ** 36 / Q);
const TWO_36 = 2 ** 36;

/** The representative of a (in (-q, q)) in [0, q). */
function toPositive(a: number): number {
  return a + ((a >> 15) & Q);
}

/** Compress_d(x) = ⌈(2^d / q) · x⌋ mod 2^d for x in [0, q), without a division instruction. */
export function compress(x: number, d: number): number {
  const numerator = x * (1 << d) + (Q >> 1);
  return Math.floor((numerator * DIV_Q_MAGIC) / TWO_36) & ((1 << d) - 1);
}

/** Decompress_d(y) = ⌈(q / 2^d) · y⌋. */
export function decompress(y: number, d: number): number {
  return (y * Q + (1 << (d - 1))) >> d;
}

/** ByteEncode_d of `count` values (each below 2^d) from `values` into out[oo..]. */
function packBits(
  out: Uint8Array,
  oo: number,
  values: ArrayLike<number>,
  count: number,
  d: number,
): void {
  let acc = 0;
  let bits = 0;
  let p = oo;
  for (let i = 0; i < count; i++) {
    acc |= values[i]! << bits;
    bits += d;
    while (bits >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
}

/** ByteDecode_d of `count` values from bytes[bo..] into r[ro..] (values in [0, 2^d)). */
function unpackBits(
  r: Int16Array,
  ro: number,
  bytes: Uint8Array,
  bo: number,
  count: number,
  d: number,
): void {
  const mask = (1 << d) - 1;
  let acc = 0;
  let bits = 0;
  let p = bo;
  for (let i = 0; i < count; i++) {
    while (bits < d) {
      acc |= bytes[p++]! << bits;
      bits += 8;
    }
    r[ro + i] = acc & mask;
    acc >>>= d;
    bits -= d;
  }
}

const scratch = new Uint16Array(N);

/** ByteEncode_12 of the polynomial at a[ao..] (coefficients in (-q, q)) into out[oo..oo+384]. */
export function polyToBytes(out: Uint8Array, oo: number, a: Int16Array, ao: number): void {
  for (let j = 0; j < N; j++) scratch[j] = toPositive(a[ao + j]!);
  packBits(out, oo, scratch, N, 12);
  scratch.fill(0);
}

/** ByteDecode_12: 384 bytes into 256 coefficients in [0, 4096) (not reduced: see isCanonical). */
export function polyFromBytes(r: Int16Array, ro: number, bytes: Uint8Array, bo: number): void {
  unpackBits(r, ro, bytes, bo, N, 12);
}

/**
 * True when every 12-bit coefficient of `bytes` (a whole number of 384-byte polynomials) is below
 * q: the modulus check of FIPS 203 §7.2. It reads a public key, so it may exit early.
 */
export function isCanonical(bytes: Uint8Array): boolean {
  for (let p = 0; p + 3 <= bytes.length; p += 3) {
    const d1 = bytes[p]! | ((bytes[p + 1]! & 0x0f) << 8);
    const d2 = (bytes[p + 1]! >> 4) | (bytes[p + 2]! << 4);
    if (d1 >= Q || d2 >= Q) return false;
  }
  return true;
}

/** ByteEncode_d(Compress_d(a)) of the polynomial at a[ao..] into out[oo..oo+32d]. */
export function compressPoly(
  out: Uint8Array,
  oo: number,
  a: Int16Array,
  ao: number,
  d: number,
): void {
  for (let j = 0; j < N; j++) scratch[j] = compress(toPositive(a[ao + j]!), d);
  packBits(out, oo, scratch, N, d);
  scratch.fill(0);
}

/** Decompress_d(ByteDecode_d(bytes[bo..bo+32d])) into r[ro..]. */
export function decompressPoly(
  r: Int16Array,
  ro: number,
  bytes: Uint8Array,
  bo: number,
  d: number,
): void {
  unpackBits(r, ro, bytes, bo, N, d);
  for (let j = ro; j < ro + N; j++) r[j] = decompress(r[j]!, d);
}

/** The message m (32 bytes) as the polynomial Decompress_1(ByteDecode_1(m)), by masks. */
export function polyFromMessage(r: Int16Array, ro: number, m: Uint8Array): void {
  const half = (Q + 1) >> 1;
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 8; j++) r[ro + 8 * i + j] = -((m[i]! >> j) & 1) & half;
  }
}

/** ByteEncode_1(Compress_1(a)): the 32-byte message a polynomial (in (-q, q)) decodes to. */
export function polyToMessage(a: Int16Array, ao: number): Uint8Array {
  const m = new Uint8Array(32);
  compressPoly(m, 0, a, ao, 1);
  return m;
}
