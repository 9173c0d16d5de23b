// FIPS 203 ML-KEM-768 (§6–§7, with the key checks of §7.2 and §7.3) and the incremental split the
// SPQR braid sends its keys and ciphertexts in (SparsePostQuantumRatchet v1.5.3, incremental_mlkem768.rs).
//
// The split, as read in SPQR v1.5.3 (src/incremental_mlkem768.rs) and the libcrux-ml-kem incremental
// API it calls (libcrux-ml-kem/src/ind_cca/incremental.rs, incremental/types.rs, mlkem.rs):
//   - the key pair is the ordinary ML-KEM-768 key pair from d ‖ z; dk is the 2 400-byte FIPS 203 dk;
//   - header (pk1, 64 bytes) = ρ ‖ H(ek); encapsulation-key vector (pk2, 1 152 bytes) = ByteEncode_12(t̂),
//     so ek = vector ‖ ρ; a vector matches a header when H(vector ‖ ρ) equals the header's hash
//     and the vector passes the modulus check (libcrux validate_pk_bytes);
//   - encapsulate1 needs only the header: (K, r) = G(m ‖ H(ek)), ciphertext1 (960 bytes) =
//     Compress_10(u); K is the shared secret; encapsulate2 needs the vector: ciphertext2
//     (128 bytes) = Compress_4(v); ciphertext1 ‖ ciphertext2 is the FIPS 203 ciphertext, which
//     decapsulation takes whole.
// That the two parts join into exactly the FIPS 203 ciphertext and secret is tested against
// @noble/post-quantum's ml_kem768. Not reproduced: libcrux's 2 080-byte encapsulation state (r̂, e2,
// m as little-endian int16s); it never leaves the encapsulating party, and ours is 128 bytes.
import { randomBytes } from 'node:crypto';
import { InvalidKeyError } from '../errors.ts';
import { isCanonical } from './encoding.ts';
import { mlKem, type MlKemEncapsulation, type MlKemKeyPair } from './fips203.ts';
import { checkKeyLength, checkSeed, equalMask, G, H } from './kem-common.ts';
import { PARAMS_768, SYM_BYTES } from './params.ts';
import { encryptionNoise, encryptU, encryptV } from './pke.ts';

export type { MlKemEncapsulation, MlKemKeyPair };

const kem = mlKem(PARAMS_768, 'ML-KEM-768');
const { sizes } = kem;

/** Bytes of an encapsulation key ek = t̂ ‖ ρ. */
export const ENCAPSULATION_KEY_LENGTH = sizes.publicKey; // 1184
/** Bytes of a decapsulation key dk = dk_PKE ‖ ek ‖ H(ek) ‖ z. */
export const DECAPSULATION_KEY_LENGTH = sizes.secretKey; // 2400
/** Bytes of a ciphertext c = ciphertext1 ‖ ciphertext2. */
export const CIPHERTEXT_LENGTH = sizes.ciphertext; // 1088
/** Bytes of a shared secret. */
export const SHARED_SECRET_LENGTH = SYM_BYTES;
/** Bytes of the header ρ ‖ H(ek) that starts an incremental encapsulation. */
export const HEADER_LENGTH = 2 * SYM_BYTES; // 64
/** Bytes of the encapsulation-key vector ByteEncode_12(t̂). */
export const ENCAPSULATION_KEY_VECTOR_LENGTH = sizes.vector; // 1152
/** Bytes of the first ciphertext part, Compress_10(u). */
export const CIPHERTEXT1_LENGTH = sizes.ciphertext1; // 960
/** Bytes of the second ciphertext part, Compress_4(v). */
export const CIPHERTEXT2_LENGTH = sizes.ciphertext2; // 128
/** Bytes of the state kept between the two encapsulation parts: m ‖ r ‖ header. */
export const ENCAPSULATION_STATE_LENGTH = 2 * SYM_BYTES + HEADER_LENGTH; // 128

/**
 * An ML-KEM-768 key pair. `seed` = d ‖ z (64 bytes) for known answers only.
 * @throws RangeError when a seed is given and is not 64 bytes.
 */
export const generateKeyPair: (seed?: Uint8Array) => MlKemKeyPair = kem.generateKeyPair;

/**
 * Encapsulates to `encapsulationKey` after the FIPS 203 §7.2 checks. `m` (32 bytes) for known
 * answers only.
 * @throws InvalidKeyError when the key is not 1 184 bytes or has a coefficient ≥ q.
 */
export const encapsulate: (encapsulationKey: Uint8Array, m?: Uint8Array) => MlKemEncapsulation =
  kem.encapsulate;

/**
 * The shared secret of `ciphertext` (1 088 bytes) after the §7.3 checks, with implicit rejection.
 * @throws InvalidMessageError when the ciphertext is not 1 088 bytes.
 * @throws InvalidKeyError when the key is not 2 400 bytes or its H(ek) does not match its ek.
 */
export const decapsulate: (ciphertext: Uint8Array, decapsulationKey: Uint8Array) => Uint8Array =
  kem.decapsulate;

/** FIPS 203 §7.2. @throws InvalidKeyError when the key fails the length or modulus check. */
export const checkEncapsulationKey: (encapsulationKey: Uint8Array) => void =
  kem.checkEncapsulationKey;

/** FIPS 203 §7.3. @throws InvalidKeyError when the key fails the length or hash check. */
export const checkDecapsulationKey: (decapsulationKey: Uint8Array) => void =
  kem.checkDecapsulationKey;

/**
 * The header of an encapsulation key: ρ ‖ H(ek), 64 bytes.
 * @throws InvalidKeyError when the key is not 1 184 bytes.
 */
