// Session building from a prekey bundle (initiator) and from a PreKeySignalMessage (responder)
// (spec: Cryptography — X3DH, sessions; libsignal session.rs).
import { checkPublicKey, generateKeyPair } from './curve.ts';
import {
  InvalidKeyError,
  SignatureValidationError,
  UnknownPreKeyError,
  UnknownSignedPreKeyError,
  UntrustedIdentityError,
} from './errors.ts';
import { xeddsaVerify } from './xeddsa.ts';
import { SessionRecord } from './state.ts';
import { addressKey, type ProtocolAddress, type ProtocolStores } from './stores.ts';
import type { PreKeySignalMessage } from './wire.ts';
import { initializeAliceSession, initializeBobSession } from './x3dh.ts';

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
}

/** A shallow copy whose archive can change without touching the stored record. */
export function copyRecord(record: SessionRecord | undefined): SessionRecord {
  return record === undefined
    ? new SessionRecord()
    : new SessionRecord(record.current, record.previous.slice());
}

/**
 * Starts a session with `address` from its bundle; the next encrypt sends a PreKeySignalMessage.
 * Throws InvalidKeyError (malformed bundle), UntrustedIdentityError, or SignatureValidationError —
 * the signature is checked before any key is derived and nothing is stored on failure.
 */
export async function processPreKeyBundle(
  bundle: PreKeyBundle,
  address: ProtocolAddress,
  stores: ProtocolStores,
): Promise<void> {
  checkPublicKey(bundle.identityKey);
  checkPublicKey(bundle.signedPreKey);
  if ((bundle.preKeyId === undefined) !== (bundle.preKey === undefined)) {
    throw new InvalidKeyError('bundle carries a one-time prekey id without its key or vice versa');
  }
  if (bundle.preKey !== undefined) checkPublicKey(bundle.preKey);
  if (!(await stores.isTrustedIdentity(address, bundle.identityKey, 'sending'))) {
    throw new UntrustedIdentityError(addressKey(address));
  }
  if (!xeddsaVerify(bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature)) {
    throw new SignatureValidationError();
  }
  const record = copyRecord(await stores.loadSession(address));
  const ourBaseKeyPair = generateKeyPair();
  const state = initializeAliceSession({
    ourIdentityKeyPair: await stores.getIdentityKeyPair(),
    ourBaseKeyPair,
    theirIdentityKey: bundle.identityKey,
    theirSignedPreKey: bundle.signedPreKey,
    theirOneTimePreKey: bundle.preKey ?? null,
    theirRatchetKey: bundle.signedPreKey,
  });
  state.pendingPreKey = {
    preKeyId: bundle.preKeyId ?? null,
    signedPreKeyId: bundle.signedPreKeyId,
    baseKey: ourBaseKeyPair.publicKey,
  };
  state.localRegistrationId = await stores.getLocalRegistrationId();
  state.remoteRegistrationId = bundle.registrationId;
  await stores.saveIdentity(address, bundle.identityKey);
  record.promoteState(state);
  await stores.storeSession(address, record);
}

/**
 * The responder's half: unless a state from this base key exists (a retransmission), builds a new
 * state from our prekeys and makes it current, archiving the old one (libsignal process_prekey).
 * Mutates only `record` (a copy). Returns the one-time prekey id to remove after decryption.
 * Throws UnknownSignedPreKeyError or UnknownPreKeyError.
 */
export async function processPreKeyMessage(
  message: PreKeySignalMessage,
  record: SessionRecord,
  stores: ProtocolStores,
): Promise<number | null> {
  if (record.promoteMatchingSession(message.version, message.baseKey)) return null;
  const signedPreKey = await stores.getSignedPreKey(message.signedPreKeyId);
  if (signedPreKey === undefined) throw new UnknownSignedPreKeyError(message.signedPreKeyId);
  let oneTimePreKey = null;
  if (message.preKeyId !== null) {
    oneTimePreKey = await stores.getPreKey(message.preKeyId);
    if (oneTimePreKey === undefined) throw new UnknownPreKeyError(message.preKeyId);
  }
  const state = initializeBobSession({
    ourIdentityKeyPair: await stores.getIdentityKeyPair(),
    ourSignedPreKeyPair: signedPreKey.keyPair,
    ourOneTimePreKeyPair: oneTimePreKey?.keyPair ?? null,
    ourRatchetKeyPair: signedPreKey.keyPair,
    theirIdentityKey: message.identityKey,
    theirBaseKey: message.baseKey,
  });
  state.localRegistrationId = await stores.getLocalRegistrationId();
  state.remoteRegistrationId = message.registrationId;
  record.promoteState(state);
  return message.preKeyId;
}
