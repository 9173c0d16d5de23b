// The failing layer of the conformance assertions (STYLE.md point 4): each form throws a
// RequirementFailure naming the requirement, with expected and actual, when its matcher fails.
import { RequirementFailure, SkipCase } from '../runner/signals.ts';
import type { Matcher, Mismatch } from './match.ts';

/** Throws for `requirement` when `mismatch` is defined. */
export function must(requirement: string, mismatch: Mismatch | undefined, note?: string): void {
  if (mismatch) throw new RequirementFailure(requirement, mismatch.expected, mismatch.actual, note);
}

/** Applies `matcher` to `value` and throws for `requirement` on a mismatch; returns the value. */
export function mustMatch<T>(requirement: string, value: T, matcher: Matcher<T>, note?: string): T {
  must(requirement, matcher(value), note);
  return value;
}

/** Ends the case as skipped, for `reason`, unless `condition` holds. */
export function requireThat(condition: boolean, reason: string): void {
  if (!condition) throw new SkipCase(reason);
}
