/**
 * The encrypted content: the JSON plaintext inside each Signal ciphertext (text, attachments,
 * receipts, reactions, replies, edits, deletes, typing, a group's name and avatar). Spec: spec/content.md.
 */
import type {
  Address,
  Bytes32,
  ByteCount,
  HttpUrl,
  MediaType,
  OpaqueId,
  PositiveByteCount,
  ProtocolVersion,
  Sha256Digest,
  TimestampMs,
} from './common.ts';
import type { GroupId } from './frames/groups.ts';

/**
 * A client message id: a UUID the sending client assigns, naming the content for replies, receipts, edits and deletes.
 * @format uuid
 * @minLength 36
 * @maxLength 36
 */
export type ClientMessageId = string;

/**
 * Message text: at most 65536 UTF-16 code units.
 * @minLength 1
 * @maxLength 65536
 */
export type TextBody = string;

/**
 * The 7-byte nonce prefix of the chunked AES-256-GCM stream (nonce = prefix ‖ u32 chunk index ‖ last-chunk flag), in base64url.
 * @pattern ^[A-Za-z0-9_-]{9}[AEIMQUYcgkosw048]$
 * @minLength 10
 * @maxLength 10
 */
export type NoncePrefix = string;

/**
 * A file name without path: 1–255 characters, no "/", "\" or control characters.
 * @pattern ^[^/\\\u0000-\u001f\u007f]{1,255}$
 * @minLength 1
 * @maxLength 255
 */
export type FileName = string;

/**
 * A pixel dimension.
 * @TJS-type integer
 * @minimum 1
 * @maximum 65535
 */
export type PixelSize = number;

/**
 * A media duration in milliseconds.
 * @TJS-type integer
 * @minimum 0
 * @maximum 86400000
 */
export type MediaDurationMs = number;

/** An encrypted thumbnail of an image or video attachment, itself an uploaded blob. */
export interface AttachmentThumbnail {
  /** The thumbnail blob's id. */
  blobId: OpaqueId;
  /** Where to download the thumbnail blob. */
  downloadUrl: HttpUrl;
  /** The thumbnail's 32-byte AES-256-GCM key. */
  key: Bytes32;
  /** The thumbnail stream's nonce prefix. */
  noncePrefix: NoncePrefix;
  /** SHA-256 of the thumbnail ciphertext. */
  digest: Sha256Digest;
  /** The thumbnail's plaintext size in bytes. */
  size: PositiveByteCount;
  /** The thumbnail's media type. */
  mediaType: MediaType;
  /** Width in pixels. */
  width: PixelSize;
  /** Height in pixels. */
  height: PixelSize;
}

/** Everything a recipient needs to fetch, decrypt and verify one attachment; travels only inside the encryption. */
export interface AttachmentPointer {
  /** The blob's id. */
  blobId: OpaqueId;
  /** Where to download the blob (carries the download capability). */
  downloadUrl: HttpUrl;
  /** The file's fresh 32-byte AES-256-GCM key. */
  key: Bytes32;
  /** The stream's nonce prefix. */
  noncePrefix: NoncePrefix;
  /** SHA-256 of the ciphertext blob. */
  digest: Sha256Digest;
  /** The plaintext size in bytes. */
  size: ByteCount;
  /** The padded plaintext size in bytes (the size bucket). */
  paddedSize: ByteCount;
  /** The file's media type. */
  mediaType: MediaType;
  /** The file's name. */
  fileName?: FileName;
  /** True for a voice message. */
  voice?: boolean;
  /** Duration of audio or video. */
  durationMs?: MediaDurationMs;
  /** Image or video width in pixels. */
  width?: PixelSize;
  /** Image or video height in pixels. */
  height?: PixelSize;
  /** An encrypted thumbnail. */
  thumbnail?: AttachmentThumbnail;
}

/** Points at the message a reply quotes. */
export interface ReplyTarget {
  /** The quoted message's client message id. */
  id: ClientMessageId;
  /** The quoted message's author. */
  author: Address;
}

