// The systematic erasure code that carries SPQR's braid payloads in 32-byte chunks (spec:
// Cryptography — SPQR braid, erasure code; facts from SparsePostQuantumRatchet v1.5.3
// src/encoding/gf.rs and src/encoding/polynomial.rs).
//
// A payload of L bytes (L even, a multiple of 32 for every braid payload) is read as L/2 big-endian
// 16-bit values; value i is the point x = ⌊i/16⌋ of polynomial i mod 16, so each of the 16
// interleaved polynomials over GF(2^16) (reduction polynomial x^16 + x^12 + x^3 + x + 1, 0x1100B)
// passes through n = L/32 points at x = 0 … n−1. Chunk k holds the 16 polynomials evaluated at x = k,
// big-endian: chunks 0 … n−1 are the payload itself, later indexes are parity. Any n distinct chunks
// give the payload back. The payloads are public (keys, ciphertexts, MACs), so table lookups on them
// leak nothing.
import { InvalidMessageError } from '../errors.ts';

/** Bytes in one chunk: 16 polynomials × one 16-bit value. */
export const CHUNK_LENGTH = 32;
/** Interleaved polynomials. */
const POLYNOMIALS = CHUNK_LENGTH / 2;
/** Chunk indexes are 16-bit on the wire; x = index in GF(2^16). */
export const MAX_CHUNK_INDEX = 0xffff;
/** The reduction polynomial of GF(2^16): x^16 + x^12 + x^3 + x + 1. */
export const GF16_POLYNOMIAL = 0x1100b;
/** SPQR refuses to encode more than 2^16 points per polynomial. */
const MAX_PAYLOAD_LENGTH = (MAX_CHUNK_INDEX + 1) * POLYNOMIALS;

// Log and exponent tables of GF(2^16) with generator x (= 2); EXP is doubled so that a sum of two
// logarithms needs no reduction.
const ORDER = 0xffff;
const EXP = new Uint16Array(2 * ORDER);
const LOG = new Uint32Array(ORDER + 1);
{
  let value = 1;
  for (let i = 0; i < ORDER; i++) {
    EXP[i] = value;
    EXP[i + ORDER] = value;
    LOG[value] = i;
    value <<= 1;
    if (value & 0x10000) value ^= GF16_POLYNOMIAL;
  }
  if (value !== 1) throw new Error('GF(2^16): x does not generate the multiplicative group');
}

/** a · b in GF(2^16). */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

/** a / b in GF(2^16). @throws RangeError when b is 0. */
export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('GF(2^16): division by zero');
  return a === 0 ? 0 : EXP[LOG[a]! + ORDER - LOG[b]!]!;
}

/**
 * The Lagrange basis at `x` for the points `xs` (distinct): coefficients c_i with
 * P(x) = Σ c_i · P(xs_i) for every polynomial P of degree < xs.length. Null when x is one of xs.
 */
function lagrangeAt(xs: readonly number[], x: number): Uint16Array | null {
  const n = xs.length;
  let all = 1;
  for (const xj of xs) {
    if (xj === x) return null;
    all = gfMul(all, x ^ xj);
  }
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    let denominator = x ^ xs[i]!;
    for (let j = 0; j < n; j++) if (j !== i) denominator = gfMul(denominator, xs[i]! ^ xs[j]!);
    out[i] = gfDiv(all, denominator);
  }
  return out;
}

/** The 16 values of chunk `rows[i]` at polynomial p are rows[i][2p] ‖ rows[i][2p+1] (big-endian). */
function combine(rows: readonly Uint8Array[], basis: Uint16Array): Uint8Array {
  const out = new Uint8Array(CHUNK_LENGTH);
  for (let p = 0; p < POLYNOMIALS; p++) {
    let acc = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      acc ^= gfMul(basis[i]!, (row[2 * p]! << 8) | row[2 * p + 1]!);
    }
    out[2 * p] = acc >> 8;
    out[2 * p + 1] = acc & 0xff;
  }
  return out;
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length <= 0 || length % CHUNK_LENGTH !== 0) {
    throw new RangeError(`erasure code: payload length ${length} is not a positive multiple of 32`);
  }
  if (length > MAX_PAYLOAD_LENGTH) {
    throw new RangeError(`erasure code: payload length ${length} exceeds ${MAX_PAYLOAD_LENGTH}`);
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) {
    throw new RangeError(`erasure code: chunk index ${index} outside 0..${MAX_CHUNK_INDEX}`);
  }
}

