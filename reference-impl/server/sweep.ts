/**
 * The sweep: every `limits.sweepIntervalMs` it deletes expired deliveries (spec/messages.md
 * DELIV-028), idempotency records past `limits.idempotencySeconds` (DELIV-012) and expired partner
 * token ids (AUTH-017), in steps of at most `SWEEP_ROWS_PER_STEP` rows per table. Each step is a
 * write of the group commit, so it is flushed off the event loop and frames are handled between
 * steps, however much has piled up.
 */
import { groupCommit, type ProviderContext } from './context.ts';

/** Most rows of each table one sweep step deletes. */
export const SWEEP_ROWS_PER_STEP = 1000;

/** Starts the sweep; the returned function stops it (a step in flight still completes). */
export function startSweep(ctx: ProviderContext): () => void {
  let stopped = false;
  let running = false;
  const sweep = async (): Promise<void> => {
    let expired = 0;
    for (let more = true; more && !stopped;) {
      const t = ctx.faults.has('deliver-expired') ? 0 : ctx.now();
      const step = await groupCommit(ctx).submit(() =>
        ctx.store.purgeExpired(t, t - ctx.limits.idempotencySeconds * 1000, SWEEP_ROWS_PER_STEP),
      );
      expired += step.deliveries;
      more = step.more;
    }
    if (expired > 0) ctx.logger.log('info', 'queue.expired', { deliveries: expired });
    // Rate-limit buckets of senders, claimers and accounts gone quiet (issue 15, finding 7).
    ctx.rates.forgetFull();
  };
  const timer = setInterval(() => {
    if (running) return; // the previous sweep is still stepping through a backlog
    running = true;
    sweep()
      .catch((error: unknown) => {
        if (!stopped) ctx.logger.log('error', 'sweep.failed', { error: String(error) });
      })
      .finally(() => (running = false));
  }, ctx.limits.sweepIntervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
