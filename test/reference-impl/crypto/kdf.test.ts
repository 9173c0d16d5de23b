// Known answers for HKDF-SHA256 (RFC 5869 Appendix A) through reference-impl/crypto/kdf.ts.
import { createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { expect } from 'chai';
import { hkdf, hmacSha256 } from '../../../reference-impl/crypto/kdf.ts';
import vectors from './vectors/rfc5869-hkdf.json' with { type: 'json' };

const hex = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'hex'));

describe('reference-impl/crypto/kdf (RFC 5869)', () => {
  for (const vector of vectors.cases) {
    it(`derives the RFC 5869 output for ${vector.name}`, () => {
      const salt = vector.salt === '' ? undefined : hex(vector.salt);
      const okm = hkdf(hex(vector.ikm), salt, hex(vector.info), vector.length);
      expect(Buffer.from(okm).toString('hex')).to.equal(vector.okm);
    });
  }

  it('agrees with node:crypto on HMAC-SHA256 and HKDF for keys, inputs and lengths of every size', () => {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(randomInt(0, 130));
      const parts = [randomBytes(randomInt(0, 80)), randomBytes(randomInt(0, 80))];
      const expected = createHmac('sha256', key).update(parts[0]!).update(parts[1]!).digest();
      expect(Buffer.from(hmacSha256(key, ...parts)).equals(expected)).to.equal(true);
      const length = randomInt(1, 300);
      const okm = hkdf(parts[0]!, key, parts[1]!, length);
      const reference = Buffer.from(hkdfSync('sha256', parts[0]!, key, parts[1]!, length));
      expect(Buffer.from(okm).equals(reference)).to.equal(true);
    }
  });

  it('refuses an HKDF output length outside 1..8160 bytes (RFC 5869: at most 255 blocks)', () => {
    const ikm = randomBytes(32);
    expect(() => hkdf(ikm, undefined, 'info', 0)).to.throw(RangeError, /1\.\.8160/);
    expect(() => hkdf(ikm, undefined, 'info', 8161)).to.throw(RangeError, /1\.\.8160/);
    expect(hkdf(ikm, undefined, 'info', 8160)).to.have.length(8160);
  });
});
