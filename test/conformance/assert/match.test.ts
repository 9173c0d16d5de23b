// The pure assertion layer compares JSON by value (issue 14): member order and whitespace never
// matter, array order does, and a mismatch still reads as expected/actual.
import { expect } from 'chai';
import {
  canonicalJson,
  equals,
  hasMembers,
  sameErrorApartFromRe,
  sameJson,
} from '../../../conformance/assert/match.ts';

describe('conformance assertions compare JSON by value', () => {
  it('holds for the same members written in another order, at every depth', () => {
    const a = { origin: { platform: 'p.example', thirdParty: true }, deviceId: 1, list: [1, 2] };
    const b = JSON.parse(
      '{"list":[1,2],"deviceId":1,"origin":{"thirdParty":true,"platform":"p.example"}}',
    );
    expect(sameJson(a, b)).to.equal(true);
    expect(canonicalJson(b)).to.equal(
      '{"deviceId":1,"list":[1,2],"origin":{"platform":"p.example","thirdParty":true}}',
    );
    expect(equals(a)(b)).to.equal(undefined);
    expect(hasMembers('auth.ok', { origin: a.origin })({ type: 'auth.ok', ...b })).to.equal(
      undefined,
    );
  });

  it('still tells different values apart: another value, a missing member, arrays in another order', () => {
    expect(sameJson({ a: 1 }, { a: 2 })).to.equal(false);
    expect(sameJson({ a: 1, b: 1 }, { a: 1 })).to.equal(false);
    expect(sameJson([1, 2], [2, 1])).to.equal(false);
    expect(
      equals({ missing: [], extra: [7] }, 'details')({ extra: [8], missing: [] }),
    ).to.deep.equal({
      expected: 'details {"missing":[],"extra":[7]}',
      actual: '{"extra":[8],"missing":[]}',
    });
  });

  it('finds two error frames the same apart from re whatever the order of their nested members', () => {
    const reference = { type: 'error', re: 'a.1', code: 'NOT_FOUND', details: { x: 1, y: 2 } };
    const other = { details: { y: 2, x: 1 }, code: 'NOT_FOUND', re: 'b.7', type: 'error' };
    expect(sameErrorApartFromRe(reference)(other)).to.equal(undefined);
    expect(sameErrorApartFromRe(reference)({ ...other, details: { x: 1 } })).to.not.equal(
      undefined,
    );
  });
});
