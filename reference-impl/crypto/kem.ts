// libsignal's typed KEM keys (spec: Cryptography — PQXDH; libsignal kem.rs): a key or ciphertext is
// its type byte 0x08 (round-3 CRYSTALS-Kyber-1024, not FIPS 203 ML-KEM) followed by the raw bytes.
// The lattice arithmetic lives in kem/kyber1024.ts; this module only frames and checks.
import { InvalidKeyError, InvalidMessageError } from './errors.ts';
import * as kyber1024 from './kem/kyber1024.ts';
import {
  KYBER1024_CIPHERTEXT_LENGTH,
  KYBER1024_PUBLIC_KEY_LENGTH,
  KYBER1024_SECRET_KEY_LENGTH,
} from './limits.ts';

/** libsignal's KeyType::Kyber1024. Other KEM types (0x0A ML-KEM-1024) are refused, as 0.103.0's npm build does. */
export const KYBER1024_TYPE = 0x08;
export const KYBER_PUBLIC_KEY_LENGTH = 1 + KYBER1024_PUBLIC_KEY_LENGTH;
export const KYBER_SECRET_KEY_LENGTH = 1 + KYBER1024_SECRET_KEY_LENGTH;
export const KYBER_CIPHERTEXT_LENGTH = 1 + KYBER1024_CIPHERTEXT_LENGTH;

/** A Kyber-1024 key pair in libsignal's serialisation: publicKey 1569 bytes, secretKey 3169 bytes, both 0x08-prefixed. */
export interface KyberKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

function typed(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + raw.length);
  out[0] = KYBER1024_TYPE;
  out.set(raw, 1);
  return out;
}

/** A fresh Kyber-1024 key pair (random unless a 64-byte seed is given, for known answers). */
export function generateKyberKeyPair(seed?: Uint8Array): KyberKeyPair {
  const pair = kyber1024.generateKeyPair(seed);
  return { publicKey: typed(pair.publicKey), secretKey: typed(pair.secretKey) };
}

/** Checks a 0x08-typed public key (1569 bytes) and returns it. Throws InvalidKeyError. */
export function checkKyberPublicKey(key: Uint8Array): Uint8Array {
  if (key.length === 0 || key[0] !== KYBER1024_TYPE) {
    throw new InvalidKeyError(`unknown KEM key type ${key[0] ?? 'none'} (only 0x08 Kyber-1024)`);
  }
  if (key.length !== KYBER_PUBLIC_KEY_LENGTH) {
    throw new InvalidKeyError(
      `Kyber public key must be ${KYBER_PUBLIC_KEY_LENGTH} bytes, got ${key.length}`,
    );
  }
  return key;
}

/** Checks a 0x08-typed secret key (3169 bytes) and returns it. Throws InvalidKeyError. */
export function checkKyberSecretKey(key: Uint8Array): Uint8Array {
  if (key.length !== KYBER_SECRET_KEY_LENGTH || key[0] !== KYBER1024_TYPE) {
    throw new InvalidKeyError(
      `Kyber secret key must be 0x08 ‖ ${KYBER1024_SECRET_KEY_LENGTH} bytes`,
    );
  }
  return key;
}

/** Encapsulates to a typed public key: a typed ciphertext (1569 bytes) and the 32-byte shared secret. */
export function kyberEncapsulate(publicKey: Uint8Array): {
  ciphertext: Uint8Array;
  sharedSecret: Uint8Array;
} {
  checkKyberPublicKey(publicKey);
  const result = kyber1024.encapsulate(publicKey.subarray(1));
  return { ciphertext: typed(result.ciphertext), sharedSecret: result.sharedSecret };
}

/**
 * Decapsulates a typed ciphertext with a typed secret key. A wrong type byte or length is an
 * InvalidMessageError (the ciphertext comes from the wire); a wrong but well-formed ciphertext
 * yields Kyber's implicit-rejection secret, which makes the first MAC fail.
 */
export function kyberDecapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkKyberSecretKey(secretKey);
  if (ciphertext.length !== KYBER_CIPHERTEXT_LENGTH || ciphertext[0] !== KYBER1024_TYPE) {
    throw new InvalidMessageError(
      `Kyber ciphertext must be 0x08 ‖ ${KYBER1024_CIPHERTEXT_LENGTH} bytes, got ${ciphertext.length} bytes of type ${ciphertext[0] ?? 'none'}`,
    );
  }
  return kyber1024.decapsulate(ciphertext.subarray(1), secretKey.subarray(1));
}
