/**
 * Random access in one call: decrypt whole chunks of a blob held in memory, starting at chunk i.
 * Spec: spec/attachments.md, "Random access".
 *
 * Meant for bounded reads (a seek window, a thumbnail); long ranges belong in
 * createRangeDecryptStream, which keeps memory flat. Like every range read it authenticates each
 * chunk on its own (its nonce carries its index) and the last-chunk flag only when the range
 * reaches the final chunk; it cannot check the blob digest.
 */
import { createDecipheriv, createSecretKey } from 'node:crypto';
import { CHUNK_BYTES, TAG_BYTES } from './constants.ts';
import { AttachmentCipherError } from './errors.ts';
import { checkKeyAndPrefix, chunkNonce, chunkPlaintextBytes, layoutFor } from './layout.ts';

export interface ChunkRangeInput {
  readonly key: Uint8Array;
  readonly noncePrefix: Uint8Array;
  /** True plaintext size from the pointer. */
  readonly plaintextSize: number;
  /** Index of the chunk the ciphertext starts with. */
  readonly firstChunk: number;
  /** Whole wire chunks (ciphertext ‖ tag each), as a range request returned them. */
  readonly ciphertext: Uint8Array;
}

/**
 * Decrypts the whole chunks in `ciphertext`, the first being chunk `firstChunk`, and returns their
 * true plaintext (padding checked to be zero and removed). Throws AttachmentCipherError BAD_KEY,
 * BAD_NONCE_PREFIX, BAD_SIZE, BAD_RANGE (firstChunk outside the file), CHUNK_AUTH_FAILED,
 * TRUNCATED (a partial chunk at the end), TRAILING_DATA (bytes beyond the file's last chunk) or
 * BAD_PADDING.
 */
export function decryptChunkRange(input: ChunkRangeInput): Buffer {
  checkKeyAndPrefix(input.key, input.noncePrefix);
  const layout = layoutFor(input.plaintextSize);
  const { firstChunk, ciphertext } = input;
  if (!Number.isSafeInteger(firstChunk) || firstChunk < 0 || firstChunk >= layout.chunkCount) {
    throw new AttachmentCipherError('BAD_RANGE', `chunk ${firstChunk} is not in the file`);
  }
  const keyObject = createSecretKey(Buffer.from(input.key));
  const out: Buffer[] = [];
  let index = firstChunk;
  for (let offset = 0; offset < ciphertext.length; index += 1) {
    if (index >= layout.chunkCount) {
      throw new AttachmentCipherError('TRAILING_DATA', `bytes follow chunk ${index - 1}`, index);
    }
    const size = chunkPlaintextBytes(layout, index);
    if (ciphertext.length - offset < size + TAG_BYTES) {
      throw new AttachmentCipherError('TRUNCATED', `chunk ${index} is incomplete`, index);
    }
    const nonce = chunkNonce(input.noncePrefix, index, index === layout.chunkCount - 1);
    const decipher = createDecipheriv('aes-256-gcm', keyObject, nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(ciphertext.subarray(offset + size, offset + size + TAG_BYTES));
    const plaintext = decipher.update(ciphertext.subarray(offset, offset + size));
    try {
      decipher.final();
    } catch {
      throw new AttachmentCipherError(
        'CHUNK_AUTH_FAILED',
        `chunk ${index} failed authentication`,
        index,
      );
    }
    const real = Math.max(0, Math.min(size, input.plaintextSize - index * CHUNK_BYTES));
    if (plaintext.subarray(real).some((byte) => byte !== 0)) {
      throw new AttachmentCipherError('BAD_PADDING', `chunk ${index} has non-zero padding`, index);
    }
    out.push(plaintext.subarray(0, real));
    offset += size + TAG_BYTES;
  }
  return Buffer.concat(out);
}
