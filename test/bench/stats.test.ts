// Percentiles and drift of the benchmark reports (bench/support/stats.ts).
import { expect } from 'chai';
import { drift, percentile, summarize } from '../../bench/support/stats.ts';

describe('benchmark statistics', () => {
  it('takes the nearest-rank percentile: the smallest sample with p % at or below it', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).to.equal(50);
    expect(percentile(sorted, 99)).to.equal(99);
    expect(percentile(sorted, 100)).to.equal(100);
    expect(percentile([7, 8, 9], 50)).to.equal(8);
    expect(percentile([7, 8, 9], 99)).to.equal(9);
    expect(percentile([42], 1)).to.equal(42);
  });

  it('refuses a percentile of no samples or outside (0, 100]', () => {
    expect(() => percentile([], 50)).to.throw(RangeError, 'no samples');
    expect(() => percentile([1], 0)).to.throw(RangeError, 'outside');
    expect(() => percentile([1], 101)).to.throw(RangeError, 'outside');
  });

  it('summarizes samples in any order into count, p50, p99, max and mean', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).to.deep.equal({ count: 5, p50: 3, p99: 5, max: 5, mean: 3 });
    expect(samples).to.deep.equal([5, 1, 4, 2, 3]);
  });

  it('puts one slow delivery among a hundred at the p99 but not the p50', () => {
    const samples = [...Array<number>(99).fill(2), 80];
    const s = summarize(samples);
    expect(s.p50).to.equal(2);
    expect(s.p99).to.equal(2);
    expect(summarize([...samples, 90]).p99).to.equal(80);
  });

  it('measures drift as the change relative to the start, in either direction', () => {
    expect(drift(100, 110)).to.be.closeTo(0.1, 1e-12);
    expect(drift(200, 150)).to.be.closeTo(-0.25, 1e-12);
    expect(drift(3, 3)).to.equal(0);
    expect(() => drift(0, 5)).to.throw(RangeError, 'undefined');
  });
});
