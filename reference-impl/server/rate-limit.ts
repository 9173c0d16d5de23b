/**
 * In-memory token buckets for the per-sender and per-platform rate limits (spec/consent.md
 * CONSENT-025/026, spec/keys.md KEYS-017). Refusals carry `retryAfterMs` (PROTO-041).
 */
import type { RateLimit } from './limits.ts';

interface Bucket {
  tokens: number;
  at: number;
  /** The limit it was last taken under, so that `forgetFull` can refill it. */
  limit: RateLimit;
}

/** Buckets keyed by a string; state is per process (a restart forgives). */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  private refill(key: string, limit: RateLimit): Bucket {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: t, limit };
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) * limit.perMinute) / 60_000);
    b.at = t;
    b.limit = limit;
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

  /** The milliseconds until every bucket named has a token, taking none; 0 when they have. */
  waitFor(checks: readonly (readonly [string, RateLimit])[]): number {
    let wait = 0;
    for (const [key, limit] of checks) {
      const b = this.refill(key, limit);
      if (b.tokens < 1)
        wait = Math.max(
          wait,
          Math.ceil(((1 - b.tokens) * 60_000) / Math.max(limit.perMinute, 1e-9)),
        );
    }
    return Math.min(wait, 86_400_000);
  }

  /**
   * Forgets every bucket that has refilled to its burst: such a bucket says nothing a fresh one
   * would not, and keeping it lets minted sender addresses grow the map without end.
   * Returns how many were forgotten.
   */
  forgetFull(): number {
    let forgotten = 0;
    for (const [key, b] of this.buckets) {
      this.refill(key, b.limit);
      if (b.tokens >= b.limit.burst) {
        this.buckets.delete(key);
        forgotten += 1;
      }
    }
    return forgotten;
  }

  /** Buckets held, for tests and diagnostics. */
  get size(): number {
    return this.buckets.size;
  }
}
