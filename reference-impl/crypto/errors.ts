// The one error hierarchy of the Signal Protocol core (spec: Cryptography, failure semantics).
// Every failure raised by reference-impl/crypto is a ProtocolError carrying one ProtocolErrorCode.

/** Every way the protocol core can refuse an input, in one place (cf. libsignal's SignalProtocolError). */
export const ProtocolErrorCode = {
  /** A public or private key has the wrong length, type byte or is unusable for X25519. */
  InvalidKey: 'INVALID_KEY',
  /** A signed prekey's XEdDSA signature does not verify under the bundle's identity key. */
  SignatureValidationFailed: 'SIGNATURE_VALIDATION_FAILED',
  /** The peer's identity key differs from the one on record for that address. */
  UntrustedIdentity: 'UNTRUSTED_IDENTITY',
  /** No session exists (or none usable) for the address. */
  NoSession: 'NO_SESSION',
  /** A prekey message names a one-time prekey id we do not hold (already used or never issued). */
  UnknownPreKey: 'UNKNOWN_PREKEY',
  /** A prekey message names a signed prekey id we do not hold. */
  UnknownSignedPreKey: 'UNKNOWN_SIGNED_PREKEY',
  /** The ciphertext's version nibble is above what this core speaks (4 = PQXDH). */
  UnrecognizedVersion: 'UNRECOGNIZED_VERSION',
  /** A version-3 (X3DH) or older message: "X3DH no longer supported", as libsignal since 0.75. */
  LegacyVersion: 'LEGACY_VERSION',
  /** A prekey message names a Kyber prekey id we do not hold (a one-time one already used, or never issued). */
  UnknownKyberPreKey: 'UNKNOWN_KYBER_PREKEY',
  /** A prekey message repeats a base key already used with that last-resort Kyber prekey and signed prekey. */
  ReusedBaseKey: 'REUSED_BASE_KEY',
  /** A device id outside 1..127. */
  InvalidDeviceId: 'INVALID_DEVICE_ID',
  /** The bytes are not a well-formed SignalMessage / PreKeySignalMessage. */
  InvalidMessage: 'INVALID_MESSAGE',
  /** The ciphertext is shorter than the smallest possible message. */
  MessageTooShort: 'MESSAGE_TOO_SHORT',
  /** The ciphertext exceeds limits.ts MAX_CIPHERTEXT_BYTES. */
  MessageTooLarge: 'MESSAGE_TOO_LARGE',
  /** The 8-byte MAC does not verify, or the CBC padding is wrong. */
  BadMac: 'BAD_MAC',
  /** The message key for that counter was already used (replay / duplicate delivery). */
  DuplicatedMessage: 'DUPLICATED_MESSAGE',
  /** The counter is more than MAX_FORWARD_JUMPS ahead of the chain. */
  MessageTooFarAhead: 'MESSAGE_TOO_FAR_AHEAD',
  /** A serialised session record does not parse strictly. */
  InvalidSessionRecord: 'INVALID_SESSION_RECORD',
  /** No sender-key state for that sender and distribution id, or none with the message's chain id. */
  NoSenderKeyState: 'NO_SENDER_KEY_STATE',
  /** The sender-key state cannot do the operation: we are not its owner (no private signing key), or its chain is exhausted. */
  InvalidSenderKeySession: 'INVALID_SENDER_KEY_SESSION',
  /** A serialised sender-key record does not parse strictly. */
  InvalidSenderKeyRecord: 'INVALID_SENDER_KEY_RECORD',
  /** A distribution id that is not a UUID. */
  InvalidDistributionId: 'INVALID_DISTRIBUTION_ID',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** Base class: catch this to catch every protocol failure; switch on `code` for the reason. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidKeyError extends ProtocolError {
  constructor(message: string) {
    super(ProtocolErrorCode.InvalidKey, message);
  }
}

export class SignatureValidationError extends ProtocolError {
  constructor(message = 'signed prekey signature does not verify') {
    super(ProtocolErrorCode.SignatureValidationFailed, message);
  }
}

export class UntrustedIdentityError extends ProtocolError {
  constructor(readonly address: string) {
    super(ProtocolErrorCode.UntrustedIdentity, `untrusted identity key for ${address}`);
  }
}

export class NoSessionError extends ProtocolError {
  constructor(readonly address: string) {
    super(ProtocolErrorCode.NoSession, `no session for ${address}`);
  }
}

export class UnknownPreKeyError extends ProtocolError {
  constructor(readonly preKeyId: number) {
    super(ProtocolErrorCode.UnknownPreKey, `unknown one-time prekey id ${preKeyId}`);
  }
}

export class UnknownSignedPreKeyError extends ProtocolError {
  constructor(readonly signedPreKeyId: number) {
    super(ProtocolErrorCode.UnknownSignedPreKey, `unknown signed prekey id ${signedPreKeyId}`);
  }
}

export class UnrecognizedVersionError extends ProtocolError {
  constructor(readonly version: number) {
    super(ProtocolErrorCode.UnrecognizedVersion, `unrecognized ciphertext version ${version}`);
  }
}

export class LegacyVersionError extends ProtocolError {
  constructor(
    readonly version: number,
    message = `X3DH no longer supported: version ${version} messages are refused (PQXDH, version 4, is required)`,
  ) {
    super(ProtocolErrorCode.LegacyVersion, message);
  }
}

export class UnknownKyberPreKeyError extends ProtocolError {
  constructor(readonly kyberPreKeyId: number) {
    super(ProtocolErrorCode.UnknownKyberPreKey, `unknown Kyber prekey id ${kyberPreKeyId}`);
  }
}

export class ReusedBaseKeyError extends ProtocolError {
  constructor(readonly kyberPreKeyId: number) {
    super(
      ProtocolErrorCode.ReusedBaseKey,
      `base key already used with last-resort Kyber prekey ${kyberPreKeyId}`,
    );
  }
}

export class InvalidDeviceIdError extends ProtocolError {
  constructor(readonly deviceId: number) {
    super(ProtocolErrorCode.InvalidDeviceId, `device id ${deviceId} outside 1..127`);
  }
}

export class InvalidMessageError extends ProtocolError {
  constructor(message: string) {
    super(ProtocolErrorCode.InvalidMessage, message);
  }
}

export class MessageTooShortError extends ProtocolError {
  constructor(readonly length: number) {
    super(ProtocolErrorCode.MessageTooShort, `ciphertext of ${length} bytes is too short`);
  }
}

export class MessageTooLargeError extends ProtocolError {
  constructor(readonly length: number) {
    super(ProtocolErrorCode.MessageTooLarge, `ciphertext of ${length} bytes is too large`);
  }
}

export class BadMacError extends ProtocolError {
  constructor(message = 'MAC verification failed') {
    super(ProtocolErrorCode.BadMac, message);
  }
}

export class DuplicatedMessageError extends ProtocolError {
  constructor(
    readonly chainIndex: number,
    readonly counter: number,
  ) {
    super(
      ProtocolErrorCode.DuplicatedMessage,
      `message ${counter} already received (chain at ${chainIndex})`,
    );
  }
}

export class MessageTooFarAheadError extends ProtocolError {
  constructor(readonly jump: number) {
    super(ProtocolErrorCode.MessageTooFarAhead, `message ${jump} steps ahead of the chain`);
  }
}

export class InvalidSessionRecordError extends ProtocolError {
  constructor(message: string) {
    super(ProtocolErrorCode.InvalidSessionRecord, `invalid session record: ${message}`);
  }
}

export class NoSenderKeyStateError extends ProtocolError {
  constructor(
    readonly distributionId: string,
    readonly chainId: number | null = null,
  ) {
    super(
      ProtocolErrorCode.NoSenderKeyState,
      chainId === null
        ? `no sender key state for distribution ${distributionId}`
        : `no sender key state for distribution ${distributionId} with chain id ${chainId}`,
    );
  }
}

export class InvalidSenderKeySessionError extends ProtocolError {
  constructor(
    readonly distributionId: string,
    why: string,
  ) {
    super(
      ProtocolErrorCode.InvalidSenderKeySession,
      `sender key state for distribution ${distributionId} ${why}`,
    );
  }
}

export class InvalidSenderKeyRecordError extends ProtocolError {
  constructor(message: string) {
    super(ProtocolErrorCode.InvalidSenderKeyRecord, `invalid sender key record: ${message}`);
  }
}

export class InvalidDistributionIdError extends ProtocolError {
  constructor(readonly value: string) {
    super(
      ProtocolErrorCode.InvalidDistributionId,
      `distribution id ${JSON.stringify(value)} is not a UUID`,
    );
  }
}
