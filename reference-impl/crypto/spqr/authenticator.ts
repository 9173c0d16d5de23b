// The braid's authenticator and epoch secrets (spec: Cryptography — SPQR braid; facts from
// SparsePostQuantumRatchet v1.5.3 src/authenticator.rs and src/v1/unchunked/): every header and
// every ciphertext is MACed under a key that both sides ratchet with each epoch's secret.
import { timingSafeEqual } from 'node:crypto';
import { hkdf, hmacSha256 } from '../kdf.ts';

const PREFIX = 'Signal_PQCKA_V1_MLKEM768';
const encoder = new TextEncoder();
const UPDATE_INFO = encoder.encode(`${PREFIX}:Authenticator Update`);
const HEADER_LABEL = encoder.encode(`${PREFIX}:ekheader`);
const CIPHERTEXT_LABEL = encoder.encode(`${PREFIX}:ciphertext`);
const EPOCH_SECRET_INFO = encoder.encode(`${PREFIX}:SCKA Key`);
const ZERO_SALT = new Uint8Array(32);

/** Bytes of a header or ciphertext MAC (HMAC-SHA256, untruncated). */
export const MAC_LENGTH = 32;

/** The authenticator's two keys; both 32 bytes and secret. */
export interface Authenticator {
  readonly rootKey: Uint8Array;
  readonly macKey: Uint8Array;
}

/** BE64(epoch) after `label`. Epochs stay below 2^53 here (they grow by one per round trip). */
function withEpoch(label: Uint8Array, epoch: number): Uint8Array {
  const out = new Uint8Array(label.length + 8);
  out.set(label, 0);
  new DataView(out.buffer).setBigUint64(label.length, BigInt(epoch));
  return out;
}

/**
 * The authenticator after mixing `key` in for `epoch`: HKDF(salt 0×32, root ‖ key,
 * "…:Authenticator Update" ‖ BE64(epoch), 64) = new root ‖ new MAC key.
 */
export function updateAuthenticator(
  auth: Authenticator,
  epoch: number,
  key: Uint8Array,
): Authenticator {
  const ikm = new Uint8Array(auth.rootKey.length + key.length);
  ikm.set(auth.rootKey, 0);
  ikm.set(key, auth.rootKey.length);
  const okm = hkdf(ikm, ZERO_SALT, withEpoch(UPDATE_INFO, epoch), 64);
  return { rootKey: okm.slice(0, 32), macKey: okm.slice(32, 64) };
}

/** The first authenticator of a session: zero keys updated with the SPQR key from PQXDH for epoch 1. */
export function initialAuthenticator(spqrKey: Uint8Array): Authenticator {
  return updateAuthenticator(
    { rootKey: new Uint8Array(32), macKey: new Uint8Array(32) },
    1,
    spqrKey,
  );
}

/** HMAC(MAC key, "…:ekheader" ‖ BE64(epoch) ‖ header). */
export function headerMac(auth: Authenticator, epoch: number, header: Uint8Array): Uint8Array {
  return hmacSha256(auth.macKey, withEpoch(HEADER_LABEL, epoch), header);
}

/** HMAC(MAC key, "…:ciphertext" ‖ BE64(epoch) ‖ ciphertext1 ‖ ciphertext2). */
export function ciphertextMac(
  auth: Authenticator,
  epoch: number,
  ciphertext: Uint8Array,
): Uint8Array {
  return hmacSha256(auth.macKey, withEpoch(CIPHERTEXT_LABEL, epoch), ciphertext);
}

/** Constant-time comparison of a received MAC with the expected one. */
export function macMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** The epoch secret from an ML-KEM shared secret: HKDF(salt 0×32, ss, "…:SCKA Key" ‖ BE64(epoch), 32). */
export function epochSecret(sharedSecret: Uint8Array, epoch: number): Uint8Array {
  return hkdf(sharedSecret, ZERO_SALT, withEpoch(EPOCH_SECRET_INFO, epoch), 32);
}
