// The ClientStore in one SQLite file (better-sqlite3): keys, sessions, dedupe ids and pending sends
// survive a restart (spec/crypto.md "Sessions", spec/messages.md DELIV-011, DELIV-022, DELIV-023).
import Database from 'better-sqlite3';
import {
  deserializeSenderKeyRecord,
  deserializeSessionRecord,
  IdentityKeyPair,
  ReusedBaseKeyError,
  type KyberPreKeyRecord,
  serializeSessionRecord,
  type Direction,
  type PreKeyRecord,
  type ProtocolAddress,
  type SenderKeyRecord,
  serializeSenderKeyRecord,
  type SessionRecord,
  type SignedPreKeyRecord,
} from '../crypto/index.ts';
import type { DeviceCiphertext } from '../../schemas/frames/index.ts';
import {
  deviceKeyPairOf,
  requireIdentity,
  sessionKey,
  type AccountRecord,
  type ClientStore,
  type CounterName,
  type GroupRecord,
  type LocalIdentity,
  type PendingGroupCreate,
  type PendingGroupSend,
  type PendingSend,
} from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (address TEXT PRIMARY KEY, identity_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS prekeys (
  key_id INTEGER PRIMARY KEY, public_key BLOB NOT NULL, private_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS signed_prekeys (
  key_id INTEGER PRIMARY KEY, public_key BLOB NOT NULL, private_key BLOB NOT NULL,
  signature BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  address TEXT PRIMARY KEY, name TEXT NOT NULL, device_id INTEGER NOT NULL, record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_name ON sessions (name, device_id);
CREATE TABLE IF NOT EXISTS processed (message_id TEXT PRIMARY KEY, processed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_sends (
  idempotency_key TEXT PRIMARY KEY, to_address TEXT NOT NULL, content TEXT NOT NULL,
  messages TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS request_senders (address TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS inbound (message_id TEXT PRIMARY KEY, message TEXT NOT NULL);
`;

/**
 * PQXDH's Kyber prekeys (spec/keys.md, crypto.md ENC-049), added to files written before PQXDH
 * by the same IF NOT EXISTS: one-time and last-resort keys with their secret halves, and the base
 * keys already accepted on each last-resort key with a signed prekey, so that a replayed first
 * message never builds a second session (libsignal's mark_kyber_pre_key_used contract).
 */
const KYBER_SCHEMA = `
CREATE TABLE IF NOT EXISTS kyber_prekeys (
  key_id INTEGER PRIMARY KEY, public_key BLOB NOT NULL, secret_key BLOB NOT NULL,
  signature BLOB NOT NULL, created_at INTEGER NOT NULL,
  last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)));
CREATE TABLE IF NOT EXISTS kyber_base_keys (
  key_id INTEGER NOT NULL, signed_pre_key_id INTEGER NOT NULL, base_key BLOB NOT NULL,
  PRIMARY KEY (key_id, signed_pre_key_id, base_key)) WITHOUT ROWID;
`;

/**
 * Groups (spec/groups.md) and sender keys (spec/crypto.md "Sender keys"), added to older files by
 * the same IF NOT EXISTS: one sender-key record per (sender device, distribution id), in the strict
 * format of crypto/group/record.ts, the SDK's view of each group it is a member of, and group sends
 * and creations not yet answered, as JSON.
 */
const GROUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS sender_keys (
  sender TEXT NOT NULL, distribution_id TEXT NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (sender, distribution_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (group_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_group_sends (
  idempotency_key TEXT PRIMARY KEY, send TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_group_creates (
  idempotency_key TEXT PRIMARY KEY, members TEXT NOT NULL, created_at INTEGER NOT NULL);
`;

/**
 * The group each received sender key was first received for (GROUP-054), keyed as sender_keys. A
 * file written before this table gets a row with a null group for each sender key it holds, once,
 * when the table is made: the group message that next opens such a key records its group.
 */
const SENDER_KEY_GROUP_SCHEMA = `
CREATE TABLE sender_key_groups (
  sender TEXT NOT NULL, distribution_id TEXT NOT NULL, group_id TEXT,
  PRIMARY KEY (sender, distribution_id)) WITHOUT ROWID;
INSERT INTO sender_key_groups (sender, distribution_id, group_id)
  SELECT sender, distribution_id, NULL FROM sender_keys;
`;

interface KyberRow {
  key_id: number;
  public_key: Buffer;
  secret_key: Buffer;
  signature: Buffer;
  created_at: number;
}

interface KeyRow {
  key_id: number;
  public_key: Buffer;
  private_key: Buffer;
}
interface SignedKeyRow extends KeyRow {
  signature: Buffer;
  created_at: number;
}
interface PendingRow {
  idempotency_key: string;
  to_address: string;
  content: string;
  messages: string;
  created_at: number;
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b);

function preKeyFrom(row: KeyRow): PreKeyRecord {
  return {
    keyId: row.key_id,
    keyPair: { publicKey: u8(row.public_key), privateKey: u8(row.private_key) },
  };
}

function kyberPreKeyFrom(row: KyberRow): KyberPreKeyRecord {
  return {
    keyId: row.key_id,
    keyPair: { publicKey: u8(row.public_key), secretKey: u8(row.secret_key) },
    signature: u8(row.signature),
    timestamp: row.created_at,
  };
}

function signedPreKeyFrom(row: SignedKeyRow): SignedPreKeyRecord {
  return {
    ...preKeyFrom(row),
    signature: u8(row.signature),
    timestamp: row.created_at,
  };
}

/** A ClientStore in the SQLite file at `path` (created when absent; ':memory:' for a throw-away). */
export class SqliteClientStore implements ClientStore {
  private readonly db: Database.Database;
  private identityPair: IdentityKeyPair | undefined;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.db.exec(KYBER_SCHEMA);
    this.db.exec(GROUP_SCHEMA);
    this.db
      .transaction(() => {
        const made = this.db
          .prepare(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sender_key_groups'",
          )
          .get();
        if (made === undefined) this.db.exec(SENDER_KEY_GROUP_SCHEMA);
      })
      .immediate();
  }

  private getMeta<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  private setMeta(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }

  async getLocalIdentity(): Promise<LocalIdentity | undefined> {
    const stored = this.getMeta<{
      identityPrivateKey: string;
      registrationId: number;
      devicePrivateKey?: string;
    }>('identity');
    if (stored === undefined) return undefined;
    return {
      identityPrivateKey: new Uint8Array(Buffer.from(stored.identityPrivateKey, 'base64url')),
      registrationId: stored.registrationId,
      ...(stored.devicePrivateKey === undefined
        ? {}
        : { devicePrivateKey: new Uint8Array(Buffer.from(stored.devicePrivateKey, 'base64url')) }),
    };
  }

  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    this.setMeta('identity', {
      identityPrivateKey: Buffer.from(identity.identityPrivateKey).toString('base64url'),
      registrationId: identity.registrationId,
      ...(identity.devicePrivateKey === undefined
        ? {}
        : { devicePrivateKey: Buffer.from(identity.devicePrivateKey).toString('base64url') }),
    });
    this.identityPair = undefined;
  }

  async getAccount(): Promise<AccountRecord | undefined> {
    return this.getMeta<AccountRecord>('account');
  }

  async setAccount(account: AccountRecord): Promise<void> {
    this.setMeta('account', account);
  }

  getDeviceKeyPair(): Promise<IdentityKeyPair> {
    return deviceKeyPairOf(this);
  }

  async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    if (this.identityPair === undefined) {
      const identity = await requireIdentity(this);
      this.identityPair = IdentityKeyPair.fromPrivateKey(identity.identityPrivateKey);
    }
    return this.identityPair;
  }

  async getLocalRegistrationId(): Promise<number> {
    return (await requireIdentity(this)).registrationId;
  }

  async saveIdentity(address: ProtocolAddress, identityKey: Uint8Array): Promise<boolean> {
    const known = await this.getIdentity(address);
    this.db
      .prepare(
        'INSERT INTO identities (address, identity_key) VALUES (?, ?) ON CONFLICT(address) DO UPDATE SET identity_key = excluded.identity_key',
      )
      .run(sessionKey(address), Buffer.from(identityKey));
    return known !== undefined && Buffer.compare(known, identityKey) !== 0;
  }

  async isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: Uint8Array,
    _direction: Direction,
  ): Promise<boolean> {
    const known = await this.getIdentity(address);
    return known === undefined || Buffer.compare(known, identityKey) === 0;
  }

  async getIdentity(address: ProtocolAddress): Promise<Uint8Array | undefined> {
    const row = this.db
      .prepare('SELECT identity_key FROM identities WHERE address = ?')
      .get(sessionKey(address)) as { identity_key: Buffer } | undefined;
    return row === undefined ? undefined : u8(row.identity_key);
  }

  async getPreKey(keyId: number): Promise<PreKeyRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM prekeys WHERE key_id = ?').get(keyId) as
      KeyRow | undefined;
    return row === undefined ? undefined : preKeyFrom(row);
  }

  async savePreKey(keyId: number, record: PreKeyRecord): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO prekeys (key_id, public_key, private_key) VALUES (?, ?, ?)')
      .run(keyId, Buffer.from(record.keyPair.publicKey), Buffer.from(record.keyPair.privateKey));
  }

  async removePreKey(keyId: number): Promise<void> {
    this.db.prepare('DELETE FROM prekeys WHERE key_id = ?').run(keyId);
  }

  async countPreKeys(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM prekeys').get() as { n: number }).n;
  }

  async getKyberPreKey(keyId: number): Promise<KyberPreKeyRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM kyber_prekeys WHERE key_id = ?').get(keyId) as
      KyberRow | undefined;
    return row === undefined ? undefined : kyberPreKeyFrom(row);
  }

  async saveKyberPreKey(
    keyId: number,
    record: KyberPreKeyRecord,
    options: { readonly lastResort?: boolean } = {},
  ): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO kyber_prekeys (key_id, public_key, secret_key, signature, created_at, last_resort) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        keyId,
        Buffer.from(record.keyPair.publicKey),
        Buffer.from(record.keyPair.secretKey),
        Buffer.from(record.signature),
        record.timestamp,
        options.lastResort === true ? 1 : 0,
      );
  }

  async markKyberPreKeyUsed(
    keyId: number,
    signedPreKeyId: number,
    baseKey: Uint8Array,
  ): Promise<void> {
    this.db
      .transaction(() => {
        // ENC-049: a one-time Kyber prekey serves once; a last-resort one stays.
        if (
          this.db
            .prepare('DELETE FROM kyber_prekeys WHERE key_id = ? AND last_resort = 0')
            .run(keyId).changes > 0
        )
          return;
        const added = this.db
          .prepare(
            'INSERT OR IGNORE INTO kyber_base_keys (key_id, signed_pre_key_id, base_key) VALUES (?, ?, ?)',
          )
          .run(keyId, signedPreKeyId, Buffer.from(baseKey)).changes;
        if (added === 0) throw new ReusedBaseKeyError(keyId);
      })
      .immediate();
  }

  async listLastResortKyberPreKeys(): Promise<KyberPreKeyRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM kyber_prekeys WHERE last_resort = 1 ORDER BY created_at, key_id')
      .all() as KyberRow[];
    return rows.map(kyberPreKeyFrom);
  }

  async removeKyberPreKey(keyId: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM kyber_prekeys WHERE key_id = ?').run(keyId);
      this.db.prepare('DELETE FROM kyber_base_keys WHERE key_id = ?').run(keyId);
    })();
  }

  async countKyberPreKeys(): Promise<number> {
    return (
      this.db.prepare('SELECT count(*) AS n FROM kyber_prekeys WHERE last_resort = 0').get() as {
        n: number;
      }
    ).n;
  }

  async getSignedPreKey(keyId: number): Promise<SignedPreKeyRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM signed_prekeys WHERE key_id = ?').get(keyId) as
      SignedKeyRow | undefined;
    return row === undefined ? undefined : signedPreKeyFrom(row);
  }

  async saveSignedPreKey(keyId: number, record: SignedPreKeyRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO signed_prekeys (key_id, public_key, private_key, signature, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        keyId,
        Buffer.from(record.keyPair.publicKey),
        Buffer.from(record.keyPair.privateKey),
        Buffer.from(record.signature),
        record.timestamp,
      );
  }

  async listSignedPreKeys(): Promise<SignedPreKeyRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM signed_prekeys ORDER BY created_at, key_id')
      .all() as SignedKeyRow[];
    return rows.map(signedPreKeyFrom);
  }

  async removeSignedPreKey(keyId: number): Promise<void> {
    this.db.prepare('DELETE FROM signed_prekeys WHERE key_id = ?').run(keyId);
  }

  async getCounter(name: CounterName): Promise<number> {
    return this.getMeta<number>(`counter.${name}`) ?? 1;
  }

  async setCounter(name: CounterName, value: number): Promise<void> {
    this.setMeta(`counter.${name}`, value);
  }

  async loadSession(address: ProtocolAddress): Promise<SessionRecord | undefined> {
    const row = this.db
      .prepare('SELECT record FROM sessions WHERE address = ?')
      .get(sessionKey(address)) as { record: Buffer } | undefined;
    return row === undefined ? undefined : deserializeSessionRecord(u8(row.record));
  }

  async storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO sessions (address, name, device_id, record) VALUES (?, ?, ?, ?) ON CONFLICT(address) DO UPDATE SET record = excluded.record',
      )
      .run(
        sessionKey(address),
        address.name,
        address.deviceId,
        Buffer.from(serializeSessionRecord(record)),
      );
  }

  async deleteSession(address: ProtocolAddress): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE address = ?').run(sessionKey(address));
  }

  async sessionDevices(name: string): Promise<number[]> {
    const rows = this.db
      .prepare('SELECT device_id FROM sessions WHERE name = ? ORDER BY device_id')
      .all(name) as { device_id: number }[];
    return rows.map((r) => r.device_id);
  }

  async hasProcessed(messageId: string): Promise<boolean> {
    return (
      this.db.prepare('SELECT 1 FROM processed WHERE message_id = ?').get(messageId) !== undefined
    );
  }

  async markProcessed(messageId: string, at: number): Promise<void> {
    this.db
      .prepare('INSERT OR IGNORE INTO processed (message_id, processed_at) VALUES (?, ?)')
      .run(messageId, at);
  }

  async pruneProcessed(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM processed WHERE processed_at < ?').run(before).changes;
  }

  async getInbound(messageId: string): Promise<string | undefined> {
    const row = this.db
      .prepare('SELECT message FROM inbound WHERE message_id = ?')
      .get(messageId) as { message: string } | undefined;
    return row?.message;
  }

  async saveInbound(messageId: string, message: string): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO inbound (message_id, message) VALUES (?, ?)')
      .run(messageId, message);
  }

  async deleteInbound(messageId: string): Promise<void> {
    this.db.prepare('DELETE FROM inbound WHERE message_id = ?').run(messageId);
  }

  async savePendingSend(send: PendingSend): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO pending_sends (idempotency_key, to_address, content, messages, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        send.idempotencyKey,
        send.to,
        send.content,
        JSON.stringify(send.messages),
        send.createdAt,
      );
  }

  async deletePendingSend(idempotencyKey: string): Promise<void> {
    this.db.prepare('DELETE FROM pending_sends WHERE idempotency_key = ?').run(idempotencyKey);
  }

  async listPendingSends(): Promise<PendingSend[]> {
    const rows = this.db
      .prepare('SELECT * FROM pending_sends ORDER BY created_at, idempotency_key')
      .all() as PendingRow[];
    return rows.map((r) => ({
      idempotencyKey: r.idempotency_key,
      to: r.to_address,
      content: r.content,
      messages: JSON.parse(r.messages) as DeviceCiphertext[],
      createdAt: r.created_at,
    }));
  }

  async loadSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<SenderKeyRecord | undefined> {
    const row = this.db
      .prepare('SELECT record FROM sender_keys WHERE sender = ? AND distribution_id = ?')
      .get(sessionKey(sender), distributionId) as { record: Buffer } | undefined;
    return row === undefined ? undefined : deserializeSenderKeyRecord(u8(row.record));
  }

  async storeSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO sender_keys (sender, distribution_id, record) VALUES (?, ?, ?)',
      )
      .run(sessionKey(sender), distributionId, Buffer.from(serializeSenderKeyRecord(record)));
  }

  async senderKeyGroup(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<string | null | undefined> {
    const row = this.db
      .prepare('SELECT group_id FROM sender_key_groups WHERE sender = ? AND distribution_id = ?')
      .get(sessionKey(sender), distributionId) as { group_id: string | null } | undefined;
    return row?.group_id;
  }

  async bindSenderKeyGroup(
    sender: ProtocolAddress,
    distributionId: string,
    group: string,
  ): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO sender_key_groups (sender, distribution_id, group_id) VALUES (?, ?, ?) ON CONFLICT (sender, distribution_id) DO UPDATE SET group_id = excluded.group_id WHERE group_id IS NULL',
      )
      .run(sessionKey(sender), distributionId, group);
  }

  async getGroup(group: string): Promise<GroupRecord | undefined> {
    const row = this.db.prepare('SELECT record FROM groups WHERE group_id = ?').get(group) as
      { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as GroupRecord);
  }

  async saveGroup(record: GroupRecord): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO groups (group_id, record) VALUES (?, ?)')
      .run(record.group, JSON.stringify(record));
  }

  async deleteGroup(group: string): Promise<void> {
    this.db.prepare('DELETE FROM groups WHERE group_id = ?').run(group);
  }

  async listGroups(): Promise<GroupRecord[]> {
    const rows = this.db.prepare('SELECT record FROM groups ORDER BY group_id').all() as {
      record: string;
    }[];
    return rows.map((r) => JSON.parse(r.record) as GroupRecord);
  }

  async savePendingGroupSend(send: PendingGroupSend): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO pending_group_sends (idempotency_key, send, created_at) VALUES (?, ?, ?)',
      )
      .run(send.idempotencyKey, JSON.stringify(send), send.createdAt);
  }

  async deletePendingGroupSend(idempotencyKey: string): Promise<void> {
    this.db
      .prepare('DELETE FROM pending_group_sends WHERE idempotency_key = ?')
      .run(idempotencyKey);
  }

  async listPendingGroupSends(): Promise<PendingGroupSend[]> {
    const rows = this.db
      .prepare('SELECT send FROM pending_group_sends ORDER BY created_at, idempotency_key')
      .all() as { send: string }[];
    return rows.map((r) => JSON.parse(r.send) as PendingGroupSend);
  }
  async savePendingGroupCreate(create: PendingGroupCreate): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO pending_group_creates (idempotency_key, members, created_at) VALUES (?, ?, ?)',
      )
      .run(create.idempotencyKey, JSON.stringify(create.members), create.createdAt);
  }
  async deletePendingGroupCreate(idempotencyKey: string): Promise<void> {
    this.db
      .prepare('DELETE FROM pending_group_creates WHERE idempotency_key = ?')
      .run(idempotencyKey);
  }
  async listPendingGroupCreates(): Promise<PendingGroupCreate[]> {
    const rows = this.db
      .prepare(
        'SELECT idempotency_key, members, created_at FROM pending_group_creates ORDER BY created_at, idempotency_key',
      )
      .all() as { idempotency_key: string; members: string; created_at: number }[];
    return rows.map((r) => ({
      idempotencyKey: r.idempotency_key,
      members: JSON.parse(r.members) as string[],
      createdAt: r.created_at,
    }));
  }

  async isRequestSender(address: string): Promise<boolean> {
    return (
      this.db.prepare('SELECT 1 FROM request_senders WHERE address = ?').get(address) !== undefined
    );
  }

  async setRequestSender(address: string, pending: boolean): Promise<void> {
    if (pending)
      this.db.prepare('INSERT OR IGNORE INTO request_senders (address) VALUES (?)').run(address);
    else this.db.prepare('DELETE FROM request_senders WHERE address = ?').run(address);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
