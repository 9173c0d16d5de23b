/**
 * The SQL helpers and row conversions shared by the SQLite store's layers (spec/messages.md
 * DELIV-008: every write runs in an IMMEDIATE transaction of a WAL database with synchronous FULL,
 * except group commits, which are flushed off the event loop: see wal-flush.ts).
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import type { InteropSettings } from '../../../schemas/frames/consent.ts';
import type {
  AccountRecord,
  BatchOutcome,
  AttachmentSlot,
  ContactRecord,
  DeviceRecord,
  StoredSignedKey,
} from '../types.ts';
import { Checkpointer } from './checkpointer.ts';
import { WalFlusher } from './wal-flush.ts';

export type Row = Record<string, unknown>;

export function bytes(value: unknown): Uint8Array {
  return new Uint8Array(value as Buffer);
}

export function toAccount(r: Row): AccountRecord {
  return {
    address: r.address as string,
    kind: r.kind as AccountRecord['kind'],
    platform: r.platform as string,
    interop: {
      enabled: r.interop_enabled === 1,
      platforms: JSON.parse(r.interop_platforms as string) as InteropSettings['platforms'],
      inbox: r.interop_inbox as InteropSettings['inbox'],
    },
    createdAt: r.created_at as number,
  };
}

export function toDevice(r: Row): DeviceRecord {
  return {
    address: r.address as string,
    deviceId: r.device_id as number,
    registrationId: r.registration_id as number,
    identityKey: bytes(r.identity_key),
  };
}

export function toSigned(r: Row | undefined): StoredSignedKey | null {
  if (!r) return null;
  return {
    keyId: r.key_id as number,
    publicKey: bytes(r.public_key),
    signature: bytes(r.signature),
  };
}

export function toContact(r: Row): ContactRecord {
  return {
    recipient: r.recipient as string,
    sender: r.sender as string,
    platform: r.platform as string,
    state: r.state as ContactRecord['state'],
    firstSeen: r.first_seen as number,
    ...(typeof r.group_id === 'string' ? { group: r.group_id } : {}),
  };
}

export function toSlot(r: Row): AttachmentSlot {
  return {
    blobId: r.blob_id as string,
    owner: r.owner as string,
    kind: r.kind as string,
    size: r.size as number,
    digest: r.digest as string,
    uploadToken: r.upload_token as string,
    capability: r.capability as string,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
  };
}

/** Whether settings let a platform's messages through (spec/consent.md CONSENT-005). */
export function allowed(settings: InteropSettings, platform: string): boolean {
  return (
    settings.enabled && (settings.platforms === 'all' || settings.platforms.includes(platform))
  );
}

/** Most reads `SqlBase.cached` keeps; past it, it starts afresh. */
export const CACHED_READS = 10_000;

/** The database handle and the statement helpers every layer uses. */
export class SqlBase {
  /** Prepared statements by SQL text: compiling one costs more than running it. */
  private readonly statements = new Map<string, Database.Statement>();

  /** One transaction wrapper for every call: better-sqlite3 builds a wrapper at some cost. */
  private readonly transaction: Database.Transaction<(fn: () => unknown) => unknown>;

  /** Flushes group commits to disk; only a file database in WAL mode has a log to flush. */
  private readonly flusher: WalFlusher;
  /** Copies the log into the database file off the event loop (file databases in WAL mode). */
  private readonly checkpointer: Checkpointer | undefined;

  /** `onBackgroundError` hears what failed off the event loop (the store recovers by itself). */
  constructor(
    readonly db: Database.Database,
    onBackgroundError: (error: unknown) => void = () => {},
  ) {
    this.transaction = db.transaction((fn: () => unknown) => fn());
    const wal = !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal';
    const path = resolve(db.name);
    this.flusher = new WalFlusher(wal ? `${path}-wal` : undefined);
    this.checkpointer = wal ? new Checkpointer(db, path, onBackgroundError) : undefined;
  }

  close(): void {
    this.statements.clear();
    this.checkpointer?.stop();
    this.flusher.close();
    if (this.db.open) this.db.close();
  }

  flushed(): Promise<void> {
    return this.flusher.flushed();
  }

  /** The prepared statement of `sql`, compiled once per store. */
  protected statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  protected get(sql: string, ...args: unknown[]): Row | undefined {
    return this.statement(sql).get(...args) as Row | undefined;
  }

  protected all(sql: string, ...args: unknown[]): Row[] {
    return this.statement(sql).all(...args) as Row[];
  }

  protected run(sql: string, ...args: unknown[]): number {
    return this.statement(sql).run(...args).changes;
  }

  /** Set while one write of a `writeBatch` runs: its savepoint already makes it atomic. */
  private inBatchWrite = false;
  /** Transactions open on this connection (queue or not). */
  private open = 0;
  /** `tx` calls running: a read inside one may see its uncommitted rows and is never cached. */
  private writing = 0;
  /** A `tx` ran inside the open transaction, which may still roll back: nothing is cached. */
  private tainted = false;
  /** Reads `cached` keeps between writes: every `tx` forgets them all. */
  private readonly reads = new Map<string, unknown>();

  /**
   * `read()`, remembered under `key` until the next `tx` (any write but the queue's own). Values
   * are frozen: callers share them. Only for reads of rows that `queueTx` never writes.
   */
  protected cached<T extends object | undefined>(key: string, read: () => T): T {
    if (this.writing > 0 || this.tainted) return read();
    if (this.reads.has(key)) return this.reads.get(key) as T;
    const value = read();
    if (value !== undefined) Object.freeze(value);
    if (this.reads.size >= CACHED_READS) this.reads.clear();
    this.reads.set(key, value);
    return value;
  }

  /**
   * An IMMEDIATE transaction that forgets every cached read once it ends. Inside a `writeBatch`
   * write, `fn` runs in that write's savepoint (better-sqlite3 would otherwise open one more
   * savepoint per method).
   */
  protected tx<T>(fn: () => T): T {
    if (this.open > 0) this.tainted = true;
    this.writing += 1;
    try {
      return this.queueTx(fn);
    } finally {
      this.writing -= 1;
      this.reads.clear();
    }
  }

  /**
   * A transaction of the queue layer (deliveries, idempotency, contacts), which writes
   * none of the rows `cached` keeps: cached reads stay valid through it.
   */
  protected queueTx<T>(fn: () => T): T {
    if (this.inBatchWrite) return fn();
    this.open += 1;
    try {
      return this.transaction.immediate(fn) as T;
    } finally {
      this.open -= 1;
      if (this.open === 0 && this.tainted) {
        this.tainted = false;
        this.reads.clear();
      }
    }
  }

  writeBatch<T>(writes: readonly (() => T)[]): BatchOutcome<T>[] {
    // The commit only writes the log; `flushed()` makes it durable without blocking the loop.
    this.statement('PRAGMA synchronous = NORMAL').run(); // prepared once: this runs per batch
    try {
      return this.batch(writes);
    } finally {
      this.statement('PRAGMA synchronous = FULL').run();
    }
  }

  private batch<T>(writes: readonly (() => T)[]): BatchOutcome<T>[] {
    return this.queueTx(() =>
      writes.map((write): BatchOutcome<T> => {
        try {
          // Nested in the batch's transaction, this is a savepoint: a throw undoes this write only.
          const value = this.transaction(() => {
            this.inBatchWrite = true;
            try {
              return write();
            } finally {
              this.inBatchWrite = false;
            }
          }) as T;
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }
}
