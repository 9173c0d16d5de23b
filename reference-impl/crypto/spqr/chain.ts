// SPQR's key chain across epochs (spec: Cryptography — SPQR chain; facts from
// SparsePostQuantumRatchet v1.5.3 src/chain.rs): each epoch the braid completes adds a link of
// two directions; a message of braid epoch e takes its key from link e − 1. The chain keeps the
// link of its send epoch, every later one, and one before it.
import { InvalidMessageError } from '../errors.ts';
import { hkdf } from '../kdf.ts';
import {
  SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH,
  SPQR_MAX_JUMP,
  SPQR_MAX_OUT_OF_ORDER_KEYS,
  SPQR_TRIM_SIZE,
} from '../limits.ts';

const CHAIN_START_INFO = 'Signal PQ Ratchet V1 Chain  Start'; // two spaces, as SPQR spells it
const ADD_EPOCH_INFO = 'Signal PQ Ratchet V1 Chain Add Epoch';
const CHAIN_NEXT_INFO = new TextEncoder().encode('Signal PQ Ratchet V1 Chain Next');
const ZERO_SALT = new Uint8Array(32);

/** A sending direction: the counter of the last key handed out and the next seed (null once the
 * chain has moved its sending to a later epoch, as SPQR clears it). */
export interface SpqrSendDirection {
  readonly counter: number;
  readonly next: Uint8Array | null;
}

/** A receiving direction also keeps keys of skipped counters for late messages. */
export interface SpqrReceiveDirection {
  readonly counter: number;
  readonly next: Uint8Array;
  /** Skipped keys, at most SPQR_TRIM_SIZE; trimmed as SPQR trims its KeyHistory. */
  readonly skipped: readonly { readonly index: number; readonly key: Uint8Array }[];
}

/** The two directions of one epoch. */
export interface SpqrLink {
  readonly send: SpqrSendDirection;
  readonly receive: SpqrReceiveDirection;
}

/** The chain of one session. */
export interface SpqrChain {
  readonly direction: 'A2B' | 'B2A';
  /** The newest epoch added (0 at the start). */
  readonly currentEpoch: number;
  /** The epoch our last message took its key from. */
  readonly sendEpoch: number;
  /** links[links.length − 1] is currentEpoch's, the others the epochs just before it. */
  readonly links: readonly SpqrLink[];
  /** The root from which the next epoch is added. */
  readonly nextRoot: Uint8Array;
  /** Largest forward jump of a receiving counter: SPQR_MAX_JUMP, or 2^32 − 1 in a session with oneself. */
  readonly maxJump: number;
}

function fail(why: string): never {
  throw new InvalidMessageError(`post-quantum ratchet: ${why}`);
}

/** The link of a 96-byte derivation: A→B seed = G[32..64], B→A seed = G[64..96]. */
function link(okm: Uint8Array, direction: 'A2B' | 'B2A'): SpqrLink {
  const aToB = okm.slice(32, 64);
  const bToA = okm.slice(64, 96);
  return {
    send: { counter: 0, next: direction === 'A2B' ? aToB : bToA },
    receive: { counter: 0, next: direction === 'A2B' ? bToA : aToB, skipped: [] },
  };
}

/** The chain at session start: HKDF(salt 0×32, SPQR key, "…Chain  Start", 96) = root ‖ A→B ‖ B→A. */
export function initialSpqrChain(
  spqrKey: Uint8Array,
  direction: 'A2B' | 'B2A',
  selfSession: boolean,
): SpqrChain {
  const okm = hkdf(spqrKey, ZERO_SALT, CHAIN_START_INFO, 96);
  return {
    direction,
    currentEpoch: 0,
    sendEpoch: 0,
    links: [link(okm, direction)],
    nextRoot: okm.slice(0, 32),
    maxJump: selfSession ? 0xffff_ffff : SPQR_MAX_JUMP,
  };
}

/** The chain with epoch `epoch` (= currentEpoch + 1) added from its secret: HKDF(salt root, secret, "…Add Epoch", 96). */
export function addEpoch(chain: SpqrChain, epoch: number, secret: Uint8Array): SpqrChain {
  if (epoch !== chain.currentEpoch + 1) {
    throw new Error(`SPQR chain: epoch ${epoch} added after ${chain.currentEpoch}`);
  }
  const okm = hkdf(secret, chain.nextRoot, ADD_EPOCH_INFO, 96);
  return {
    ...chain,
    currentEpoch: epoch,
    nextRoot: okm.slice(0, 32),
    links: [...chain.links, link(okm, chain.direction)],
  };
}

