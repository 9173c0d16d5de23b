/**
 * Shared wire primitives of Parley v1: base64url values, addresses, ids, counts and times.
 * Spec: spec/protocol.md "Framing" and "Encodings"; the annotations become JSON Schema keywords.
 */

/** The protocol version this schema set describes; every frame's `v` member. */
export type ProtocolVersion = 1;

/**
 * A protocol version number offered in `hello`; versions other than 1 may be offered and are ignored by a v1 provider.
 * @TJS-type integer
 * @minimum 1
 * @maximum 255
 */
export type VersionNumber = number;

/**
 * Binary data as base64url without padding (RFC 4648 §5).
 * @pattern ^[A-Za-z0-9_-]*$
 */
export type Base64Url = string;

/**
 * A Curve25519 public key as libsignal encodes it, `0x05 || 32 bytes` (33 bytes), in base64url: 44 characters starting with "B".
 * @pattern ^B[A-Za-z0-9_-]{43}$
 * @minLength 44
 * @maxLength 44
 */
export type PublicKey = string;

/**
 * A round-3 Kyber-1024 public key as libsignal encodes it, `0x08 || 1568 bytes` (1569 bytes), in base64url: 2092 characters, the first two ("C" then A–P) fixing the type byte 0x08.
 * @pattern ^C[A-P][A-Za-z0-9_-]{2090}$
 * @minLength 2092
 * @maxLength 2092
 */
export type KyberPublicKey = string;

/**
 * A 64-byte XEdDSA signature in base64url: 86 characters, the last one canonical.
 * @pattern ^[A-Za-z0-9_-]{85}[AQgw]$
 * @minLength 86
 * @maxLength 86
 */
export type Signature = string;

/**
 * 32 bytes in base64url: 43 characters, the last one canonical (a symmetric key, a challenge).
 * @pattern ^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$
 * @minLength 43
 * @maxLength 43
 */
export type Bytes32 = string;

/**
 * A SHA-256 digest (32 bytes) in base64url: 43 characters, the last one canonical.
 * @pattern ^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$
 * @minLength 43
 * @maxLength 43
 */
export type Sha256Digest = string;

/**
 * The local part of an address: 1–64 characters of lowercase letters, digits, ".", "_" and "-".
 * @pattern ^[a-z0-9._-]{1,64}$
 * @minLength 1
 * @maxLength 64
 */
export type LocalName = string;

/**
 * A lowercase DNS name (RFC 1123 labels of 1–63 characters, at most 253 characters in all), e.g. "wa.example".
 * @pattern ^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$
 * @minLength 1
 * @maxLength 253
 */
export type Domain = string;

/**
 * A platform, named by its DNS domain (the provider's own or an enlisted partner's), e.g. "chat.example".
 * @pattern ^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$
 * @minLength 1
 * @maxLength 253
 */
export type PlatformId = string;

/**
 * A user's address, `name@domain`: a local name and the lowercase DNS domain of the provider hosting the user.
 * @pattern ^[a-z0-9._-]{1,64}@(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$
 * @minLength 3
 * @maxLength 318
 */
export type Address = string;

/**
 * A device of an account, unique within the account: 1 to 127, the ids libsignal accepts.
 * @TJS-type integer
 * @minimum 1
 * @maximum 127
 */
export type DeviceId = number;

/**
 * A device's Signal registration id, in libsignal's range.
 * @TJS-type integer
 * @minimum 1
 * @maximum 16380
 */
export type RegistrationId = number;

/**
 * A prekey id (one-time, signed or Kyber), an unsigned 32-bit integer as in libsignal's wire messages.
 * @TJS-type integer
 * @minimum 0
 * @maximum 4294967295
 */
export type KeyId = number;

/**
 * The id of a client request (echoed as `re` in the reply) or of a provider push: 1–64 characters of [A-Za-z0-9._:-].
 * @pattern ^[A-Za-z0-9._:-]{1,64}$
 * @minLength 1
 * @maxLength 64
 */
export type RequestId = string;

/**
 * An opaque identifier the provider assigns (message id, blob id, report id): 1–128 characters of [A-Za-z0-9._:-].
 * @pattern ^[A-Za-z0-9._:-]{1,128}$
 * @minLength 1
 * @maxLength 128
 */
export type OpaqueId = string;

/**
 * A client-chosen key that makes a retried `message.send` produce one message: 1–64 characters of [A-Za-z0-9._:-].
 * @pattern ^[A-Za-z0-9._:-]{1,64}$
 * @minLength 1
 * @maxLength 64
 */
export type IdempotencyKey = string;

/**
 * A count of things (keys, messages), a non-negative integer.
 * @TJS-type integer
 * @minimum 0
 * @maximum 2147483647
 */
export type Count = number;

/**
 * A size in bytes, a non-negative integer no larger than JSON can carry exactly.
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type ByteCount = number;

/**
 * A positive size in bytes (a limit or a file size).
 * @TJS-type integer
 * @minimum 1
 * @maximum 9007199254740991
 */
export type PositiveByteCount = number;

/**
 * A duration in seconds, a positive integer of at most one year.
 * @TJS-type integer
 * @minimum 1
 * @maximum 31536000
 */
export type DurationSeconds = number;

/**
 * A duration in milliseconds, a non-negative integer of at most one day.
 * @TJS-type integer
 * @minimum 0
 * @maximum 86400000
 */
export type DurationMs = number;

/**
 * A point in time: milliseconds since the Unix epoch (UTC), as an integer. Every time on the wire uses this form.
 * @TJS-type integer
 * @minimum 0
 * @maximum 8640000000000000
 */
export type TimestampMs = number;

/**
 * An absolute http(s) URL.
 * @format uri
 * @pattern ^https?://
 * @minLength 8
 * @maxLength 2048
 */
export type HttpUrl = string;

/**
 * A media type (RFC 6838) in lowercase, optionally with parameters, e.g. "image/jpeg" or "audio/ogg; codecs=opus".
 * @pattern ^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(?:; ?[a-z0-9!#$&^_.+-]+=[A-Za-z0-9!#$&^_.+-]+)*$
 * @minLength 3
 * @maxLength 255
 */
export type MediaType = string;

/** The attachment kinds, each with its own size limit and accepted media types. */
export type AttachmentKind = 'image' | 'video' | 'audio' | 'document';

/** Where a message came from, stamped by the provider from the sender's authenticated session. */
export interface Origin {
  /** The sender's platform: the provider's own domain, or the enlisted partner's domain. */
  platform: PlatformId;
  /** True when the sender is not a first-party user of the provider. */
  thirdParty: boolean;
}
