// Counting outcomes and turning them into the exit code (issue 6): 0 conformant, 1 non-conformant,
// 2 the harness could not decide (errors, circuit breaker) or usage.
import type { CaseResult, Summary } from './events.ts';

export const EXIT_CONFORMANT = 0;
export const EXIT_NONCONFORMANT = 1;
export const EXIT_HARNESS = 2;

export function summarise(results: readonly CaseResult[]): Summary {
  const s: Summary = {
    total: results.length,
    pass: 0,
    fail: 0,
    warn: 0,
    skip: 0,
    error: 0,
    expectedFailures: 0,
    unexpectedPasses: 0,
  };
  for (const r of results) {
    s[r.outcome]++;
    if (r.expectedFailure) s.expectedFailures++;
    if (r.unexpectedPass) s.unexpectedPasses++;
  }
  return s;
}

/**
 * The exit code: 1 for an unexpected fail, an unexpected pass, (with failOnWarn) an unexpected
 * warn, or (with uncheckedMusts, `--fail-on unchecked`) a selected MUST the run did not check;
 * otherwise 2 when any case errored or the breaker opened; otherwise 0.
 */
export function exitCodeOf(
  results: readonly CaseResult[],
  options: { failOnWarn?: boolean; breaker?: string; uncheckedMusts?: number } = {},
): number {
  if (options.breaker) return EXIT_HARNESS;
  const broken = results.some(
    (r) =>
      r.unexpectedPass ||
      (!r.expectedFailure &&
        (r.outcome === 'fail' || (options.failOnWarn && r.outcome === 'warn'))),
  );
  if (broken) return EXIT_NONCONFORMANT;
  if (results.some((r) => r.outcome === 'error')) return EXIT_HARNESS;
  return (options.uncheckedMusts ?? 0) > 0 ? EXIT_NONCONFORMANT : EXIT_CONFORMANT;
}
