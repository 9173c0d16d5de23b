/**
 * The SQLite engine of the provider store (better-sqlite3): WAL with synchronous FULL, so a method
 * that returned has committed durably (spec/messages.md DELIV-008); group commits (`writeBatch`) are
 * flushed to disk off the event loop instead (wal-flush.ts). This top layer holds consent,
 * requests, blocks, reports, partner token ids and attachment slots (spec/consent.md).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { InteropSettings, RequestAction } from '../../../schemas/frames/consent.ts';
import type {
  AttachmentBlob,
  AttachmentSlot,
  ContactRecord,
  NewReport,
  ProviderStore,
  ReportRecord,
} from '../types.ts';
import { allowed, toContact, toSlot } from './base.ts';
import { migrate } from './migrations.ts';
import { SqliteGroups } from './groups.ts';

/** SQLite's page cache per connection: the queue's indexes stay in memory under load. */
export const PAGE_CACHE_KIB = 64 * 1024;

/**
 * Opens (creating the file and its directory) and migrates a store; `':memory:'` for tests.
 * `onBackgroundError` hears a failure of the checkpoint worker (checkpointer.ts).
 */
export function openSqliteStore(
  path: string,
  onBackgroundError?: (error: unknown) => void,
): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  migrate(db);
  return new SqliteStore(db, onBackgroundError);
}

export class SqliteStore extends SqliteGroups implements ProviderStore {
  setConsent(address: string, settings: InteropSettings): void {
    this.tx(() => {
      this.run(
        `UPDATE accounts SET interop_enabled = ?, interop_platforms = ?, interop_inbox = ?
         WHERE address = ?`,
        settings.enabled ? 1 : 0,
        JSON.stringify(settings.platforms),
        settings.inbox,
        address,
      );
      const queued = this.all(
        `SELECT DISTINCT origin_platform AS p FROM deliveries
         WHERE recipient = ? AND third_party = 1`,
        address,
      ).map((r) => r.p as string);
      for (const p of new Set(queued))
        if (!allowed(settings, p))
          this.run(
            `DELETE FROM deliveries
             WHERE recipient = ? AND third_party = 1 AND origin_platform = ?`,
            address,
            p,
          );
      const known = this.all(
        'SELECT DISTINCT platform AS p FROM contacts WHERE recipient = ?',
        address,
      );
      for (const r of known)
        if (!allowed(settings, r.p as string))
          this.run('DELETE FROM contacts WHERE recipient = ? AND platform = ?', address, r.p);
      // Group invitations are message requests too (GROUP-020): those of platforms no longer
      // allowed end as a decline would, unseen by the other members.
      const inviting = this.all(
        `SELECT DISTINCT added_by_platform AS p FROM group_members
         WHERE address = ? AND status = 'invited'`,
        address,
      );
      for (const r of inviting)
        if (!allowed(settings, r.p as string))
          this.run(
            `UPDATE group_members SET status = 'declined'
             WHERE address = ? AND status = 'invited' AND added_by_platform = ?`,
            address,
            r.p,
          );
    });
  }

  getContact(recipient: string, sender: string): ContactRecord | undefined {
    const r = this.get(
      'SELECT * FROM contacts WHERE recipient = ? AND sender = ?',
      recipient,
      sender,
    );
    return r && toContact(r);
  }

  listRequests(recipient: string): ContactRecord[] {
    // First contacts and group invitations alike (GROUP-020), but never an invitation from an
    // address the user blocked.
    return this.all(
      `SELECT recipient, sender, platform, state, first_seen, NULL AS group_id
         FROM contacts WHERE recipient = ? AND state = 'pending'
       UNION ALL
       SELECT gm.address, gm.added_by, gm.added_by_platform, 'pending', gm.since, gm.group_id
         FROM group_members gm
         WHERE gm.address = ? AND gm.status = 'invited'
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.address = gm.address
                           AND b.blocked = gm.added_by)
       ORDER BY first_seen, sender LIMIT 1000`,
      recipient,
      recipient,
    ).map(toContact);
  }

  respondRequest(recipient: string, sender: string, action: RequestAction, now: number): void {
    this.tx(() => {
      const platform = sender.slice(sender.indexOf('@') + 1);
      if (action === 'block') {
        this.run('DELETE FROM contacts WHERE recipient = ? AND sender = ?', recipient, sender);
        this.setBlock(recipient, sender, true, now);
        return;
      }
      const state = action === 'accept' ? 'accepted' : 'declined';
      this.run(
        `INSERT INTO contacts VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (recipient, sender) DO UPDATE SET state = excluded.state`,
        recipient,
        sender,
        platform,
        state,
        now,
      );
      if (action === 'decline') this.dropQueued(recipient, sender);
    });
  }