/** Members of every content. */
export interface ContentBase {
  /** Content version; always 1. */
  v: ProtocolVersion;
  /** The client message id of this content. */
  id: ClientMessageId;
  /** When the sender sent it, by the sender's clock. */
  sentAt: TimestampMs;
  /**
   * The group a group message is sent to, inside the encryption and so under the sender key's
   * signature (GROUP-056); absent from a 1:1 message.
   */
  group?: GroupId;
}

/** A text message, optionally a reply. */
export interface TextContent extends ContentBase {
  kind: 'text';
  /** The text. */
  body: TextBody;
  /** The message this one replies to. */
  replyTo?: ReplyTarget;
}

/**
 * The attachments of one message.
 * @minItems 1
 * @maxItems 32
 */
export type AttachmentPointerList = AttachmentPointer[];

/** One or more attachments with an optional caption, optionally a reply. */
export interface AttachmentContent extends ContentBase {
  kind: 'attachment';
  /** The attachments. */
  attachments: AttachmentPointerList;
  /** A caption. */
  caption?: TextBody;
  /** The message this one replies to. */
  replyTo?: ReplyTarget;
}

/** Which receipt. */
export type ReceiptType = 'delivered' | 'read';

/**
 * Client message ids a receipt or batch refers to.
 * @items {"$ref": "ClientMessageId"}
 * @minItems 1
 * @maxItems 100
 * @uniqueItems true
 */
export type ClientMessageIdList = ClientMessageId[];

/** A delivery or read receipt for messages of the recipient's conversation partner. */
export interface ReceiptContent extends ContentBase {
  kind: 'receipt';
  /** Delivered or read. */
  receipt: ReceiptType;
  /** The messages acknowledged. */
  messageIds: ClientMessageIdList;
}

/**
 * An emoji: one grapheme cluster, at most 32 UTF-16 code units.
 * @minLength 1
 * @maxLength 32
 */
export type Emoji = string;

/** Adds or removes an emoji reaction to a message. */
export interface ReactionContent extends ContentBase {
  kind: 'reaction';
  /** The message reacted to. */
  targetId: ClientMessageId;
  /** The author of the message reacted to. */
  targetAuthor: Address;
  /** The emoji. */
  emoji: Emoji;
  /** True to remove this reaction. */
  remove?: boolean;
}

/** Replaces the text of one of the sender's own messages. */
export interface EditContent extends ContentBase {
  kind: 'edit';
  /** The edited message (the sender's own). */
  targetId: ClientMessageId;
  /** The new text. */
  body: TextBody;
}

/** Deletes one of the sender's own messages for everyone. */
export interface DeleteContent extends ContentBase {
  kind: 'delete';
  /** The deleted message (the sender's own). */
  targetId: ClientMessageId;
}

/** Whether the sender is typing. */
export type TypingState = 'started' | 'stopped';

/** A typing indicator. */
export interface TypingContent extends ContentBase {
  kind: 'typing';
  /** Started or stopped. */
  state: TypingState;
}

/**
 * A group's name: 1 to 100 UTF-16 code units (WhatsApp's group subject length).
 * @minLength 1
 * @maxLength 100
 */
export type GroupName = string;

/**
 * A group's name and avatar, sent as a group message by a member (spec/content.md "Group context",
 * GROUP-060). The provider never sees them: it knows a group's membership only. Each one states
 * the whole context: an absent avatar means the group has none.
 */
export interface GroupContextContent extends ContentBase {
  kind: 'group';
  /** The group's name. */
  name: GroupName;
  /** The group's avatar: an uploaded image, pointed at as an attachment is. */
  avatar?: AttachmentPointer;
}

/** The plaintext of a Signal ciphertext: one content, discriminated by `kind`. */
export type Content =
  | TextContent
  | AttachmentContent
  | ReceiptContent
  | ReactionContent
  | EditContent
  | DeleteContent
  | TypingContent
  | GroupContextContent;

/** The content kinds. */
export type ContentKind = Content['kind'];
