// PQXDH key agreement for both roles, as libsignal's pqxdh.rs and ratchet.rs (spec: Cryptography —
// PQXDH): HKDF-SHA256(0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ Kyber shared secret, no salt,
// "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96) = root key ‖ chain key ‖ SPQR key.
import {
  calculateAgreement,
  checkCanonicalBaseKey,
  generateKeyPair,
  type KeyPair,
} from './curve.ts';
import { kyberDecapsulate, kyberEncapsulate, type KyberKeyPair } from './kem.ts';
import { hkdf } from './kdf.ts';
import { SESSION_VERSION } from './limits.ts';
import { createChain, type ChainKey } from './ratchet.ts';
import { initialSpqrState } from './spqr.ts';
import type { SessionState } from './state.ts';

/** The initiator's view: our identity and base key, the responder's published keys. */
export interface AliceParameters {
  readonly ourIdentityKeyPair: KeyPair;
  readonly ourBaseKeyPair: KeyPair;
  readonly theirIdentityKey: Uint8Array;
  readonly theirSignedPreKey: Uint8Array;
  readonly theirOneTimePreKey: Uint8Array | null;
  /** The 0x08-prefixed Kyber-1024 public key of the responder's signed Kyber prekey. */
  readonly theirKyberPreKey: Uint8Array;
  /** The key the responder's first sending chain hangs off; libsignal passes the signed prekey. */
  readonly theirRatchetKey: Uint8Array;
  /** Both ends are the same account (same identity key and service id): no SPQR jump limit. */
  readonly selfSession: boolean;
}

/** The responder's view: our identity and prekeys, the initiator's identity, base key and Kyber ciphertext. */
export interface BobParameters {
  readonly ourIdentityKeyPair: KeyPair;
  readonly ourSignedPreKeyPair: KeyPair;
  readonly ourOneTimePreKeyPair: KeyPair | null;
  readonly ourKyberPreKeyPair: KyberKeyPair;
  /** libsignal passes the signed prekey pair here too. */
  readonly ourRatchetKeyPair: KeyPair;
  readonly theirIdentityKey: Uint8Array;
  readonly theirBaseKey: Uint8Array;
  /** The 0x08-prefixed Kyber ciphertext from the PreKeySignalMessage. */
  readonly theirKyberCiphertext: Uint8Array;
  readonly selfSession: boolean;
}

// "Discontinuity bytes" that keep the key agreement input apart from any XEdDSA hash prefix.
const DISCONTINUITY = new Uint8Array(32).fill(0xff);
const PQXDH_INFO = 'WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024';

interface HandshakeKeys {
  readonly rootKey: Uint8Array;
  readonly chainKey: ChainKey;
  /** Keys SPQR: its braid authenticator and its chain start from it (spqr.ts). */
  readonly spqrKey: Uint8Array;
}

function deriveKeys(secrets: Uint8Array[]): HandshakeKeys {
  const okm = hkdf(Buffer.concat([DISCONTINUITY, ...secrets]), undefined, PQXDH_INFO, 96);
  return {
    rootKey: okm.subarray(0, 32),
    chainKey: { key: okm.subarray(32, 64), index: 0 },
    spqrKey: okm.subarray(64, 96),
  };
}

/**
 * The initiator's session and the Kyber ciphertext to send: the derived chain key receives on the
 * responder's ratchet key, and the root key is ratcheted at once with a fresh sending key
 * (libsignal initialize_alice_session). The caller records the ciphertext as pending.
 * `kem` (a fresh encapsulation to the responder's Kyber prekey unless given) is a parameter only
 * so that tests can key a session with a chosen ciphertext and secret (the implicit-rejection
 * interop test); this module is not re-exported from index.ts.
 */
export function initializeAliceSession(
  p: AliceParameters,
  sendingRatchetKeyPair: KeyPair = generateKeyPair(),
  kem: { ciphertext: Uint8Array; sharedSecret: Uint8Array } = kyberEncapsulate(p.theirKyberPreKey),
): { state: SessionState; kyberCiphertext: Uint8Array } {
  const secrets = [
    calculateAgreement(p.theirSignedPreKey, p.ourIdentityKeyPair.privateKey),
    calculateAgreement(p.theirIdentityKey, p.ourBaseKeyPair.privateKey),
    calculateAgreement(p.theirSignedPreKey, p.ourBaseKeyPair.privateKey),
  ];
  if (p.theirOneTimePreKey !== null) {
    secrets.push(calculateAgreement(p.theirOneTimePreKey, p.ourBaseKeyPair.privateKey));
  }
  secrets.push(kem.sharedSecret);
  const derived = deriveKeys(secrets);
  const sending = createChain(derived.rootKey, p.theirRatchetKey, sendingRatchetKeyPair.privateKey);
  const state: SessionState = {
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
    spqr: initialSpqrState(derived.spqrKey, 'A2B', p.selfSession),
  };
  return { state, kyberCiphertext: kem.ciphertext };
}

/**
 * The responder's session: the derived chain key sends on our ratchet key (libsignal
 * initialize_bob_session). Throws InvalidMessageError for a base key that is not canonical and
 * torsion-free, or a malformed Kyber ciphertext.
 */
export function initializeBobSession(p: BobParameters): SessionState {
  checkCanonicalBaseKey(p.theirBaseKey);
  const secrets = [
    calculateAgreement(p.theirIdentityKey, p.ourSignedPreKeyPair.privateKey),
    calculateAgreement(p.theirBaseKey, p.ourIdentityKeyPair.privateKey),
    calculateAgreement(p.theirBaseKey, p.ourSignedPreKeyPair.privateKey),
  ];
  if (p.ourOneTimePreKeyPair !== null) {
    secrets.push(calculateAgreement(p.theirBaseKey, p.ourOneTimePreKeyPair.privateKey));
  }
  secrets.push(kyberDecapsulate(p.theirKyberCiphertext, p.ourKyberPreKeyPair.secretKey));
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
    spqr: initialSpqrState(derived.spqrKey, 'B2A', p.selfSession),
  };
}