export function header(encapsulationKey: Uint8Array): Uint8Array {
  checkKeyLength(encapsulationKey, ENCAPSULATION_KEY_LENGTH, 'ML-KEM-768 encapsulation key');
  const out = new Uint8Array(HEADER_LENGTH);
  out.set(encapsulationKey.subarray(sizes.vector), 0);
  out.set(H(encapsulationKey), SYM_BYTES);
  return out;
}

/**
 * The encapsulation-key vector of a key: ByteEncode_12(t̂), its first 1 152 bytes.
 * @throws InvalidKeyError when the key is not 1 184 bytes.
 */
export function encapsulationKeyVector(encapsulationKey: Uint8Array): Uint8Array {
  checkKeyLength(encapsulationKey, ENCAPSULATION_KEY_LENGTH, 'ML-KEM-768 encapsulation key');
  return encapsulationKey.slice(0, sizes.vector);
}

/**
 * True when `vector` completes `header` into a valid encapsulation key: H(vector ‖ ρ) is the
 * header's hash and every coefficient is below q. False for any other input, wrong lengths included.
 */
export function vectorMatchesHeader(headerBytes: Uint8Array, vector: Uint8Array): boolean {
  if (!(headerBytes instanceof Uint8Array) || headerBytes.length !== HEADER_LENGTH) return false;
  if (!(vector instanceof Uint8Array) || vector.length !== ENCAPSULATION_KEY_VECTOR_LENGTH) {
    return false;
  }
  const hash = H(vector, headerBytes.subarray(0, SYM_BYTES));
  return equalMask(hash, headerBytes.subarray(SYM_BYTES)) !== 0 && isCanonical(vector);
}

/**
 * The encapsulation key a header and its vector make, ek = vector ‖ ρ.
 * @throws InvalidKeyError when the vector does not match the header (see vectorMatchesHeader).
 */
export function joinEncapsulationKey(headerBytes: Uint8Array, vector: Uint8Array): Uint8Array {
  if (!vectorMatchesHeader(headerBytes, vector)) {
    throw new InvalidKeyError('ML-KEM-768 encapsulation-key vector does not match its header');
  }
  const ek = new Uint8Array(ENCAPSULATION_KEY_LENGTH);
  ek.set(vector, 0);
  ek.set(headerBytes.subarray(0, SYM_BYTES), sizes.vector);
  return ek;
}

export interface FirstEncapsulation {
  /** Compress_10(u), 960 bytes. */
  ciphertext1: Uint8Array;
  /** The shared secret K, 32 bytes; secret. Equal to what decapsulating ciphertext1 ‖ ciphertext2 gives. */
  sharedSecret: Uint8Array;
  /** m ‖ r ‖ header, 128 bytes, for encapsulate2; secret (m and r determine the secret). */
  state: Uint8Array;
}

/**
 * The first part of an encapsulation, from the header alone. `m` (32 bytes) for known answers only.
 * @throws InvalidKeyError when the header is not 64 bytes.
 */
export function encapsulate1(headerBytes: Uint8Array, m?: Uint8Array): FirstEncapsulation {
  checkKeyLength(headerBytes, HEADER_LENGTH, 'ML-KEM-768 encapsulation-key header');
  checkSeed(m, SYM_BYTES, 'ML-KEM-768 encapsulation randomness m');
  const message = m ?? randomBytes(SYM_BYTES);
  const [key, r] = G(message, headerBytes.subarray(SYM_BYTES));
  const ciphertext1 = new Uint8Array(CIPHERTEXT1_LENGTH);
  const noise = encryptU(PARAMS_768, ciphertext1, headerBytes.subarray(0, SYM_BYTES), r);
  noise.rHat.fill(0);
  noise.e2.fill(0);
  const state = new Uint8Array(ENCAPSULATION_STATE_LENGTH);
  state.set(message, 0);
  state.set(r, SYM_BYTES);
  state.set(headerBytes, 2 * SYM_BYTES);
  const sharedSecret = key.slice();
  key.fill(0);
  r.fill(0);
  if (m === undefined) message.fill(0);
  return { ciphertext1, sharedSecret, state };
}

/**
 * The second part of an encapsulation, once the vector has arrived: Compress_4(v), 128 bytes.
 * @throws InvalidKeyError when the vector does not match the header the state was made from.
 * @throws RangeError when the state is not 128 bytes.
 */
export function encapsulate2(state: Uint8Array, vector: Uint8Array): Uint8Array {
  if (!(state instanceof Uint8Array) || state.length !== ENCAPSULATION_STATE_LENGTH) {
    throw new RangeError(
      `ML-KEM-768 encapsulation state must be ${ENCAPSULATION_STATE_LENGTH} bytes`,
    );
  }
  checkKeyLength(vector, ENCAPSULATION_KEY_VECTOR_LENGTH, 'ML-KEM-768 encapsulation-key vector');
  if (!vectorMatchesHeader(state.subarray(2 * SYM_BYTES), vector)) {
    throw new InvalidKeyError('ML-KEM-768 encapsulation-key vector does not match its header');
  }
  const noise = encryptionNoise(PARAMS_768, state.subarray(SYM_BYTES, 2 * SYM_BYTES));
  const ciphertext2 = new Uint8Array(CIPHERTEXT2_LENGTH);
  encryptV(PARAMS_768, ciphertext2, 0, vector, noise, state.subarray(0, SYM_BYTES));
  noise.rHat.fill(0);
  noise.e2.fill(0);
  return ciphertext2;
}
