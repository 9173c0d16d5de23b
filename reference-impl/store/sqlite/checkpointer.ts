/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside the commit that
 * passes its threshold: it copies the log's pages into the database file and fsyncs both, on the
 * thread that committed, which for the provider is the event loop. The provider turns it off
 * (`wal_autocheckpoint = 0`) and lets a second connection on a worker thread run a PASSIVE
 * checkpoint every CHECKPOINT_INTERVAL_MS instead: it copies what no reader still needs, never
 * blocks the writer, and the writer starts the log afresh once everything was copied. Should the
 * worker fail, the main connection takes automatic checkpoints back, so that the log never grows
 * without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the worker copies the log into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;
/** SQLite's own automatic checkpoint threshold (pages), restored when the worker fails. */
const AUTOCHECKPOINT_PAGES = 1000;

// Plain CommonJS, so that the worker needs no TypeScript loader: it opens the database, checkpoints
// on a timer and closes when told to (or when its parent goes away).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(
    private readonly db: Database.Database,
    path: string,
    onError: (error: unknown) => void,
  ) {
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: CHECKPOINT_INTERVAL_MS,
      },
    });
    this.worker.unref();
    this.worker.on('error', (error) => {
      if (this.stopped) return;
      this.stopped = true;
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      onError(error);
    });
  }

  /** Stops the worker; the main connection's close then checkpoints what is left. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage('stop');
  }
}