/** One step: counter + 1, then HKDF(salt 0×32, next, BE32(counter) ‖ "…Chain Next", 64) = next ‖ key. */
function step(
  counter: number,
  next: Uint8Array,
): { counter: number; next: Uint8Array; key: Uint8Array } {
  const ctr = counter + 1;
  const info = new Uint8Array(4 + CHAIN_NEXT_INFO.length);
  new DataView(info.buffer).setUint32(0, ctr);
  info.set(CHAIN_NEXT_INFO, 4);
  const okm = hkdf(next, ZERO_SALT, info, 64);
  return { counter: ctr, next: okm.slice(0, 32), key: okm.slice(32, 64) };
}

function linkIndex(chain: SpqrChain, epoch: number): number {
  if (epoch > chain.currentEpoch) fail(`chain epoch ${epoch} not reached`);
  const back = chain.currentEpoch - epoch;
  if (back >= chain.links.length) fail(`chain epoch ${epoch} no longer kept`);
  return chain.links.length - 1 - back;
}

/**
 * The next sending key of chain epoch `epoch` and its index. Moving the send epoch forward drops
 * all but one earlier link and clears the sending seeds of the links before it.
 * @throws InvalidMessageError when the epoch is before the send epoch or not kept.
 */
export function sendKey(
  chain: SpqrChain,
  epoch: number,
): { chain: SpqrChain; index: number; key: Uint8Array } {
  if (epoch < chain.sendEpoch) fail(`send epoch would go back from ${chain.sendEpoch} to ${epoch}`);
  let at = linkIndex(chain, epoch);
  let links = chain.links.slice();
  if (epoch !== chain.sendEpoch) {
    const drop = Math.max(0, at - SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH);
    links = links.slice(drop);
    at -= drop;
    for (let i = 0; i < at; i++)
      links[i] = { ...links[i]!, send: { ...links[i]!.send, next: null } };
  }
  const send = links[at]!.send;
  if (send.next === null || send.counter >= 0xffff_ffff) fail('sending chain exhausted');
  const next = step(send.counter, send.next);
  links[at] = { ...links[at]!, send: { counter: next.counter, next: next.next } };
  return { chain: { ...chain, sendEpoch: epoch, links }, index: next.counter, key: next.key };
}

/**
 * The key `index` of the receiving direction of chain epoch `epoch` (SPQR ChainEpochDirection::key
 * with its KeyHistory), on copies.
 * @throws InvalidMessageError for an epoch not reached or no longer kept, or a key already used,
 *   trimmed or too far ahead.
 */
export function receiveKey(
  chain: SpqrChain,
  epoch: number,
  index: number,
): { chain: SpqrChain; key: Uint8Array } {
  const at = linkIndex(chain, epoch);
  const direction = chain.links[at]!.receive;
  const maxOoo = SPQR_MAX_OUT_OF_ORDER_KEYS;
  let result: { direction: SpqrReceiveDirection; key: Uint8Array };
  if (index === direction.counter) fail(`key ${index} already used`);
  if (index < direction.counter) {
    if (index + maxOoo < direction.counter) fail(`key ${index} trimmed`);
    const found = direction.skipped.findIndex((entry) => entry.index === index);
    if (found < 0) fail(`key ${index} already used`);
    result = {
      direction: { ...direction, skipped: direction.skipped.filter((_, i) => i !== found) },
      key: direction.skipped[found]!.key,
    };
  } else {
    if (index - direction.counter > chain.maxJump) {
      fail(`key ${index} too far ahead of ${direction.counter}`);
    }
    let skipped = index > direction.counter + maxOoo ? [] : direction.skipped.slice();
    let counter = direction.counter;
    let next = direction.next;
    while (index > counter + 1) {
      const s = step(counter, next);
      counter = s.counter;
      next = s.next;
      if (counter + maxOoo >= index) skipped.push({ index: counter, key: s.key });
    }
    if (skipped.length >= SPQR_TRIM_SIZE) {
      const horizon = counter - maxOoo;
      skipped = skipped.filter((entry) => entry.index >= horizon);
    }
    const last = step(counter, next);
    result = { direction: { counter: last.counter, next: last.next, skipped }, key: last.key };
  }
  const links = chain.links.slice();
  links[at] = { ...links[at]!, receive: result.direction };
  return { chain: { ...chain, links }, key: result.key };
}
