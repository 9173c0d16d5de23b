// Sender-key chains and records (spec: Cryptography — Sender keys; libsignal sender_keys.rs): the
// chain step HMAC 0x01 / 0x02 as in the Double Ratchet, message keys HKDF(no salt, seed,
// "WhisperGroup", 48) = IV ‖ AES key, and up to MAX_SENDER_KEY_STATES states per (sender,
// distribution id), newest first. States and records are immutable: every change makes a new one,
// so a refused message can leave nothing half-changed behind.
import { bytesEqual } from '../curve.ts';
import { hkdf, hmacSha256 } from '../kdf.ts';
import { MAX_SENDER_KEY_STATES, SENDER_KEY_MAX_MESSAGE_KEYS } from '../limits.ts';

const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const GROUP_MESSAGE_KEYS_INFO = 'WhisperGroup';

/** Largest iteration: libsignal's counter is a u32 and the chain ends there. */
export const MAX_ITERATION = 0xffff_ffff;

/** A chain position: the chain key of iteration `iteration` (the next message key to use). */
export interface SenderChainKey {
  readonly iteration: number;
  readonly seed: Uint8Array;
}

/** A message key kept for an iteration that was skipped: only its 32-byte seed is stored. */
export interface SenderMessageKeySeed {
  readonly iteration: number;
  readonly seed: Uint8Array;
}

/** The AES-256-CBC key and IV of one group message. */
export interface SenderMessageKeys {
  readonly iteration: number;
  readonly iv: Uint8Array;
  readonly cipherKey: Uint8Array;
}

/** HMAC(chainKey, 0x01): the seed of the message key of the chain's current iteration. */
export function senderMessageKeySeed(chain: SenderChainKey): SenderMessageKeySeed {
  return { iteration: chain.iteration, seed: hmacSha256(chain.seed, MESSAGE_KEY_SEED) };
}

/** HMAC(chainKey, 0x02) at iteration + 1. The caller checks that iteration < MAX_ITERATION. */
export function nextSenderChainKey(chain: SenderChainKey): SenderChainKey {
  return { iteration: chain.iteration + 1, seed: hmacSha256(chain.seed, CHAIN_KEY_SEED) };
}

/** HKDF(salt none, seed, "WhisperGroup", 48): IV = bytes 0..15, AES-256 key = bytes 16..47. */
export function senderMessageKeys(key: SenderMessageKeySeed): SenderMessageKeys {
  const okm = hkdf(key.seed, undefined, GROUP_MESSAGE_KEYS_INFO, 48);
  return { iteration: key.iteration, iv: okm.subarray(0, 16), cipherKey: okm.subarray(16, 48) };
}

/** One sender-key chain of one sender for one distribution id. */
export interface SenderKeyState {
  /** 31-bit (as libsignal generates them; any u32 is accepted from the wire). */
  readonly chainId: number;
  readonly chainKey: SenderChainKey;
  /** 33-byte Curve25519 public key that verifies the chain's messages. */
  readonly signingKey: Uint8Array;
  /** Present only in the sender's own state: it signs the messages. */
  readonly signingPrivateKey: Uint8Array | null;
  /** Skipped message keys, oldest first, at most SENDER_KEY_MAX_MESSAGE_KEYS. */
  readonly messageKeys: readonly SenderMessageKeySeed[];
}

/** The states of one (sender, distribution id), newest first: the first one is used to encrypt. */
export class SenderKeyRecord {
  readonly states: readonly SenderKeyState[];

  constructor(states: readonly SenderKeyState[] = []) {
    this.states = states.slice(0, MAX_SENDER_KEY_STATES);
  }

  /** The newest state, the one the owner encrypts with. */
  get current(): SenderKeyState | undefined {
    return this.states[0];
  }

  /** The state with `chainId`, if this record holds one. */
  stateFor(chainId: number): SenderKeyState | undefined {
    return this.states.find((state) => state.chainId === chainId);
  }

  /** A record with `state` in place of the state of the same chain id (its position kept). */
  replacing(state: SenderKeyState): SenderKeyRecord {
    return new SenderKeyRecord(
      this.states.map((old) => (old.chainId === state.chainId ? state : old)),
    );
  }

  /**
   * A record with `state` added as the newest, as libsignal's add_sender_key_state: a state of the
   * same chain id and signing key is kept as it is (a distribution message processed twice must
   * not rewind the chain and reopen used message keys) and moved to the front; a state of the same
   * chain id under another signing key is dropped; beyond MAX_SENDER_KEY_STATES the oldest go.
   */
  adding(state: SenderKeyState): SenderKeyRecord {
    const existing = this.states.find(
      (old) => old.chainId === state.chainId && bytesEqual(old.signingKey, state.signingKey),
    );
    const others = this.states.filter((old) => old.chainId !== state.chainId);
    return new SenderKeyRecord([existing ?? state, ...others]);
  }
}

/**
 * Advances `state` so that it yields the message key of `iteration`, as libsignal's
 * get_sender_key: keys of skipped iterations are kept (the newest SENDER_KEY_MAX_MESSAGE_KEYS), the
 * key of an earlier iteration is taken out of the kept ones. Returns the new state and the key, or
 * a reason: 'duplicate' (an earlier iteration whose key is not kept) or 'exhausted' (the chain
 * cannot move past MAX_ITERATION). The caller checks the forward-jump limit first.
 */
export function advanceTo(
  state: SenderKeyState,
  iteration: number,
):
  | { readonly state: SenderKeyState; readonly key: SenderMessageKeySeed }
  | 'duplicate'
  | 'exhausted' {
  const chain = state.chainKey;
  if (iteration < chain.iteration) {
    const at = state.messageKeys.findIndex((key) => key.iteration === iteration);
    if (at < 0) return 'duplicate';
    const messageKeys = state.messageKeys.filter((_, i) => i !== at);
    return { state: { ...state, messageKeys }, key: state.messageKeys[at]! };
  }
  if (iteration === MAX_ITERATION) return 'exhausted';
  // Only the newest keys survive the trim, so the seeds of the others are never computed.
  const skipped = iteration - chain.iteration;
  const keepFrom = iteration - Math.min(skipped, SENDER_KEY_MAX_MESSAGE_KEYS);
  const added: SenderMessageKeySeed[] = [];
  let position = chain;
  while (position.iteration < iteration) {
    if (position.iteration >= keepFrom) added.push(senderMessageKeySeed(position));
    position = nextSenderChainKey(position);
  }
  const key = senderMessageKeySeed(position);
  let messageKeys: readonly SenderMessageKeySeed[] = state.messageKeys;
  if (added.length > 0) {
    const all = [...state.messageKeys, ...added];
    messageKeys = all.slice(Math.max(0, all.length - SENDER_KEY_MAX_MESSAGE_KEYS));
  }
  return {
    state: { ...state, chainKey: nextSenderChainKey(position), messageKeys },
    key,
  };
}
