// SignalMessage and PreKeySignalMessage on the wire, as libsignal frames them (spec: Cryptography —
// Wire): version byte (4 << 4) | 4, protobuf with libsignal's field numbers (wire.proto), 8-byte MAC.
// Parsing is as strict as libsignal's prost: a known field with the wrong wire type makes the whole
// message invalid (protobufjs alone would skip or misread it), so every body is scanned first.
import { timingSafeEqual } from 'node:crypto';
import protobuf from 'protobufjs';
import { checkPublicKey } from './curve.ts';
import {
  InvalidKeyError,
  InvalidMessageError,
  LegacyVersionError,
  MessageTooLargeError,
  MessageTooShortError,
  UnrecognizedVersionError,
} from './errors.ts';
import { KYBER_CIPHERTEXT_LENGTH, KYBER1024_TYPE } from './kem.ts';
import { hmacSha256 } from './kdf.ts';
import {
  LEGACY_SESSION_VERSION,
  MAC_LENGTH,
  MAX_CIPHERTEXT_BYTES,
  SESSION_VERSION,
} from './limits.ts';

// Field numbers are libsignal's rust/protocol/src/proto/wire.proto (v0.101.0).
const { root } = protobuf.parse(
  `
  syntax = "proto2";
  message SignalMessage {
    optional bytes  ratchet_key      = 1;
    optional uint32 counter          = 2;
    optional uint32 previous_counter = 3;
    optional bytes  ciphertext       = 4;
    optional bytes  pq_ratchet       = 5;
    optional bytes  addresses        = 6;
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

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** Wire type of every known field, by field number. */
export function wireTypes(type: protobuf.Type): ReadonlyMap<number, number> {
  return new Map(
    type.fieldsArray.map((field) => [field.id, field.type === 'bytes' ? LENGTH_DELIMITED : VARINT]),
  );
}
const SIGNAL_MESSAGE_WIRE_TYPES = wireTypes(SignalMessageProto);
const PREKEY_MESSAGE_WIRE_TYPES = wireTypes(PreKeySignalMessageProto);

function readVarint(bytes: Uint8Array, at: { offset: number }, what: string): number {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (at.offset >= bytes.length) break;
    const byte = bytes[at.offset++]!;
    if (i < 7) value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw new InvalidMessageError(`${what} protobuf is malformed: bad varint`);
}

/**
 * Walks a protobuf body as prost decodes it: a known field must carry its declared wire type,
 * unknown fields are skipped (groups included), and every length must fit. Throws InvalidMessageError.
 */
export function checkWireTypes(
  bytes: Uint8Array,
  known: ReadonlyMap<number, number>,
  what: string,
): void {
  const at = { offset: 0 };
  const groups: number[] = [];
  while (at.offset < bytes.length) {
    const tag = readVarint(bytes, at, what);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0 || field > 0x1fff_ffff) {
      throw new InvalidMessageError(`${what} protobuf is malformed: field number ${field}`);
    }
    const expected = groups.length === 0 ? known.get(field) : undefined;
    if (expected !== undefined && expected !== wireType) {
      throw new InvalidMessageError(
        `${what} field ${field} has wire type ${wireType}, expected ${expected}`,
      );
    }
    let skip = 0;
    if (wireType === VARINT) readVarint(bytes, at, what);
    else if (wireType === FIXED64) skip = 8;
    else if (wireType === FIXED32) skip = 4;
    else if (wireType === LENGTH_DELIMITED) skip = readVarint(bytes, at, what);
    else if (wireType === START_GROUP) groups.push(field);
    else if (wireType === END_GROUP) {
      if (groups.pop() !== field) {
        throw new InvalidMessageError(`${what} protobuf is malformed: unmatched end group`);
      }
    } else throw new InvalidMessageError(`${what} protobuf is malformed: wire type ${wireType}`);
    if (at.offset + skip > bytes.length) {
      throw new InvalidMessageError(`${what} protobuf is malformed: field ${field} is truncated`);
    }
    at.offset += skip;
  }
  if (groups.length > 0) throw new InvalidMessageError(`${what} protobuf is malformed: open group`);
}

/** The version byte this core writes: high nibble = message version, low nibble = highest known. */
export const VERSION_BYTE = (SESSION_VERSION << 4) | SESSION_VERSION;

/** A parsed SignalMessage ("whisper"). `serialized` is the whole body including the MAC. */
export interface SignalMessage {
  readonly version: number;
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly previousCounter: number;
  readonly ciphertext: Uint8Array;
  /** Field 5, the SPQR message (empty when absent; spqr.ts refuses that). */
  readonly pqRatchet: Uint8Array;
  /** Field 6, sender and recipient service ids with devices (36 bytes), when the sender put it in. */
  readonly addresses: Uint8Array | null;
  readonly serialized: Uint8Array;
}

/** A parsed PreKeySignalMessage: PQXDH parameters around the first SignalMessage. */
export interface PreKeySignalMessage {
  readonly version: number;
  readonly registrationId: number;
  readonly preKeyId: number | null;
  readonly signedPreKeyId: number;
  readonly kyberPreKeyId: number;
  /** The 0x08-prefixed Kyber-1024 ciphertext (1569 bytes). */
  readonly kyberCiphertext: Uint8Array;
  readonly baseKey: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly message: SignalMessage;
  readonly serialized: Uint8Array;
}

export type ParsedCiphertext =
  | { readonly type: 'prekey'; readonly message: PreKeySignalMessage }
  | { readonly type: 'whisper'; readonly message: SignalMessage };

/** A decoded protobuf message, read field by field. */
export type Decoded = Record<string, unknown>;

/** Decodes `bytes` as `type` after checking each field's wire type against `known` (see checkWireTypes). */
export function decodeChecked(
  type: protobuf.Type,
  known: ReadonlyMap<number, number>,
  bytes: Uint8Array,
  what: string,
): Decoded {
  checkWireTypes(bytes, known, what);
  try {
    return type.decode(bytes) as unknown as Decoded;
  } catch (error) {
    throw new InvalidMessageError(`${what} protobuf is malformed: ${(error as Error).message}`);
  }
}

function decode(type: protobuf.Type, bytes: Uint8Array, what: string): Decoded {
  const known = type === SignalMessageProto ? SIGNAL_MESSAGE_WIRE_TYPES : PREKEY_MESSAGE_WIRE_TYPES;
  return decodeChecked(type, known, bytes, what);
}

/** A field the message must carry, or InvalidMessageError naming it. */
export function required<T>(message: Decoded, field: string, what: string): T {
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
  if (version <= LEGACY_SESSION_VERSION) throw new LegacyVersionError(version);
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

/** Builds a SignalMessage body (version byte ‖ protobuf ‖ MAC); field 6 only when `addresses` is given. */
export function encodeSignalMessage(fields: {
  macKey: Uint8Array;
  ratchetKey: Uint8Array;
  counter: number;
  previousCounter: number;
  ciphertext: Uint8Array;
  pqRatchet: Uint8Array;
  addresses: Uint8Array | null;
  senderIdentity: Uint8Array;
  receiverIdentity: Uint8Array;
}): Uint8Array {
  const proto = SignalMessageProto.encode({
    ratchet_key: fields.ratchetKey,
    counter: fields.counter,
    previous_counter: fields.previousCounter,
    ciphertext: fields.ciphertext,
    ...(fields.pqRatchet.length === 0 ? {} : { pq_ratchet: fields.pqRatchet }),
    ...(fields.addresses === null ? {} : { addresses: fields.addresses }),
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
  kyberPreKeyId: number;
  kyberCiphertext: Uint8Array;
  baseKey: Uint8Array;
  identityKey: Uint8Array;
  message: Uint8Array;
}): Uint8Array {
  const proto = PreKeySignalMessageProto.encode({
    registration_id: fields.registrationId,
    ...(fields.preKeyId === null ? {} : { pre_key_id: fields.preKeyId }),
    signed_pre_key_id: fields.signedPreKeyId,
    kyber_pre_key_id: fields.kyberPreKeyId,
    kyber_ciphertext: fields.kyberCiphertext,
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
    pqRatchet: Object.hasOwn(proto, 'pq_ratchet')
      ? new Uint8Array(proto.pq_ratchet as Uint8Array)
      : new Uint8Array(0),
    addresses: Object.hasOwn(proto, 'addresses')
      ? new Uint8Array(proto.addresses as Uint8Array)
      : null,
    serialized: body,
  };
}

/** Parses a PreKeySignalMessage body (and the SignalMessage inside) without keys. Same errors. */
export function parsePreKeySignalMessage(body: Uint8Array): PreKeySignalMessage {
  const version = checkVersion(body, 2);
  const proto = decode(PreKeySignalMessageProto, body.subarray(1), 'PreKeySignalMessage');
  const what = 'PreKeySignalMessage';
  const hasKyberId = Object.hasOwn(proto, 'kyber_pre_key_id');
  if (hasKyberId !== Object.hasOwn(proto, 'kyber_ciphertext')) {
    throw new InvalidMessageError(`${what}: both or neither Kyber prekey id and Kyber ciphertext`);
  }
  if (!hasKyberId) {
    throw new InvalidMessageError(`${what}: a Kyber prekey must be present for version ${version}`);
  }
  const kyberCiphertext = new Uint8Array(proto.kyber_ciphertext as Uint8Array);
  if (kyberCiphertext.length !== KYBER_CIPHERTEXT_LENGTH || kyberCiphertext[0] !== KYBER1024_TYPE) {
    throw new InvalidMessageError(
      `${what}: Kyber ciphertext must be 0x08 ‖ 1568 bytes, got ${kyberCiphertext.length} bytes`,
    );
  }
  return {
    version,
    registrationId: Object.hasOwn(proto, 'registration_id') ? (proto.registration_id as number) : 0,
    preKeyId: Object.hasOwn(proto, 'pre_key_id') ? (proto.pre_key_id as number) : null,
    signedPreKeyId: required<number>(proto, 'signed_pre_key_id', what),
    kyberPreKeyId: proto.kyber_pre_key_id as number,
    kyberCiphertext,
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

/**
 * Checks a SignalMessage's MAC in constant time, then field 6 as libsignal's
 * verify_mac_with_addresses: absent is accepted (older senders); present, it must equal
 * `expectedAddresses` (the sender's and our service ids and devices), and a message carrying
 * addresses is refused when we cannot form ours (no local address, or names that are not service ids).
 */
export function verifyMac(
  message: SignalMessage,
  senderIdentity: Uint8Array,
  receiverIdentity: Uint8Array,
  macKey: Uint8Array,
  expectedAddresses: Uint8Array | null,
): boolean {
  const body = message.serialized;
  const expected = computeMac(
    senderIdentity,
    receiverIdentity,
    macKey,
    body.subarray(0, body.length - MAC_LENGTH),
  );
  if (!timingSafeEqual(expected, body.subarray(body.length - MAC_LENGTH))) return false;
  if (message.addresses === null) return true;
  if (expectedAddresses === null || expectedAddresses.length !== message.addresses.length) {
    return false;
  }
  return timingSafeEqual(expectedAddresses, message.addresses);
}
