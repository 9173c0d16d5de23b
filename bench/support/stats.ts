/**
 * Latency statistics for benchmark reports: nearest-rank percentiles over samples in milliseconds,
 * and the relative drift between a start and an end figure (bench/connections.ts, bench/soak.ts).
 */

/** The p50/p99/max of a set of samples, in the samples' unit. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank `p`-th percentile (0 < p ≤ 100) of `sorted`, which must be in ascending order:
 * the smallest sample with at least p % of the samples at or below it. Throws RangeError on an
 * empty list or a `p` outside (0, 100].
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1]!;
}

/** p50, p99, max and mean of `samples` (any order). Throws RangeError when there are none. */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

/**
 * How far `end` moved from `start`, as a fraction of `start` (0.1 = grew by 10 %, -0.1 = shrank by
 * 10 %). Throws RangeError when `start` is not positive, since no drift is defined from zero.
 */
export function drift(start: number, end: number): number {
  if (!(start > 0)) throw new RangeError(`drift from a start of ${start} is undefined`);
  return (end - start) / start;
}
