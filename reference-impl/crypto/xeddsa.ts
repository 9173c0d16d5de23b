// XEdDSA over Curve25519 keys exactly as libsignal signs and verifies (spec: Cryptography — XEdDSA
// signatures on prekeys; the Edwards sign bit travels in the top bit of the signature's last byte).
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { checkPublicKey, clampPrivateKey, montgomeryToEdwards } from './curve.ts';
import { randomSecret } from './random.ts';

await sodium.ready;

export const SIGNATURE_LENGTH = 64;

// XEdDSA's hash_1 prefix: 2^256 − 2 − 1 little-endian = 0xFE ‖ 0xFF×31 (libsignal calculate_signature);
// 0xFF×32 is the key-agreement discontinuity, a different domain.
const HASH_PREFIX = new Uint8Array(32).fill(0xff);
HASH_PREFIX[0] = 0xfe;
/** The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const ORDER = Buffer.from(
  'edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010',
  'hex',
);

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
  random: Uint8Array = randomSecret(64),
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

/** s < ℓ, comparing little-endian from the top byte (signatures are public: no constant time needed). */
function lessThanOrder(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! !== ORDER[i]!) return s[i]! < ORDER[i]!;
  }
  return false;
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
 * The check R = s·B − h·A is Ed25519's, run by node:crypto on the converted key. Like libsignal
 * (curve25519-dalek's Scalar::from_bytes_mod_order), an `s` with its top three bits clear but not
 * reduced (ℓ ≤ s < 2^253) is reduced mod ℓ before the check, where Ed25519 alone would refuse it;
 * an `s` with any of the top three bits set is refused.
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
  if (!lessThanOrder(edSignature.subarray(32))) {
    const wide = new Uint8Array(64);
    wide.set(edSignature.subarray(32));
    edSignature.set(reduce64(wide), 32);
  }
  try {
    return verify(null, message, key, edSignature);
  } catch {
    return false;
  }
}
