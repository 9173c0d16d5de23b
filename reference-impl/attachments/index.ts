/**
 * Public surface of the attachment stream cipher (re-exports only).
 * Spec: spec/attachments.md.
 */
export * as limits from './constants.ts';
export { AttachmentCipherError, ATTACHMENT_CIPHER_ERRORS } from './errors.ts';
export type { AttachmentCipherErrorCode } from './errors.ts';
export { paddedSize, padme } from './padding.ts';
export { ciphertextRangeFor, layoutFor } from './layout.ts';
export type { AttachmentLayout, CiphertextRange } from './layout.ts';
export { AttachmentEncryptStream, createEncryptStream } from './encrypt-stream.ts';
export type { EncryptStreamOptions } from './encrypt-stream.ts';
export {
  AttachmentDecryptStream,
  createDecryptStream,
  createRangeDecryptStream,
} from './decrypt-stream.ts';
export type { DecryptStreamOptions, RangeDecryptStreamOptions } from './decrypt-stream.ts';
export { decryptChunkRange } from './range.ts';
export type { ChunkRangeInput } from './range.ts';
export {
  HASH_WORKER_MIN_BYTES,
  hashWorkerState,
  setHashWorkerMinBytes,
  shutdownHashWorker,
} from './hash-worker.ts';
export type { HashWorkerState } from './hash-worker.ts';
