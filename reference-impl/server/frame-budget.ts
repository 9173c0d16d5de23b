/**
 * A connection's budget of received bytes and of main-thread time spent reading its frames
 * (spec/framing.md PROTO-049): a peer past either is not read from until the budget refills, so
 * its frames wait in its own TCP buffers instead of delaying every other connection's replies.
 */
import type { RateLimit } from './limits.ts';

/** One token bucket: `burst` at once, refilled at `perMinute`. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
  ) {
    this.tokens = limit.burst;
    this.at = now();
  }

  /** Takes `amount` (the balance may go negative); returns the milliseconds until it is positive. */
  take(amount: number): number {
    const t = this.now();
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + ((t - this.at) * this.limit.perMinute) / 60_000,
    );
    this.at = t;
    this.tokens -= amount;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens * 60_000) / Math.max(this.limit.perMinute, 1e-9));
  }
}

/** The limits of `FrameBudget`, from `limits.peers`. */
export interface FrameBudgetLimits {
  readonly bytesPerConnection: RateLimit;
  readonly readMsPerConnection: RateLimit;
  readonly bytesBeforeAuth: RateLimit;
}

/** No time budget before `auth.ok`: bytes bound it (see `PeerLimits.bytesBeforeAuth`). */
const UNLIMITED: RateLimit = {
  burst: Number.POSITIVE_INFINITY,
  perMinute: Number.POSITIVE_INFINITY,
};

/** The byte and time budget of one connection: the small one until `auth.ok`, then the full one. */
export class FrameBudget {
  private bytes: Bucket;
  private readMs: Bucket;

  constructor(
    private readonly limits: FrameBudgetLimits,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.bytes = new Bucket(limits.bytesBeforeAuth, now);
    this.readMs = new Bucket(UNLIMITED, now);
  }

  /** Switches to the budget of an authenticated connection, full at once. */
  authenticated(): void {
    this.bytes = new Bucket(this.limits.bytesPerConnection, this.now);
    this.readMs = new Bucket(this.limits.readMsPerConnection, this.now);
  }

  /** Charges a received frame's bytes; returns how long to stop reading (0: go on). */
  chargeBytes(bytes: number): number {
    return this.bytes.take(bytes);
  }

  /** Charges main-thread time spent on a frame; returns how long to stop reading (0: go on). */
  chargeTime(ms: number): number {
    return this.readMs.take(ms);
  }
}
