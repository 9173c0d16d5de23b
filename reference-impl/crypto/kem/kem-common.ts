// What both KEMs share around the lattice: the hash functions of FIPS 203 §4.1 (H, G, J and the
// round-3 KDF), length checks with the crypto core's error codes, constant-time compare and select.
import { sha3_256, sha3_512, shake256 } from '@noble/hashes/sha3.js';
import { InvalidKeyError, InvalidMessageError } from '../errors.ts';

/** H(s) = SHA3-256(s). */
export const H = (...parts: Uint8Array[]): Uint8Array => {
  const h = sha3_256.create();
  for (const part of parts) h.update(part);
  return h.digest();
};

/** G(s) = SHA3-512(s), split into its two 32-byte halves. */
export const G = (...parts: Uint8Array[]): [Uint8Array, Uint8Array] => {
  const h = sha3_512.create();
  for (const part of parts) h.update(part);
  const out = h.digest();
  return [out.subarray(0, 32), out.subarray(32, 64)];
};

/** SHAKE-256(s) truncated to 32 bytes: FIPS 203's J, and round-3 Kyber's KDF. */
export const shake256To32 = (...parts: Uint8Array[]): Uint8Array => {
  const h = shake256.create({ dkLen: 32 });
  for (const part of parts) h.update(part);
  return h.digest();
};

/** Throws InvalidKeyError unless `key` is a Uint8Array of exactly `length` bytes. */
export function checkKeyLength(
  key: unknown,
  length: number,
  what: string,
): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new InvalidKeyError(
      `${what} must be ${length} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`,
    );
  }
}

/** Throws InvalidMessageError unless `ciphertext` is a Uint8Array of exactly `length` bytes. */
export function checkCiphertextLength(
  ciphertext: unknown,
  length: number,
  what = 'ciphertext',
): asserts ciphertext is Uint8Array {
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== length) {
    throw new InvalidMessageError(
      `${what} must be ${length} bytes, got ${ciphertext instanceof Uint8Array ? ciphertext.length : typeof ciphertext}`,
    );
  }
}

/** Throws RangeError unless test-only randomness is absent or exactly `length` bytes. */
export function checkSeed(seed: Uint8Array | undefined, length: number, what: string): void {
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== length)) {
    throw new RangeError(`${what} must be ${length} bytes`);
  }
}

/** 0xff when a and b (of equal length) are equal, else 0x00, reading every byte either way. */
export function equalMask(a: Uint8Array, b: Uint8Array): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  // diff in [0, 255]: diff - 1 is negative exactly when diff is 0.
  return ((diff - 1) >> 8) & 0xff;
}

/** mask 0xff → a, mask 0x00 → b, byte by byte without a branch. */
export function select(a: Uint8Array, b: Uint8Array, mask: number): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = b[i]! ^ (mask & (a[i]! ^ b[i]!));
  return out;
}
