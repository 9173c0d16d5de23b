/**
 * Size padding: the padded length a file of n bytes is encrypted at (Padmé, floored at 1 KiB).
 * Spec: spec/attachments.md, "Size padding".
 *
 * Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with
 * PURBs", PETS 2019, §4): for L ≥ 2 let E = ⌊log2 L⌋, S = ⌊log2 E⌋ + 1; round L up to a multiple
 * of 2^(E − S). A padded size then reveals O(log log L) bits of L, and the overhead is below
 * 2^−S < 1/E (Padmé's worst case is 11.1 %, at L = 9; above the 1 KiB floor it is at most 6.25 %).
 * Parley pads every file of at most MIN_PADDED_BYTES up to it.
 * The padding bytes are zeros; the true size travels in the pointer, inside the Signal ciphertext.
 */
import { MAX_PADDED_BYTES, MIN_PADDED_BYTES } from './constants.ts';
import { AttachmentCipherError } from './errors.ts';

/** ⌊log2 n⌋ for a safe integer n ≥ 1, exact where Math.log2 may round up near powers of two. */
export function floorLog2(n: number): number {
  let e = 0;
  while (2 ** (e + 1) <= n) e += 1;
  return e;
}

/** Padmé(L) for a safe integer L ≥ 2 (the unfloored scheme, exported for its tests). */
export function padme(length: number): number {
  const e = floorLog2(length);
  const s = floorLog2(e) + 1;
  const step = 2 ** (e - s);
  return Math.ceil(length / step) * step;
}

/** Whether n is a plaintext size the cipher accepts (its padded size fits MAX_CHUNKS chunks). */
export function isValidPlaintextSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && paddedSizeUnchecked(n) <= MAX_PADDED_BYTES;
}

/**
 * The padded plaintext size of a file of `plaintextSize` bytes: max(1 KiB, Padmé(n)).
 * Throws AttachmentCipherError BAD_SIZE for a negative, fractional or too large size.
 */
export function paddedSize(plaintextSize: number): number {
  if (!isValidPlaintextSize(plaintextSize)) {
    throw new AttachmentCipherError('BAD_SIZE', `plaintext size ${plaintextSize} is not allowed`);
  }
  return paddedSizeUnchecked(plaintextSize);
}

function paddedSizeUnchecked(n: number): number {
  return n <= MIN_PADDED_BYTES ? MIN_PADDED_BYTES : padme(n);
}
