/**
 * Group commit's flush to disk, off the event loop (spec/messages.md DELIV-008).
 *
 * A batch of writes commits with `synchronous = NORMAL`: SQLite writes the transaction's frames to
 * the write-ahead log but does not fsync it, so the commit itself costs microseconds instead of a
 * disk flush. `flushed()` then fsyncs the log file on node's thread pool; once that returns, every
 * frame written before it started is on stable storage, which is what `synchronous = FULL` would
 * have given at commit time. Flushes do not overlap: callers that arrive while one runs share the
 * next, so one fsync serves every batch committed in the meantime. The main thread never waits on
 * the disk.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class WalFlusher {
  private fd: number | undefined;
  private running = false;
  private closed = false;
  private waiting: Waiter[] = [];

  /** `walPath` is the database's `-wal` file; undefined for an in-memory database (nothing to flush). */
  constructor(private readonly walPath: string | undefined) {}

  /**
   * Resolves once everything committed before the call is on stable storage; rejects with the
   * fsync's error. Settles in call order.
   */
  flushed(): Promise<void> {
    if (this.walPath === undefined || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.start();
    });
  }

  /** Closes the log's descriptor once a running flush has returned; later calls resolve at once. */
  close(): void {
    this.closed = true;
    if (!this.running) this.release();
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    let fd: number;
    try {
      fd = this.descriptor();
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    this.running = true;
    fsync(fd, (error) => {
      this.running = false;
      for (const w of batch) {
        if (error) w.reject(error);
        else w.resolve();
      }
      if (this.closed) {
        // SQLite's own close checkpoints and syncs: what is still waiting is durable by then.
        for (const w of this.waiting.splice(0)) w.resolve();
        this.release();
      } else if (this.waiting.length > 0) {
        this.start();
      }
    });
  }

  /**
   * The log's descriptor, opened on first use (SQLite creates the file with the first write). Its
   * directory is synced once, so that the file's own entry survives a power cut.
   */
  private descriptor(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.walPath!, 'r');
      const dir = openSync(dirname(this.walPath!), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.fd;
  }

  private release(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
