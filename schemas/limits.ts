/**
 * The hard ceilings the v1 schemas enforce, each with its reason. A provider advertises its own
 * limits in `welcome`, never above these. Spec: spec/protocol.md "Limits".
 */

/** Encoded length of `bytes` bytes in base64url without padding. */
export function base64UrlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/** The schema ceilings; the annotations in schemas/ carry the same numbers and a test compares them. */
export const SCHEMA_LIMITS = {
  /**
   * Decoded bytes of one Signal ciphertext. A 65 536-character text in JSON content, escaped at
   * worst 6 bytes a character, plus Signal padding, protobuf and MAC stays below 512 KiB.
   */
  maxCiphertextBytes: 524_288,
  /** Devices per `message.send` and per bundle: today's platforms allow a handful of linked devices; 64 leaves room. */
  maxDevicesPerMessage: 64,
  /** One-time prekeys per `keys.publish`: Signal's clients generate them in batches of 100. */
  maxOneTimePreKeysPerPublish: 100,
  /**
   * One-time Kyber prekeys per `keys.publish`: Signal's clients generate them in batches of 100
   * too; 100 of them (about 218 KB of base64url) keep the frame far below `maxFrameBytes`.
   */
  maxOneTimeKyberPreKeysPerPublish: 100,
  /**
   * Decoded bytes of a Kyber prekey's public key: the type byte 0x08 (round-3 Kyber-1024, the only
   * KEM libsignal 0.103 accepts in a bundle) and the 1568-byte key.
   */
  kyberPublicKeyBytes: 1569,
  /** UTF-16 code units of a text body, caption or edit. */
  maxTextLength: 65_536,
  /** UTF-16 code units of a group's name (a `group` content): WhatsApp's group subject length. */
  maxGroupNameLength: 100,
  /** Attachments in one message: an album. */
  maxAttachmentsPerMessage: 32,
  /** Delivery ids in one `message.ack`. */
  maxAcksPerFrame: 256,
  /** Members and invitations of one group, and addresses in one membership change: WhatsApp's group size. */
  maxGroupMembers: 1024,
  /** Pending message requests listed by `requests`. */
  maxPendingRequests: 1000,
  /**
   * Nesting depth of a frame (PROTO-048): the deepest client frame nests 4 levels; a frame of a
   * million `[` costs a parser seconds, so a provider refuses one deeper than this unparsed.
   */
  maxFrameDepth: 32,
  /**
   * Array elements and object members of a frame, all levels together (PROTO-048): `keys.publish`
   * with its prekeys holds about 1 000; a flat array of a million `{}` holds a million.
   */
  maxFrameElements: 10_000,
  /** The least and most a provider may advertise as `maxUnauthenticatedFrameBytes` (PROTO-047). */
  minUnauthenticatedFrameBytes: 8192,
  maxUnauthenticatedFrameBytes: 65_536,
} as const;