  setBlock(address: string, blocked: string, on: boolean, now: number): void {
    this.tx(() => {
      if (on) {
        this.run('INSERT OR IGNORE INTO blocks VALUES (?, ?, ?)', address, blocked, now);
        this.dropQueued(address, blocked);
      } else {
        const was = this.run(
          'DELETE FROM blocks WHERE address = ? AND blocked = ?',
          address,
          blocked,
        );
        // Group distributions recorded during the block never arrived: the sender distributes
        // again to the user's devices (GROUP-052).
        if (was > 0)
          this.run(
            `DELETE FROM group_distributions WHERE sender = ? AND recipient = ?
             AND group_id IN (SELECT group_id FROM group_members WHERE address = ?)`,
            blocked,
            address,
            address,
          );
      }
    });
  }

  isBlocked(address: string, blocked: string): boolean {
    return this.cached(`blocked ${address} ${blocked}`, () => ({
      blocked: !!this.get(
        'SELECT 1 FROM blocks WHERE address = ? AND blocked = ?',
        address,
        blocked,
      ),
    })).blocked;
  }

  addReport(r: NewReport): string {
    const reportId = randomUUID();
    this.tx(() =>
      this.run(
        'INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?)',
        reportId,
        r.reporter,
        r.reported,
        r.reason,
        JSON.stringify(r.messageIds),
        r.comment,
        r.now,
      ),
    );
    return reportId;
  }

  getReport(reportId: string): ReportRecord | undefined {
    const r = this.get('SELECT * FROM reports WHERE report_id = ?', reportId);
    return (
      r && {
        reportId,
        reporter: r.reporter as string,
        reported: r.reported as string,
        reason: r.reason as string,
        messageIds: JSON.parse(r.message_ids as string) as string[],
        comment: (r.comment as string | null) ?? null,
        now: r.created_at as number,
      }
    );
  }

  rememberTokenId(issuer: string, jti: string, expiresAt: number): boolean {
    return this.tx(
      () =>
        this.run(
          'INSERT OR IGNORE INTO partner_tokens VALUES (?, ?, ?)',
          issuer,
          jti,
          expiresAt,
        ) === 1,
    );
  }

  attachmentBytes(owner: string, now: number): number {
    return this.get(
      'SELECT coalesce(sum(size), 0) AS n FROM attachment_slots WHERE owner = ? AND expires_at > ?',
      owner,
      now,
    )!.n as number;
  }

  createSlot(s: AttachmentSlot): void {
    this.tx(() =>
      this.run(
        'INSERT INTO attachment_slots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        s.blobId,
        s.owner,
        s.kind,
        s.size,
        s.digest,
        s.uploadToken,
        s.capability,
        s.createdAt,
        s.expiresAt,
      ),
    );
  }

  getSlot(blobId: string): AttachmentSlot | undefined {
    const r = this.get('SELECT * FROM attachment_slots WHERE blob_id = ?', blobId);
    return r && toSlot(r);
  }

  getBlob(blobId: string): AttachmentBlob | undefined {
    const r = this.get(
      `SELECT s.*, b.completed_at FROM attachment_slots s
       LEFT JOIN attachment_blobs b ON b.blob_id = s.blob_id WHERE s.blob_id = ?`,
      blobId,
    );
    return r && { ...toSlot(r), completedAt: (r.completed_at as number | null) ?? null };
  }

  completeBlob(blobId: string, now: number): boolean {
    return this.tx(
      () =>
        this.run(
          `INSERT OR IGNORE INTO attachment_blobs (blob_id, completed_at)
           SELECT blob_id, ? FROM attachment_slots WHERE blob_id = ?`,
          now,
          blobId,
        ) === 1,
    );
  }

  deleteSlot(blobId: string): boolean {
    return this.tx(() => {
      this.run('DELETE FROM attachment_blobs WHERE blob_id = ?', blobId);
      return this.run('DELETE FROM attachment_slots WHERE blob_id = ?', blobId) === 1;
    });
  }

  expiredSlots(now: number, limit: number): string[] {
    return this.all(
      'SELECT blob_id FROM attachment_slots WHERE expires_at <= ? ORDER BY expires_at LIMIT ?',
      now,
      limit,
    ).map((r) => r.blob_id as string);
  }
}
