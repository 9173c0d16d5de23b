// Double Ratchet key schedule exactly as libsignal (spec: Cryptography — Double Ratchet; libsignal
// ratchet/keys.rs): root step HKDF "WhisperRatchet", chain step HMAC 0x01/0x02, message keys
// HKDF(salt = the message's SPQR key, "WhisperMessageKeys") → AES key ‖ MAC key ‖ IV.
import { calculateAgreement } from './curve.ts';
import { hkdf, hmacSha256 } from './kdf.ts';

const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const RATCHET_INFO = 'WhisperRatchet';
const MESSAGE_KEYS_INFO = 'WhisperMessageKeys';

/** A symmetric chain position: the 32-byte chain key and the counter of the next message key. */
export interface ChainKey {
  readonly key: Uint8Array;
  readonly index: number;
}

/** The keys of one message: AES-256 key, HMAC-SHA256 key, CBC IV. */
export interface MessageKeys {
  readonly cipherKey: Uint8Array;
  readonly macKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly counter: number;
}

/** The 32-byte seed HMAC(chainKey, 0x01) from which a message's keys are derived. */
export function messageKeySeed(chain: ChainKey): Uint8Array {
  return hmacSha256(chain.key, MESSAGE_KEY_SEED);
}

/** The next chain key HMAC(chainKey, 0x02), index + 1. */
export function nextChainKey(chain: ChainKey): ChainKey {
  return { key: hmacSha256(chain.key, CHAIN_KEY_SEED), index: chain.index + 1 };
}

/**
 * Expands a message key seed: HKDF(IKM = seed, salt = the message's SPQR key, or none when SPQR
 * yields none, "WhisperMessageKeys", 80) = AES key ‖ MAC key ‖ IV (libsignal generate_keys).
 */
export function deriveMessageKeys(
  seed: Uint8Array,
  counter: number,
  spqrKey: Uint8Array | null,
): MessageKeys {
  const okm = hkdf(seed, spqrKey ?? undefined, MESSAGE_KEYS_INFO, 80);
  return {
    cipherKey: okm.subarray(0, 32),
    macKey: okm.subarray(32, 64),
    iv: okm.subarray(64, 80),
    counter,
  };
}

/** The message keys at the chain's current index, salted with the message's SPQR key. */
export function messageKeys(chain: ChainKey, spqrKey: Uint8Array | null): MessageKeys {
  return deriveMessageKeys(messageKeySeed(chain), chain.index, spqrKey);
}

/**
 * One DH ratchet step (libsignal RootKey::create_chain): HKDF(salt = root key,
 * ikm = X25519(ours, theirs), "WhisperRatchet", 64) → new root key ‖ new chain key (index 0).
 */
export function createChain(
  rootKey: Uint8Array,
  theirRatchetKey: Uint8Array,
  ourRatchetPrivateKey: Uint8Array,
): { rootKey: Uint8Array; chainKey: ChainKey } {
  const shared = calculateAgreement(theirRatchetKey, ourRatchetPrivateKey);
  const okm = hkdf(shared, rootKey, RATCHET_INFO, 64);
  return { rootKey: okm.subarray(0, 32), chainKey: { key: okm.subarray(32, 64), index: 0 } };
}
