// SPQR, the sparse post-quantum ratchet, as far as Parley runs it today (spec: Cryptography — SPQR
// chain): the key chain that salts every message key, and the SPQR message of SignalMessage field 5
// (facts from SparsePostQuantumRatchet v1.5.3 src/chain.rs and src/v1/chunked/states/serialize.rs).
//
// Parley does not run SPQR's ML-KEM-768 braid yet: it always sends type None in epoch 1 and so never
// leaves the chain's epoch 0. libsignal keeps sending its own braid messages (header, encapsulation
// key chunks): they are parsed and checked, their epoch and index key the message, and their payload
// is ignored until the braid exists. A libsignal peer that gets no answer to its header stays in its
// first epoch, so both ends keep using epoch 0's chain.
import { InvalidMessageError } from './errors.ts';
import { hkdf } from './kdf.ts';
import { SPQR_MAX_JUMP, SPQR_MAX_OUT_OF_ORDER_KEYS, SPQR_TRIM_SIZE } from './limits.ts';

const CHAIN_START_INFO = 'Signal PQ Ratchet V1 Chain  Start'; // two spaces, as SPQR spells it
const CHAIN_NEXT_INFO = new TextEncoder().encode('Signal PQ Ratchet V1 Chain Next');
const ZERO_SALT = new Uint8Array(32);

/** SPQR protocol version byte: 0 = none (an empty field), 1 = V1, the only one libsignal accepts. */
export const SPQR_VERSION_V1 = 0x01;
/** The epoch Parley's messages name: the first, since the braid never advances. */
export const SPQR_FIRST_EPOCH = 1;

/** SPQR V1 message types (the byte after the varints); chunk-carrying types add a varint index and 32 bytes. */
export const SpqrMessageType = {
  None: 0,
  Hdr: 1,
  Ek: 2,
  EkCt1Ack: 3,
  Ct1Ack: 4,
  Ct1: 5,
  Ct2: 6,
} as const;
const CHUNK_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 5, 6]);
const CHUNK_LENGTH = 32;
const MAX_CHUNK_INDEX = 0xffff;
/** A u64 varint takes at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

/** One direction of the epoch-0 chain: the counter of the last key handed out and the next chain seed. */
export interface SpqrChainDirection {
  readonly counter: number;
  readonly next: Uint8Array;
}

/** A receiving direction also keeps keys of skipped counters for late messages. */
export interface SpqrReceiveDirection extends SpqrChainDirection {
  /** Skipped keys, at most SPQR_TRIM_SIZE; trimmed as SPQR trims its KeyHistory. */
  readonly skipped: readonly { readonly index: number; readonly key: Uint8Array }[];
}

/** The SPQR chain state of one session (epoch 0 only; see the module comment). */
export interface SpqrChain {
  readonly direction: 'A2B' | 'B2A';
  /** The root from which the next epoch would be added ("Chain Add Epoch"); kept for the braid. */
  readonly nextRoot: Uint8Array;
  readonly send: SpqrChainDirection;
  readonly receive: SpqrReceiveDirection;
  /** Largest forward jump of the receiving counter: SPQR_MAX_JUMP, or 2^32 − 1 in a session with oneself. */
  readonly maxJump: number;
}

/**
 * The chain at session start: HKDF(salt 0×32, SPQR key from PQXDH, "…Chain  Start", 96) =
 * next root ‖ A→B seed ‖ B→A seed; the initiator (A2B) sends on the A→B seed.
 */
export function initialSpqrChain(
  spqrKey: Uint8Array,
  direction: 'A2B' | 'B2A',
  selfSession: boolean,
): SpqrChain {
  const okm = hkdf(spqrKey, ZERO_SALT, CHAIN_START_INFO, 96);
  const aToB = okm.slice(32, 64);
  const bToA = okm.slice(64, 96);
  return {
    direction,
    nextRoot: okm.slice(0, 32),
    send: { counter: 0, next: direction === 'A2B' ? aToB : bToA },
    receive: { counter: 0, next: direction === 'A2B' ? bToA : aToB, skipped: [] },
    maxJump: selfSession ? 0xffff_ffff : SPQR_MAX_JUMP,
  };
}

/** One chain step: counter + 1, then HKDF(salt 0×32, next, BE32(counter) ‖ "…Chain Next", 64) = next ‖ key. */
function step(direction: SpqrChainDirection): {
  counter: number;
  next: Uint8Array;
  key: Uint8Array;
} {
  const counter = direction.counter + 1;
  const info = new Uint8Array(4 + CHAIN_NEXT_INFO.length);
  new DataView(info.buffer).setUint32(0, counter);
  info.set(CHAIN_NEXT_INFO, 4);
  const okm = hkdf(direction.next, ZERO_SALT, info, 64);
  return { counter, next: okm.slice(0, 32), key: okm.slice(32, 64) };
}

