// Tests of case selection (conformance/runner/select.ts) and the seeded RNG (rng.ts).
import { expect } from 'chai';
import { Rng } from '../../../conformance/runner/rng.ts';
import {
  checkCases,
  globToRegExp,
  parseGlobs,
  selectCases,
} from '../../../conformance/runner/select.ts';
import { fakeCase } from './support.ts';

const cases = [
  fakeCase('ENC-003-relay', undefined, { requirements: ['ENC-003', 'DELIV-015'] }),
  fakeCase('ENC-034-plaintext'),
  fakeCase('PROTO-004-bad-json'),
  fakeCase('CONSENT-006-oracle'),
];

describe('conformance runner: selection', () => {
  it('matches whole IDs with * and ? and ignores case', () => {
    expect(globToRegExp('ENC-*').test('ENC-003-relay')).to.equal(true);
    expect(globToRegExp('enc-00?').test('ENC-003')).to.equal(true);
    expect(globToRegExp('ENC').test('ENC-003')).to.equal(false);
    expect(globToRegExp('ENC-003.x').test('ENC-003-x')).to.equal(false);
  });

  it('selects by case ID glob or by requirement ID, sorted by ID', () => {
    expect(selectCases(cases, ['ENC-*']).map((c) => c.id)).to.deep.equal([
      'ENC-003-relay',
      'ENC-034-plaintext',
    ]);
    expect(selectCases(cases, ['DELIV-015']).map((c) => c.id)).to.deep.equal(['ENC-003-relay']);
  });

  it('selects everything without --only and removes what --exclude matches', () => {
    expect(selectCases(cases, [], ['ENC-*', 'PROTO-004']).map((c) => c.id)).to.deep.equal([
      'CONSENT-006-oracle',
    ]);
  });

  it('splits comma-separated and repeated globs', () => {
    expect(parseGlobs(['ENC-*,PROTO-*', ' KEYS-* '])).to.deep.equal(['ENC-*', 'PROTO-*', 'KEYS-*']);
  });

  it('reports duplicate case IDs and requirement IDs missing from the catalogue', () => {
    const faults = checkCases([...cases, fakeCase('ENC-034-plaintext')], new Set(['ENC-003']));
    expect(faults).to.include('duplicate case ID ENC-034-plaintext');
    expect(faults).to.include('ENC-003-relay names DELIV-015, which is not in the catalogue');
  });
});

describe('conformance runner: seeded RNG', () => {
  it('draws the same names and orders from the same seed, and others from another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    expect([a.word(8), a.shuffle([1, 2, 3, 4, 5, 6])]).to.deep.equal([
      b.word(8),
      b.shuffle([1, 2, 3, 4, 5, 6]),
    ]);
    expect(new Rng(43).word(12)).to.not.equal(new Rng(42).word(12));
  });

  it('forks one generator per label, the same for the same seed and label', () => {
    expect(new Rng(7).fork('ENC-003').word(8)).to.equal(new Rng(7).fork('ENC-003').word(8));
    expect(new Rng(7).fork('ENC-003').word(8)).to.not.equal(new Rng(7).fork('ENC-034').word(8));
  });
});
