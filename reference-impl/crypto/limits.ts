// Named limits of the Signal Protocol core, each with its reason (spec: Cryptography; libsignal consts.rs).

/** How far ahead of a receiving chain a counter may be; bounds the work an attacker can force. (libsignal MAX_FORWARD_JUMPS) */
export const MAX_FORWARD_JUMPS = 25_000;

/** Skipped message keys kept per receiving chain; oldest dropped first, bounds record size. (libsignal MAX_MESSAGE_KEYS) */
export const MAX_MESSAGE_KEYS = 2_000;

/** Receiving chains kept per session so late messages from old ratchet keys still decrypt. (libsignal MAX_RECEIVER_CHAINS) */
export const MAX_RECEIVER_CHAINS = 5;

/** Archived (replaced) session states kept per address so in-flight messages of a reset session decrypt. (libsignal ARCHIVED_STATES_MAX_LENGTH) */
export const ARCHIVED_STATES_MAX_LENGTH = 40;

/** Largest registration id; libsignal generates ids in 1..16380 (14 bits, minus a small reserve). */
export const MAX_REGISTRATION_ID = 16_380;

/** Largest prekey / signed prekey id: libsignal ids are 24-bit (Medium::MAX_VALUE = 0xFFFFFF). */
export const MAX_PREKEY_ID = 0xff_ffff;

/**
 * Largest ciphertext body accepted before parsing. A Parley Content is at most 65 536 chars of text
 * (≤ 256 KiB UTF-8) plus JSON framing and padding; 512 KiB leaves room and refuses absurd input early.
 */
export const MAX_CIPHERTEXT_BYTES = 512 * 1024;

/** Length of the truncated HMAC-SHA256 appended to a SignalMessage. */
export const MAC_LENGTH = 8;

/** Session version for X3DH sessions; the wire version byte is (3 << 4) | 3 = 0x33. */
export const SESSION_VERSION = 3;
