// The SQLite engine of the provider store: migrations, durability settings, claims and idempotent
// acceptance (spec/keys.md KEYS-012/013, spec/messages.md DELIV-008/012/014).
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  migrate,
  MIGRATIONS,
  openSqliteStore,
  type NewMessage,
} from '../../../reference-impl/store/index.ts';
import { AUTOCHECKPOINT_PAGES } from '../../../reference-impl/store/sqlite/checkpointer.ts';

const key = (fill: number): Uint8Array => {
  const k = new Uint8Array(33).fill(fill);
  k[0] = 5;
  return k;
};

function message(overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    messageId: 'm1',
    sender: 'alice@wa.example',
    senderDevice: 1,
    origin: { platform: 'wa.example', thirdParty: false },
    recipient: 'bob@wa.example',
    idempotencyKey: 'k1',
    requestHash: 'h1',
    serverTimestamp: 1000,
    expiresAt: 10_000,
    ciphertexts: [{ deviceId: 1, type: 'whisper', body: 'Mw' }],
    ...overrides,
  };
}

describe('the SQLite provider store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies every migration once, in order, recorded in schema_migrations', () => {
    const path = join(dir, 'nested', 'p.db');
    openSqliteStore(path).close();
    const db = new Database(path);
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(rows).to.deep.equal(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(migrate(db)).to.deep.equal([]);
    db.close();
  });

  it('refuses to open a database newer than the code', () => {
    const db = new Database(':memory:');
    migrate(db);
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    expect(() => migrate(db)).to.throw(/newer/);
  });

  it('rolls back a failing migration as a whole', () => {
    const db = new Database(':memory:');
    const broken = [{ version: 1, name: 'broken', sql: 'CREATE TABLE t (x); CREATE TABLE t (x);' }];
    expect(() => migrate(db, broken)).to.throw();
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 't'`).get()).to.equal(undefined);
  });

  it('runs in WAL mode with synchronous FULL so that a returned write is durable (DELIV-008)', () => {
    const store = openSqliteStore(join(dir, 'p.db'));
    expect(store.db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(store.db.pragma('synchronous', { simple: true })).to.equal(2);
    store.close();
  });

  it('hands out each one-time prekey once and then null (KEYS-012, KEYS-013, KEYS-018)', () => {
    const store = openSqliteStore(':memory:');
    store.createLocalAccount({
      address: 'bob@wa.example',
      platform: 'wa.example',
      identityKey: key(1),
      registrationId: 7,
      now: 0,
    });
    store.publishKeys('bob@wa.example', 1, {
      signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
      oneTimePreKeys: [
        { keyId: 1, publicKey: key(3) },
        { keyId: 2, publicKey: key(4) },
      ],
    });
    const ids = [0, 1, 2].map(
      () => store.claimKeys('bob@wa.example', undefined)[0]!.oneTimePreKey?.keyId ?? null,
    );
    expect(ids).to.deep.equal([1, 2, null]);
    store.close();
  });

  it('stores one message per idempotency key and flags a conflicting reuse (DELIV-012, DELIV-014)', () => {
    const store = openSqliteStore(':memory:');
    expect(store.acceptMessage(message())).to.include({ duplicate: false, conflict: false });
    expect(store.acceptMessage(message({ messageId: 'm2' }))).to.include({
      messageId: 'm1',
      duplicate: true,
      conflict: false,
    });
    expect(store.acceptMessage(message({ messageId: 'm3', requestHash: 'other' }))).to.include({
      conflict: true,
    });
    expect(store.pendingDeliveries('bob@wa.example', 1, 0, 0)).to.have.length(1);
    store.close();
  });

  it('keeps accepted messages across reopening the file', () => {
    const path = join(dir, 'p.db');
    const a = openSqliteStore(path);
    a.acceptMessage(message());
    a.close();
    const b = openSqliteStore(path);
    expect(b.pendingDeliveries('bob@wa.example', 1, 0, 0).map((d) => d.messageId)).to.deep.equal([
      'm1',
    ]);
    b.close();
  });

  it('copies the write-ahead log into the database file on a worker before the commits reach the automatic threshold', async () => {
    const path = join(dir, 'checkpointed.db');
    const store = openSqliteStore(path);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).to.equal(AUTOCHECKPOINT_PAGES);
    const before = statSync(path).size;
    for (let n = 0; n < 200; n++)
      store.acceptMessage(message({ messageId: `c${n}`, idempotencyKey: `c${n}` }));
    const logPages = statSync(`${path}-wal`).size / 4096;
    expect(logPages, 'far below the automatic threshold').to.be.below(AUTOCHECKPOINT_PAGES / 2);
    const deadline = Date.now() + 5_000;
    while (statSync(path).size === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statSync(path).size, 'after the worker’s checkpoint').to.be.greaterThan(before);
    expect(store.pendingDeliveries('bob@wa.example', 1, 0, 0)).to.have.length(200);
    store.close();
  });

  it('keeps the write-ahead log bounded while group commits never pause', () => {
    const path = join(dir, 'busy.db');
    const store = openSqliteStore(path);
    const body = 'x'.repeat(400);
    let n = 0;
    let largest = 0;
    for (let batch = 0; batch < 120; batch++) {
      store.writeBatch(
        Array.from({ length: 100 }, () => {
          n += 1;
          const m = message({
            messageId: `busy${n}`,
            idempotencyKey: `busy${n}`,
            recipient: `bob${n % 64}@wa.example`,
            ciphertexts: [{ deviceId: 1, type: 'whisper', body }],
          });
          return () => store.acceptMessage(m);
        }),
      );
      largest = Math.max(largest, statSync(`${path}-wal`).size);
    }
    const written = 120 * 100;
    expect(store.db.prepare('SELECT count(*) AS n FROM messages').get()).to.deep.equal({
      n: written,
    });
    expect(largest / 4096, 'log pages at most').to.be.below(AUTOCHECKPOINT_PAGES * 2);
    store.close();
  });

  it('answers account and device reads from memory between writes and afresh after any other write', () => {
    const store = openSqliteStore(':memory:');
    const bob = { address: 'bob@wa.example', platform: 'wa.example', registrationId: 7, now: 1 };
    store.createLocalAccount({ ...bob, identityKey: key(1) });
    const devices = store.listDevices(bob.address);
    expect(store.listDevices(bob.address), 'a second read').to.equal(devices);
    expect(Object.isFrozen(devices), 'shared, so frozen').to.equal(true);
    store.acceptMessage(message({ recipient: bob.address }));
    expect(store.listDevices(bob.address), 'after a queue write').to.equal(devices);
    store.addDevice(bob.address, 9, 5, 2);
    expect(store.listDevices(bob.address).map((d) => d.deviceId)).to.deep.equal([1, 2]);
    const before = store.getAccount(bob.address)!;
    store.setConsent(bob.address, { enabled: true, platforms: 'all', inbox: 'combined' });
    expect(before.interop.enabled).to.equal(false);
    expect(store.getAccount(bob.address)!.interop).to.deep.equal({
      enabled: true,
      platforms: 'all',
      inbox: 'combined',
    });
    store.close();
  });

  it('never returns an expired delivery and purges it (DELIV-028)', () => {
    const store = openSqliteStore(':memory:');
    store.acceptMessage(message());
    expect(store.pendingDeliveries('bob@wa.example', 1, 0, 10_000)).to.have.length(0);
    expect(store.purgeExpired(10_000, 0)).to.equal(1);
    store.close();
  });
});
