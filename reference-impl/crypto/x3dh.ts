// X3DH key agreement for both roles, as libsignal's ratchet.rs (spec: Cryptography — X3DH):
// HKDF(0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], zero salt, "WhisperText", 64) = root key ‖ chain key.
import { calculateAgreement, generateKeyPair, type KeyPair } from './curve.ts';
import { hkdf } from './kdf.ts';
import { SESSION_VERSION } from './limits.ts';
import { createChain, type ChainKey } from './ratchet.ts';
import type { SessionState } from './state.ts';

/** The initiator's view: our identity and base key, the responder's published keys. */
export interface AliceParameters {
  readonly ourIdentityKeyPair: KeyPair;
  readonly ourBaseKeyPair: KeyPair;
  readonly theirIdentityKey: Uint8Array;
  readonly theirSignedPreKey: Uint8Array;
  readonly theirOneTimePreKey: Uint8Array | null;
  /** The key the responder's first sending chain hangs off; libsignal passes the signed prekey. */
  readonly theirRatchetKey: Uint8Array;
}

/** The responder's view: our identity and prekeys, the initiator's identity and base key. */
export interface BobParameters {
  readonly ourIdentityKeyPair: KeyPair;
  readonly ourSignedPreKeyPair: KeyPair;
  readonly ourOneTimePreKeyPair: KeyPair | null;
  /** libsignal passes the signed prekey pair here too. */
  readonly ourRatchetKeyPair: KeyPair;
  readonly theirIdentityKey: Uint8Array;
  readonly theirBaseKey: Uint8Array;
}

// "Discontinuity bytes" that keep X3DH input apart from any XEdDSA hash prefix.
const DISCONTINUITY = new Uint8Array(32).fill(0xff);
const TEXT_INFO = 'WhisperText';

function deriveKeys(secrets: Uint8Array[]): { rootKey: Uint8Array; chainKey: ChainKey } {
  const input = Buffer.concat([DISCONTINUITY, ...secrets]);
  const okm = hkdf(input, undefined, TEXT_INFO, 64);
  return { rootKey: okm.subarray(0, 32), chainKey: { key: okm.subarray(32, 64), index: 0 } };
}

/**
 * The initiator's session: the derived chain key receives on the responder's ratchet key, and the
 * derived root key is ratcheted at once with a fresh sending key (libsignal initialize_alice_session).
 */
export function initializeAliceSession(
  p: AliceParameters,
  sendingRatchetKeyPair: KeyPair = generateKeyPair(),
): SessionState {
  const secrets = [
    calculateAgreement(p.theirSignedPreKey, p.ourIdentityKeyPair.privateKey),
    calculateAgreement(p.theirIdentityKey, p.ourBaseKeyPair.privateKey),
    calculateAgreement(p.theirSignedPreKey, p.ourBaseKeyPair.privateKey),
  ];
  if (p.theirOneTimePreKey !== null) {
    secrets.push(calculateAgreement(p.theirOneTimePreKey, p.ourBaseKeyPair.privateKey));
  }
  const derived = deriveKeys(secrets);
  const sending = createChain(derived.rootKey, p.theirRatchetKey, sendingRatchetKeyPair.privateKey);
  return {
    sessionVersion: SESSION_VERSION,
    localIdentityKey: p.ourIdentityKeyPair.publicKey,
    remoteIdentityKey: p.theirIdentityKey,
    rootKey: sending.rootKey,
    previousCounter: 0,
    senderChain: { ratchetKeyPair: sendingRatchetKeyPair, chainKey: sending.chainKey },
    receiverChains: [
      { ratchetKey: p.theirRatchetKey, chainKey: derived.chainKey, messageKeys: [] },
    ],
    pendingPreKey: null,
    localRegistrationId: 0,
    remoteRegistrationId: 0,
    aliceBaseKey: p.ourBaseKeyPair.publicKey,
  };
}

/** The responder's session: the derived chain key sends on our ratchet key (libsignal initialize_bob_session). */
export function initializeBobSession(p: BobParameters): SessionState {
  const secrets = [
    calculateAgreement(p.theirIdentityKey, p.ourSignedPreKeyPair.privateKey),
    calculateAgreement(p.theirBaseKey, p.ourIdentityKeyPair.privateKey),
    calculateAgreement(p.theirBaseKey, p.ourSignedPreKeyPair.privateKey),
  ];
  if (p.ourOneTimePreKeyPair !== null) {
    secrets.push(calculateAgreement(p.theirBaseKey, p.ourOneTimePreKeyPair.privateKey));
  }
  const derived = deriveKeys(secrets);
  return {
    sessionVersion: SESSION_VERSION,
    localIdentityKey: p.ourIdentityKeyPair.publicKey,
    remoteIdentityKey: p.theirIdentityKey,
    rootKey: derived.rootKey,
    previousCounter: 0,
    senderChain: { ratchetKeyPair: p.ourRatchetKeyPair, chainKey: derived.chainKey },
    receiverChains: [],
    pendingPreKey: null,
    localRegistrationId: 0,
    remoteRegistrationId: 0,
    aliceBaseKey: p.theirBaseKey,
  };
}
