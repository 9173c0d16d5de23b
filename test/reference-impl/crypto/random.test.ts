// The CSPRNG pool behind keys, KEM seeds and nonces (reference-impl/crypto/random.ts).
import { expect } from 'chai';
import { randomSecret } from '../../../reference-impl/crypto/random.ts';

describe('reference-impl/crypto/random randomSecret', () => {
  it('hands out fresh arrays of the asked length, never the same bytes twice across pool refills, large requests included', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const length = [32, 64, 1, 200][i % 4]!;
      const bytes = randomSecret(length);
      expect(bytes).to.be.instanceOf(Uint8Array);
      expect(bytes).to.have.length(length);
      expect(bytes.byteOffset).to.equal(0);
      expect(bytes.buffer.byteLength).to.equal(length);
      if (length >= 32) {
        const hex = Buffer.from(bytes).toString('hex');
        expect(seen.has(hex), `draw ${i} repeats an earlier one`).to.equal(false);
        seen.add(hex);
      }
    }
    expect(randomSecret(0)).to.have.length(0);
  });

  it('refuses a negative or fractional length with RangeError', () => {
    expect(() => randomSecret(-1)).to.throw(RangeError, /non-negative integer/);
    expect(() => randomSecret(1.5)).to.throw(RangeError, /non-negative integer/);
  });

  it('gives bytes that look uniform: 1 MiB in 32-byte draws passes a chi-square test over the 256 byte values', () => {
    // 255 degrees of freedom: the statistic's mean is 255 and its deviation about 22.6; a uniform
    // source passes 400 but for about one run in ten million, while a pool that hands out a
    // wiped (zero) or repeated region scores in the thousands.
    const draws = 32_768;
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < draws; i++) for (const b of randomSecret(32)) counts[b]!++;
    const expected = (draws * 32) / 256;
    const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    expect(chiSquare).to.be.below(400);
  });
});
