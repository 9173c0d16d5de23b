// Reconnect delays: jittered exponential back-off with a cap ("equal jitter"), so that many clients
// dropped at once by a provider restart do not return in lockstep (spec/framing.md "Shutdown").

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** The first delay's ceiling in ms. */
  initialMs: number;
  /** The cap on any delay in ms. */
  maxMs: number;
  /** Growth factor per failed attempt. */
  factor: number;
  /** Attempts before giving up; Infinity to keep trying. */
  maxAttempts: number;
}

/** Defaults: 250 ms growing ×2 to a 30 s cap, never giving up. */
export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 250,
  maxMs: 30_000,
  factor: 2,
  maxAttempts: Infinity,
};

/** The ceiling of the delay before attempt `attempt` (0-based): min(max, initial × factor^attempt). */
export function backoffCeiling(options: BackoffOptions, attempt: number): number {
  return Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
}

/** A delay drawn uniformly from [ceiling/2, ceiling] ("equal jitter": never zero, never above the cap). */
export function backoffDelay(
  options: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(options, attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
