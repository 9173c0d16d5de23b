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

  it('gives bytes that look uniform: 64 KiB in 32-byte draws has every byte value at a frequency within 20 % of 256', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2048; i++) for (const b of randomSecret(32)) counts[b]!++;
    for (const count of counts) expect(count).to.be.within(256 * 0.8, 256 * 1.2);
  });
});
