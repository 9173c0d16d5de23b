// Named limits of the Signal Protocol core, each with its reason (spec: Cryptography; libsignal consts.rs).

/**
 * How far ahead of a receiving chain a counter may be; bounds the work an attacker can force.
 * Not applied in a session with oneself (same identity key and service id), as libsignal does:
 * one's own devices may send many messages before syncing. (libsignal MAX_FORWARD_JUMPS)
 */
export const MAX_FORWARD_JUMPS = 25_000;

/** Skipped message keys kept per receiving chain; oldest dropped first, bounds record size. (libsignal MAX_MESSAGE_KEYS) */
export const MAX_MESSAGE_KEYS = 2_000;

/** Receiving chains kept per session so late messages from old ratchet keys still decrypt. (libsignal MAX_RECEIVER_CHAINS) */
export const MAX_RECEIVER_CHAINS = 5;

/** Archived (replaced) session states kept per address so in-flight messages of a reset session decrypt. (libsignal ARCHIVED_STATES_MAX_LENGTH) */
export const ARCHIVED_STATES_MAX_LENGTH = 40;

/** Version of SenderKeyMessage and SenderKeyDistributionMessage; the wire version byte is (3 << 4) | 3 = 0x33. (libsignal SENDERKEY_MESSAGE_CURRENT_VERSION) */
export const SENDER_KEY_VERSION = 3;

/** Length of the XEdDSA signature that ends every SenderKeyMessage. */
export const SENDER_KEY_SIGNATURE_LENGTH = 64;

/**
 * Sender-key states kept per (sender, distribution id): a sender that rotates its key (a member left
 * the group) still has its messages under the previous keys decrypted while they are in flight;
 * the oldest state is dropped first. (libsignal MAX_SENDER_KEY_STATES)
 */
export const MAX_SENDER_KEY_STATES = 5;

/**
 * How far ahead of a sender-key chain an iteration may be, and how many skipped message keys a
 * state keeps, oldest dropped first: the Double Ratchet's numbers, as libsignal uses them for
 * sender keys too (there is no exemption for one's own devices here).
 */
export const SENDER_KEY_MAX_FORWARD_JUMPS = MAX_FORWARD_JUMPS;
export const SENDER_KEY_MAX_MESSAGE_KEYS = MAX_MESSAGE_KEYS;

/** Largest registration id; libsignal generates ids in 1..16380 (14 bits, minus a small reserve). */
export const MAX_REGISTRATION_ID = 16_380;

/** Largest prekey / signed prekey id: libsignal ids are 24-bit (Medium::MAX_VALUE = 0xFFFFFF). */
export const MAX_PREKEY_ID = 0xff_ffff;

/**
 * Largest ciphertext body, the same bound both ways: encrypt refuses a plaintext whose body would
 * exceed it (nothing is stored), decrypt refuses a longer body before parsing. A Parley Content is
 * at most 65 536 chars of text (≤ 256 KiB UTF-8) plus JSON framing and padding, and a
 * PreKeySignalMessage adds about 1.7 KiB of keys and Kyber ciphertext; 512 KiB leaves room and
 * refuses absurd input early (spec ENC-059).
 */
export const MAX_CIPHERTEXT_BYTES = 512 * 1024;

/** Length of the truncated HMAC-SHA256 appended to a SignalMessage. */
export const MAC_LENGTH = 8;

/** Session version of PQXDH sessions, the only kind this core builds; the wire version byte is (4 << 4) | 4 = 0x44. */
export const SESSION_VERSION = 4;

/** The X3DH session version, refused since libsignal 0.75 ("X3DH no longer supported"). */
export const LEGACY_SESSION_VERSION = 3;

/**
 * A session we started whose first message has had no answer for this long stops encrypting
 * (NoSessionError): the sender fetches a fresh bundle instead of using prekeys the peer has likely
 * dropped. 30 days, libsignal's MAX_UNACKNOWLEDGED_SESSION_AGE (spec ENC-058).
 */
export const MAX_UNACKNOWLEDGED_SESSION_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/** Device ids are 1..127: libsignal's ProtocolAddress refuses others (a 7-bit id in the 36-byte addresses field). */
export const MIN_DEVICE_ID = 1;
export const MAX_DEVICE_ID = 127;

/** Length of SignalMessage field 6: sender service id (17) ‖ device (1) ‖ recipient service id (17) ‖ device (1). */
export const ADDRESSES_LENGTH = 36;

/** Kyber-1024 sizes without libsignal's 0x08 type byte (public key, secret key, ciphertext, shared secret). */
export const KYBER1024_PUBLIC_KEY_LENGTH = 1568;
export const KYBER1024_SECRET_KEY_LENGTH = 3168;
export const KYBER1024_CIPHERTEXT_LENGTH = 1568;

/**
 * SPQR chain: how far a receiving counter may jump ahead, and how many skipped keys are kept (the
 * same numbers as the Double Ratchet's, as libsignal configures spqr::ChainParams). A session with
 * oneself (same identity key and service id on both ends) has no jump limit, as in libsignal.
 */
export const SPQR_MAX_JUMP = MAX_FORWARD_JUMPS;
export const SPQR_MAX_OUT_OF_ORDER_KEYS = MAX_MESSAGE_KEYS;
/** The SPQR key history is trimmed when it reaches this many keys (SPQR's max_ooo_keys × 11/10 + 1). */
export const SPQR_TRIM_SIZE = Math.floor((SPQR_MAX_OUT_OF_ORDER_KEYS * 11) / 10) + 1;
/**
 * SPQR chain epochs kept before the send epoch (SPQR's EPOCHS_TO_KEEP_PRIOR_TO_SEND_EPOCH): one, so
 * that messages the peer sent before it saw our move to a new epoch still decrypt.
 */
export const SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH = 1;