function encodeVarint(value: number, into: number[]): void {
  let v = value;
  while (v >= 0x80) {
    into.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  into.push(v);
}

/** The next sending key and our SPQR message for it: V1, epoch 1, this index, type None. */
export function spqrSend(chain: SpqrChain): {
  chain: SpqrChain;
  message: Uint8Array;
  key: Uint8Array;
} {
  const next = step(chain.send);
  return {
    chain: { ...chain, send: { counter: next.counter, next: next.next } },
    message: spqrNoneMessage(next.counter),
    key: next.key,
  };
}

/** Our SPQR message for the key `index`: V1, epoch 1, this index, type None. */
export function spqrNoneMessage(index: number): Uint8Array {
  const bytes: number[] = [SPQR_VERSION_V1];
  encodeVarint(SPQR_FIRST_EPOCH, bytes);
  encodeVarint(index, bytes);
  bytes.push(SpqrMessageType.None);
  return Uint8Array.from(bytes);
}

/** A parsed SPQR V1 message (trailing bytes are allowed, as SPQR allows them for later versions). */
export interface SpqrMessage {
  readonly epoch: number;
  readonly index: number;
  readonly type: number;
  readonly chunk: { readonly index: number; readonly data: Uint8Array } | null;
}

function fail(why: string): never {
  throw new InvalidMessageError(`post-quantum ratchet: ${why}`);
}

function decodeVarint(bytes: Uint8Array, at: { offset: number }): number {
  let value = 0n;
  for (let i = 0; i < MAX_VARINT_BYTES && at.offset + i < bytes.length; i++) {
    const byte = bytes[at.offset + i]!;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) {
      at.offset += i + 1;
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
      return Number(value);
    }
  }
  fail('truncated varint');
}

/** Parses a V1 SPQR message (SPQR Message::deserialize). Throws InvalidMessageError. */
export function parseSpqrMessage(bytes: Uint8Array): SpqrMessage {
  if (bytes.length === 0 || bytes[0] !== SPQR_VERSION_V1) fail('not a V1 message');
  const at = { offset: 1 };
  const epoch = decodeVarint(bytes, at);
  if (epoch === 0) fail('epoch 0');
  const index = decodeVarint(bytes, at);
  if (index > 0xffff_ffff) fail('index beyond 32 bits');
  if (at.offset >= bytes.length) fail('no message type');
  const type = bytes[at.offset++]!;
  if (type > SpqrMessageType.Ct2) fail(`unknown message type ${type}`);
  let chunk: SpqrMessage['chunk'] = null;
  if (CHUNK_TYPES.has(type)) {
    const chunkIndex = decodeVarint(bytes, at);
    if (chunkIndex > MAX_CHUNK_INDEX || at.offset + CHUNK_LENGTH > bytes.length) fail('bad chunk');
    chunk = { index: chunkIndex, data: bytes.subarray(at.offset, at.offset + CHUNK_LENGTH) };
  }
  return { epoch, index, type, chunk };
}

/**
 * The SPQR key for an incoming field 5, and the chain after it (SPQR recv with V1 required, as
 * libsignal configures it). Returns key null (no salt) for epoch 1 index 0 and for a message of a
 * later SPQR version (which SPQR ignores). Throws InvalidMessageError for an empty or version-0
 * field (libsignal requires V1), a malformed message, an epoch we have not reached, or a key
 * already used, trimmed or too far ahead. Never changes `chain`.
 */
export function spqrReceive(
  chain: SpqrChain,
  field: Uint8Array,
): { chain: SpqrChain; key: Uint8Array | null } {
  if (field.length === 0 || field[0] === 0) fail('SPQR V1 is required, the message has none');
  if (field[0]! > SPQR_VERSION_V1) return { chain, key: null };
  const message = parseSpqrMessage(field);
  // Header and chunk payloads are accepted and ignored: Parley has no braid yet (module comment).
  if (message.epoch !== SPQR_FIRST_EPOCH) fail(`epoch ${message.epoch} not reached`);
  if (message.index === 0) return { chain, key: null };
  const result = receiveKey(chain.receive, message.index, chain.maxJump);
  return { chain: { ...chain, receive: result.direction }, key: result.key };
}

/** SPQR ChainEpochDirection::key with its KeyHistory, on copies. */
function receiveKey(
  direction: SpqrReceiveDirection,
  at: number,
  maxJump: number,
): { direction: SpqrReceiveDirection; key: Uint8Array } {
  const maxOoo = SPQR_MAX_OUT_OF_ORDER_KEYS;
  if (at === direction.counter) fail(`key ${at} already used`);
  if (at < direction.counter) {
    if (at + maxOoo < direction.counter) fail(`key ${at} trimmed`);
    const found = direction.skipped.findIndex((entry) => entry.index === at);
    if (found < 0) fail(`key ${at} already used`);
    return {
      direction: { ...direction, skipped: direction.skipped.filter((_, i) => i !== found) },
      key: direction.skipped[found]!.key,
    };
  }
  if (at - direction.counter > maxJump) fail(`key ${at} too far ahead of ${direction.counter}`);
  let skipped = at > direction.counter + maxOoo ? [] : direction.skipped.slice();
  let current: SpqrChainDirection = direction;
  while (at > current.counter + 1) {
    const next = step(current);
    current = { counter: next.counter, next: next.next };
    if (next.counter + maxOoo >= at) skipped.push({ index: next.counter, key: next.key });
  }
  if (skipped.length >= SPQR_TRIM_SIZE) {
    const horizon = current.counter - maxOoo;
    skipped = skipped.filter((entry) => entry.index >= horizon);
  }
  const last = step(current);
  return { direction: { counter: last.counter, next: last.next, skipped }, key: last.key };
}
