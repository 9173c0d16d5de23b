/**
 * Wire layout of an encrypted attachment: chunk count, ciphertext size, per-chunk nonce, and the
 * map from a plaintext byte range to the ciphertext bytes of the chunks that cover it.
 * Spec: spec/attachments.md, "Chunked encryption" and "Random access".
 *
 * Blob = chunk_0 ‖ … ‖ chunk_{N−1}; chunk_i = AES-256-GCM(key, nonce_i, P[i·64 KiB, …)) ‖ tag_i
 * (16 bytes), with P the plaintext followed by zero padding up to paddedSize, every chunk but the
 * last exactly 64 KiB of plaintext, and nonce_i = prefix (7) ‖ u32be(i) ‖ (i = N−1 ? 0x01 : 0x00).
 * No associated data. N = ⌈paddedSize / 64 KiB⌉ ≥ 1 since paddedSize ≥ 1 KiB.
 */
import {
  CHUNK_BYTES,
  CHUNK_WIRE_BYTES,
  FLAG_LAST,
  FLAG_MORE,
  KEY_BYTES,
  NONCE_BYTES,
  NONCE_FLAG_OFFSET,
  NONCE_INDEX_OFFSET,
  NONCE_PREFIX_BYTES,
  TAG_BYTES,
} from './constants.ts';
import { AttachmentCipherError } from './errors.ts';
import { paddedSize } from './padding.ts';

/** Sizes that follow from a plaintext size; every stream and range read derives them the same way. */
export interface AttachmentLayout {
  readonly plaintextSize: number;
  readonly paddedSize: number;
  readonly chunkCount: number;
  /** Plaintext (padded) bytes in the last chunk, 1 … 64 KiB. */
  readonly lastChunkBytes: number;
  /** Total blob size: paddedSize + 16 × chunkCount (what `attachment.slot` declares). */
  readonly ciphertextSize: number;
}

/** Layout of a file of `plaintextSize` bytes. Throws AttachmentCipherError BAD_SIZE. */
export function layoutFor(plaintextSize: number): AttachmentLayout {
  const padded = paddedSize(plaintextSize);
  const chunkCount = Math.ceil(padded / CHUNK_BYTES);
  return {
    plaintextSize,
    paddedSize: padded,
    chunkCount,
    lastChunkBytes: padded - (chunkCount - 1) * CHUNK_BYTES,
    ciphertextSize: padded + chunkCount * TAG_BYTES,
  };
}

/** Padded plaintext bytes in chunk `index` of `layout`. */
export function chunkPlaintextBytes(layout: AttachmentLayout, index: number): number {
  return index === layout.chunkCount - 1 ? layout.lastChunkBytes : CHUNK_BYTES;
}

/** nonce_i = prefix ‖ u32be(index) ‖ flag; a fresh buffer (createCipheriv keeps no reference). */
export function chunkNonce(prefix: Uint8Array, index: number, last: boolean): Buffer {
  const nonce = Buffer.allocUnsafe(NONCE_BYTES);
  nonce.set(prefix, 0);
  nonce.writeUInt32BE(index, NONCE_INDEX_OFFSET);
  nonce[NONCE_FLAG_OFFSET] = last ? FLAG_LAST : FLAG_MORE;
  return nonce;
}

/** The ciphertext bytes to fetch for a plaintext range, and how to cut the result. */
export interface CiphertextRange {
  /** First and last (inclusive) chunk index that cover the plaintext range. */
  readonly firstChunk: number;
  readonly lastChunk: number;
  /** Ciphertext byte range [start, end) — for HTTP, `Range: bytes=start-(end − 1)`. */
  readonly ciphertextStart: number;
  readonly ciphertextEnd: number;
  /** Plaintext bytes to drop from the front of chunk `firstChunk`'s plaintext. */
  readonly skip: number;
  /** Plaintext bytes the range holds (end − start). */
  readonly length: number;
}

/**
 * Maps the plaintext byte range [start, end) of a file of `plaintextSize` bytes to the ciphertext
 * range of the whole chunks that cover it. Throws AttachmentCipherError BAD_SIZE or BAD_RANGE
 * (empty, reversed, fractional, or beyond the true size — padding is never addressable).
 */
export function ciphertextRangeFor(
  plaintextSize: number,
  start: number,
  end: number,
): CiphertextRange {
  const layout = layoutFor(plaintextSize);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new AttachmentCipherError('BAD_RANGE', `range [${start}, ${end}) is not integral`);
  }
  if (start < 0 || end <= start || end > plaintextSize) {
    throw new AttachmentCipherError(
      'BAD_RANGE',
      `range [${start}, ${end}) is not inside [0, ${plaintextSize})`,
    );
  }
  const firstChunk = Math.floor(start / CHUNK_BYTES);
  const lastChunk = Math.floor((end - 1) / CHUNK_BYTES);
  return {
    firstChunk,
    lastChunk,
    ciphertextStart: firstChunk * CHUNK_WIRE_BYTES,
    ciphertextEnd:
      lastChunk * CHUNK_WIRE_BYTES + chunkPlaintextBytes(layout, lastChunk) + TAG_BYTES,
    skip: start - firstChunk * CHUNK_BYTES,
    length: end - start,
  };
}

/** Throws BAD_KEY / BAD_NONCE_PREFIX unless both have their fixed lengths. */
export function checkKeyAndPrefix(key: Uint8Array, noncePrefix: Uint8Array): void {
  if (key.length !== KEY_BYTES) {
    throw new AttachmentCipherError('BAD_KEY', `key is ${key.length} bytes, not ${KEY_BYTES}`);
  }
  if (noncePrefix.length !== NONCE_PREFIX_BYTES) {
    throw new AttachmentCipherError(
      'BAD_NONCE_PREFIX',
      `nonce prefix is ${noncePrefix.length} bytes, not ${NONCE_PREFIX_BYTES}`,
    );
  }
}
