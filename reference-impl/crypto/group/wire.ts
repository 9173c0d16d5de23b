// SenderKeyDistributionMessage and SenderKeyMessage on the wire, as libsignal frames them (spec:
// Cryptography — Sender keys): version byte (3 << 4) | 3, a proto2 body with libsignal's field
// numbers, and for a SenderKeyMessage the sender's 64-byte XEdDSA signature over everything before it.
// Parsing is as strict as libsignal's prost: a known field with the wrong wire type refuses the whole message.
import protobuf from 'protobufjs';
import { checkPublicKey } from '../curve.ts';
import {
  InvalidDistributionIdError,
  InvalidKeyError,
  InvalidMessageError,
  LegacyVersionError,
  MessageTooLargeError,
  MessageTooShortError,
  UnrecognizedVersionError,
} from '../errors.ts';
import {
  MAX_CIPHERTEXT_BYTES,
  SENDER_KEY_SIGNATURE_LENGTH,
  SENDER_KEY_VERSION,
} from '../limits.ts';
import { decodeChecked, required, wireTypes } from '../wire.ts';
import { xeddsaSign, xeddsaVerify } from '../xeddsa.ts';

// Field numbers are libsignal's rust/protocol/src/proto/wire.proto (v0.101.0, unchanged in 0.103.0).
const { root } = protobuf.parse(
  `
  syntax = "proto2";
  message SenderKeyMessage {
    optional bytes  distribution_uuid = 1;
    optional uint32 chain_id          = 2;
    optional uint32 iteration         = 3;
    optional bytes  ciphertext        = 4;
  }
  message SenderKeyDistributionMessage {
    optional bytes  distribution_uuid = 1;
    optional uint32 chain_id          = 2;
    optional uint32 iteration         = 3;
    optional bytes  chain_key         = 4;
    optional bytes  signing_key       = 5;
  }
`,
  { keepCase: true },
);
const SenderKeyMessageProto = root.lookupType('SenderKeyMessage');
const DistributionMessageProto = root.lookupType('SenderKeyDistributionMessage');
const SENDER_KEY_MESSAGE_WIRE_TYPES = wireTypes(SenderKeyMessageProto);
const DISTRIBUTION_MESSAGE_WIRE_TYPES = wireTypes(DistributionMessageProto);

/** The version byte of both messages: high nibble = message version, low nibble = highest known. */
export const SENDER_KEY_VERSION_BYTE = (SENDER_KEY_VERSION << 4) | SENDER_KEY_VERSION;

/** Chain keys are 32 bytes; libsignal refuses a distribution message with any other length. */
export const SENDER_CHAIN_KEY_LENGTH = 32;

/** A distribution message carries at least a public key and a chain key besides its version byte. */
const MIN_DISTRIBUTION_MESSAGE_LENGTH = 1 + 32 + 32;

/** A sender's key for one distribution id, as the sender hands it to each member over 1:1 sessions. */
export interface SenderKeyDistributionMessage {
  readonly version: number;
  /** The group's distribution id, a lowercase UUID string. */
  readonly distributionId: string;
  /** 31-bit id of the sender's chain; a rotated key has a new one. */
  readonly chainId: number;
  /** The iteration of `chainKey`: the next message the sender will encrypt. */
  readonly iteration: number;
  readonly chainKey: Uint8Array;
  /** The 33-byte Curve25519 public key that signs every SenderKeyMessage of this chain. */
  readonly signingKey: Uint8Array;
  readonly serialized: Uint8Array;
}

