/**
 * SHA-256 of a blob computed on a worker thread while the calling thread encrypts or decrypts it.
 * Spec: spec/attachments.md, "Chunked encryption" (the pointer's `digest`) and "Streaming and
 * memory".
 *
 * Why a worker: the digest covers the whole ciphertext and SHA-256 costs about as much as
 * AES-256-GCM, so hashing inline halves the throughput of a stream. One shared worker per process
 * (started on first use, so its ~50 ms start-up is paid once, not per file) hashes the bytes of
 * every stream that uses it, each under its own job id.
 *
 * Bounded memory: a job copies the bytes it is given (`update`, the decryptor's ciphertext, which
 * belongs to its writer) into 2 MiB batches and transfers each full batch to the worker, which
 * hashes it and transfers it back for reuse; or it hands over buffers it owns (`hashOwned`, the
 * encryptor's fresh ciphertext) without a copy and gets them back once hashed. A job has at most
 * HASH_MAX_IN_FLIGHT batches out; then `update` returns a promise that settles once the worker
 * hands one back, and the encryptor waits for its oldest batch (backpressure), so a slow worker
 * slows the stream instead of growing a queue.
 *
 * Never keeps a process alive: the worker is ref'd only while it holds work (a batch or a digest
 * request) whose answer the caller awaits, and unref'd as soon as it has none; it is terminated
 * after HASH_WORKER_IDLE_MS without jobs, and `shutdownHashWorker` ends it at once. Jobs are held
 * weakly, so a stream dropped without being destroyed does not pin its buffers. A stream that is
 * destroyed aborts its job (`dispose`); the worker drops that job's hash state.
 *
 * Small blobs (below HASH_WORKER_MIN_BYTES) are hashed inline: the messaging would cost more than
 * it saves; so is everything on a single-core machine, or once setHashWorkerMinBytes(Infinity)
 * turned the worker off. `createStreamHash` picks the variant.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Bytes per message to the worker (32 chunks): amortises the ~50 µs cost of one message. */
export const HASH_BATCH_BYTES = 2 * 2 ** 20;

/** Batches one job may have at the worker before it waits: ≤ 8 MiB per stream. */
export const HASH_MAX_IN_FLIGHT = 4;

/** Smallest blob hashed on the worker; below it, inline hashing is cheaper than the messaging. */
export const HASH_WORKER_MIN_BYTES = 4 * 2 ** 20;

/** With one core there is nothing to overlap: hash inline unless told otherwise. */
let workerMinBytes = availableParallelism() >= 2 ? HASH_WORKER_MIN_BYTES : Infinity;

/**
 * Sets the smallest blob size hashed on the worker for streams created from now on (Infinity:
 * never, e.g. on a single-core device or where threads are unwelcome); returns the previous value.
 */
export function setHashWorkerMinBytes(bytes: number): number {
  if (!(bytes >= 0)) throw new RangeError(`bad hash worker threshold ${bytes}`);
  const previous = workerMinBytes;
  workerMinBytes = bytes;
  return previous;
}

/** Idle time after which the shared worker is terminated (it is unref'd meanwhile). */
export const HASH_WORKER_IDLE_MS = 10_000;

/** Running SHA-256 over a stream's bytes. */
export interface StreamHash {
  /**
   * Adds `data` (copied or hashed at once: the caller may reuse or hand on the buffer). Returns a
   * promise when the caller must wait before the next update (the worker is behind), else
   * undefined. Throws (or rejects) if the worker failed.
   */
  update(data: Uint8Array): Promise<void> | undefined;
  /**
   * Adds `buffers` in order without copying them where possible: each buffer that spans its
   * whole ArrayBuffer is transferred to the worker and comes back once hashed. Resolves with
   * buffers holding the same bytes, which the caller must use in place of the ones it passed
   * (those may be detached). Inline, returns the same array at once. Mixes freely with `update`.
   */
  hashOwned(buffers: Buffer[]): Promise<Buffer[]> | Buffer[];
  /**
   * Bytes worth gathering before one `hashOwned` call (0: no point in gathering, hash at once).
   */
  readonly batchBytes: number;
  /** The digest of everything added; call once, after the last update settled. */
  digest(): Promise<Buffer>;
  /** Abandons the hash (stream destroyed); idempotent, and a no-op after `digest`. */
  dispose(): void;
  /** Whether this hash runs on the worker. */
  readonly onWorker: boolean;
}

/**
 * A StreamHash for a blob of `totalBytes`: on the shared worker when the blob is large enough
 * (see setHashWorkerMinBytes; `worker` forces the choice), else inline.
 */
