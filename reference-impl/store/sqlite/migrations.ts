/**
 * The SQLite schema of the provider store as ordered migrations, applied in one transaction at open
 * and recorded in `schema_migrations` (spec/messages.md durability; spec/consent.md state).
 */
import type Database from 'better-sqlite3';

/** One schema step; versions are applied in ascending order and never edited once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE accounts (
        address TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('local', 'partner')),
        platform TEXT NOT NULL,
        next_device_id INTEGER NOT NULL DEFAULT 2,
        interop_enabled INTEGER NOT NULL DEFAULT 0,
        interop_platforms TEXT NOT NULL DEFAULT '"all"',
        interop_inbox TEXT NOT NULL DEFAULT 'separate',
        created_at INTEGER NOT NULL
      );
      CREATE TABLE devices (
        address TEXT NOT NULL REFERENCES accounts (address),
        device_id INTEGER NOT NULL,
        registration_id INTEGER NOT NULL,
        identity_key BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (address, device_id)
      );
      CREATE TABLE signed_prekeys (
        address TEXT NOT NULL, device_id INTEGER NOT NULL, kind TEXT NOT NULL,
        key_id INTEGER NOT NULL, public_key BLOB NOT NULL, signature BLOB NOT NULL,
        PRIMARY KEY (address, device_id, kind)
      );
      CREATE TABLE one_time_prekeys (
        address TEXT NOT NULL, device_id INTEGER NOT NULL,
        key_id INTEGER NOT NULL, public_key BLOB NOT NULL,
        PRIMARY KEY (address, device_id, key_id)
      );
      CREATE TABLE messages (
        message_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL, sender_device INTEGER NOT NULL,
        origin_platform TEXT NOT NULL, third_party INTEGER NOT NULL,
        recipient TEXT NOT NULL, server_ts INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
      CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL REFERENCES messages (message_id),
        recipient TEXT NOT NULL, device_id INTEGER NOT NULL,
        type TEXT NOT NULL, body TEXT NOT NULL, expires_at INTEGER NOT NULL
      );
      CREATE INDEX deliveries_by_device ON deliveries (recipient, device_id, seq);
      CREATE TABLE idempotency (
        sender TEXT NOT NULL, sender_device INTEGER NOT NULL, idem_key TEXT NOT NULL,
        request_hash TEXT NOT NULL, message_id TEXT NOT NULL, server_ts INTEGER NOT NULL,
        PRIMARY KEY (sender, sender_device, idem_key)
      );
      CREATE TABLE contacts (
        recipient TEXT NOT NULL, sender TEXT NOT NULL, platform TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined')),
        first_seen INTEGER NOT NULL,
        PRIMARY KEY (recipient, sender)
      );
      CREATE TABLE blocks (
        address TEXT NOT NULL, blocked TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (address, blocked)
      );
      CREATE TABLE reports (
        report_id TEXT PRIMARY KEY, reporter TEXT NOT NULL, reported TEXT NOT NULL,
        reason TEXT NOT NULL, message_ids TEXT NOT NULL, comment TEXT, created_at INTEGER NOT NULL
      );
      CREATE TABLE partner_tokens (
        issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, jti)
      );
      CREATE TABLE attachment_slots (
        blob_id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
        digest TEXT NOT NULL, upload_token TEXT NOT NULL, capability TEXT NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    // spec/attachments.md "Upload", "Expiry": a blob becomes downloadable once its digest
    // verified (ATT-021, ATT-025); the sweeper finds expired slots by expiry (ATT-032).
    version: 2,
    name: 'attachment blobs',
    sql: `
      CREATE TABLE attachment_blobs (
        blob_id TEXT PRIMARY KEY REFERENCES attachment_slots (blob_id) ON DELETE CASCADE,
        completed_at INTEGER NOT NULL
      );
      CREATE INDEX attachment_slots_by_expiry ON attachment_slots (expires_at);
      CREATE INDEX attachment_slots_by_owner ON attachment_slots (owner, expires_at);
    `,
  },
  {
    // Deliveries carry their message's sender, origin and timestamp, so the queue needs no message
    // table kept for 24 hours: a send writes one row fewer, and nothing about a message outlives
    // its last delivery but its idempotency record. The sweep finds what expired through indexes;
    // it used to read whole tables, on the event loop, that grow with every message for 24 hours.
    // Sequence numbers carry over, so a delivery id is never reused.
    version: 3,
    name: 'queue without a message table; sweep indexes',
    sql: `
      CREATE TABLE deliveries_v3 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        sender TEXT NOT NULL, sender_device INTEGER NOT NULL,
        origin_platform TEXT NOT NULL, third_party INTEGER NOT NULL,
        recipient TEXT NOT NULL, device_id INTEGER NOT NULL,
        type TEXT NOT NULL, body TEXT NOT NULL,
        server_ts INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
      INSERT INTO deliveries_v3
        SELECT d.seq, d.message_id, m.sender, m.sender_device, m.origin_platform, m.third_party,
               d.recipient, d.device_id, d.type, d.body, m.server_ts, d.expires_at
        FROM deliveries d JOIN messages m ON m.message_id = d.message_id;
      DELETE FROM sqlite_sequence WHERE name = 'deliveries_v3';
      INSERT INTO sqlite_sequence (name, seq)
        SELECT 'deliveries_v3', seq FROM sqlite_sequence WHERE name = 'deliveries';
      DROP TABLE deliveries;
      DROP TABLE messages;
      ALTER TABLE deliveries_v3 RENAME TO deliveries;
      CREATE INDEX deliveries_by_device ON deliveries (recipient, device_id, seq);
      CREATE INDEX deliveries_by_expiry ON deliveries (expires_at);

      CREATE TABLE idempotency_v3 (
        sender TEXT NOT NULL, sender_device INTEGER NOT NULL, idem_key TEXT NOT NULL,
        request_hash TEXT NOT NULL, message_id TEXT NOT NULL, server_ts INTEGER NOT NULL,
        PRIMARY KEY (sender, sender_device, idem_key)
      ) WITHOUT ROWID;
      INSERT INTO idempotency_v3 SELECT * FROM idempotency;
      DROP TABLE idempotency;
      ALTER TABLE idempotency_v3 RENAME TO idempotency;
      CREATE INDEX idempotency_by_time ON idempotency (server_ts);

      CREATE INDEX partner_tokens_by_expiry ON partner_tokens (expires_at);
    `,
  },
  {
    // spec/keys.md (PQXDH): one-time Kyber prekeys, each handed out at most once (KEYS-029). The
    // device's last-resort Kyber prekey lives in signed_prekeys under kind 'kyber' (the row that
    // held the optional Kyber prekey before, which served the same purpose: replaced on publish,
    // never consumed). A claim deletes its one-time Kyber prekey with DELETE … RETURNING, one
    // statement, so that two claims can never both get the same key.
    version: 4,
    name: 'one-time Kyber prekeys (PQXDH)',
    sql: `
      CREATE TABLE one_time_kyber_prekeys (
        address TEXT NOT NULL, device_id INTEGER NOT NULL,
        key_id INTEGER NOT NULL, public_key BLOB NOT NULL, signature BLOB NOT NULL,
        PRIMARY KEY (address, device_id, key_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    // DELIV-032: the bytes and messages queued for each device, so that a send is checked against
    // the bound with one primary-key read, never a scan of the queue. Triggers keep the totals in
    // the transaction of every insert and delete (send, ack, expiry, block, device removal).
    // A send that a block or decline suppresses queues nothing but is charged to its sender's
    // dropped totals (per recipient device, until the last charge expires), so that a blocked
    // sender meets the bound where it would meet it unblocked (CONSENT-022).
    version: 5,
    name: 'queued bytes and messages per recipient device (bounded queue)',
    sql: `
      CREATE TABLE queue_totals (
        recipient TEXT NOT NULL, device_id INTEGER NOT NULL,
        bytes INTEGER NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (recipient, device_id)
      ) WITHOUT ROWID;
      INSERT INTO queue_totals
        SELECT recipient, device_id, SUM(length(body)), COUNT(*) FROM deliveries
        GROUP BY recipient, device_id;
      CREATE TRIGGER deliveries_total_insert AFTER INSERT ON deliveries BEGIN
        INSERT INTO queue_totals VALUES (NEW.recipient, NEW.device_id, length(NEW.body), 1)
          ON CONFLICT (recipient, device_id)
          DO UPDATE SET bytes = bytes + excluded.bytes, count = count + 1;
      END;
      CREATE TRIGGER deliveries_total_delete AFTER DELETE ON deliveries BEGIN
        UPDATE queue_totals SET bytes = bytes - length(OLD.body), count = count - 1
          WHERE recipient = OLD.recipient AND device_id = OLD.device_id;
        DELETE FROM queue_totals
          WHERE recipient = OLD.recipient AND device_id = OLD.device_id AND count <= 0;
      END;
      CREATE TABLE dropped_totals (
        recipient TEXT NOT NULL, device_id INTEGER NOT NULL, sender TEXT NOT NULL,
        bytes INTEGER NOT NULL, count INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        PRIMARY KEY (recipient, device_id, sender)
      ) WITHOUT ROWID;
      CREATE INDEX dropped_totals_by_expiry ON dropped_totals (expires_at);
    `,
  },
  {
    // spec/auth.md "Devices" (AUTH-033..036): each device authenticates with its own device key,
    // and a removed device's key is revoked for good, so that the removed device can never sign in
    // again as any device of the account, whichever device later gets its id. Devices stored
    // before this migration proved possession of the identity key, so that key becomes their device
    // key: they keep working, and they share the old weakness until they are removed and added
    // anew with keys of their own (spec/auth.md says so).
    version: 6,
    name: 'per-device authentication keys and revoked device keys',
    sql: `
      ALTER TABLE devices ADD COLUMN device_key BLOB;
      UPDATE devices SET device_key = identity_key;
      CREATE INDEX devices_by_device_key ON devices (address, device_key);
      CREATE TABLE revoked_device_keys (
        address TEXT NOT NULL, device_key BLOB NOT NULL, device_id INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL,
        PRIMARY KEY (address, device_key)
      ) WITHOUT ROWID;
    `,
  },
  {
    // spec/groups.md: provider-hosted groups. The provider keeps membership, roles and a version,
    // never a name or avatar (those travel encrypted as group content). Group messages and
    // membership changes are queued deliveries like 1:1 messages, so that acks, expiry, blocks and
    // device removal treat them alike; a group message carries its group and, for the devices the
    // sender distributed its sender key to, the 1:1 ciphertext to open first.
    version: 7,
    name: 'provider-hosted groups',
    sql: `
      CREATE TABLE groups (
        group_id TEXT PRIMARY KEY, version INTEGER NOT NULL, created_at INTEGER NOT NULL,
        next_ord INTEGER NOT NULL DEFAULT 1
      ) WITHOUT ROWID;
      CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        status TEXT NOT NULL CHECK (status IN ('member', 'invited', 'declined')),
        third_party INTEGER NOT NULL,
        added_by TEXT NOT NULL, added_by_platform TEXT NOT NULL,
        since INTEGER NOT NULL, ord INTEGER NOT NULL,
        PRIMARY KEY (group_id, address)
      ) WITHOUT ROWID;
      CREATE INDEX group_members_by_address ON group_members (address, status, group_id);
      ALTER TABLE deliveries ADD COLUMN group_id TEXT;
      ALTER TABLE deliveries ADD COLUMN distribution_type TEXT;
      ALTER TABLE deliveries ADD COLUMN distribution_body TEXT;
    `,
  },
  {
    // spec/groups.md GROUP-052: which member devices hold each sending device's sender key, as far
    // as the provider can tell: a row per device that a distribution from that sending device
    // reached, with the registration id it had then (a re-registered device holds nothing). Rows
    // are written in the transaction that accepts the group message and go when the recipient's
    // member leaves or is removed, the device is removed, or the recipient unblocks the sender;
    // a sending device's rows go when its member leaves or is removed or it is removed itself.
    // The check of a group send reads them by primary key, once per member device.
    version: 8,
    name: 'sender-key distributions per member device',
    sql: `
      CREATE TABLE group_distributions (
        group_id TEXT NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
        sender TEXT NOT NULL, sender_device INTEGER NOT NULL,
        recipient TEXT NOT NULL, device_id INTEGER NOT NULL,
        registration_id INTEGER NOT NULL,
        PRIMARY KEY (group_id, sender, sender_device, recipient, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX group_distributions_by_recipient
        ON group_distributions (recipient, device_id, group_id);
    `,
  },
  {
    // DELIV-032 for group messages (GROUP-062): a group delivery holds the 1:1 distribution
    // ciphertext beside its body, so the queued characters of a device count both. The totals
    // are recomputed from the queue once; the triggers count both from now on.
    version: 9,
    name: 'queue totals count the distribution ciphertexts of group deliveries',
    sql: `
      DROP TRIGGER deliveries_total_insert;
      DROP TRIGGER deliveries_total_delete;
      DELETE FROM queue_totals;
      INSERT INTO queue_totals
        SELECT recipient, device_id,
               SUM(length(body) + COALESCE(length(distribution_body), 0)), COUNT(*)
        FROM deliveries GROUP BY recipient, device_id;
      CREATE TRIGGER deliveries_total_insert AFTER INSERT ON deliveries BEGIN
        INSERT INTO queue_totals VALUES (NEW.recipient, NEW.device_id,
            length(NEW.body) + COALESCE(length(NEW.distribution_body), 0), 1)
          ON CONFLICT (recipient, device_id)
          DO UPDATE SET bytes = bytes + excluded.bytes, count = count + 1;
      END;
      CREATE TRIGGER deliveries_total_delete AFTER DELETE ON deliveries BEGIN
        UPDATE queue_totals
          SET bytes = bytes - length(OLD.body) - COALESCE(length(OLD.distribution_body), 0),
              count = count - 1
          WHERE recipient = OLD.recipient AND device_id = OLD.device_id;
        DELETE FROM queue_totals
          WHERE recipient = OLD.recipient AND device_id = OLD.device_id AND count <= 0;
      END;
    `,
  },
];

/**
 * Applies every migration newer than the database's, in order, in one transaction; returns the
 * versions applied. Throws when the database is newer than this code (a downgrade).
 */
export function migrate(db: Database.Database, migrations = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) throw new Error(`store schema version ${newest} is newer than ${known}`);
  const pending = [...migrations]
    .sort((a, b) => a.version - b.version)
    .filter((m) => !applied.has(m.version));
  db.transaction(() => {
    const record = db.prepare(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
  return pending.map((m) => m.version);
}
