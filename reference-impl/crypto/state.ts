// Session state and the per-address session record with archived states (spec: Cryptography —
// sessions; libsignal state/session.rs). A state is mutated only on a private copy, then committed.
import type { KeyPair } from './curve.ts';
import { bytesEqual } from './curve.ts';
import { ARCHIVED_STATES_MAX_LENGTH, MAX_MESSAGE_KEYS, MAX_RECEIVER_CHAINS } from './limits.ts';
import type { ChainKey } from './ratchet.ts';
import type { SpqrState } from './spqr.ts';

/** A message key kept for a counter that was skipped: libsignal keeps the seed and expands on use. */
export interface SkippedMessageKey {
  readonly index: number;
  readonly seed: Uint8Array;
}

export interface SenderChain {
  readonly ratchetKeyPair: KeyPair;
  readonly chainKey: ChainKey;
}

export interface ReceiverChain {
  readonly ratchetKey: Uint8Array;
  readonly chainKey: ChainKey;
  /** Oldest first; at most MAX_MESSAGE_KEYS. */
  readonly messageKeys: readonly SkippedMessageKey[];
}

/** What the initiator repeats in every PreKeySignalMessage until the responder's first reply. */
export interface PendingPreKey {
  readonly preKeyId: number | null;
  readonly signedPreKeyId: number;
  readonly baseKey: Uint8Array;
  readonly kyberPreKeyId: number;
  /** The 0x08-prefixed Kyber ciphertext (1569 bytes) of the PQXDH encapsulation. */
  readonly kyberCiphertext: Uint8Array;
  /** When the session was built from the bundle (ms since epoch): after 30 days unanswered it stops encrypting. */
  readonly timestamp: number;
}

/** One Double Ratchet session with one peer device. */
export interface SessionState {
  readonly sessionVersion: number;
  readonly localIdentityKey: Uint8Array;
  readonly remoteIdentityKey: Uint8Array;
  rootKey: Uint8Array;
  previousCounter: number;
  senderChain: SenderChain;
  /** Oldest first; at most MAX_RECEIVER_CHAINS. */
  receiverChains: ReceiverChain[];
  pendingPreKey: PendingPreKey | null;
  localRegistrationId: number;
  remoteRegistrationId: number;
  /** The initiator's PQXDH base key: identifies the session a prekey message belongs to. */
  readonly aliceBaseKey: Uint8Array;
  /** The SPQR braid and the chain whose keys salt every message key (spqr.ts). */
  spqr: SpqrState;
}

/** A copy that can be changed without touching the original (byte arrays are never mutated in place). */
export function cloneState(state: SessionState): SessionState {
  return { ...state, receiverChains: state.receiverChains.slice() };
}

export function findReceiverChain(state: SessionState, ratchetKey: Uint8Array): number {
  return state.receiverChains.findIndex((chain) => bytesEqual(chain.ratchetKey, ratchetKey));
}

/** Adds a receiving chain, dropping the oldest beyond MAX_RECEIVER_CHAINS (libsignal add_receiver_chain). */
export function addReceiverChain(
  state: SessionState,
  ratchetKey: Uint8Array,
  chainKey: ChainKey,
): void {
  state.receiverChains.push({ ratchetKey, chainKey, messageKeys: [] });
  if (state.receiverChains.length > MAX_RECEIVER_CHAINS) state.receiverChains.shift();
}

/** Replaces receiving chain `at` (a fresh object, so copies made by cloneState stay intact). */
export function updateReceiverChain(
  state: SessionState,
  at: number,
  chainKey: ChainKey,
  messageKeys: readonly SkippedMessageKey[],
): void {
  const chain = state.receiverChains[at]!;
  const kept =
    messageKeys.length > MAX_MESSAGE_KEYS ? messageKeys.slice(-MAX_MESSAGE_KEYS) : messageKeys;
  state.receiverChains[at] = { ratchetKey: chain.ratchetKey, chainKey, messageKeys: kept };
}

/** True when `state` was set up from this session version and initiator base key. */
export function stateMatches(state: SessionState, version: number, baseKey: Uint8Array): boolean {
  return state.sessionVersion === version && bytesEqual(state.aliceBaseKey, baseKey);
}

/** All sessions with one address: the current one plus archived ones, newest first (libsignal SessionRecord). */
export class SessionRecord {
  constructor(
    public current: SessionState | null = null,
    public previous: SessionState[] = [],
  ) {}

  /** Makes `state` current, archiving the current state (libsignal promote_state). */
  promoteState(state: SessionState): void {
    this.archiveCurrentState();
    this.current = state;
  }

  /**
   * Moves the current state to the archive, keeping at most ARCHIVED_STATES_MAX_LENGTH. An archived
   * state drops its pending prekey data (libsignal clear_unacknowledged_pre_key_message): were it
   * promoted again, it would send plain SignalMessages, never a second prekey message.
   */
  archiveCurrentState(): void {
    if (this.current === null) return;
    this.previous.unshift({ ...this.current, pendingPreKey: null });
    if (this.previous.length > ARCHIVED_STATES_MAX_LENGTH) this.previous.pop();
    this.current = null;
  }

  /** Replaces archived state `index` by `updated` and makes it current (libsignal promote_old_session). */
  promoteOldSession(index: number, updated: SessionState): void {
    this.previous.splice(index, 1);
    this.promoteState(updated);
  }

  /**
   * If some state was built from this prekey message's base key, make it current and return true
   * (libsignal promote_matching_session: a retransmitted prekey message must not build a second session).
   */
  promoteMatchingSession(version: number, baseKey: Uint8Array): boolean {
    if (this.current !== null && stateMatches(this.current, version, baseKey)) return true;
    const index = this.previous.findIndex((state) => stateMatches(state, version, baseKey));
    if (index < 0) return false;
    this.promoteOldSession(index, this.previous[index]!);
    return true;
  }

  /** A deep-enough copy: states are cloned, byte arrays shared (they are never mutated). */
  clone(): SessionRecord {
    return new SessionRecord(
      this.current === null ? null : cloneState(this.current),
      this.previous.map(cloneState),
    );
  }
}
