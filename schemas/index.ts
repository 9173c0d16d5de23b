// The public surface of schemas/: protocol types, the frame table and the error registry (spec/protocol.md).
export type * from './common.ts';
export type * from './content.ts';
export type * from './frames/index.ts';
export type {
  ClientFrame,
  ClientFrameType,
  ContentSchemaName,
  Frame,
  FrameOfType,
  FrameType,
  FrameTypeInfo,
  ProviderFrame,
  ProviderFrameType,
} from './frame-types.ts';
export { CONTENT_SCHEMAS, FRAME_TYPES } from './frame-types.ts';
export type { ErrorCode, ErrorCodeInfo } from './errors.ts';
export { ERROR_CODES, ERROR_CODE_LIST } from './errors.ts';
export {
  ATTACHMENT_POINTER_EXAMPLE,
  CONTENT_EXAMPLES,
  FRAME_EXAMPLES,
  GROUP_MESSAGE_EXAMPLE,
  GROUP_SEND_EXAMPLE,
} from './examples.ts';
export { SCHEMA_LIMITS, base64UrlLength } from './limits.ts';