/** One group message: encrypted once by the sender, decrypted by every member. */
export interface SenderKeyMessage {
  readonly version: number;
  readonly distributionId: string;
  readonly chainId: number;
  readonly iteration: number;
  /** AES-256-CBC ciphertext, whole blocks. */
  readonly ciphertext: Uint8Array;
  /** The whole message, signature included. */
  readonly serialized: Uint8Array;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 16 bytes of a UUID string (any case). Throws InvalidDistributionIdError. */
export function distributionIdBytes(distributionId: string): Uint8Array {
  const canonical = canonicalDistributionId(distributionId);
  return new Uint8Array(Buffer.from(canonical.replaceAll('-', ''), 'hex'));
}

/** The lowercase form of a UUID string, the form stores are keyed by. Throws InvalidDistributionIdError. */
export function canonicalDistributionId(distributionId: string): string {
  const lower = typeof distributionId === 'string' ? distributionId.toLowerCase() : '';
  if (!UUID.test(lower)) throw new InvalidDistributionIdError(String(distributionId));
  return lower;
}

function uuidString(bytes: Uint8Array, what: string): string {
  if (bytes.length !== 16) {
    throw new InvalidMessageError(`${what} distribution id is ${bytes.length} bytes, not 16`);
  }
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** libsignal reads the high nibble only: below 3 is legacy, above 3 unknown. */
function checkVersion(body: Uint8Array, minimum: number, what: string): number {
  if (body.length > MAX_CIPHERTEXT_BYTES) throw new MessageTooLargeError(body.length);
  if (body.length < minimum) throw new MessageTooShortError(body.length);
  const version = body[0]! >> 4;
  if (version < SENDER_KEY_VERSION) {
    throw new LegacyVersionError(version, `${what} version ${version} is no longer supported`);
  }
  if (version > SENDER_KEY_VERSION) throw new UnrecognizedVersionError(version);
  return version;
}

function frame(proto: Uint8Array, extra: number): Uint8Array {
  const out = new Uint8Array(1 + proto.length + extra);
  out[0] = SENDER_KEY_VERSION_BYTE;
  out.set(proto, 1);
  return out;
}

/** Builds a SenderKeyDistributionMessage (version byte ‖ protobuf; it carries no signature). */
export function encodeSenderKeyDistributionMessage(fields: {
  distributionId: string;
  chainId: number;
  iteration: number;
  chainKey: Uint8Array;
  signingKey: Uint8Array;
}): SenderKeyDistributionMessage {
  const distributionId = canonicalDistributionId(fields.distributionId);
  const proto = DistributionMessageProto.encode({
    distribution_uuid: distributionIdBytes(distributionId),
    chain_id: fields.chainId,
    iteration: fields.iteration,
    chain_key: fields.chainKey,
    signing_key: fields.signingKey,
  }).finish();
  return {
    version: SENDER_KEY_VERSION,
    distributionId,
    chainId: fields.chainId,
    iteration: fields.iteration,
    chainKey: fields.chainKey,
    signingKey: fields.signingKey,
    serialized: frame(proto, 0),
  };
}

/**
 * Parses a SenderKeyDistributionMessage. Throws MessageTooShortError, MessageTooLargeError,
 * LegacyVersionError, UnrecognizedVersionError or InvalidMessageError (missing field, a chain key
 * that is not 32 bytes, a signing key that is not a 0x05 public key, a distribution id not 16 bytes).
 */
export function parseSenderKeyDistributionMessage(body: Uint8Array): SenderKeyDistributionMessage {
  const what = 'SenderKeyDistributionMessage';
  const version = checkVersion(body, MIN_DISTRIBUTION_MESSAGE_LENGTH, what);
  const proto = decodeChecked(
    DistributionMessageProto,
    DISTRIBUTION_MESSAGE_WIRE_TYPES,
    body.subarray(1),
    what,
  );
  const distributionId = uuidString(required(proto, 'distribution_uuid', what), what);
  const chainId = required<number>(proto, 'chain_id', what);
  const iteration = required<number>(proto, 'iteration', what);
  const chainKey = new Uint8Array(required<Uint8Array>(proto, 'chain_key', what));
  const signingKey = new Uint8Array(required<Uint8Array>(proto, 'signing_key', what));
  if (chainKey.length !== SENDER_CHAIN_KEY_LENGTH) {
    throw new InvalidMessageError(`${what} chain key is ${chainKey.length} bytes, not 32`);
  }
  try {
    checkPublicKey(signingKey);
  } catch (error) {
    if (error instanceof InvalidKeyError) {
      throw new InvalidMessageError(`${what} signing key: ${error.message}`);
    }
    throw error;
  }
  return {
    version,
    distributionId,
    chainId,
    iteration,
    chainKey,
    signingKey,
    serialized: new Uint8Array(body),
  };
}

/**
 * Builds and signs a SenderKeyMessage: version byte ‖ protobuf ‖ XEdDSA(signing private key,
 * version byte ‖ protobuf).
 */
export function encodeSenderKeyMessage(fields: {
  distributionId: string;
  chainId: number;
  iteration: number;
  ciphertext: Uint8Array;
  signingPrivateKey: Uint8Array;
}): SenderKeyMessage {
  const distributionId = canonicalDistributionId(fields.distributionId);
  const proto = SenderKeyMessageProto.encode({
    distribution_uuid: distributionIdBytes(distributionId),
    chain_id: fields.chainId,
    iteration: fields.iteration,
    ciphertext: fields.ciphertext,
  }).finish();
  const out = frame(proto, SENDER_KEY_SIGNATURE_LENGTH);
  const signed = out.subarray(0, 1 + proto.length);
  out.set(xeddsaSign(fields.signingPrivateKey, signed), signed.length);
  return {
    version: SENDER_KEY_VERSION,
    distributionId,
    chainId: fields.chainId,
    iteration: fields.iteration,
    ciphertext: fields.ciphertext,
    serialized: out,
  };
}

/**
 * Parses a SenderKeyMessage without any key (what a provider may check before fanning it out);
 * the signature is checked by `verifySenderKeyMessage`. Throws MessageTooShortError,
 * MessageTooLargeError, LegacyVersionError, UnrecognizedVersionError or InvalidMessageError.
 */
export function parseSenderKeyMessage(body: Uint8Array): SenderKeyMessage {
  const what = 'SenderKeyMessage';
  const version = checkVersion(body, 1 + SENDER_KEY_SIGNATURE_LENGTH, what);
  const proto = decodeChecked(
    SenderKeyMessageProto,
    SENDER_KEY_MESSAGE_WIRE_TYPES,
    body.subarray(1, body.length - SENDER_KEY_SIGNATURE_LENGTH),
    what,
  );
  const distributionId = uuidString(required(proto, 'distribution_uuid', what), what);
  const chainId = required<number>(proto, 'chain_id', what);
  const iteration = required<number>(proto, 'iteration', what);
  const ciphertext = new Uint8Array(required<Uint8Array>(proto, 'ciphertext', what));
  // AES-256-CBC with PKCS#7 always yields whole, non-empty blocks (libsignal refuses others at decryption).
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new InvalidMessageError(`${what} ciphertext is not whole AES blocks`);
  }
  return {
    version,
    distributionId,
    chainId,
    iteration,
    ciphertext,
    serialized: new Uint8Array(body),
  };
}

/** Whether the message's last 64 bytes are a valid XEdDSA signature by `signingKey` over the rest. */
export function verifySenderKeyMessage(message: SenderKeyMessage, signingKey: Uint8Array): boolean {
  const body = message.serialized;
  const split = body.length - SENDER_KEY_SIGNATURE_LENGTH;
  return xeddsaVerify(signingKey, body.subarray(0, split), body.subarray(split));
}
