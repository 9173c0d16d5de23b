/**
 * The error-code registry: every code a Parley provider may send, in one place.
 * Spec: spec/errors.md (its table is checked against this registry by the tests).
 */

/** How the provider delivers an error: an `error` frame, an HTTP status, or a WebSocket close. */
export interface ErrorCodeInfo {
  /** What the code means, as the spec states it. */
  readonly meaning: string;
  /** When a provider sends it. */
  readonly sentWhen: string;
  /** Where it appears: the WebSocket `error` frame, an HTTP attachment response, or both. */
  readonly carriers: readonly ('frame' | 'http')[];
  /** HTTP status when carried over HTTP. */
  readonly httpStatus?: number;
  /** Whether the WebSocket connection stays open after the error frame. */
  readonly connectionSurvives: boolean;
  /** The WebSocket close code sent right after the error frame when the connection does not survive. */
  readonly closeCode?: number;
}

export const ERROR_CODES = {
  BAD_JSON: {
    meaning: 'The text frame is not a JSON object.',
    sentWhen: 'A text frame does not parse as JSON, or parses to something other than an object.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  BINARY_NOT_SUPPORTED: {
    meaning: 'The frame is a binary WebSocket frame.',
    sentWhen: 'The client sends a binary frame; Parley frames are UTF-8 JSON text frames only.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  FRAME_TOO_COMPLEX: {
    meaning: 'The frame nests too deep or holds too many elements to be parsed.',
    sentWhen:
      'A text frame nests deeper than 32 levels or holds more than 10 000 array elements and object members in all (PROTO-048).',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  FRAME_TOO_LARGE: {
    meaning: 'The frame exceeds the advertised maximum frame size.',
    sentWhen:
      'A frame is larger than `limits.maxFrameBytes` from `welcome`, or, before `auth.ok`, than `limits.maxUnauthenticatedFrameBytes`.',
    carriers: ['frame'],
    connectionSurvives: false,
    closeCode: 1009,
  },
  UNSUPPORTED_VERSION: {
    meaning: 'The protocol version is not supported.',
    sentWhen:
      'A frame carries a `v` the provider does not speak, or `hello` offers no version in common.',
    carriers: ['frame'],
    connectionSurvives: false,
    closeCode: 4000,
  },
  UNKNOWN_TYPE: {
    meaning: 'The frame type is not defined by this protocol version.',
    sentWhen: 'The `type` member names no client-to-provider frame.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  SCHEMA_VIOLATION: {
    meaning: 'The frame does not match its schema.',
    sentWhen:
      'A frame of a known type fails its JSON Schema; `pointer` names the first offending member.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  OUT_OF_ORDER: {
    meaning: 'The frame is not valid in the current session state.',
    sentWhen: 'A frame arrives before `hello`, `auth` arrives twice, or `hello` is repeated.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  NOT_AUTHENTICATED: {
    meaning: 'The frame needs an authenticated session.',
    sentWhen:
      'A frame other than `hello`, `auth`, `account.register` or `ping` arrives before `auth.ok`.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  AUTH_FAILED: {
    meaning: 'Authentication was refused.',
    sentWhen:
      'A device signature or partner token does not verify, the token is expired, from an issuer that is not enlisted or for a domain it may not speak for, or the challenge was already used.',
    carriers: ['frame'],
    connectionSurvives: false,
    closeCode: 4401,
  },
  DEVICE_REMOVED: {
    meaning: 'The device this connection authenticated as was removed from its account.',
    sentWhen:
      'A `device.remove` removes the device; every open connection authenticated as it gets this error, without `re`, and is closed at once (AUTH-035).',
    carriers: ['frame'],
    connectionSurvives: false,
    closeCode: 4410,
  },
  SESSION_EXPIRED: {
    meaning: 'The partner token this session was authenticated with has expired.',
    sentWhen:
      'The `exp` of the token of a partner session passes; the error comes without `re` and the connection is closed at once (AUTH-038). The client reconnects with a fresh token.',
    carriers: ['frame'],
    connectionSurvives: false,
    closeCode: 4440,
  },
  REGISTRATION_REFUSED: {
    meaning: 'The account registration was refused.',
    sentWhen: 'The registration token is wrong, or registration is disabled on this provider.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  CONFLICT: {
    meaning: 'The request conflicts with existing state.',
    sentWhen:
      'A registered name is taken, an idempotency key is reused with a different message, or a device key is the account’s identity key or a key that a device of the account has or had (AUTH-034).',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  FORBIDDEN: {
    meaning: 'This session may not perform the request.',
    sentWhen:
      'A partner session asks for a first-party-only operation, a device acts on data it does not own, or a group member who is not an admin asks for an admin’s change.',
    carriers: ['frame', 'http'],
    httpStatus: 403,
    connectionSurvives: true,
  },
  PROXY_REFUSED: {
    meaning: 'The request is not from a proxy the provider enlisted.',
    sentWhen:
      'A WebSocket upgrade or HTTP request carries a `Parley-Proxy` header whose token does not verify under an enlisted key, is expired or replayed, or comes from an address not enlisted for that proxy (PROXY-001..003).',
    carriers: ['http'],
    httpStatus: 403,
    connectionSurvives: true,
  },
  BAD_SIGNATURE: {
    meaning: 'A signature over key material does not verify.',
    sentWhen:
      'The signed prekey or a Kyber prekey signature in `keys.publish` does not verify with the identity key.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  IDENTITY_MISMATCH: {
    meaning: 'The identity key differs from the one registered for this account.',
    sentWhen: '`keys.publish` carries an identity key other than the account’s.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  NOT_FOUND: {
    meaning: 'No such recipient or group, or the recipient does not accept this sender.',
    sentWhen:
      'The address is unknown, or the recipient has not opted in to interoperability with the sender’s platform; or the group is unknown or the sender is not its member. The cases are indistinguishable by design.',
    carriers: ['frame', 'http'],
    httpStatus: 404,
    connectionSurvives: true,
  },
  DEVICE_MISMATCH: {
    meaning: 'The ciphertexts do not address exactly the recipient’s current devices.',
    sentWhen:
      '`message.send` misses a device, names one that does not exist, or uses a stale registration id (`details`: `missing`, `extra`, `stale`); or member devices of a group send lack the sender key (`details.members`).',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  NOT_SIGNAL_CIPHERTEXT: {
    meaning: 'A message body is not a Signal Protocol ciphertext.',
    sentWhen:
      'A body does not parse as a `SignalMessage` or `PreKeySignalMessage` of a supported version, or its type does not match.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  LEGACY_SIGNAL_VERSION: {
    meaning: 'A message body is an X3DH (session version 3) Signal message.',
    sentWhen:
      'A body’s version byte has the high nibble 3; the sender must start its sessions with PQXDH (session version 4).',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  MESSAGE_TOO_LARGE: {
    meaning: 'A message body exceeds the advertised limit.',
    sentWhen: 'A ciphertext body is larger than `limits.maxMessageBytes`.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  RATE_LIMITED: {
    meaning: 'Too many requests; retry later.',
    sentWhen:
      'A per-sender or per-platform rate limit is exceeded; `retryAfterMs` says when to retry.',
    carriers: ['frame', 'http'],
    httpStatus: 429,
    connectionSurvives: true,
  },
  GROUP_VERSION_STALE: {
    meaning: 'The group changed since the version the request names.',
    sentWhen:
      'A `message.send` to a group names a `groupVersion` other than the group’s current version; the sender reads the group and sends again.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  GROUP_FULL: {
    meaning: 'The group would exceed the advertised member limit.',
    sentWhen:
      '`group.create` or `group.add` would take the group’s members and invitations past `limits.maxGroupMembers`.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  ATTACHMENT_TOO_LARGE: {
    meaning: 'The attachment exceeds the advertised limit for its kind.',
    sentWhen:
      '`attachment.slot` declares a size over the kind’s limit, or an upload exceeds its declared size.',
    carriers: ['frame', 'http'],
    httpStatus: 413,
    connectionSurvives: true,
  },
  QUOTA_EXCEEDED: {
    meaning: 'The user’s attachment storage quota is used up.',
    sentWhen: 'An `attachment.slot` would take the user’s stored bytes over the quota.',
    carriers: ['frame'],
    connectionSurvives: true,
  },
  DIGEST_MISMATCH: {
    meaning: 'The uploaded bytes do not match the declared digest.',
    sentWhen: 'An upload completes with a SHA-256 other than the one declared for its slot.',
    carriers: ['http'],
    httpStatus: 422,
    connectionSurvives: true,
  },
  UPLOAD_TOKEN_INVALID: {
    meaning: 'The upload token is missing, unknown, expired or already used.',
    sentWhen: 'An attachment upload request does not carry a live upload token for its blob.',
    carriers: ['http'],
    httpStatus: 401,
    connectionSurvives: true,
  },
  UPLOAD_IN_PROGRESS: {
    meaning: 'Another upload to this slot is running.',
    sentWhen: 'A second upload request targets a slot while one is still streaming.',
    carriers: ['http'],
    httpStatus: 409,
    connectionSurvives: true,
  },
  UPLOAD_OFFSET_MISMATCH: {
    meaning: 'A resumed upload does not start where the stored bytes end.',
    sentWhen: 'An append request names an offset other than the stored length.',
    carriers: ['http'],
    httpStatus: 409,
    connectionSurvives: true,
  },
  BAD_REQUEST: {
    meaning: 'The HTTP request is malformed.',
    sentWhen:
      'An attachment request lacks a required header or carries one that does not parse (`Content-Length`, `Upload-Offset`, `Range`).',
    carriers: ['http'],
    httpStatus: 400,
    connectionSurvives: true,
  },
  INTERNAL: {
    meaning: 'The provider failed to handle the request.',
    sentWhen: 'An unexpected provider-side failure; nothing was committed.',
    carriers: ['frame', 'http'],
    httpStatus: 500,
    connectionSurvives: true,
  },
  UNAVAILABLE: {
    meaning: 'The provider is shutting down or cannot serve now.',
    sentWhen: 'The provider is stopping or its store is unavailable.',
    carriers: ['frame', 'http'],
    httpStatus: 503,
    connectionSurvives: false,
    closeCode: 1012,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every error code of the registry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The registry's codes in a stable order, for schemas and documentation. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/** The codes a provider may carry in a WebSocket `error` frame (the rest are HTTP-only). */
export type FrameErrorCode = {
  [K in ErrorCode]: 'frame' extends (typeof ERROR_CODES)[K]['carriers'][number] ? K : never;
}[ErrorCode];
