// Known answers for HKDF-SHA256 (RFC 5869 Appendix A) through reference-impl/crypto/kdf.ts.
import { expect } from 'chai';
import { hkdf } from '../../../reference-impl/crypto/kdf.ts';
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
});
