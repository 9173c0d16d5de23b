/**
 * WAL checkpoints, mostly on a worker thread. SQLite's automatic checkpoint runs inside the commit
 * that passes its threshold: it copies the log's pages into the database file and fsyncs both, on
 * the thread that committed, which for the provider is the event loop. Here a second connection on
 * a worker thread runs a PASSIVE checkpoint every CHECKPOINT_INTERVAL_MS and does that copying
 * without blocking the writer.
 *
 * The worker alone cannot end the log, though: the writer starts the log afresh only when, at the
 * start of a write, every frame has been copied, and a busy writer keeps appending while the worker
 * copies, so the log would grow without bound (measured: 2 GiB in 35 s of full load). The main
 * connection therefore keeps an automatic checkpoint, at a threshold of AUTOCHECKPOINT_PAGES: by
 * then the worker has copied almost everything, so it costs the main thread little more than its
 * two fsyncs, and the next write starts the log afresh. `journal_size_limit` then trims the file.
 * Should the worker fail, the automatic checkpoint does all the work, as SQLite's default would.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the worker copies the log into the database file. */
export const CHECKPOINT_INTERVAL_MS = 50;
/** The main connection's automatic checkpoint threshold (pages of 4 KiB): 16 MiB of log. */
export const AUTOCHECKPOINT_PAGES = 4096;
/** The size the log file is trimmed back to once it was started afresh. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** How long stop() waits for the worker to close its connection (a checkpoint in progress ends first). */
export const STOP_WAIT_MS = 5000;

/**
 * The shared cell's states: the worker has not started opening its connection; it opens or has it
 * open; it closed it (or failed); the store closed before the worker started, so it never opens.
 */
const STARTING = 0;
const OPEN = 1;
const CLOSED = 2;
const CANCELLED = 3;

// Plain CommonJS, so that the worker needs no TypeScript loader: it opens the database, checkpoints
// on a timer and closes when told to (or when its parent goes away). It moves the shared state cell
// from STARTING to OPEN before it opens the file (or finds it CANCELLED and ends), and to CLOSED
// once its connection is closed or it failed; stop() waits on that cell.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const state = new Int32Array(workerData.state);
const closed = () => { Atomics.store(state, 0, ${CLOSED}); Atomics.notify(state, 0); };
if (Atomics.compareExchange(state, 0, ${STARTING}, ${OPEN}) !== ${STARTING}) {
  parentPort.close();
} else {
  process.on('exit', closed);
  try {
    const Database = require(workerData.driver);
    const db = new Database(workerData.path, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs);
    parentPort.on('message', () => {
      clearInterval(timer);
      db.close();
      closed();
      parentPort.close();
    });
  } catch (error) {
    closed();
    throw error;
  }
}
`;

export class Checkpointer {
  private readonly worker: Worker;
  /** Where the worker's connection is: see WORKER_SOURCE. */
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  constructor(db: Database.Database, path: string, onError: (error: unknown) => void) {
    db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: CHECKPOINT_INTERVAL_MS,
        state: this.state.buffer,
      },
    });
    this.worker.unref();
    this.worker.on('error', (error) => {
      if (this.stopped) return;
      this.stopped = true;
      onError(error); // the main connection's automatic checkpoint carries on alone
    });
  }

  /**
   * Stops the worker: one that has not started opening the file never will, and one that has is
   * waited for (synchronously, up to STOP_WAIT_MS) until its connection is closed. The main
   * connection's close then checkpoints what is left and removes the log. Without this, the
   * worker's connection outlived the store: it opened the file after the store closed, or closed
   * last, creating and deleting the -wal and -shm files while the caller was already removing the
   * directory; on Node 24 a recursive removal that meets a file vanishing under it can end without
   * an error and leave the directory behind.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (Atomics.compareExchange(this.state, 0, STARTING, CANCELLED) === STARTING) return;
    this.worker.postMessage('stop');
    Atomics.wait(this.state, 0, OPEN, STOP_WAIT_MS);
  }
}
