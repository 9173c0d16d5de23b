// ML-KEM as FIPS 203 specifies it (§6 Algorithms 16–18, the internal functions, and §7 Algorithms
// 19–21 with the input checks of §7.2 and §7.3), for any parameter set of the shared lattice core.
import { randomBytes } from 'node:crypto';
import { InvalidKeyError } from '../errors.ts';
import { isCanonical } from './encoding.ts';
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
import { sizesOf, SYM_BYTES, type LatticeParams, type LatticeSizes } from './params.ts';
import { pkeDecrypt, pkeEncrypt, pkeKeyGen } from './pke.ts';

export interface MlKemKeyPair {
  /** ek = ByteEncode_12(t̂) ‖ ρ. */
  encapsulationKey: Uint8Array;
  /** dk = dk_PKE ‖ ek ‖ H(ek) ‖ z; secret. */
  decapsulationKey: Uint8Array;
}

export interface MlKemEncapsulation {
  ciphertext: Uint8Array;
  /** 32 bytes; secret. */
  sharedSecret: Uint8Array;
}

/** One ML-KEM parameter set's operations; `name` labels its errors ("ML-KEM-768"). */
export interface MlKem {
  readonly sizes: LatticeSizes;
  generateKeyPair(seed?: Uint8Array): MlKemKeyPair;
  encapsulate(encapsulationKey: Uint8Array, m?: Uint8Array): MlKemEncapsulation;
  decapsulate(ciphertext: Uint8Array, decapsulationKey: Uint8Array): Uint8Array;
  checkEncapsulationKey(encapsulationKey: Uint8Array): void;
  checkDecapsulationKey(decapsulationKey: Uint8Array): void;
}

export function mlKem(params: LatticeParams, name: string): MlKem {
  const sizes = sizesOf(params);
  const dkPkeEnd = sizes.pkeSecretKey;
  const ekEnd = dkPkeEnd + sizes.publicKey;

  /** §7.2: type check (length) and modulus check (every coefficient of t̂ below q). */
  function checkEncapsulationKey(ek: Uint8Array): void {
    checkKeyLength(ek, sizes.publicKey, `${name} encapsulation key`);
    if (!isCanonical(ek.subarray(0, sizes.vector))) {
      throw new InvalidKeyError(
        `${name} encapsulation key has a coefficient ≥ q (FIPS 203 §7.2 modulus check)`,
      );
    }
  }

  /** §7.3: type check (length) and hash check (H(ek) stored in dk matches the ek stored in dk). */
  function checkDecapsulationKey(dk: Uint8Array): void {
    checkKeyLength(dk, sizes.secretKey, `${name} decapsulation key`);
    const stored = dk.subarray(ekEnd, ekEnd + SYM_BYTES);
    if (equalMask(H(dk.subarray(dkPkeEnd, ekEnd)), stored) === 0) {
      throw new InvalidKeyError(
        `${name} decapsulation key's H(ek) does not match its ek (FIPS 203 §7.3 hash check)`,
      );
    }
  }

  return {
    sizes,
    checkEncapsulationKey,
    checkDecapsulationKey,

    /**
     * ML-KEM.KeyGen (Algorithms 16 and 19). `seed` = d ‖ z (64 bytes) for known answers only.
     * @throws RangeError when a seed is given and is not 64 bytes.
     */
    generateKeyPair(seed?: Uint8Array): MlKemKeyPair {
      checkSeed(seed, 2 * SYM_BYTES, `${name} key generation seed`);
      const randomness = seed ?? randomBytes(2 * SYM_BYTES);
      const dWithK = new Uint8Array(SYM_BYTES + 1);
      dWithK.set(randomness.subarray(0, SYM_BYTES));
      dWithK[SYM_BYTES] = params.k;
      const [rho, sigma] = G(dWithK);
      const { ek, dk: dkPke } = pkeKeyGen(params, rho, sigma);
      const dk = new Uint8Array(sizes.secretKey);
      dk.set(dkPke, 0);
      dk.set(ek, dkPkeEnd);
      dk.set(H(ek), ekEnd);
      dk.set(randomness.subarray(SYM_BYTES, 2 * SYM_BYTES), ekEnd + SYM_BYTES);
      dkPke.fill(0);
      dWithK.fill(0);
      sigma.fill(0);
      if (seed === undefined) randomness.fill(0);
      return { encapsulationKey: ek, decapsulationKey: dk };
    },

    /**
     * ML-KEM.Encaps (Algorithms 17 and 20) after the §7.2 checks. `m` (32 bytes) for known answers only.
     * @throws InvalidKeyError when the key has the wrong length or fails the modulus check.
     */
    encapsulate(ek: Uint8Array, m?: Uint8Array): MlKemEncapsulation {
      checkEncapsulationKey(ek);
      checkSeed(m, SYM_BYTES, `${name} encapsulation randomness m`);
      const message = m ?? randomBytes(SYM_BYTES);
      const [key, r] = G(message, H(ek));
      const ciphertext = pkeEncrypt(params, ek, message, r);
      const sharedSecret = key.slice();
      key.fill(0);
      r.fill(0);
      if (m === undefined) message.fill(0);
      return { ciphertext, sharedSecret };
    },

    /**
     * ML-KEM.Decaps (Algorithms 18 and 21) after the §7.3 checks, with implicit rejection: a
     * ciphertext that does not re-encrypt yields J(z ‖ c), chosen by masks, never an error.
     * @throws InvalidMessageError when the ciphertext has the wrong length.
     * @throws InvalidKeyError when the key has the wrong length or fails the hash check.
     */
    decapsulate(ciphertext: Uint8Array, dk: Uint8Array): Uint8Array {
      checkCiphertextLength(ciphertext, sizes.ciphertext, `${name} ciphertext`);
      checkDecapsulationKey(dk);
      const ek = dk.subarray(dkPkeEnd, ekEnd);
      const z = dk.subarray(ekEnd + SYM_BYTES, ekEnd + 2 * SYM_BYTES);
      const m = pkeDecrypt(params, dk.subarray(0, dkPkeEnd), ciphertext);
      const [key, r] = G(m, dk.subarray(ekEnd, ekEnd + SYM_BYTES));
      const rejection = shake256To32(z, ciphertext);
      const reencrypted = pkeEncrypt(params, ek, m, r);
      const sharedSecret = select(key, rejection, equalMask(ciphertext, reencrypted));
      m.fill(0);
      key.fill(0);
      r.fill(0);
      rejection.fill(0);
      return sharedSecret;
    },
  };
}