/** One chunk: its index (x) and 32 bytes. */
export interface Chunk {
  readonly index: number;
  readonly data: Uint8Array;
}

/**
 * Chunk `index` of `payload`: the payload's own bytes for index < n, parity after.
 * @throws RangeError when the payload length is not a positive multiple of 32 (every braid payload
 *   is) or too long, or the index is outside 0..65535.
 */
export function encodeChunk(payload: Uint8Array, index: number): Chunk {
  checkLength(payload.length);
  checkIndex(index);
  const n = payload.length / CHUNK_LENGTH;
  if (index < n) {
    return { index, data: payload.slice(index * CHUNK_LENGTH, (index + 1) * CHUNK_LENGTH) };
  }
  const xs = Array.from({ length: n }, (_, i) => i);
  const rows = xs.map((i) => payload.subarray(i * CHUNK_LENGTH, (i + 1) * CHUNK_LENGTH));
  return { index, data: combine(rows, lagrangeAt(xs, index)!) };
}

/** What a receiver holds of one payload: its length and the chunks it kept, by index. */
export interface ChunkDecoder {
  readonly length: number;
  /** Sorted by index, distinct indexes. */
  readonly chunks: readonly Chunk[];
}

/** An empty decoder for a payload of `length` bytes. @throws RangeError as encodeChunk. */
export function newDecoder(length: number): ChunkDecoder {
  checkLength(length);
  return { length, chunks: [] };
}

/** Chunks needed to decode: n = length / 32. */
export function chunksNeeded(decoder: ChunkDecoder): number {
  return decoder.length / CHUNK_LENGTH;
}

/**
 * The decoder after `chunk`, which is kept as SPQR keeps it: always when its index is below n
 * (replacing an earlier chunk of that index), otherwise only while fewer than n chunks are held.
 * Returns a new decoder; `decoder` is not changed.
 * @throws RangeError when the chunk is not 32 bytes or its index is outside 0..65535.
 */
export function addChunk(decoder: ChunkDecoder, chunk: Chunk): ChunkDecoder {
  checkIndex(chunk.index);
  if (chunk.data.length !== CHUNK_LENGTH) {
    throw new RangeError(
      `erasure code: a chunk is ${CHUNK_LENGTH} bytes, got ${chunk.data.length}`,
    );
  }
  const n = chunksNeeded(decoder);
  const at = decoder.chunks.findIndex((c) => c.index >= chunk.index);
  const present = at >= 0 && decoder.chunks[at]!.index === chunk.index;
  if (chunk.index >= n && decoder.chunks.length >= n) return decoder;
  const kept: Chunk = { index: chunk.index, data: Uint8Array.from(chunk.data) };
  const chunks = decoder.chunks.slice();
  if (present) chunks[at] = kept;
  else if (at < 0) chunks.push(kept);
  else chunks.splice(at, 0, kept);
  return { length: decoder.length, chunks };
}

/**
 * The payload once n distinct chunks are held, else null: chunks below n are copied, the others
 * interpolated from the n lowest indexes held.
 */
export function decodedPayload(decoder: ChunkDecoder): Uint8Array | null {
  const n = chunksNeeded(decoder);
  if (decoder.chunks.length < n) return null;
  const used = decoder.chunks.slice(0, n);
  const xs = used.map((c) => c.index);
  const rows = used.map((c) => c.data);
  const out = new Uint8Array(decoder.length);
  for (let x = 0; x < n; x++) {
    const basis = lagrangeAt(xs, x);
    out.set(basis === null ? rows[xs.indexOf(x)]! : combine(rows, basis), x * CHUNK_LENGTH);
  }
  return out;
}

/**
 * The payload, or a clear refusal when too few chunks arrived.
 * @throws InvalidMessageError naming how many chunks are held and needed.
 */
export function decodePayload(decoder: ChunkDecoder): Uint8Array {
  const payload = decodedPayload(decoder);
  if (payload === null) {
    throw new InvalidMessageError(
      `erasure code: ${decoder.chunks.length} of the ${chunksNeeded(decoder)} chunks needed`,
    );
  }
  return payload;
}
