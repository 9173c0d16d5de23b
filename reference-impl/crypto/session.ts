// Session building from a prekey bundle (initiator) and from a PreKeySignalMessage (responder)
// (spec: Cryptography — PQXDH, sessions; libsignal session.rs).
import { checkDeviceId, isSameAccount } from './address.ts';
import { checkPublicKey, generateKeyPair } from './curve.ts';
import {
  InvalidKeyError,
  LegacyVersionError,
  SignatureValidationError,
  UnknownKyberPreKeyError,
  UnknownPreKeyError,
  UnknownSignedPreKeyError,
  UntrustedIdentityError,
} from './errors.ts';
import { checkKyberPublicKey } from './kem.ts';
import { LEGACY_SESSION_VERSION, MAX_PREKEY_ID } from './limits.ts';
import { initializeAliceSession, initializeBobSession } from './pqxdh.ts';
import { SessionRecord } from './state.ts';
import { addressKey, type ProtocolAddress, type ProtocolStores } from './stores.ts';
import type { PreKeySignalMessage } from './wire.ts';
import { xeddsaVerify } from './xeddsa.ts';

/** A peer device's published keys, as the provider's keys.bundle hands them out. */
export interface PreKeyBundle {
  readonly registrationId: number;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly signedPreKey: Uint8Array;
  readonly signedPreKeySignature: Uint8Array;
  readonly preKeyId?: number;
  readonly preKey?: Uint8Array;
  /** The signed Kyber prekey (one-time, or the last-resort one): required since PQXDH is the only set-up. */
  readonly kyberPreKeyId: number;
  /** 0x08 ‖ 1568 bytes of Kyber-1024 public key. */
  readonly kyberPreKey: Uint8Array;
  /** XEdDSA by the identity key over the 1569-byte `kyberPreKey`. */
  readonly kyberPreKeySignature: Uint8Array;
}

/** Per-call context of encrypt, decrypt and processPreKeyBundle (libsignal passes the same). */
export interface SessionOptions {
  /**
   * Our own address. With it, prekey messages carry field 6 when both names are service ids, an
   * incoming field 6 can be checked (without it, a message carrying field 6 is refused), and a
   * session with oneself is recognised.
   */
  readonly localAddress?: ProtocolAddress;
  /** The clock in ms since the epoch (default Date.now()), for the 30-day unanswered-session rule. */
  readonly now?: number;
}

/** A shallow copy whose archive can change without touching the stored record. */
export function copyRecord(record: SessionRecord | undefined): SessionRecord {
  return record === undefined
    ? new SessionRecord()
    : new SessionRecord(record.current, record.previous.slice());
}

/**
 * Starts a session with `address` from its bundle; the next encrypt sends a PreKeySignalMessage.
 * Throws InvalidKeyError (malformed bundle), InvalidDeviceIdError, UntrustedIdentityError, or
 * SignatureValidationError (signed prekey or Kyber prekey) — the signatures are checked before any
 * key is derived and nothing is stored on failure.
 */
