// Prekey management: the `keys.publish` payload, one-time prekey replenishment and signed prekey
// rotation, with key ids that never repeat (spec/keys.md KEYS-008, KEYS-009, KEYS-010, KEYS-023).
import { generatePreKeys, generateSignedPreKey, type SignedPreKeyRecord } from '../crypto/index.ts';
import type { KeysPublishFrame } from '../../schemas/frames/index.ts';
import type { RequestBody } from './connection.ts';
import type { ClientStore } from './store.ts';

/** Replace the signed prekey when it is older than this (KEYS-009). */
export const SIGNED_PREKEY_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** One-time prekeys generated for a first publish (Signal's batch size). */
export const INITIAL_PREKEY_BATCH = 100;

/** Key ids stay within libsignal's 24-bit prekey id space. */
const MAX_KEY_ID = 0xff_ffff;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function wrap(id: number): number {
  return ((id - 1) % MAX_KEY_ID) + 1;
}

/** The newest signed prekey, creating (and storing) one when none exists or it is too old. */
export async function currentSignedPreKey(
  store: ClientStore,
  now: number = Date.now(),
): Promise<{ record: SignedPreKeyRecord; rotated: boolean }> {
  const all = await store.listSignedPreKeys();
  const newest = all.at(-1);
  if (newest !== undefined && now - newest.timestamp < SIGNED_PREKEY_MAX_AGE_MS) {
    return { record: newest, rotated: false };
  }
  const keyId = await store.getCounter('nextSignedPreKeyId');
  const record = generateSignedPreKey(await store.getIdentityKeyPair(), keyId, now);
  await store.saveSignedPreKey(keyId, record);
  await store.setCounter('nextSignedPreKeyId', wrap(keyId + 1));
  return { record, rotated: true };
}

/**
 * Drops replaced signed prekeys once `retainMs` (the provider's queue TTL) has passed since their
 * successor was created, so queued messages to them stay decryptable (KEYS-010).
 */
export async function pruneSignedPreKeys(
  store: ClientStore,
  retainMs: number,
  now: number = Date.now(),
): Promise<void> {
  const all = await store.listSignedPreKeys();
  for (let i = 0; i + 1 < all.length; i++) {
    if (now - all[i + 1]!.timestamp > retainMs) await store.removeSignedPreKey(all[i]!.keyId);
  }
}

/** Generates and stores `count` fresh one-time prekeys with ids never used before (KEYS-008). */
export async function newOneTimePreKeys(
  store: ClientStore,
  count: number,
): Promise<KeysPublishFrame['oneTimePreKeys']> {
  if (count <= 0) return [];
  const start = await store.getCounter('nextPreKeyId');
  const records = generatePreKeys(start, count);
  for (const record of records) await store.savePreKey(record.keyId, record);
  await store.setCounter('nextPreKeyId', wrap(start + count));
  return records.map((r) => ({ keyId: r.keyId, publicKey: b64(r.keyPair.publicKey) }));
}

/** A `keys.publish` body: the identity key, the current signed prekey and `oneTimePreKeys`. */
export async function publishBody(
  store: ClientStore,
  signedPreKey: SignedPreKeyRecord,
  oneTimePreKeys: KeysPublishFrame['oneTimePreKeys'],
): Promise<RequestBody<'keys.publish'>> {
  const identity = await store.getIdentityKeyPair();
  return {
    type: 'keys.publish',
    identityKey: b64(identity.publicKey),
    signedPreKey: {
      keyId: signedPreKey.keyId,
      publicKey: b64(signedPreKey.keyPair.publicKey),
      signature: b64(signedPreKey.signature),
    },
    oneTimePreKeys,
  };
}
