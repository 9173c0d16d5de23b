/**
 * Group commit: writes submitted during one event-loop turn run in one transaction of the store
 * (`ProviderStore.writeBatch`), and each submitter hears its outcome only once that transaction is
 * on disk (`ProviderStore.flushed`; spec/messages.md DELIV-008: `message.accepted` leaves only once
 * the message is stored durably). One fsync serves every request of the turn, or of several turns
 * while the previous flush runs, and the event loop goes on handling frames while the disk works.
 */
import type { BatchOutcome, ProviderStore } from './types.ts';

/**
 * Most writes in one transaction: bounds how long one commit holds the event loop; what is left
 * runs in the next turn.
 */
export const MAX_WRITES_PER_BATCH = 1024;

interface Pending<T> {
  readonly write: () => T;
  /** Runs once the commit is on disk, in submission order, before the write's promise settles. */
  readonly committed: ((value: T) => void) | undefined;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/** Collects writes and commits them together once per event-loop turn. */
export class WriteBatcher {
  private queue: Pending<unknown>[] = [];
  private scheduled = false;

  /** `onFollowUpError` hears what a `committed` follow-up threw; the write stays committed. */
  constructor(
    private readonly store: Pick<ProviderStore, 'writeBatch' | 'flushed'>,
    private readonly onFollowUpError: (error: unknown) => void,
  ) {}

  /**
   * Queues `write` (a closure over store methods) for the next group commit. Resolves to its value
   * once the transaction holding it is on disk, or rejects with what it threw (only it is rolled
   * back), with the commit's error (nothing was stored) or with the flush's error. `committed` runs
   * once the commit is on disk, in submission order across batches: the place for work that must
   * not reveal a write before it is durable, such as pushing the new rows to connected devices.
   * (Later batches may have committed by then; readers of the store see rows in commit order.)
   */
  submit<T>(write: () => T, committed?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, committed, resolve, reject } as Pending<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.slice(0, MAX_WRITES_PER_BATCH);
    this.queue = this.queue.slice(batch.length);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    let outcomes: BatchOutcome<unknown>[];
    try {
      outcomes = this.store.writeBatch(batch.map((p) => p.write));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    this.store.flushed().then(
      () => this.settle(batch, outcomes),
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }

  private settle(
    batch: readonly Pending<unknown>[],
    outcomes: readonly BatchOutcome<unknown>[],
  ): void {
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        p.reject(outcome.error);
        return;
      }
      try {
        p.committed?.(outcome.value);
      } catch (error) {
        // The write is durable whatever its follow-up did: the submitter still hears success.
        this.onFollowUpError(error);
      }
      p.resolve(outcome.value);
    });
  }
}

const batchers = new WeakMap<object, WriteBatcher>();

/**
 * The one batcher of a store, so that every request on it shares the group commit; the first
 * caller's `onFollowUpError` serves it.
 */
export function writeBatcherOf(
  store: Pick<ProviderStore, 'writeBatch' | 'flushed'>,
  onFollowUpError: (error: unknown) => void,
): WriteBatcher {
  let b = batchers.get(store);
  if (!b) {
    b = new WriteBatcher(store, onFollowUpError);
    batchers.set(store, b);
  }
  return b;
}
