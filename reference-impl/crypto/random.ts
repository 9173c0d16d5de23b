// Fresh randomness for private keys, KEM seeds and signature nonces (spec: Cryptography), from
// node:crypto's CSPRNG through a small pool: one randomFillSync per POOL_SIZE bytes instead of one
// call into OpenSSL per 32-byte key, each of which costs several microseconds (a session set-up
// draws four times on its timed path). Bytes are copied out and wiped from the pool as they are
// handed out, so the pool holds only bytes no caller has seen; OpenSSL's DRBG state, from which
// all future output follows, sits in the same process memory anyway.
import { randomFillSync } from 'node:crypto';

/** 1 KiB: 32 X25519 keys per refill. */
const POOL_SIZE = 1024;
/** Larger requests bypass the pool. */
const MAX_POOLED = 128;

const pool = new Uint8Array(POOL_SIZE);
let position = POOL_SIZE;

/** `length` bytes from the CSPRNG, in a new array of their own. */
export function randomSecret(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`random length must be a non-negative integer, got ${length}`);
  }
  if (length > MAX_POOLED) return randomFillSync(new Uint8Array(length));
  if (position + length > POOL_SIZE) {
    randomFillSync(pool);
    position = 0;
  }
  const out = pool.slice(position, position + length);
  pool.fill(0, position, position + length);
  position += length;
  return out;
}
