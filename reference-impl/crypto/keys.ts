// Identity keys, signed prekeys, one-time prekeys and registration ids (spec: Cryptography — keys;
// libsignal identity.rs / state/prekey.rs / state/signed_prekey.rs).
import { randomInt } from 'node:crypto';
import { checkPublicKey, generateKeyPair, keyPairFromPrivate, type KeyPair } from './curve.ts';
import { InvalidKeyError } from './errors.ts';
import { generateKyberKeyPair, type KyberKeyPair } from './kem.ts';
import { MAX_PREKEY_ID, MAX_REGISTRATION_ID } from './limits.ts';
import { xeddsaSign, xeddsaVerify } from './xeddsa.ts';

/** A long-term identity key pair: publicKey 33 bytes (0x05 ‖ 32), privateKey 32 clamped bytes. */
export class IdentityKeyPair implements KeyPair {
  private constructor(
    readonly publicKey: Uint8Array,
    readonly privateKey: Uint8Array,
  ) {}

  /** A fresh random identity. */
  static generate(): IdentityKeyPair {
    const pair = generateKeyPair();
    return new IdentityKeyPair(pair.publicKey, pair.privateKey);
  }

  /** Loads a 32-byte private key, clamping it as libsignal does. Throws InvalidKeyError. */
  static fromPrivateKey(privateKey: Uint8Array): IdentityKeyPair {
    const pair = keyPairFromPrivate(privateKey);
    return new IdentityKeyPair(pair.publicKey, pair.privateKey);
  }

  /** XEdDSA signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array {
    return xeddsaSign(this.privateKey, message);
  }

  /** Verifies an XEdDSA signature made by this identity. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return xeddsaVerify(this.publicKey, message, signature);
  }
}

/** Verifies an XEdDSA signature under any 33-byte public key. Throws InvalidKeyError for a malformed key. */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return xeddsaVerify(publicKey, message, signature);
}

/** A one-time prekey as its owner stores it. */
export interface PreKeyRecord {
  readonly keyId: number;
  readonly keyPair: KeyPair;
}

/** A signed prekey as its owner stores it; `signature` is XEdDSA by the identity over the 33-byte public key. */
export interface SignedPreKeyRecord {
  readonly keyId: number;
  readonly keyPair: KeyPair;
  readonly signature: Uint8Array;
  readonly timestamp: number;
}

/**
 * A signed Kyber prekey as its owner stores it (libsignal KyberPreKeyRecord): the key pair in its
 * 0x08-prefixed serialisations, and `signature`, XEdDSA by the identity over the 1569-byte public key.
 * Whether it is one-time or last-resort is the store's business (KyberPreKeyStore).
 */
export interface KyberPreKeyRecord {
  readonly keyId: number;
  readonly keyPair: KyberKeyPair;
  readonly signature: Uint8Array;
  readonly timestamp: number;
}

function checkKeyId(keyId: number): void {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_PREKEY_ID) {
    throw new InvalidKeyError(`prekey id ${keyId} outside 0..${MAX_PREKEY_ID}`);
  }
}

/** A random registration id in 1..16380 (libsignal's range). */
export function generateRegistrationId(): number {
  return randomInt(1, MAX_REGISTRATION_ID + 1);
}

/** A fresh signed prekey: the identity signs the serialised (0x05-prefixed) public key. */
export function generateSignedPreKey(
  identityKeyPair: IdentityKeyPair,
  keyId: number,
  timestamp: number = Date.now(),
): SignedPreKeyRecord {
  checkKeyId(keyId);
  const keyPair = generateKeyPair();
  return { keyId, keyPair, signature: identityKeyPair.sign(keyPair.publicKey), timestamp };
}

/** A fresh signed Kyber-1024 prekey: the identity signs the serialised (0x08-prefixed) public key. */
export function generateKyberPreKey(
  identityKeyPair: IdentityKeyPair,
  keyId: number,
  timestamp: number = Date.now(),
): KyberPreKeyRecord {
  checkKeyId(keyId);
  const keyPair = generateKyberKeyPair();
  return { keyId, keyPair, signature: identityKeyPair.sign(keyPair.publicKey), timestamp };
}

/** `count` one-time prekeys with consecutive ids from `startId`, wrapping within 1..MAX_PREKEY_ID. */
export function generatePreKeys(startId: number, count: number): PreKeyRecord[] {
  checkKeyId(startId);
  const records: PreKeyRecord[] = [];
  for (let i = 0; i < count; i++) {
    const keyId = ((startId - 1 + i) % MAX_PREKEY_ID) + 1;
    records.push({ keyId, keyPair: generateKeyPair() });
  }
  return records;
}

/** Rebuilds a stored key pair from its private half (checking a stored public half if given). */
export function loadKeyPair(privateKey: Uint8Array, publicKey?: Uint8Array): KeyPair {
  const pair = keyPairFromPrivate(privateKey);
  if (publicKey !== undefined) {
    checkPublicKey(publicKey);
    if (Buffer.compare(publicKey, pair.publicKey) !== 0) {
      throw new InvalidKeyError('public key does not match private key');
    }
  }
  return pair;
}
