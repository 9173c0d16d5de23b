// The polling layer of the conformance assertions (STYLE.md point 4): waits until a matcher holds
// or time runs out, and returns the last mismatch instead of throwing it.
import type { Mismatch } from './match.ts';

/**
 * Evaluates `probe` every `intervalMs` until it returns undefined (holds) or `timeoutMs` passes;
 * returns undefined or the last mismatch. A probe that throws ends the wait with that error.
 */
export async function shouldEventually(
  probe: () => Promise<Mismatch | undefined> | Mismatch | undefined,
  timeoutMs: number,
  intervalMs = 25,
): Promise<Mismatch | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mismatch = await probe();
    if (!mismatch || Date.now() >= deadline) return mismatch;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Watches for `ms`: returns a mismatch as soon as `seen()` reports something that must not happen,
 * undefined when the quiet period passes (e.g. a message that must not be delivered).
 */
export async function shouldStayQuiet(
  seen: () => unknown,
  ms: number,
  expected: string,
): Promise<Mismatch | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = seen();
    if (value !== undefined) return { expected, actual: JSON.stringify(value).slice(0, 300) };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const value = seen();
  return value === undefined
    ? undefined
    : { expected, actual: JSON.stringify(value).slice(0, 300) };
}
