/**
 * The recipient's side: Transforms that authenticate and decrypt a whole blob, or the chunks that
 * cover a plaintext byte range (video seek). Spec: spec/attachments.md, "Decryption" and
 * "Random access".
 *
 * Release rule: a chunk's plaintext leaves the stream only after its tag verified, and the
 * plaintext of the newest authenticated chunk is held back until the next chunk authenticates or,
 * for the last one, until the end checks pass (last-chunk flag reached, no trailing bytes, padding
 * zero, digest equal). So a failed stream never releases plaintext beyond the last authenticated
 * chunk, and a whole-blob stream never releases the file's final bytes unless everything verified.
 */
import { createDecipheriv, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { DecipherGCM, KeyObject } from 'node:crypto';
import { CHUNK_BYTES, DIGEST_BYTES, TAG_BYTES } from './constants.ts';
import { AttachmentCipherError } from './errors.ts';
import { createStreamHash } from './hash-worker.ts';
import type { StreamHash } from './hash-worker.ts';
import {
  checkKeyAndPrefix,
  chunkNonce,
  chunkPlaintextBytes,
  ciphertextRangeFor,
  layoutFor,
} from './layout.ts';
import type { AttachmentLayout } from './layout.ts';
import { PacedTransform } from './paced-transform.ts';

const ZEROS = Buffer.alloc(CHUNK_BYTES);

/** What the pointer (inside the Signal ciphertext) says about the blob. */
export interface DecryptStreamOptions {
  readonly key: Uint8Array;
  readonly noncePrefix: Uint8Array;
  /** True plaintext size from the pointer; fixes the padded size and the chunk count. */
  readonly plaintextSize: number;
  /** SHA-256 of the whole blob from the pointer. */
  readonly digest: Uint8Array;
}

/** A whole-blob read, or a range read that starts at chunk `firstChunk`. */
interface ChunkWindow {
  readonly firstChunk: number;
  readonly lastChunk: number;
  /** Plaintext byte range [start, end) to release. */
  readonly start: number;
  readonly end: number;
  readonly digest: Buffer | undefined;
}

/**
 * Decrypts the ciphertext of chunks `firstChunk … lastChunk` and releases plaintext [start, end).
 * Errors (destroying the stream): CHUNK_AUTH_FAILED, TRUNCATED, TRAILING_DATA, BAD_PADDING, and
 * DIGEST_MISMATCH when a digest is checked.
 */
export class AttachmentDecryptStream extends PacedTransform {
  readonly plaintextSize: number;
  readonly paddedSize: number;
  readonly chunkCount: number;

  readonly #layout: AttachmentLayout;
  readonly #window: ChunkWindow;
  readonly #keyObject: KeyObject;
  readonly #noncePrefix: Buffer;
  readonly #hash: StreamHash | undefined;
  readonly #tag = Buffer.alloc(TAG_BYTES);
  #decipher: DecipherGCM;
  #index: number;
  #ciphertextLeft: number;
  #tagFilled = 0;
  #parts: Buffer[] = [];
  #held: Buffer[] = [];
  #done = false;

  /** Use createDecryptStream or createRangeDecryptStream. Throws BAD_KEY, BAD_NONCE_PREFIX, BAD_SIZE. */
  constructor(
    key: Uint8Array,
    noncePrefix: Uint8Array,
    plaintextSize: number,
    window: ChunkWindow,
  ) {
    super();
    checkKeyAndPrefix(key, noncePrefix);
    this.#layout = layoutFor(plaintextSize);
    this.plaintextSize = plaintextSize;
    this.paddedSize = this.#layout.paddedSize;
    this.chunkCount = this.#layout.chunkCount;
    this.#window = window;
    this.#keyObject = createSecretKey(Buffer.from(key));
    this.#noncePrefix = Buffer.from(noncePrefix);
    this.#index = window.firstChunk;
    this.#ciphertextLeft = chunkPlaintextBytes(this.#layout, this.#index);
    this.#decipher = this.#decipherFor(this.#index);
    // Last: nothing after it throws, so a job is never left attached by a failed constructor.
    this.#hash = window.digest ? createStreamHash(this.#layout.ciphertextSize) : undefined;
  }

  protected override async transformPiece(piece: Buffer): Promise<void> {
    const hashed = this.#hash?.update(piece);
    if (hashed) await hashed;
    for (let offset = 0; offset < piece.length;) {
      if (this.#done) {
        throw new AttachmentCipherError(
          'TRAILING_DATA',
          `bytes follow chunk ${this.#window.lastChunk}, the last one expected`,
        );
      }
      if (this.#ciphertextLeft > 0) {
        const take = Math.min(this.#ciphertextLeft, piece.length - offset);
        this.#parts.push(this.#decipher.update(piece.subarray(offset, offset + take)));
        this.#ciphertextLeft -= take;
        offset += take;
        continue;
      }
      const take = Math.min(TAG_BYTES - this.#tagFilled, piece.length - offset);
      piece.copy(this.#tag, this.#tagFilled, offset, offset + take);
      this.#tagFilled += take;
      offset += take;
      if (this.#tagFilled === TAG_BYTES) await this.#finishChunk();
    }
  }

  protected override async flushAll(): Promise<void> {
    if (!this.#done) {
      throw new AttachmentCipherError(
        'TRUNCATED',
        `the ciphertext ended inside or before chunk ${this.#index} (of ${this.#window.lastChunk})`,
        this.#index,
      );
    }
    if (this.#hash && this.#window.digest) {
      const actual = await this.#hash.digest();
      if (!timingSafeEqual(actual, this.#window.digest)) {
        throw new AttachmentCipherError('DIGEST_MISMATCH');
      }
    }
    await this.#release();
  }

  async #finishChunk(): Promise<void> {
    const index = this.#index;
    this.#decipher.setAuthTag(this.#tag);
    try {
      this.#decipher.final();
    } catch {
      throw new AttachmentCipherError(
        'CHUNK_AUTH_FAILED',
        `chunk ${index} failed authentication`,
        index,
      );
    }
    const chunkStart = index * CHUNK_BYTES;
    const chunkEnd = chunkStart + chunkPlaintextBytes(this.#layout, index);
    const padFrom = Math.max(chunkStart, this.plaintextSize);
    if (padFrom < chunkEnd && !isZero(this.#parts, padFrom - chunkStart, chunkEnd - chunkStart)) {
      throw new AttachmentCipherError('BAD_PADDING', `chunk ${index} has non-zero padding`, index);
    }
    const from = Math.max(chunkStart, this.#window.start);
    const to = Math.min(chunkEnd, this.#window.end);
    const wanted = from < to ? slice(this.#parts, from - chunkStart, to - chunkStart) : [];
    this.#parts = [];
    this.#tagFilled = 0;
    if (index === this.#window.lastChunk) {
      this.#done = true;
    } else {
      this.#index = index + 1;
      this.#ciphertextLeft = chunkPlaintextBytes(this.#layout, this.#index);
      this.#decipher = this.#decipherFor(this.#index);
    }
    if (wanted.length > 0) {
      await this.#release();
      this.#held = wanted;
    }
  }

  async #release(): Promise<void> {
    const held = this.#held;
    this.#held = [];
    for (const part of held) {
      const wait = this.pushPaced(part);
      if (wait) await wait;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#hash?.dispose();
    super._destroy(error, callback);
  }

  #decipherFor(index: number): DecipherGCM {
    const nonce = chunkNonce(this.#noncePrefix, index, index === this.chunkCount - 1);
    return createDecipheriv('aes-256-gcm', this.#keyObject, nonce, { authTagLength: TAG_BYTES });
  }
}

/** Whether bytes [from, to) of the concatenated parts are all zero. */
function isZero(parts: readonly Buffer[], from: number, to: number): boolean {
  return slice(parts, from, to).every((part) => {
    for (let at = 0; at < part.length; at += CHUNK_BYTES) {
      const piece = part.subarray(at, at + CHUNK_BYTES);
      if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
    }
    return true;
  });
}

/** Views (no copies) of bytes [from, to) of the concatenated parts. */
function slice(parts: readonly Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const part of parts) {
    const lo = Math.max(from, at);
    const hi = Math.min(to, at + part.length);
    if (lo < hi) out.push(part.subarray(lo - at, hi - at));
    at += part.length;
  }
  return out;
}

/**
 * Decrypts a whole blob: checks every chunk tag, the last-chunk flag, the zero padding and the
 * blob's SHA-256 against the pointer. Throws BAD_KEY, BAD_NONCE_PREFIX, BAD_SIZE or BAD_DIGEST.
 */
export function createDecryptStream(options: DecryptStreamOptions): AttachmentDecryptStream {
  if (options.digest.length !== DIGEST_BYTES) {
    throw new AttachmentCipherError('BAD_DIGEST', `digest is ${options.digest.length} bytes`);
  }
  const layout = layoutFor(options.plaintextSize);
  return new AttachmentDecryptStream(options.key, options.noncePrefix, options.plaintextSize, {
    firstChunk: 0,
    lastChunk: layout.chunkCount - 1,
    start: 0,
    end: options.plaintextSize,
    digest: Buffer.from(options.digest),
  });
}

export interface RangeDecryptStreamOptions {
  readonly key: Uint8Array;
  readonly noncePrefix: Uint8Array;
  readonly plaintextSize: number;
  /** Plaintext byte range [start, end) wanted; write it ciphertextRangeFor(size, start, end)'s bytes. */
  readonly start: number;
  readonly end: number;
}

/**
 * Decrypts the ciphertext range that `ciphertextRangeFor(plaintextSize, start, end)` names and
 * releases exactly plaintext [start, end). A range read authenticates each chunk it reads (its
 * nonce carries the chunk's own index, so a chunk served from the wrong offset fails), and the
 * last-chunk flag only when the range reaches the file's final chunk; it cannot check the blob
 * digest, which covers the whole blob. Throws BAD_KEY, BAD_NONCE_PREFIX, BAD_SIZE or BAD_RANGE.
 */
export function createRangeDecryptStream(
  options: RangeDecryptStreamOptions,
): AttachmentDecryptStream {
  const range = ciphertextRangeFor(options.plaintextSize, options.start, options.end);
  return new AttachmentDecryptStream(options.key, options.noncePrefix, options.plaintextSize, {
    firstChunk: range.firstChunk,
    lastChunk: range.lastChunk,
    start: options.start,
    end: options.end,
    digest: undefined,
  });
}
