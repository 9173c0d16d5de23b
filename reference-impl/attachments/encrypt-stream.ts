/**
 * The sender's side: a Transform that pads and encrypts a file into the chunked AES-256-GCM blob
 * and hashes the blob while it streams. Spec: spec/attachments.md, "Chunked encryption".
 *
 * Why the plaintext size is required up front: the padded size (Padmé of the true size) fixes how
 * many chunks there are and so which chunk carries the last-chunk flag. Knowing it at the start
 * lets the encryptor seal each chunk the moment it is full (nothing held back), report the blob
 * size before the first byte (the `size` that `attachment.slot` declares and the upload's
 * Content-Length), and refuse a source that delivers more or fewer bytes than declared (a file that
 * changes while being read) instead of producing a pointer whose `size` lies.
 */
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { CipherGCM, KeyObject } from 'node:crypto';
import { CHUNK_BYTES, KEY_BYTES, NONCE_PREFIX_BYTES, TAG_BYTES } from './constants.ts';
import { AttachmentCipherError } from './errors.ts';
import { createStreamHash, HASH_MAX_IN_FLIGHT } from './hash-worker.ts';
import type { StreamHash } from './hash-worker.ts';
import { checkKeyAndPrefix, chunkNonce, chunkPlaintextBytes, layoutFor } from './layout.ts';
import type { AttachmentLayout } from './layout.ts';
import { PacedTransform } from './paced-transform.ts';

/** Read-only zeros fed to the cipher as padding; never pushed, so never shared with a reader. */
const ZEROS = Buffer.alloc(CHUNK_BYTES);

export interface EncryptStreamOptions {
  /** 32-byte file key; a fresh random key when omitted (the normal case — tests pass one). */
  readonly key?: Uint8Array;
  /** 7-byte nonce prefix; random when omitted. */
  readonly noncePrefix?: Uint8Array;
  /** Exact number of plaintext bytes that will be written. */
  readonly plaintextSize: number;
}

/**
 * Encrypts exactly `plaintextSize` written bytes into the blob. `key`, `noncePrefix`, the sizes
 * and `chunkCount` are known at once; `digest` (SHA-256 of the blob) once the stream finished.
 * Errors (destroying the stream): SIZE_MISMATCH when the writer supplies more or fewer bytes.
 */
export class AttachmentEncryptStream extends PacedTransform {
  readonly key: Buffer;
  readonly noncePrefix: Buffer;
  readonly plaintextSize: number;
  readonly paddedSize: number;
  readonly ciphertextSize: number;
  readonly chunkCount: number;

  readonly #layout: AttachmentLayout;
  readonly #keyObject: KeyObject;
  readonly #hash: StreamHash;
  #digest: Buffer | undefined;
  #cipher: CipherGCM;
  #index = 0;
  #filled = 0;
  #received = 0;
  /** Sealed ciphertext and tags not yet handed to the hash (about one hash batch at most). */
  #gathered: Buffer[] = [];
  #gatheredBytes = 0;
  /** Batches at the hash worker, oldest first; each resolves with the bytes to push. */
  readonly #hashing: Promise<Buffer[]>[] = [];

  /** Throws AttachmentCipherError BAD_KEY, BAD_NONCE_PREFIX or BAD_SIZE. */
  constructor(options: EncryptStreamOptions) {
    super();
    this.key = Buffer.from(options.key ?? randomBytes(KEY_BYTES));
    this.noncePrefix = Buffer.from(options.noncePrefix ?? randomBytes(NONCE_PREFIX_BYTES));
    checkKeyAndPrefix(this.key, this.noncePrefix);
    this.#layout = layoutFor(options.plaintextSize);
    this.plaintextSize = this.#layout.plaintextSize;
    this.paddedSize = this.#layout.paddedSize;
    this.ciphertextSize = this.#layout.ciphertextSize;
    this.chunkCount = this.#layout.chunkCount;
    this.#keyObject = createSecretKey(this.key);
    this.#cipher = this.#cipherFor(0);
    // Last: nothing after it throws, so a job is never left attached by a failed constructor.
    this.#hash = createStreamHash(this.ciphertextSize);
  }

