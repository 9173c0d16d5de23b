// CRYSTALS-Kyber-1024 as submitted to NIST round 3 (Kyber specification v3.02 §1.3, Algorithms 7–9):
// the KEM of libsignal's key type 0x08 (PQXDH), which is NOT FIPS 203 ML-KEM-1024.
//
// Round 3 differs from FIPS 203 in four places, each checked against libsignal v0.101.0
// (rust/protocol/src/kem/kyber1024.rs → libcrux-ml-kem's `kyber1024`, its `Kyber` variant) and
// against crystals-kyber@5.1.0:
//   - key generation expands (ρ, σ) = G(d), without FIPS 203's appended byte k;
//   - encapsulation hashes its coins first: m = H(coins), then (K̄, r) = G(m ‖ H(pk));
//   - the shared secret is KDF(K̄ ‖ H(c)) with KDF = SHAKE-256 to 32 bytes, not K̄ itself;
//   - on a ciphertext that does not re-encrypt, libcrux's Rust code (so libsignal) returns
//     KDF(J(z ‖ c) ‖ H(c)) with J = SHAKE-256 to 32 bytes (libcrux-ml-kem ind_cca.rs decapsulate
//     with variant.rs Kyber::kdf, the same from 0.0.2, libsignal 0.72, to today's). The round-3
//     specification, its reference code, crystals-kyber and libcrux's own Python model
//     (tests/kats/kyber.py) return KDF(z ‖ H(c)) instead. Parley follows libsignal. The two
//     differ only for ciphertexts that fail re-encryption, whose secret no one without z can
//     compute, so interoperability is unaffected either way.
// Like libsignal (and libcrux, crystals-kyber, the round-3 reference), encapsulation checks only
// the public key's length: a 12-bit coefficient ≥ q is used as its residue mod q (no FIPS 203 §7.2
// modulus check), and H(pk) hashes the bytes as received.
//
// Keys and ciphertexts are raw bytes without libsignal's 0x08 type byte: the crypto core adds it
// when it serialises keys. Secret key layout: dk_PKE (1536) ‖ pk (1568) ‖ H(pk) (32) ‖ z (32).
import { randomSecret } from '../random.ts';
import {
  checkCiphertextLength,
  checkKeyLength,
  checkSeed,
  equalMask,
  G,
  H,
  select,
  shake256To32,
} from './kem-common.ts';
import { PARAMS_1024, sizesOf, SYM_BYTES } from './params.ts';
import { pkeDecrypt, pkeEncrypt, pkeKeyGen } from './pke.ts';

const SIZES = sizesOf(PARAMS_1024);

/** Bytes of a Kyber-1024 public key (without libsignal's type byte). */
export const PUBLIC_KEY_LENGTH = SIZES.publicKey; // 1568
/** Bytes of a Kyber-1024 secret key. */
export const SECRET_KEY_LENGTH = SIZES.secretKey; // 3168
/** Bytes of a Kyber-1024 ciphertext. */
export const CIPHERTEXT_LENGTH = SIZES.ciphertext; // 1568
/** Bytes of the shared secret. */
export const SHARED_SECRET_LENGTH = SYM_BYTES; // 32
/** Bytes of the key-generation seed d ‖ z. */
export const KEYGEN_SEED_LENGTH = 2 * SYM_BYTES;
/** Bytes of the encapsulation coins (hashed into m). */
export const ENCAPSULATION_COINS_LENGTH = SYM_BYTES;

export interface KeyPair {
  /** 1 568 bytes: ByteEncode_12(t̂) ‖ ρ. */
  publicKey: Uint8Array;
  /** 3 168 bytes; secret. */
  secretKey: Uint8Array;
}

export interface Encapsulation {
  /** 1 568 bytes: Compress_11(u) ‖ Compress_5(v). */
  ciphertext: Uint8Array;
  /** 32 bytes; secret. */
  sharedSecret: Uint8Array;
}

