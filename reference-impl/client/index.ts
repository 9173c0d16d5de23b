// The public surface of Parley's client SDK (spec/README.md): the client, its stores, content
// builders, partner-token helpers and the one error class. Re-exports only.
export { ParleyClient, type ParleyClientOptions } from './client.ts';
export type {
  ClientEvents,
  DeviceLink,
  Enrolment,
  IncomingMessage,
  SendResult,
  Session,
  UnreadableMessage,
} from './types.ts';
export { ParleyError, type DeviceMismatch } from './errors.ts';
export type { GroupInfo, GroupSendResult } from './groups.ts';
export {
  MemoryClientStore,
  type ClientStore,
  type GroupContextRecord,
  type GroupRecord,
} from './store.ts';
export { SqliteClientStore } from './sqlite-store.ts';
export {
  attachmentContent,
  decodePlaintext,
  deleteContent,
  editContent,
  encodePlaintext,
  groupContextContent,
  reactionContent,
  receiptContent,
  textContent,
  typingContent,
} from './content.ts';
export {
  generatePartnerKey,
  loadPartnerKey,
  mintPartnerToken,
  parsePartnerKey,
  type PartnerKey,
  type TokenSource,
} from './auth.ts';
export { type BackoffOptions } from './backoff.ts';
export {
  attachmentKindFor,
  downloadAttachment,
  downloadThumbnail,
  uploadAttachment,
  type AttachmentSlotter,
  type MediaTypeLists,
  type ThumbnailSource,
  type UploadAttachmentOptions,
  type HttpVia,
} from './attachments.ts';
export { AttachmentCipherError, type AttachmentCipherErrorCode } from '../attachments/index.ts';