export async function processPreKeyBundle(
  bundle: PreKeyBundle,
  address: ProtocolAddress,
  stores: ProtocolStores,
  options: SessionOptions = {},
): Promise<void> {
  checkDeviceId(address);
  checkPublicKey(bundle.identityKey);
  checkPublicKey(bundle.signedPreKey);
  if ((bundle.preKeyId === undefined) !== (bundle.preKey === undefined)) {
    throw new InvalidKeyError('bundle carries a one-time prekey id without its key or vice versa');
  }
  if (bundle.preKey !== undefined) checkPublicKey(bundle.preKey);
  if (bundle.kyberPreKey === undefined || bundle.kyberPreKeySignature === undefined) {
    throw new InvalidKeyError('bundle carries no Kyber prekey (PQXDH requires one)');
  }
  const kyberId = bundle.kyberPreKeyId;
  if (!Number.isInteger(kyberId) || kyberId < 0 || kyberId > MAX_PREKEY_ID) {
    throw new InvalidKeyError(
      `bundle's Kyber prekey id ${String(kyberId)} outside 0..${MAX_PREKEY_ID}`,
    );
  }
  checkKyberPublicKey(bundle.kyberPreKey);
  if (!(await stores.isTrustedIdentity(address, bundle.identityKey, 'sending'))) {
    throw new UntrustedIdentityError(addressKey(address));
  }
  if (!xeddsaVerify(bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature)) {
    throw new SignatureValidationError();
  }
  if (!xeddsaVerify(bundle.identityKey, bundle.kyberPreKey, bundle.kyberPreKeySignature)) {
    throw new SignatureValidationError('Kyber prekey signature does not verify');
  }
  const record = copyRecord(await stores.loadSession(address));
  const ourIdentityKeyPair = await stores.getIdentityKeyPair();
  const ourBaseKeyPair = generateKeyPair();
  const { state, kyberCiphertext } = initializeAliceSession({
    ourIdentityKeyPair,
    ourBaseKeyPair,
    theirIdentityKey: bundle.identityKey,
    theirSignedPreKey: bundle.signedPreKey,
    theirOneTimePreKey: bundle.preKey ?? null,
    theirKyberPreKey: bundle.kyberPreKey,
    theirRatchetKey: bundle.signedPreKey,
    selfSession: isSameAccount(
      options.localAddress,
      ourIdentityKeyPair.publicKey,
      address,
      bundle.identityKey,
    ),
  });
  state.pendingPreKey = {
    preKeyId: bundle.preKeyId ?? null,
    signedPreKeyId: bundle.signedPreKeyId,
    baseKey: ourBaseKeyPair.publicKey,
    kyberPreKeyId: bundle.kyberPreKeyId,
    kyberCiphertext,
    timestamp: options.now ?? Date.now(),
  };
  state.localRegistrationId = await stores.getLocalRegistrationId();
  state.remoteRegistrationId = bundle.registrationId;
  await stores.saveIdentity(address, bundle.identityKey);
  record.promoteState(state);
  await stores.storeSession(address, record);
}

/** The prekeys a new session consumed, to mark or remove once its first message has decrypted. */
export interface PreKeysUsed {
  readonly preKeyId: number | null;
  readonly signedPreKeyId: number;
  readonly kyberPreKeyId: number;
}

/**
 * The responder's half: unless a state from this base key exists (a retransmission), builds a new
 * state from our prekeys and makes it current, archiving the old one (libsignal process_prekey).
 * Mutates only `record` (a copy). Returns the prekeys used, or null for a retransmission.
 * Throws UnknownSignedPreKeyError, UnknownKyberPreKeyError, UnknownPreKeyError, or
 * InvalidMessageError (a base key that is not canonical and torsion-free, a bad Kyber ciphertext).
 */
export async function processPreKeyMessage(
  message: PreKeySignalMessage,
  address: ProtocolAddress,
  record: SessionRecord,
  stores: ProtocolStores,
  options: SessionOptions,
): Promise<PreKeysUsed | null> {
  if (record.promoteMatchingSession(message.version, message.baseKey)) return null;
  // The parser already refuses version 3; kept here so that no path builds an X3DH session.
  if (message.version <= LEGACY_SESSION_VERSION) throw new LegacyVersionError(message.version);
  const signedPreKey = await stores.getSignedPreKey(message.signedPreKeyId);
  if (signedPreKey === undefined) throw new UnknownSignedPreKeyError(message.signedPreKeyId);
  const kyberPreKey = await stores.getKyberPreKey(message.kyberPreKeyId);
  if (kyberPreKey === undefined) throw new UnknownKyberPreKeyError(message.kyberPreKeyId);
  let oneTimePreKey = null;
  if (message.preKeyId !== null) {
    oneTimePreKey = await stores.getPreKey(message.preKeyId);
    if (oneTimePreKey === undefined) throw new UnknownPreKeyError(message.preKeyId);
  }
  const ourIdentityKeyPair = await stores.getIdentityKeyPair();
  const state = initializeBobSession({
    ourIdentityKeyPair,
    ourSignedPreKeyPair: signedPreKey.keyPair,
    ourOneTimePreKeyPair: oneTimePreKey?.keyPair ?? null,
    ourKyberPreKeyPair: kyberPreKey.keyPair,
    ourRatchetKeyPair: signedPreKey.keyPair,
    theirIdentityKey: message.identityKey,
    theirBaseKey: message.baseKey,
    theirKyberCiphertext: message.kyberCiphertext,
    selfSession: isSameAccount(
      options.localAddress,
      ourIdentityKeyPair.publicKey,
      address,
      message.identityKey,
    ),
  });
  state.localRegistrationId = await stores.getLocalRegistrationId();
  state.remoteRegistrationId = message.registrationId;
  record.promoteState(state);
  return {
    preKeyId: message.preKeyId,
    signedPreKeyId: message.signedPreKeyId,
    kyberPreKeyId: message.kyberPreKeyId,
  };
}
