// HKDF-SHA256 (RFC 5869) and HMAC-SHA256 (spec: Cryptography — PQXDH, ratchet and SPQR chain KDFs), on
// libsodium's HMAC-SHA256. Every Signal KDF input is a few dozen bytes, where the cost is the call
// itself: libsodium's WASM HMAC takes about 60 % of the CPU time of node:crypto's createHmac, and
// HKDF built on it about half of hkdfSync's (which wraps its key in a KeyObject on every call).
import sodium from 'libsodium-wrappers-sumo';

await sodium.ready;

const HASH_LENGTH = 32;
const ZERO_SALT = new Uint8Array(HASH_LENGTH);
/** RFC 5869 §2.3: at most 255 blocks of output. */
const MAX_OUTPUT_LENGTH = 255 * HASH_LENGTH;

const encoder = new TextEncoder();
// HKDF labels are a handful of constants: each is encoded once (a bounded cache, as hkdf is public).
const encodedLabels = new Map<string, Uint8Array>();
const MAX_CACHED_LABELS = 32;

function labelBytes(info: string): Uint8Array {
  let bytes = encodedLabels.get(info);
  if (bytes === undefined) {
    bytes = encoder.encode(info);
    if (encodedLabels.size < MAX_CACHED_LABELS) encodedLabels.set(info, bytes);
  }
  return bytes;
}

/** HMAC-SHA256(key, data₁ ‖ data₂ ‖ …), a key of any length. */
export function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const state = sodium.crypto_auth_hmacsha256_init(key);
  for (const part of data) if (part.length > 0) sodium.crypto_auth_hmacsha256_update(state, part);
  return sodium.crypto_auth_hmacsha256_final(state);
}

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
  if (!Number.isInteger(length) || length < 1 || length > MAX_OUTPUT_LENGTH) {
    throw new RangeError(`HKDF output length must be 1..${MAX_OUTPUT_LENGTH}, got ${length}`);
  }
  const infoBytes = typeof info === 'string' ? labelBytes(info) : info;
  const pseudoRandomKey = hmacSha256(salt ?? ZERO_SALT, inputKeyMaterial);
  const output = new Uint8Array(length);
  let block: Uint8Array = new Uint8Array(0);
  for (let counter = 1, offset = 0; offset < length; counter++, offset += HASH_LENGTH) {
    block = hmacSha256(pseudoRandomKey, block, infoBytes, Uint8Array.of(counter));
    output.set(block.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset);
  }
  return output;
}
