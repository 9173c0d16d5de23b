/**
 * The frame table of Parley v1: every wire `type`, its schema, direction and request/reply pairing.
 * Spec: spec/protocol.md "Frames"; the AsyncAPI document and the provider's dispatcher read it.
 */
import type {
  AccountRegisterFrame,
  AccountRegisteredFrame,
  AttachmentSlotFrame,
  AttachmentSlottedFrame,
  AuthFrame,
  AuthOkFrame,
  BlockSetFrame,
  BlockStateFrame,
  ConsentGetFrame,
  ConsentSetFrame,
  ConsentStateFrame,
  DeviceAddFrame,
  DeviceAddedFrame,
  DeviceRemoveFrame,
  DeviceRemovedFrame,
  ErrorFrame,
  GroupAddFrame,
  GroupChangedFrame,
  GroupCreateFrame,
  GroupGetFrame,
  GroupInvitedFrame,
  GroupLeaveFrame,
  GroupLeftFrame,
  GroupRemoveFrame,
  GroupRoleFrame,
  GroupStateFrame,
  HelloFrame,
  KeysBundleFrame,
  KeysClaimFrame,
  KeysLowFrame,
  KeysPublishFrame,
  KeysPublishedFrame,
  MessageAckFrame,
  MessageAckedFrame,
  MessageAcceptedFrame,
  MessageFrame,
  MessageSendFrame,
  PingFrame,
  PongFrame,
  QueueEmptyFrame,
  ReportFrame,
  ReportReceivedFrame,
  RequestRespondFrame,
  RequestRespondedFrame,
  RequestsFrame,
  RequestsListFrame,
  WelcomeFrame,
} from './frames/index.ts';

/** Every frame a client sends to a provider; each is a request carrying `id`. */
export type ClientFrame =
  | HelloFrame
  | AuthFrame
  | PingFrame
  | AccountRegisterFrame
  | DeviceAddFrame
  | DeviceRemoveFrame
  | KeysPublishFrame
  | KeysClaimFrame
  | MessageSendFrame
  | MessageAckFrame
  | ConsentGetFrame
  | ConsentSetFrame
  | RequestsListFrame
  | RequestRespondFrame
  | BlockSetFrame
  | ReportFrame
  | AttachmentSlotFrame
  | GroupCreateFrame
  | GroupAddFrame
  | GroupRemoveFrame
  | GroupLeaveFrame
  | GroupRoleFrame
  | GroupGetFrame;

/** Every frame a provider sends to a client: replies (carrying `re`), pushes (carrying `id`) and `error`. */
export type ProviderFrame =
  | WelcomeFrame
  | AuthOkFrame
  | PongFrame
  | ErrorFrame
  | AccountRegisteredFrame
  | DeviceAddedFrame
  | DeviceRemovedFrame
  | KeysPublishedFrame
  | KeysBundleFrame
  | KeysLowFrame
  | MessageAcceptedFrame
  | MessageFrame
  | MessageAckedFrame
  | QueueEmptyFrame
  | ConsentStateFrame
  | RequestsFrame
  | RequestRespondedFrame
  | BlockStateFrame
  | ReportReceivedFrame
  | AttachmentSlottedFrame
  | GroupStateFrame
  | GroupLeftFrame
  | GroupChangedFrame
  | GroupInvitedFrame;

/** Every frame of the protocol, in either direction. */
export type Frame = ClientFrame | ProviderFrame;

/** A wire `type` string. */
export type FrameType = Frame['type'];

/** A wire `type` a client sends. */
export type ClientFrameType = ClientFrame['type'];

/** A wire `type` a provider sends. */
export type ProviderFrameType = ProviderFrame['type'];

/** The frame of a given wire `type`. */
export type FrameOfType<T extends FrameType> = Extract<Frame, { type: T }>;

/** What the table says about one wire `type`. */
export interface FrameTypeInfo {
  /** The TypeScript type and the JSON Schema file (schemas/json/<schema>.json) of the frame. */
  readonly schema: string;
  /** Who sends it: 'client' (client → provider) or 'provider' (provider → client). */
  readonly direction: 'client' | 'provider';
  /** For a reply: the request types it answers (its `re` names their `id`). Absent for requests and pushes. */
  readonly replyTo?: readonly ClientFrameType[];
  /** For a request: the frame types that may answer it (`error` always among them). */
  readonly replies?: readonly ProviderFrameType[];
}

