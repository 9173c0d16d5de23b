/**
 * In-memory token buckets for the per-sender and per-platform rate limits (spec/consent.md
 * CONSENT-025/026, spec/keys.md KEYS-017). Refusals carry `retryAfterMs` (PROTO-041).
 */
import type { RateLimit } from './limits.ts';

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets keyed by a string; state is per process (a restart forgives). */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  private refill(key: string, limit: RateLimit): Bucket {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: t };
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) * limit.perMinute) / 60_000);
    b.at = t;
    this.buckets.set(key, b);
    return b;
  }

  /**
   * Takes one token (or `cost`) from every bucket named, or none: returns 0 when allowed, else the
   * milliseconds until every bucket has a token again.
   */
  take(
    checks: readonly (readonly [string, RateLimit] | readonly [string, RateLimit, number])[],
  ): number {
    let wait = 0;
    for (const [key, limit, cost = 1] of checks) {
      const b = this.refill(key, limit);
      if (b.tokens < cost)
        wait = Math.max(
          wait,
          Math.ceil(((cost - b.tokens) * 60_000) / Math.max(limit.perMinute, 1e-9)),
        );
    }
    // DurationMs tops out at one day.
    if (wait > 0) return Math.min(wait, 86_400_000);
    for (const [key, , cost = 1] of checks) this.buckets.get(key)!.tokens -= cost;
    return 0;
  }
}
