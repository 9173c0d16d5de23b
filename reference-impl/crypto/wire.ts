// SignalMessage and PreKeySignalMessage on the wire, as libsignal frames them (spec: Cryptography —
// Wire): version byte (3 << 4) | 3, protobuf with libsignal's field numbers (wire.proto), 8-byte MAC.
import { timingSafeEqual } from 'node:crypto';
import protobuf from 'protobufjs';
import { checkPublicKey } from './curve.ts';
import {
  InvalidKeyError,
  InvalidMessageError,
  MessageTooLargeError,
  MessageTooShortError,
  UnrecognizedVersionError,
} from './errors.ts';
import { hmacSha256 } from './kdf.ts';
import { MAC_LENGTH, MAX_CIPHERTEXT_BYTES, SESSION_VERSION } from './limits.ts';

// Field numbers are libsignal's rust/protocol/src/proto/wire.proto; fields 7 and 8 (Kyber, PQXDH)
// are declared so that their presence can be refused in a version-3 message.
const { root } = protobuf.parse(
  `
  syntax = "proto2";
  message SignalMessage {
    optional bytes  ratchet_key      = 1;
    optional uint32 counter          = 2;
    optional uint32 previous_counter = 3;
    optional bytes  ciphertext       = 4;
  }
  message PreKeySignalMessage {
    optional uint32 registration_id   = 5;
    optional uint32 pre_key_id        = 1;
    optional uint32 signed_pre_key_id = 6;
    optional uint32 kyber_pre_key_id  = 7;
    optional bytes  kyber_ciphertext  = 8;
    optional bytes  base_key          = 2;
    optional bytes  identity_key      = 3;
    optional bytes  message           = 4;
  }
`,
  { keepCase: true },
);
const SignalMessageProto = root.lookupType('SignalMessage');
const PreKeySignalMessageProto = root.lookupType('PreKeySignalMessage');

/** The version byte this core writes: high nibble = message version, low nibble = highest known. */
export const VERSION_BYTE = (SESSION_VERSION << 4) | SESSION_VERSION;

/** A parsed SignalMessage ("whisper"). `serialized` is the whole body including the MAC. */
export interface SignalMessage {
  readonly version: number;
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly previousCounter: number;
  readonly ciphertext: Uint8Array;
  readonly serialized: Uint8Array;
}

/** A parsed PreKeySignalMessage: X3DH parameters around the first SignalMessage. */
export interface PreKeySignalMessage {
  readonly version: number;
  readonly registrationId: number;
  readonly preKeyId: number | null;
  readonly signedPreKeyId: number;
  readonly baseKey: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly message: SignalMessage;
  readonly serialized: Uint8Array;
}

export type ParsedCiphertext =
  | { readonly type: 'prekey'; readonly message: PreKeySignalMessage }
  | { readonly type: 'whisper'; readonly message: SignalMessage };

type Decoded = Record<string, unknown>;

function decode(type: protobuf.Type, bytes: Uint8Array, what: string): Decoded {
  try {
    return type.decode(bytes) as unknown as Decoded;
  } catch (error) {
    throw new InvalidMessageError(`${what} protobuf is malformed: ${(error as Error).message}`);
  }
}

function required<T>(message: Decoded, field: string, what: string): T {
  if (!Object.hasOwn(message, field)) throw new InvalidMessageError(`${what} lacks ${field}`);
  return message[field] as T;
}

function key(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return checkPublicKey(new Uint8Array(bytes));
  } catch (error) {
    if (error instanceof InvalidKeyError)
      throw new InvalidMessageError(`${what}: ${error.message}`);
    throw error;
  }
}

function checkVersion(body: Uint8Array, minimum: number): number {
  if (body.length > MAX_CIPHERTEXT_BYTES) throw new MessageTooLargeError(body.length);
  if (body.length < minimum) throw new MessageTooShortError(body.length);
  // libsignal reads only the high nibble; the low one is the sender's highest known version.
  const version = body[0]! >> 4;
  if (version !== SESSION_VERSION) throw new UnrecognizedVersionError(version);
  return version;
}

/** The MAC libsignal appends: HMAC-SHA256(macKey, sender id ‖ receiver id ‖ version ‖ protobuf)[0..8]. */
function computeMac(
  senderIdentity: Uint8Array,
  receiverIdentity: Uint8Array,
  macKey: Uint8Array,
  versionAndProto: Uint8Array,
): Uint8Array {
  return hmacSha256(macKey, senderIdentity, receiverIdentity, versionAndProto).subarray(
    0,
    MAC_LENGTH,
  );
}

