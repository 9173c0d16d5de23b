/**
 * Attachment frames: reserving an upload slot for an encrypted blob (bytes then travel over HTTP).
 * Spec: spec/attachments.md.
 */
import type {
  AttachmentKind,
  HttpUrl,
  OpaqueId,
  PositiveByteCount,
  Sha256Digest,
  TimestampMs,
} from '../common.ts';
import type { ReplyBase, RequestBase } from './envelope.ts';

/** Reserves an upload slot for one encrypted attachment blob. */
export interface AttachmentSlotFrame extends RequestBase {
  type: 'attachment.slot';
  /** The attachment kind, whose size limit applies. */
  kind: AttachmentKind;
  /** The ciphertext size in bytes. */
  size: PositiveByteCount;
  /** SHA-256 of the ciphertext, checked when the upload completes. */
  digest: Sha256Digest;
}

/**
 * A bearer token for the upload (RFC 6750 b64token).
 * @pattern ^[A-Za-z0-9._~+/-]+=*$
 * @minLength 16
 * @maxLength 1024
 */
export type UploadToken = string;

/** Answers `attachment.slot`: where and how to upload, and the download capability URL. */
export interface AttachmentSlottedFrame extends ReplyBase {
  type: 'attachment.slotted';
  /** The blob's id. */
  blobId: OpaqueId;
  /** Where to PUT the ciphertext. */
  uploadUrl: HttpUrl;
  /** The bearer token for the upload. */
  uploadToken: UploadToken;
  /** Where recipients GET the blob; carries the unguessable download capability. */
  downloadUrl: HttpUrl;
  /** When the slot and the blob expire. */
  expiresAt: TimestampMs;
}
