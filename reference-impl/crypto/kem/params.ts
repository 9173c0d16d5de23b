// The module-lattice parameter sets and the byte sizes they imply (FIPS 203 §8 Table 2 and 3;
// CRYSTALS-Kyber round-3 specification §1.4 Table 1: the same sets, k, η1, η2, du, dv).

/** One parameter set of the module-lattice KEM; q = 3329 and n = 256 are fixed for all of them. */
export interface LatticeParams {
  /** Rank of the module: the number of polynomials in a vector. */
  readonly k: number;
  /** Centered binomial parameter of the secret s, the error e and the encryption vector r (η1). */
  readonly eta1: number;
  /** Centered binomial parameter of the encryption errors e1, e2 (η2). */
  readonly eta2: number;
  /** Bits per coefficient of the compressed vector u (du). */
  readonly du: number;
  /** Bits per coefficient of the compressed polynomial v (dv). */
  readonly dv: number;
}

/** Kyber-768 / ML-KEM-768 (NIST security category 3). */
export const PARAMS_768: LatticeParams = Object.freeze({ k: 3, eta1: 2, eta2: 2, du: 10, dv: 4 });
/** Kyber-1024 / ML-KEM-1024 (NIST security category 5). */
export const PARAMS_1024: LatticeParams = Object.freeze({ k: 4, eta1: 2, eta2: 2, du: 11, dv: 5 });

/** Bytes of one 12-bit encoded polynomial (ByteEncode_12). */
export const POLY_BYTES = 384;
/** Bytes of a seed, a hash output, a message m and a shared secret. */
export const SYM_BYTES = 32;

/** The byte sizes of keys and ciphertexts for a parameter set (FIPS 203 Table 3). */
export interface LatticeSizes {
  /** The encoded vector t̂: k · 384 bytes. */
  readonly vector: number;
  /** The encapsulation (public) key: t̂ ‖ ρ. */
  readonly publicKey: number;
  /** The K-PKE decryption key: ŝ encoded, k · 384 bytes. */
  readonly pkeSecretKey: number;
  /** The KEM decapsulation key: dk_PKE ‖ ek ‖ H(ek) ‖ z. */
  readonly secretKey: number;
  /** The compressed vector u: k · du · 32 bytes. */
  readonly ciphertext1: number;
  /** The compressed polynomial v: dv · 32 bytes. */
  readonly ciphertext2: number;
  /** The whole ciphertext c1 ‖ c2. */
  readonly ciphertext: number;
}

export function sizesOf(p: LatticeParams): LatticeSizes {
  const vector = p.k * POLY_BYTES;
  const publicKey = vector + SYM_BYTES;
  const ciphertext1 = p.k * p.du * 32;
  const ciphertext2 = p.dv * 32;
  return {
    vector,
    publicKey,
    pkeSecretKey: vector,
    secretKey: vector + publicKey + 2 * SYM_BYTES,
    ciphertext1,
    ciphertext2,
    ciphertext: ciphertext1 + ciphertext2,
  };
}