/** Builds a SignalMessage body (version byte ‖ protobuf ‖ MAC). */
export function encodeSignalMessage(fields: {
  macKey: Uint8Array;
  ratchetKey: Uint8Array;
  counter: number;
  previousCounter: number;
  ciphertext: Uint8Array;
  senderIdentity: Uint8Array;
  receiverIdentity: Uint8Array;
}): Uint8Array {
  const proto = SignalMessageProto.encode({
    ratchet_key: fields.ratchetKey,
    counter: fields.counter,
    previous_counter: fields.previousCounter,
    ciphertext: fields.ciphertext,
  }).finish();
  const out = new Uint8Array(1 + proto.length + MAC_LENGTH);
  out[0] = VERSION_BYTE;
  out.set(proto, 1);
  const mac = computeMac(
    fields.senderIdentity,
    fields.receiverIdentity,
    fields.macKey,
    out.subarray(0, 1 + proto.length),
  );
  out.set(mac, 1 + proto.length);
  return out;
}

/** Builds a PreKeySignalMessage body around an encoded SignalMessage. */
export function encodePreKeySignalMessage(fields: {
  registrationId: number;
  preKeyId: number | null;
  signedPreKeyId: number;
  baseKey: Uint8Array;
  identityKey: Uint8Array;
  message: Uint8Array;
}): Uint8Array {
  const proto = PreKeySignalMessageProto.encode({
    registration_id: fields.registrationId,
    ...(fields.preKeyId === null ? {} : { pre_key_id: fields.preKeyId }),
    signed_pre_key_id: fields.signedPreKeyId,
    base_key: fields.baseKey,
    identity_key: fields.identityKey,
    message: fields.message,
  }).finish();
  const out = new Uint8Array(1 + proto.length);
  out[0] = VERSION_BYTE;
  out.set(proto, 1);
  return out;
}

/**
 * Parses a SignalMessage body without keys. Throws MessageTooShortError, MessageTooLargeError,
 * UnrecognizedVersionError or InvalidMessageError.
 */
export function parseSignalMessage(body: Uint8Array): SignalMessage {
  const version = checkVersion(body, 1 + MAC_LENGTH);
  const proto = decode(
    SignalMessageProto,
    body.subarray(1, body.length - MAC_LENGTH),
    'SignalMessage',
  );
  const ciphertext = new Uint8Array(required<Uint8Array>(proto, 'ciphertext', 'SignalMessage'));
  // AES-256-CBC with PKCS#7 always yields whole, non-empty blocks.
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new InvalidMessageError('SignalMessage ciphertext is not whole AES blocks');
  }
  return {
    version,
    ratchetKey: key(required(proto, 'ratchet_key', 'SignalMessage'), 'SignalMessage ratchet key'),
    counter: required<number>(proto, 'counter', 'SignalMessage'),
    previousCounter: Object.hasOwn(proto, 'previous_counter')
      ? (proto.previous_counter as number)
      : 0,
    ciphertext,
    serialized: body,
  };
}

/** Parses a PreKeySignalMessage body (and the SignalMessage inside) without keys. Same errors. */
export function parsePreKeySignalMessage(body: Uint8Array): PreKeySignalMessage {
  const version = checkVersion(body, 2);
  const proto = decode(PreKeySignalMessageProto, body.subarray(1), 'PreKeySignalMessage');
  if (Object.hasOwn(proto, 'kyber_pre_key_id') || Object.hasOwn(proto, 'kyber_ciphertext')) {
    throw new InvalidMessageError('Kyber fields in a version-3 PreKeySignalMessage');
  }
  const what = 'PreKeySignalMessage';
  return {
    version,
    registrationId: Object.hasOwn(proto, 'registration_id') ? (proto.registration_id as number) : 0,
    preKeyId: Object.hasOwn(proto, 'pre_key_id') ? (proto.pre_key_id as number) : null,
    signedPreKeyId: required<number>(proto, 'signed_pre_key_id', what),
    baseKey: key(required(proto, 'base_key', what), `${what} base key`),
    identityKey: key(required(proto, 'identity_key', what), `${what} identity key`),
    message: parseSignalMessage(new Uint8Array(required<Uint8Array>(proto, 'message', what))),
    serialized: body,
  };
}

/**
 * Checks that `body` is a well-formed Signal message of `type` without any key (what a provider may
 * check before queueing). Returns the parsed structure; throws the typed errors of the parsers above.
 */
export function parseCiphertext(type: 'prekey' | 'whisper', body: Uint8Array): ParsedCiphertext {
  if (type === 'prekey') return { type, message: parsePreKeySignalMessage(body) };
  if (type === 'whisper') return { type, message: parseSignalMessage(body) };
  throw new InvalidMessageError(`unknown ciphertext type ${String(type)}`);
}

/** Checks a SignalMessage's MAC in constant time. */
export function verifyMac(
  message: SignalMessage,
  senderIdentity: Uint8Array,
  receiverIdentity: Uint8Array,
  macKey: Uint8Array,
): boolean {
  const body = message.serialized;
  const expected = computeMac(
    senderIdentity,
    receiverIdentity,
    macKey,
    body.subarray(0, body.length - MAC_LENGTH),
  );
  return timingSafeEqual(expected, body.subarray(body.length - MAC_LENGTH));
}