  /** SHA-256 of the whole blob; undefined until the stream has finished. */
  get digest(): Buffer | undefined {
    return this.#digest;
  }

  protected override async transformPiece(piece: Buffer): Promise<void> {
    if (this.#received + piece.length > this.plaintextSize) {
      throw new AttachmentCipherError(
        'SIZE_MISMATCH',
        `more than the declared ${this.plaintextSize} plaintext bytes were written`,
      );
    }
    this.#received += piece.length;
    await this.#encrypt(piece);
  }

  protected override async flushAll(): Promise<void> {
    if (this.#received !== this.plaintextSize) {
      throw new AttachmentCipherError(
        'SIZE_MISMATCH',
        `${this.#received} plaintext bytes were written, ${this.plaintextSize} declared`,
      );
    }
    for (let left = this.paddedSize - this.plaintextSize; left > 0;) {
      const take = Math.min(left, CHUNK_BYTES);
      await this.#encrypt(ZEROS.subarray(0, take));
      left -= take;
    }
    await this.#hashGathered(0);
    this.#digest = await this.#hash.digest();
  }

  async #encrypt(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length;) {
      const chunkBytes = chunkPlaintextBytes(this.#layout, this.#index);
      const take = Math.min(chunkBytes - this.#filled, data.length - offset);
      const ciphertext = this.#cipher.update(data.subarray(offset, offset + take));
      offset += take;
      this.#filled += take;
      this.#gather(ciphertext);
      if (this.#filled === chunkBytes) {
        this.#cipher.final();
        this.#gather(this.#cipher.getAuthTag());
        this.#index += 1;
        this.#filled = 0;
        if (this.#index < this.chunkCount) this.#cipher = this.#cipherFor(this.#index);
      }
      if (this.#gatheredBytes >= this.#hash.batchBytes) {
        await this.#hashGathered(HASH_MAX_IN_FLIGHT);
      }
    }
  }

  #gather(piece: Buffer): void {
    this.#gathered.push(piece);
    this.#gatheredBytes += piece.length;
  }

  /**
   * Hands the gathered ciphertext to the hash, then pushes hashed batches (oldest first) until
   * at most `keep` remain at the worker. Bytes are pushed only once hashed, so a reader cannot
   * alter bytes the digest has yet to cover, and the hash gets the blob's buffers themselves
   * (transferred to the worker and back, not copied).
   */
  async #hashGathered(keep: number): Promise<void> {
    if (this.#gathered.length > 0) {
      const hashed = this.#hash.hashOwned(this.#gathered);
      this.#gathered = [];
      this.#gatheredBytes = 0;
      if (Array.isArray(hashed) && this.#hashing.length === 0) {
        await this.#pushAll(hashed);
      } else {
        const pending = Promise.resolve(hashed);
        // Awaited below or later; never an unhandled rejection meanwhile.
        pending.catch(() => undefined);
        this.#hashing.push(pending);
      }
    }
    while (this.#hashing.length > keep) {
      await this.#pushAll(await (this.#hashing.shift() as Promise<Buffer[]>));
    }
  }

  async #pushAll(pieces: readonly Buffer[]): Promise<void> {
    for (const piece of pieces) {
      const wait = this.pushPaced(piece);
      if (wait) await wait;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#hash.dispose();
    super._destroy(error, callback);
  }

  #cipherFor(index: number): CipherGCM {
    const nonce = chunkNonce(this.noncePrefix, index, index === this.chunkCount - 1);
    return createCipheriv('aes-256-gcm', this.#keyObject, nonce, { authTagLength: TAG_BYTES });
  }
}

/** A new encrypt stream; see AttachmentEncryptStream. Throws BAD_KEY, BAD_NONCE_PREFIX, BAD_SIZE. */
export function createEncryptStream(options: EncryptStreamOptions): AttachmentEncryptStream {
  return new AttachmentEncryptStream(options);
}