/**
 * A Kyber-1024 key pair (round-3 KeyGen). `seed` (64 bytes, d ‖ z) makes it deterministic, for
 * known-answer tests only; without it the randomness comes from node:crypto.
 * @throws RangeError when a seed is given and is not 64 bytes.
 */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  checkSeed(seed, KEYGEN_SEED_LENGTH, 'Kyber-1024 key generation seed');
  const randomness = seed ?? randomSecret(KEYGEN_SEED_LENGTH);
  const d = randomness.subarray(0, SYM_BYTES);
  const z = randomness.subarray(SYM_BYTES, 2 * SYM_BYTES);
  const [rho, sigma] = G(d);
  const { ek, dk } = pkeKeyGen(PARAMS_1024, rho, sigma);
  const secretKey = new Uint8Array(SECRET_KEY_LENGTH);
  secretKey.set(dk, 0);
  secretKey.set(ek, dk.length);
  secretKey.set(H(ek), dk.length + ek.length);
  secretKey.set(z, dk.length + ek.length + SYM_BYTES);
  dk.fill(0);
  sigma.fill(0);
  if (seed === undefined) randomness.fill(0);
  return { publicKey: ek, secretKey };
}

/**
 * Encapsulates a fresh shared secret to `publicKey` (round-3 Enc). `coins` (32 bytes) makes it
 * deterministic, for known-answer tests only.
 * @throws InvalidKeyError when the public key is not 1 568 bytes.
 * @throws RangeError when coins are given and are not 32 bytes.
 */
export function encapsulate(publicKey: Uint8Array, coins?: Uint8Array): Encapsulation {
  checkKeyLength(publicKey, PUBLIC_KEY_LENGTH, 'Kyber-1024 public key');
  checkSeed(coins, ENCAPSULATION_COINS_LENGTH, 'Kyber-1024 encapsulation coins');
  const randomness = coins ?? randomSecret(ENCAPSULATION_COINS_LENGTH);
  const m = H(randomness);
  if (coins === undefined) randomness.fill(0);
  const [kBar, r] = G(m, H(publicKey));
  const ciphertext = pkeEncrypt(PARAMS_1024, publicKey, m, r);
  const sharedSecret = shake256To32(kBar, H(ciphertext));
  m.fill(0);
  kBar.fill(0);
  r.fill(0);
  return { ciphertext, sharedSecret };
}

/**
 * The shared secret of `ciphertext` under `secretKey` (round-3 Dec with implicit rejection as
 * libsignal computes it: a ciphertext that does not re-encrypt yields KDF(J(z ‖ c) ‖ H(c)), a
 * pseudorandom value, never an error). The choice is made by masks, not by a branch.
 * @throws InvalidMessageError when the ciphertext is not 1 568 bytes.
 * @throws InvalidKeyError when the secret key is not 3 168 bytes.
 */
export function decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkCiphertextLength(ciphertext, CIPHERTEXT_LENGTH, 'Kyber-1024 ciphertext');
  checkKeyLength(secretKey, SECRET_KEY_LENGTH, 'Kyber-1024 secret key');
  const dkEnd = SIZES.pkeSecretKey;
  const pkEnd = dkEnd + PUBLIC_KEY_LENGTH;
  const dk = secretKey.subarray(0, dkEnd);
  const pk = secretKey.subarray(dkEnd, pkEnd);
  const pkHash = secretKey.subarray(pkEnd, pkEnd + SYM_BYTES);
  const z = secretKey.subarray(pkEnd + SYM_BYTES, pkEnd + 2 * SYM_BYTES);
  const m = pkeDecrypt(PARAMS_1024, dk, ciphertext);
  const [kBar, r] = G(m, pkHash);
  const reencrypted = pkeEncrypt(PARAMS_1024, pk, m, r);
  const rejection = shake256To32(z, ciphertext);
  const chosen = select(kBar, rejection, equalMask(ciphertext, reencrypted));
  const sharedSecret = shake256To32(chosen, H(ciphertext));
  m.fill(0);
  kBar.fill(0);
  r.fill(0);
  rejection.fill(0);
  chosen.fill(0);
  return sharedSecret;
}
