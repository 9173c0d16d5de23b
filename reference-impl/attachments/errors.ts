/**
 * The one error type of the attachment stream cipher and its codes, each with its meaning.
 * Spec: spec/attachments.md, "Decryption failures". These codes are local to a client: they never
 * travel on the wire (the provider's own codes live in schemas/errors.ts).
 */

export const ATTACHMENT_CIPHER_ERRORS = {
  BAD_KEY: 'The key is not 32 bytes.',
  BAD_NONCE_PREFIX: 'The nonce prefix is not 7 bytes.',
  BAD_DIGEST: 'The expected digest is not 32 bytes.',
  BAD_SIZE: 'The plaintext size is not an integer in 0 … the largest size the chunk index allows.',
  BAD_RANGE: 'The requested byte range is empty, reversed or outside the file.',
  SIZE_MISMATCH: 'The encryptor was given more or fewer plaintext bytes than the declared size.',
  CHUNK_AUTH_FAILED:
    'A chunk failed authentication: wrong key, tampered bytes, or a chunk moved, duplicated or spliced from elsewhere.',
  TRUNCATED: 'The ciphertext ended before the chunk flagged last.',
  TRAILING_DATA: 'Bytes followed the chunk flagged last.',
  DIGEST_MISMATCH:
    'Every chunk authenticated but the SHA-256 of the ciphertext differs from the pointer.',
  BAD_PADDING: 'A padding byte after the true plaintext size is not zero.',
} as const;

export type AttachmentCipherErrorCode = keyof typeof ATTACHMENT_CIPHER_ERRORS;

/** Thrown (or passed to `destroy`) by every attachment cipher function and stream. */
export class AttachmentCipherError extends Error {
  override readonly name = 'AttachmentCipherError';
  readonly code: AttachmentCipherErrorCode;
  /** Index of the chunk at fault, when one chunk is. */
  readonly chunkIndex: number | undefined;

  constructor(code: AttachmentCipherErrorCode, detail?: string, chunkIndex?: number) {
    super(`${code}: ${detail ?? ATTACHMENT_CIPHER_ERRORS[code]}`);
    this.code = code;
    this.chunkIndex = chunkIndex;
  }
}
