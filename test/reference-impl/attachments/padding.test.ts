/**
 * Tests of the size padding (Padmé floored at 1 KiB). Spec: spec/attachments.md, "Size padding".
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_PADDED_BYTES,
  MAX_PLAINTEXT_BYTES,
  MIN_PADDED_BYTES,
} from '../../../reference-impl/attachments/constants.ts';
import { AttachmentCipherError } from '../../../reference-impl/attachments/errors.ts';
import { floorLog2, padme, paddedSize } from '../../../reference-impl/attachments/padding.ts';

describe('attachment size padding', () => {
  it('pads every file of at most 1 KiB, including an empty one, to exactly 1 KiB', () => {
    for (const n of [0, 1, 2, 9, 500, 1023, 1024]) expect(paddedSize(n)).to.equal(MIN_PADDED_BYTES);
  });

  it('matches the Padmé values worked out by hand', () => {
    // L = 9: E = 3, S = 2, step 2 → 10 (Padmé's worst overhead, 11.1 %).
    expect(padme(9)).to.equal(10);
    // L = 1025: E = 10, S = 4, step 64 → 1088.
    expect(paddedSize(1025)).to.equal(1088);
    // L = 65537: E = 16, S = 5, step 2048 → 67584.
    expect(paddedSize(65537)).to.equal(67584);
    // L = 2^22 + 1: E = 22, S = 5, step 2^17 → 2^22 + 2^17 (padding spans whole chunks).
    expect(paddedSize(2 ** 22 + 1)).to.equal(2 ** 22 + 2 ** 17);
    // Powers of two are their own bucket.
    expect(paddedSize(2 ** 30)).to.equal(2 ** 30);
  });

  it('never shrinks a size, adds at most 6.25 % above 1 KiB, and is idempotent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (n) => {
        const padded = paddedSize(n);
        expect(padded).to.be.at.least(n);
        if (n > MIN_PADDED_BYTES) expect(padded - n).to.be.at.most(n / 16);
        expect(paddedSize(padded)).to.equal(padded);
      }),
    );
  });

  it('computes floor(log2 n) exactly just below large powers of two', () => {
    expect(floorLog2(2 ** 48 - 1)).to.equal(47);
    expect(floorLog2(2 ** 48)).to.equal(48);
    expect(floorLog2(1)).to.equal(0);
  });

  it('accepts sizes up to the largest bucket that fits 2^32 − 1 chunks and no further', () => {
    expect(paddedSize(MAX_PLAINTEXT_BYTES)).to.equal(MAX_PLAINTEXT_BYTES);
    expect(MAX_PLAINTEXT_BYTES).to.be.at.most(MAX_PADDED_BYTES);
    expect(() => paddedSize(MAX_PLAINTEXT_BYTES + 1)).to.throw(AttachmentCipherError);
  });

  it('refuses negative, fractional and too large sizes with BAD_SIZE', () => {
    for (const n of [-1, 1.5, Number.NaN, MAX_PADDED_BYTES + 1, 2 ** 60]) {
      expect(() => paddedSize(n))
        .to.throw(AttachmentCipherError)
        .with.property('code', 'BAD_SIZE');
    }
  });
});
