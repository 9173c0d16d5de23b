// Prekey management: the `keys.publish` payload, one-time prekey and one-time Kyber prekey
// replenishment, signed prekey and last-resort Kyber prekey rotation, with key ids that never
// repeat (spec/keys.md KEYS-008..010, KEYS-023, KEYS-026, KEYS-027).
import {
  generateKyberPreKey,
  generatePreKeys,
  generateSignedPreKey,
  type KyberPreKeyRecord,
  type SignedPreKeyRecord,
} from '../crypto/index.ts';
import type { KeysPublishFrame, KyberPreKey } from '../../schemas/frames/index.ts';
import type { RequestBody } from './connection.ts';
import type { ClientStore } from './store.ts';

/** Replace the signed prekey when it is older than this (KEYS-009). */
export const SIGNED_PREKEY_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** Replace the last-resort Kyber prekey when it is older than this (KEYS-027). */
export const KYBER_PREKEY_MAX_AGE_MS = SIGNED_PREKEY_MAX_AGE_MS;

/** One-time prekeys (of each kind) generated for a first publish (Signal's batch size). */
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

/**
 * The newest last-resort Kyber prekey, creating (and storing) one when none exists or it is too
 * old (KEYS-027); a store written before PQXDH has none.
 */
export async function currentLastResortKyberPreKey(
  store: ClientStore,
  now: number = Date.now(),
): Promise<{ record: KyberPreKeyRecord; rotated: boolean }> {
  const newest = (await store.listLastResortKyberPreKeys()).at(-1);
  if (newest !== undefined && now - newest.timestamp < KYBER_PREKEY_MAX_AGE_MS) {
    return { record: newest, rotated: false };
  }
  const keyId = await store.getCounter('nextKyberPreKeyId');
  const record = generateKyberPreKey(await store.getIdentityKeyPair(), keyId, now);
  await store.saveKyberPreKey(keyId, record, { lastResort: true });
  await store.setCounter('nextKyberPreKeyId', wrap(keyId + 1));
  return { record, rotated: true };
}

/**
 * Drops replaced last-resort Kyber prekeys once `retainMs` (the provider's queue TTL) has passed
 * since their successor was created, so that queued first messages to them stay decryptable.
 */
export async function pruneLastResortKyberPreKeys(
  store: ClientStore,
  retainMs: number,
  now: number = Date.now(),
): Promise<void> {
  const all = await store.listLastResortKyberPreKeys();
  for (let i = 0; i + 1 < all.length; i++) {
    if (now - all[i + 1]!.timestamp > retainMs) await store.removeKyberPreKey(all[i]!.keyId);
  }
}

/** A Kyber prekey as `keys.publish` carries it. */
export function kyberPreKeyFrame(record: KyberPreKeyRecord): KyberPreKey {
  return {
    keyId: record.keyId,
    publicKey: b64(record.keyPair.publicKey),
    signature: b64(record.signature),
  };
}

/**
 * Generates and stores `count` fresh one-time Kyber prekeys, signed by the identity key, with ids
 * never used before in the device's one Kyber id space (KEYS-026).
 */
export async function newOneTimeKyberPreKeys(
  store: ClientStore,
  count: number,
  now: number = Date.now(),
): Promise<KyberPreKey[]> {
  if (count <= 0) return [];
  const identity = await store.getIdentityKeyPair();
  const start = await store.getCounter('nextKyberPreKeyId');
  const out: KyberPreKey[] = [];
  for (let i = 0; i < count; i++) {
    const record = generateKyberPreKey(identity, wrap(start + i), now);
    await store.saveKyberPreKey(record.keyId, record);
    out.push(kyberPreKeyFrame(record));
  }
  await store.setCounter('nextKyberPreKeyId', wrap(start + count));
  return out;
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

/**
 * A `keys.publish` body: the identity key, the current signed prekey, `oneTimePreKeys`, the current
 * last-resort Kyber prekey and `oneTimeKyberPreKeys`.
 */
export async function publishBody(
  store: ClientStore,
  signedPreKey: SignedPreKeyRecord,
  oneTimePreKeys: KeysPublishFrame['oneTimePreKeys'],
  lastResortKyberPreKey: KyberPreKeyRecord,
  oneTimeKyberPreKeys: KyberPreKey[],
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
    lastResortKyberPreKey: kyberPreKeyFrame(lastResortKyberPreKey),
    oneTimeKyberPreKeys,
  };
}