/** The frame table, keyed by wire `type`; the compiler checks it names every frame type exactly once. */
export const FRAME_TYPES = {
  hello: { schema: 'HelloFrame', direction: 'client', replies: ['welcome', 'error'] },
  welcome: { schema: 'WelcomeFrame', direction: 'provider', replyTo: ['hello'] },
  auth: { schema: 'AuthFrame', direction: 'client', replies: ['auth.ok', 'error'] },
  'auth.ok': { schema: 'AuthOkFrame', direction: 'provider', replyTo: ['auth'] },
  ping: { schema: 'PingFrame', direction: 'client', replies: ['pong', 'error'] },
  pong: { schema: 'PongFrame', direction: 'provider', replyTo: ['ping'] },
  error: { schema: 'ErrorFrame', direction: 'provider' },
  'account.register': {
    schema: 'AccountRegisterFrame',
    direction: 'client',
    replies: ['account.registered', 'error'],
  },
  'account.registered': {
    schema: 'AccountRegisteredFrame',
    direction: 'provider',
    replyTo: ['account.register'],
  },
  'device.add': {
    schema: 'DeviceAddFrame',
    direction: 'client',
    replies: ['device.added', 'error'],
  },
  'device.added': { schema: 'DeviceAddedFrame', direction: 'provider', replyTo: ['device.add'] },
  'device.remove': {
    schema: 'DeviceRemoveFrame',
    direction: 'client',
    replies: ['device.removed', 'error'],
  },
  'device.removed': {
    schema: 'DeviceRemovedFrame',
    direction: 'provider',
    replyTo: ['device.remove'],
  },
  'keys.publish': {
    schema: 'KeysPublishFrame',
    direction: 'client',
    replies: ['keys.published', 'error'],
  },
  'keys.published': {
    schema: 'KeysPublishedFrame',
    direction: 'provider',
    replyTo: ['keys.publish'],
  },
  'keys.claim': {
    schema: 'KeysClaimFrame',
    direction: 'client',
    replies: ['keys.bundle', 'error'],
  },
  'keys.bundle': { schema: 'KeysBundleFrame', direction: 'provider', replyTo: ['keys.claim'] },
  'keys.low': { schema: 'KeysLowFrame', direction: 'provider' },
  'message.send': {
    schema: 'MessageSendFrame',
    direction: 'client',
    replies: ['message.accepted', 'error'],
  },
  'message.accepted': {
    schema: 'MessageAcceptedFrame',
    direction: 'provider',
    replyTo: ['message.send'],
  },
  message: { schema: 'MessageFrame', direction: 'provider' },
  'message.ack': {
    schema: 'MessageAckFrame',
    direction: 'client',
    replies: ['message.acked', 'error'],
  },
  'message.acked': { schema: 'MessageAckedFrame', direction: 'provider', replyTo: ['message.ack'] },
  'queue.empty': { schema: 'QueueEmptyFrame', direction: 'provider' },
  'consent.get': {
    schema: 'ConsentGetFrame',
    direction: 'client',
    replies: ['consent.state', 'error'],
  },
  'consent.set': {
    schema: 'ConsentSetFrame',
    direction: 'client',
    replies: ['consent.state', 'error'],
  },
  'consent.state': {
    schema: 'ConsentStateFrame',
    direction: 'provider',
    replyTo: ['consent.get', 'consent.set'],
  },
  'requests.list': {
    schema: 'RequestsListFrame',
    direction: 'client',
    replies: ['requests', 'error'],
  },
  requests: { schema: 'RequestsFrame', direction: 'provider', replyTo: ['requests.list'] },
  'request.respond': {
    schema: 'RequestRespondFrame',
    direction: 'client',
    replies: ['request.responded', 'error'],
  },
  'request.responded': {
    schema: 'RequestRespondedFrame',
    direction: 'provider',
    replyTo: ['request.respond'],
  },
  'block.set': { schema: 'BlockSetFrame', direction: 'client', replies: ['block.state', 'error'] },
  'block.state': { schema: 'BlockStateFrame', direction: 'provider', replyTo: ['block.set'] },
  report: { schema: 'ReportFrame', direction: 'client', replies: ['report.received', 'error'] },
  'report.received': {
    schema: 'ReportReceivedFrame',
    direction: 'provider',
    replyTo: ['report'],
  },
  'attachment.slot': {
    schema: 'AttachmentSlotFrame',
    direction: 'client',
    replies: ['attachment.slotted', 'error'],
  },
  'attachment.slotted': {
    schema: 'AttachmentSlottedFrame',
    direction: 'provider',
    replyTo: ['attachment.slot'],
  },
  'group.create': {
    schema: 'GroupCreateFrame',
    direction: 'client',
    replies: ['group.state', 'error'],
  },
  'group.add': { schema: 'GroupAddFrame', direction: 'client', replies: ['group.state', 'error'] },
  'group.remove': {
    schema: 'GroupRemoveFrame',
    direction: 'client',
    replies: ['group.state', 'error'],
  },
  'group.leave': {
    schema: 'GroupLeaveFrame',
    direction: 'client',
    replies: ['group.left', 'error'],
  },
  'group.role': {
    schema: 'GroupRoleFrame',
    direction: 'client',
    replies: ['group.state', 'error'],
  },
  'group.get': { schema: 'GroupGetFrame', direction: 'client', replies: ['group.state', 'error'] },
  'group.state': {
    schema: 'GroupStateFrame',
    direction: 'provider',
    replyTo: ['group.create', 'group.add', 'group.remove', 'group.role', 'group.get'],
  },
  'group.left': { schema: 'GroupLeftFrame', direction: 'provider', replyTo: ['group.leave'] },
  'group.changed': { schema: 'GroupChangedFrame', direction: 'provider' },
  'group.invited': { schema: 'GroupInvitedFrame', direction: 'provider' },
} as const satisfies { readonly [T in FrameType]: FrameTypeInfo };

/** The content types with their own schema files besides the frames. */
export const CONTENT_SCHEMAS = [
  'Content',
  'AttachmentPointer',
  'TextContent',
  'AttachmentContent',
  'ReceiptContent',
  'ReactionContent',
  'EditContent',
  'DeleteContent',
  'TypingContent',
  'GroupContextContent',
] as const;

/** The name of a content schema file. */
export type ContentSchemaName = (typeof CONTENT_SCHEMAS)[number];
