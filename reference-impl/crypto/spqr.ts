// SPQR, the sparse post-quantum ratchet (spec: Cryptography — SPQR chain, SPQR braid): the braid
// (spqr/braid.ts) runs ML-KEM-768 inside the messages and hands each epoch's secret to the key
// chain (spqr/chain.ts), whose keys salt every message key; this module puts both on the wire of
// SignalMessage field 5 and negotiates the version as libsignal 0.103.0 configures SPQR (V1
// required). Facts from SparsePostQuantumRatchet v1.5.3 src/lib.rs and
// src/v1/chunked/states/serialize.rs.
import { InvalidMessageError } from './errors.ts';
import {
  braidReceive,
  braidSend,
  initialBraid,
  SpqrMessageType,
  type BraidMessage,
  type BraidState,
} from './spqr/braid.ts';
import { addEpoch, initialSpqrChain, receiveKey, sendKey, type SpqrChain } from './spqr/chain.ts';
import { CHUNK_LENGTH, MAX_CHUNK_INDEX } from './spqr/erasure.ts';

export { SpqrMessageType, type BraidState, type SpqrChain };

/** SPQR protocol version byte: 0 = none (an empty field), 1 = V1, the only one libsignal accepts. */
export const SPQR_VERSION_V1 = 0x01;

const CHUNK_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 5, 6]);
/** A u64 varint takes at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

/** The SPQR state of one session: the braid and the chain it feeds. */
export interface SpqrState {
  readonly braid: BraidState;
  readonly chain: SpqrChain;
}

/** The state at session start, from the 32-byte SPQR key of PQXDH (the initiator is A2B). */
export function initialSpqrState(
  spqrKey: Uint8Array,
  direction: 'A2B' | 'B2A',
  selfSession: boolean,
): SpqrState {
  return {
    braid: initialBraid(spqrKey, direction),
    chain: initialSpqrChain(spqrKey, direction, selfSession),
  };
}

function encodeVarint(value: number, into: number[]): void {
  let v = value;
  while (v >= 0x80) {
    into.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  into.push(v);
}

/** Field 5 bytes: V1 ‖ varint epoch ‖ varint index ‖ type [‖ varint chunk index ‖ 32 bytes]. */
export function serializeSpqrMessage(message: SpqrMessage): Uint8Array {
  const bytes: number[] = [SPQR_VERSION_V1];
  encodeVarint(message.epoch, bytes);
  encodeVarint(message.index, bytes);
  bytes.push(message.type);
  if (message.chunk !== null) {
    encodeVarint(message.chunk.index, bytes);
    for (const byte of message.chunk.data) bytes.push(byte);
  }
  return Uint8Array.from(bytes);
}

/**
 * The next sending key and our SPQR message for it. When the braid's send yields an epoch secret,
 * the chain gains that epoch first; the key comes from chain epoch (braid epoch − 1).
 */
export function spqrSend(state: SpqrState): {
  state: SpqrState;
  message: Uint8Array;
  key: Uint8Array;
} {
  const sent = braidSend(state.braid);
  let chain = state.chain;
  if (sent.secret !== null) chain = addEpoch(chain, sent.secret.epoch, sent.secret.secret);
  const keyed = sendKey(chain, sent.message.epoch - 1);
  return {
    state: { braid: sent.state, chain: keyed.chain },
    message: serializeSpqrMessage({ ...sent.message, index: keyed.index }),
    key: keyed.key,
  };
}

/** A parsed SPQR V1 message (trailing bytes are allowed, as SPQR allows them for later versions). */
export interface SpqrMessage extends BraidMessage {
  readonly index: number;
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
    chunk = { index: chunkIndex, data: bytes.slice(at.offset, at.offset + CHUNK_LENGTH) };
  }
  return { epoch, index, type: type as SpqrMessageType, chunk };
}

/**
 * The SPQR key for an incoming field 5, and the state after it (SPQR recv with V1 required, as
 * libsignal configures it): the braid takes the message's chunk, a completed epoch is added to the
 * chain, then the chain gives the key of (epoch − 1, index). Returns key null (no salt) for epoch 1
 * index 0 and for a message of a later SPQR version (which SPQR ignores, changing nothing).
 * Throws InvalidMessageError for an empty or version-0 field (libsignal requires V1), a malformed
 * message, a braid epoch ahead of ours, a braid payload whose MAC or key check fails, a chain epoch
 * not kept, or a key already used, trimmed or too far ahead. Never changes `state`.
 */
export function spqrReceive(
  state: SpqrState,
  field: Uint8Array,
): { state: SpqrState; key: Uint8Array | null } {
  if (field.length === 0 || field[0] === 0) fail('SPQR V1 is required, the message has none');
  if (field[0]! > SPQR_VERSION_V1) return { state, key: null };
  const message = parseSpqrMessage(field);
  const received = braidReceive(state.braid, message);
  let chain = state.chain;
  if (received.secret !== null) {
    chain = addEpoch(chain, received.secret.epoch, received.secret.secret);
  }
  if (message.epoch === 1 && message.index === 0) {
    return { state: { braid: received.state, chain }, key: null };
  }
  const keyed = receiveKey(chain, message.epoch - 1, message.index);
  return { state: { braid: received.state, chain: keyed.chain }, key: keyed.key };
}
