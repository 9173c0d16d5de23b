// XEdDSA over Curve25519 keys exactly as libsignal signs and verifies (spec: Cryptography — XEdDSA
// signatures on prekeys; the Edwards sign bit travels in the top bit of the signature's last byte).
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { checkPublicKey, clampPrivateKey } from './curve.ts';

await sodium.ready;

export const SIGNATURE_LENGTH = 64;

const P = (1n << 255n) - 19n;
const HASH_PREFIX = new Uint8Array(32).fill(0xff);

// The Edwards public key A = a·B (and its sign bit) depends only on the private key: compute it once.
const edwardsPublic = new WeakMap<Uint8Array, Uint8Array>();
// Ed25519 verifying KeyObjects, keyed by Montgomery public key then by sign bit.
const verifyingKeys = new WeakMap<Uint8Array, (KeyObject | null)[]>();

function reduce64(bytes: Uint8Array): Uint8Array {
  return sodium.crypto_core_ed25519_scalar_reduce(bytes);
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/**
 * Signs `message` with a Curve25519 private key (libsignal's calculate_signature). `random` is the
 * 64-byte nonce input; it defaults to fresh random bytes and is a parameter only for known answers.
 */
export function xeddsaSign(
  privateKey: Uint8Array,
  message: Uint8Array,
  random: Uint8Array = randomBytes(64),
): Uint8Array {
  const a = clampPrivateKey(privateKey);
  let capA = edwardsPublic.get(privateKey);
  if (capA === undefined) {
    capA = sodium.crypto_scalarmult_ed25519_base_noclamp(a);
    edwardsPublic.set(privateKey, capA);
  }
  const r = reduce64(sha512(HASH_PREFIX, a, message, random));
  const capR = sodium.crypto_scalarmult_ed25519_base_noclamp(r);
  const h = reduce64(sha512(capR, capA, message));
  const wide = new Uint8Array(64);
  wide.set(a);
  const aReduced = reduce64(wide);
  const s = sodium.crypto_core_ed25519_scalar_add(
    sodium.crypto_core_ed25519_scalar_mul(h, aReduced),
    r,
  );
  const signature = new Uint8Array(SIGNATURE_LENGTH);
  signature.set(capR, 0);
  signature.set(s, 32);
  signature[63] = (signature[63]! & 0x7f) | (capA[31]! & 0x80);
  return signature;
}

function invert(value: bigint): bigint {
  let [r0, r1] = [P, value];
  let [s0, s1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % P) + P) % P;
}

/** Birational map u → y = (u − 1)/(u + 1), with the Edwards sign bit set; null where libsignal refuses. */
function montgomeryToEdwards(u32: Uint8Array, signBit: number): Uint8Array | null {
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(u32[i]!);
  u &= (1n << 255n) - 1n; // the field element ignores bit 255, as curve25519-dalek does
  u %= P;
  if (u === P - 1n) return null; // u = −1 has no Edwards image
  let y = (((u - 1n + P) % P) * invert((u + 1n) % P)) % P;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(y & 0xffn);
    y >>= 8n;
  }
  out[31] = out[31]! | (signBit << 7);
  return out;
}

function verifyingKey(publicKey: Uint8Array, signBit: number): KeyObject | null {
  let pair = verifyingKeys.get(publicKey);
  if (pair === undefined) {
    pair = [];
    verifyingKeys.set(publicKey, pair);
  }
  let key = pair[signBit];
  if (key === undefined) {
    const y = montgomeryToEdwards(publicKey.subarray(1), signBit);
    try {
      key =
        y === null
          ? null
          : createPublicKey({
              key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(y).toString('base64url') },
              format: 'jwk',
            });
    } catch {
      key = null;
    }
    pair[signBit] = key;
  }
  return key;
}

/**
 * Verifies an XEdDSA signature by a 33-byte Curve25519 public key (libsignal's verify_signature).
 * Returns false for any invalid signature; throws InvalidKeyError only for a malformed public key.
 * The check R = s·B − h·A is Ed25519's, run by node:crypto on the converted key; like Ed25519 it
 * refuses a non-canonical s (≥ ℓ), which libsignal would reduce — no honest signer produces one.
 */
export function xeddsaVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  checkPublicKey(publicKey);
  if (signature.length !== SIGNATURE_LENGTH) return false;
  const signBit = signature[63]! >> 7;
  const key = verifyingKey(publicKey, signBit);
  if (key === null) return false;
  const edSignature = Uint8Array.from(signature);
  edSignature[63] = edSignature[63]! & 0x7f;
  if ((edSignature[63]! & 0xe0) !== 0) return false;
  try {
    return verify(null, message, key, edSignature);
  } catch {
    return false;
  }
}
