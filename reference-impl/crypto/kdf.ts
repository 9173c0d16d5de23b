// HKDF-SHA256 (RFC 5869) and HMAC-SHA256 on node:crypto (spec: Cryptography — X3DH and ratchet KDFs).
import { createHmac, hkdfSync } from 'node:crypto';

const ZERO_SALT = new Uint8Array(32);

/**
 * HKDF-SHA256: extract with `salt` (a missing salt is HashLen zero bytes, RFC 5869 §2.2 — the same
 * as libsignal's `None`), then expand to `length` bytes with `info`.
 */
export function hkdf(
  inputKeyMaterial: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array | string,
  length: number,
): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', inputKeyMaterial, salt ?? ZERO_SALT, info, length));
}

/** HMAC-SHA256(key, data). */
export function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const hmac = createHmac('sha256', key);
  for (const part of data) hmac.update(part);
  return hmac.digest();
}