export function createStreamHash(totalBytes: number, worker?: boolean): StreamHash {
  const useWorker = worker ?? totalBytes >= workerMinBytes;
  return useWorker ? new WorkerHash() : new InlineHash();
}

/** Inline SHA-256 (node:crypto on the calling thread). */
class InlineHash implements StreamHash {
  readonly onWorker = false;
  readonly #hash: Hash = createHash('sha256');

  readonly batchBytes = 0;

  update(data: Uint8Array): undefined {
    this.#hash.update(data);
    return undefined;
  }

  hashOwned(buffers: Buffer[]): Buffer[] {
    for (const buffer of buffers) this.#hash.update(buffer);
    return buffers;
  }

  digest(): Promise<Buffer> {
    return Promise.resolve(this.#hash.digest());
  }

  dispose(): void {
    // Nothing held outside this object.
  }
}

/** The worker's program: one Hash per job id; batches come in, go back emptied for reuse. */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (message) => {
  const { op, id } = message;
  if (op === 'update') {
    let hash = hashes.get(id);
    if (hash === undefined) {
      hash = createHash('sha256');
      hashes.set(id, hash);
    }
    hash.update(new Uint8Array(message.buffer, 0, message.length));
    parentPort.postMessage({ op: 'ack', id, buffer: message.buffer }, [message.buffer]);
  } else if (op === 'owned') {
    let hash = hashes.get(id);
    if (hash === undefined) {
      hash = createHash('sha256');
      hashes.set(id, hash);
    }
    for (const buffer of message.buffers) hash.update(new Uint8Array(buffer));
    parentPort.postMessage({ op: 'owned', id, buffers: message.buffers }, message.buffers);
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256');
    hashes.delete(id);
    const digest = hash.digest();
    parentPort.postMessage({ op: 'digest', id, digest: digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.length) });
  } else if (op === 'abort') {
    hashes.delete(id);
  }
});
`;

type ToWorker =
  | { op: 'update'; id: number; buffer: ArrayBuffer; length: number }
  | { op: 'owned'; id: number; buffers: ArrayBuffer[] }
  | { op: 'digest'; id: number }
  | { op: 'abort'; id: number };

type FromWorker =
  | { op: 'ack'; id: number; buffer: ArrayBuffer }
  | { op: 'owned'; id: number; buffers: ArrayBuffer[] }
  | { op: 'digest'; id: number; digest: ArrayBuffer };

/** What the hub calls back on a job. */
interface JobSink {
  onAck(buffer: ArrayBuffer): void;
  onOwned(buffers: ArrayBuffer[]): void;
  onDigest(digest: Buffer): void;
  onFailure(error: Error): void;
}

/** The shared worker and the bookkeeping that decides when it may keep the process alive. */
class HashWorkerHub {
  #worker: Worker | undefined;
  #online = false;
  /** Every attached job, held weakly: a stream dropped while idle does not pin its buffers. */
  readonly #jobs = new Map<number, WeakRef<JobSink>>();
  /**
   * Jobs awaiting an answer, held strongly with their count of unanswered requests: the worker's
   * answer is what their caller waits on, so they must live until it comes (like pending I/O).
   */
  readonly #busy = new Map<number, { job: JobSink; count: number }>();
  readonly #finalizer = new FinalizationRegistry<number>((id) => this.#forget(id));
  #nextId = 1;
  /** Requests sent whose answer has not come back: the worker is ref'd while this is > 0. */
  #outstanding = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Resolves once the current worker exited (for shutdown). */
  #exited: Promise<void> = Promise.resolve();

  /** Registers a job; starts the worker if none runs. */
  attach(job: JobSink): number {
    const id = this.#nextId;
    this.#nextId += 1;
    this.#ensureWorker();
    this.#jobs.set(id, new WeakRef(job));
    this.#finalizer.register(job, id, job);
    this.#clearIdleTimer();
    return id;
  }

  /** Unregisters a job; `abort` tells the worker to drop its hash state. */
  detach(id: number, job: JobSink, abort: boolean): void {
    this.#finalizer.unregister(job);
    if (abort) this.#post({ op: 'abort', id }, [], false);
    this.#jobs.delete(id);
    this.#maybeIdle();
  }

  /** Sends `job`'s update (buffers transferred) or digest request; each gets an answer. */
  send(job: JobSink, message: ToWorker): void {
    if (!this.#worker) {
      // Only after a failure, which the job has already been told of; never leave it waiting.
      queueMicrotask(() => job.onFailure(new Error('the hash worker is not running')));
      return;
    }
    const busy = this.#busy.get(message.id);
    if (busy) busy.count += 1;
    else this.#busy.set(message.id, { job, count: 1 });
    const transfer =
      message.op === 'update' ? [message.buffer] : message.op === 'owned' ? message.buffers : [];
    this.#post(message, transfer, true);
  }

  /** Snapshot for tests and diagnostics. */
  state(): HashWorkerState {
    return {
      running: this.#worker !== undefined,
      online: this.#online,
      jobs: this.#jobs.size,
      outstanding: this.#outstanding,
      keepsProcessAlive: this.#worker !== undefined && this.#outstanding > 0,
    };
  }

  /** Terminates the worker now; jobs still attached fail. */
  async shutdown(): Promise<void> {
    const worker = this.#worker;
    if (worker) {
      this.#fail(new Error('the hash worker was shut down'));
      await worker.terminate();
    }
    await this.#exited;
  }

  #post(message: ToWorker, transfer: ArrayBuffer[], answered: boolean): void {
    const worker = this.#worker;
    if (!worker) return;
    if (answered) {
      if (this.#outstanding === 0) worker.ref();
      this.#outstanding += 1;
    }
    worker.postMessage(message, transfer);
  }

  #ensureWorker(): void {
    if (this.#worker) return;
    // execArgv [] so loaders of the parent (tsx) are not started again in the worker.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.#worker = worker;
    this.#online = false;
    this.#outstanding = 0;
    worker.unref();
    worker.on('online', () => {
      if (this.#worker === worker) this.#online = true;
    });
    worker.on('message', (message: FromWorker) => {
      if (this.#worker !== worker) return;
      this.#outstanding -= 1;
      if (this.#outstanding === 0) worker.unref();
      const busy = this.#busy.get(message.id);
      if (busy) {
        busy.count -= 1;
        if (busy.count === 0) this.#busy.delete(message.id);
      }
      const job = busy?.job;
      if (message.op === 'ack') job?.onAck(message.buffer);
      else if (message.op === 'owned') job?.onOwned(message.buffers);
      else job?.onDigest(Buffer.from(message.digest));
      this.#maybeIdle();
    });
    worker.on('error', (error) => {
      if (this.#worker === worker)
        this.#fail(new Error('the hash worker failed', { cause: error }));
    });
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        if (this.#worker === worker) {
          this.#fail(new Error(`the hash worker exited (code ${code})`));
        }
        resolve();
      });
    });
  }

  /** Drops the worker and fails every attached job. */
  #fail(error: Error): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#online = false;
    this.#outstanding = 0;
    this.#clearIdleTimer();
    worker?.unref();
    const jobs = new Set<JobSink>();
    for (const ref of this.#jobs.values()) {
      const job = ref.deref();
      if (job) jobs.add(job);
    }
    for (const { job } of this.#busy.values()) jobs.add(job);
    this.#jobs.clear();
    this.#busy.clear();
    for (const job of jobs) {
      this.#finalizer.unregister(job);
      job.onFailure(error);
    }
  }

  /** A job was garbage-collected without being disposed: drop its state in the worker. */
  #forget(id: number): void {
    if (!this.#jobs.delete(id)) return;
    this.#post({ op: 'abort', id }, [], false);
    this.#maybeIdle();
  }

  #maybeIdle(): void {
    if (!this.#worker || this.#jobs.size > 0 || this.#outstanding > 0 || this.#idleTimer) return;
    const worker = this.#worker;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#worker === worker && this.#jobs.size === 0 && this.#outstanding === 0) {
        this.#worker = undefined;
        this.#online = false;
        void worker.terminate();
      }
    }, HASH_WORKER_IDLE_MS);
    this.#idleTimer.unref();
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

/** What `hashWorkerState` reports. */
export interface HashWorkerState {
  /** A worker thread exists (it may be idle and unref'd). */
  readonly running: boolean;
  /** The worker has started executing. */
  readonly online: boolean;
  /** Jobs attached (streams hashing on the worker, not yet finished or destroyed). */
  readonly jobs: number;
  /** Batches and digest requests the worker has not answered yet. */
  readonly outstanding: number;
  /** Whether the worker currently holds the event loop open (only while it has work). */
  readonly keepsProcessAlive: boolean;
}

const hub = new HashWorkerHub();

/** The shared hash worker's state (tests, diagnostics). */
export function hashWorkerState(): HashWorkerState {
  return hub.state();
}

/**
 * Terminates the shared hash worker now (it is otherwise unref'd when idle and ended after
 * HASH_WORKER_IDLE_MS). Streams still hashing on it fail; a later stream starts a new one.
 */
export function shutdownHashWorker(): Promise<void> {
  return hub.shutdown();
}

/** SHA-256 on the shared worker, fed through reusable HASH_BATCH_BYTES batches. */
class WorkerHash implements StreamHash, JobSink {
  readonly onWorker = true;
  readonly batchBytes = HASH_BATCH_BYTES;
  /** Answers to `hashOwned` calls, oldest first (the worker answers in order). */
  readonly #owned: { resolve: (buffers: Buffer[]) => void; reject: (error: Error) => void }[] = [];
  readonly #id: number;
  #batch: Buffer | undefined;
  #filled = 0;
  readonly #free: ArrayBuffer[] = [];
  #inFlight = 0;
  #waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #result: { resolve: (digest: Buffer) => void; reject: (error: Error) => void } | undefined;
  #error: Error | undefined;
  #closed = false;

  constructor() {
    this.#id = hub.attach(this);
  }

  update(data: Uint8Array): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    if (this.#closed) throw new Error('update after digest or dispose');
    let offset = 0;
    while (offset < data.length) {
      if (!this.#batch) {
        const buffer =
          this.#free.pop() ??
          (this.#inFlight < HASH_MAX_IN_FLIGHT ? new ArrayBuffer(HASH_BATCH_BYTES) : undefined);
        if (!buffer) return this.#waitThen(data.subarray(offset));
        this.#batch = Buffer.from(buffer);
        this.#filled = 0;
      }
      const take = Math.min(HASH_BATCH_BYTES - this.#filled, data.length - offset);
      this.#batch.set(data.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === HASH_BATCH_BYTES) this.#sendBatch();
    }
    return undefined;
  }

  hashOwned(buffers: Buffer[]): Promise<Buffer[]> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(new Error('update after digest or dispose'));
    if (this.#waiter) return Promise.reject(new Error('hashOwned while an update waits'));
    const transferable = buffers.every(
      (buffer) => buffer.byteOffset === 0 && buffer.length === buffer.buffer.byteLength,
    );
    if (!transferable) {
      // Copy instead (a pooled or sliced buffer cannot be handed over), keeping the order.
      return (async () => {
        for (const buffer of buffers) {
          const wait = this.update(buffer);
          if (wait) await wait;
        }
        return buffers;
      })();
    }
    // Bytes copied earlier go first: the worker hashes messages in the order sent.
    if (this.#batch && this.#filled > 0) this.#sendBatch();
    return new Promise<Buffer[]>((resolve, reject) => {
      this.#owned.push({ resolve, reject });
      hub.send(this, {
        op: 'owned',
        id: this.#id,
        buffers: buffers.map((buffer) => buffer.buffer as ArrayBuffer),
      });
    });
  }

  digest(): Promise<Buffer> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(new Error('digest after digest or dispose'));
    if (this.#waiter) return Promise.reject(new Error('digest while an update waits'));
    if (this.#batch && this.#filled > 0) this.#sendBatch();
    this.#batch = undefined;
    this.#closed = true;
    return new Promise<Buffer>((resolve, reject) => {
      this.#result = { resolve, reject };
      hub.send(this, { op: 'digest', id: this.#id });
    });
  }

  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#batch = undefined;
    this.#free.length = 0;
    this.#waiter = undefined;
    this.#owned.length = 0;
    hub.detach(this.#id, this, true);
  }

  onAck(buffer: ArrayBuffer): void {
    this.#inFlight -= 1;
    if (this.#closed) return;
    this.#free.push(buffer);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  onOwned(buffers: ArrayBuffer[]): void {
    const answer = this.#owned.shift();
    if (!this.#closed || this.#result)
      answer?.resolve(buffers.map((buffer) => Buffer.from(buffer)));
  }

  onDigest(digest: Buffer): void {
    const result = this.#result;
    this.#result = undefined;
    hub.detach(this.#id, this, false);
    result?.resolve(digest);
  }

  onFailure(error: Error): void {
    this.#error = error;
    this.#free.length = 0;
    this.#batch = undefined;
    const waiter = this.#waiter;
    const result = this.#result;
    const owned = this.#owned.splice(0);
    this.#waiter = undefined;
    this.#result = undefined;
    waiter?.reject(error);
    for (const answer of owned) answer.reject(error);
    result?.reject(error);
  }

  #sendBatch(): void {
    const batch = this.#batch as Buffer;
    this.#batch = undefined;
    this.#inFlight += 1;
    hub.send(this, {
      op: 'update',
      id: this.#id,
      buffer: batch.buffer as ArrayBuffer,
      length: this.#filled,
    });
    this.#filled = 0;
  }

  /** Waits for a batch to come back, then adds `rest`. */
  async #waitThen(rest: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    const again = this.update(rest);
    if (again) await again;
  }
}
