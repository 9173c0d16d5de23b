/**
 * Session frames: version negotiation (`hello`/`welcome`), authentication (`auth`/`auth.ok`) and keep-alive.
 * Spec: spec/protocol.md "Session" and spec/auth.md.
 */
import type {
  Address,
  Bytes32,
  Count,
  DeviceId,
  Domain,
  DurationSeconds,
  MediaType,
  Origin,
  PositiveByteCount,
  ProtocolVersion,
  PublicKey,
  RegistrationId,
  Signature,
  TimestampMs,
  VersionNumber,
} from '../common.ts';
import type { ReplyBase, RequestBase } from './envelope.ts';

/**
 * Free text naming a client or its version: 1–64 printable ASCII characters.
 * @pattern ^[ -~]{1,64}$
 * @minLength 1
 * @maxLength 64
 */
export type ProductToken = string;

/** The client software, for the provider's diagnostics. */
export interface ClientInfo {
  /** The client's product name. */
  name: ProductToken;
  /** The client's version. */
  version: ProductToken;
}

/** Opens a session: the client offers the protocol versions it speaks. */
export interface HelloFrame extends RequestBase {
  type: 'hello';
  /**
   * The versions the client speaks, most preferred first.
   * @items {"$ref": "VersionNumber"}
   * @minItems 1
   * @maxItems 16
   * @uniqueItems true
   */
  versions: VersionNumber[];
  /** The client software, for diagnostics. */
  client?: ClientInfo;
}

/** Per-kind attachment size limits and blob handling. */
export interface AttachmentLimits {
  /** Largest image ciphertext in bytes. */
  image: PositiveByteCount;
  /** Largest video ciphertext in bytes. */
  video: PositiveByteCount;
  /** Largest audio ciphertext in bytes. */
  audio: PositiveByteCount;
  /** Largest document ciphertext in bytes. */
  document: PositiveByteCount;
  /** How long an uploaded blob stays downloadable. */
  ttlSeconds: DurationSeconds;
  /** Plaintext bytes per AEAD chunk of the attachment stream. */
  chunkBytes: PositiveByteCount;
}

/** The limits a provider enforces, advertised in `welcome`. */
export interface ProviderLimits {
  /** Largest WebSocket text frame in bytes. */
  maxFrameBytes: PositiveByteCount;
  /**
   * Largest WebSocket text frame in bytes before `auth.ok`: small, so that an unauthenticated peer
   * costs the provider little (PROTO-047); never above `maxFrameBytes`.
   * @TJS-type integer
   * @minimum 8192
   * @maximum 65536
   */
  maxUnauthenticatedFrameBytes: number;
  /** Largest decoded ciphertext body per device in bytes. */
  maxMessageBytes: PositiveByteCount;
  /**
   * Most device ciphertexts in one `message.send`.
   * @TJS-type integer
   * @minimum 1
   * @maximum 64
   */
  maxDevicesPerMessage: number;
  /**
   * Most one-time prekeys in one `keys.publish`.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100
   */
  maxOneTimePreKeysPerPublish: number;
  /** How long an undelivered message waits in a device's queue. */
  queueTtlSeconds: DurationSeconds;
  /**
   * Seconds a connection has to authenticate after it opened (AUTH-031): one that has not
   * received `auth.ok` by then is closed with close code 1008.
   * @TJS-type integer
   * @minimum 5
   * @maximum 86400
   */
  authWindowSeconds: number;
  /**
   * Most members and invitations of one group, with capability `groups` (GROUP-030).
   * @TJS-type integer
   * @minimum 2
   * @maximum 1024
   */
  maxGroupMembers?: number;
  /** The one-time prekey count below which the provider pushes `keys.low`. */
  lowPreKeyThreshold: Count;
  /** Attachment limits. */
  attachments: AttachmentLimits;
}

/** Optional protocol features a provider may claim. */
export type Capability = 'attachments' | 'consent' | 'groups';

/** The media types a provider accepts per attachment kind. */
export interface AcceptedMediaTypes {
  /** Accepted image types. */
  image: MediaTypeList;
  /** Accepted video types. */
  video: MediaTypeList;
  /** Accepted audio types (voice messages included). */
  audio: MediaTypeList;
  /** Accepted document types. */
  document: MediaTypeList;
}

/**
 * A list of accepted media types.
 * @items {"$ref": "MediaType"}
 * @maxItems 64
 * @uniqueItems true
 */
export type MediaTypeList = MediaType[];

/** The provider that serves this endpoint. */
export interface ProviderInfo {
  /** The provider's domain; the domain part of its users' addresses. */
  domain: Domain;
}

/** Answers `hello`: the chosen version, the provider's limits and capabilities, and the auth challenge. */
export interface WelcomeFrame extends ReplyBase {
  type: 'welcome';
  /** The version chosen for this session. */
  version: ProtocolVersion;
  /** The provider. */
  provider: ProviderInfo;
  /** A fresh 32-byte challenge that `auth` signs; single use. */
  challenge: Bytes32;
  /** The limits the provider enforces. */
  limits: ProviderLimits;
  /**
   * The optional features the provider supports.
   * @items {"$ref": "Capability"}
   * @maxItems 16
   * @uniqueItems true
   */
  capabilities: Capability[];
  /** The accepted media types per attachment kind. */
  mediaTypes: AcceptedMediaTypes;
  /** The provider's clock. */
  serverTime: TimestampMs;
}

/**
 * `auth` by a first-party device: an XEdDSA signature by the account's identity key over
 * "PARLEY-AUTH-v1" || challenge || address || deviceId (u32 big-endian).
 */
export interface DeviceAuthVariant extends RequestBase {
  type: 'auth';
  method: 'device';
  /** The account's address. */
  address: Address;
  /** The device signing in. */
  deviceId: DeviceId;
  /** The XEdDSA signature over the auth transcript. */
  signature: Signature;
}

/**
 * A compact JWS (JWT) signed with EdDSA by an enlisted partner: three base64url segments.
 * @pattern ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$
 * @minLength 5
 * @maxLength 8192
 */
export type PartnerToken = string;

/**
 * `auth` by a partner platform's client: a partner-signed token (iss = partner domain, sub = address,
 * aud = provider domain, exp, iat, jti) plus the same device proof by the device's identity key.
 */
export interface PartnerAuthVariant extends RequestBase {
  type: 'auth';
  method: 'partner';
  /** The partner's EdDSA JWT naming the user. */
  token: PartnerToken;
  /** The device signing in. */
  deviceId: DeviceId;
  /** The device's Signal registration id. */
  registrationId: RegistrationId;
  /** The user's identity public key. */
  identityKey: PublicKey;
  /** The XEdDSA signature over the auth transcript. */
  signature: Signature;
}

/** Authenticates the session, by device signature or by partner token plus device proof. */
export type AuthFrame = DeviceAuthVariant | PartnerAuthVariant;

/** Answers `auth`: who the session speaks for and the origin stamped on its messages. */
export interface AuthOkFrame extends ReplyBase {
  type: 'auth.ok';
  /** The authenticated address. */
  address: Address;
  /** The authenticated device. */
  deviceId: DeviceId;
  /** The origin the provider stamps on this session's messages. */
  origin: Origin;
}

/** Keep-alive request. */
export interface PingFrame extends RequestBase {
  type: 'ping';
}

/** Answers `ping`. */
export interface PongFrame extends ReplyBase {
  type: 'pong';
}
