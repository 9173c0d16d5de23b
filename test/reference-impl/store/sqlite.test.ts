// The SQLite engine of the provider store: migrations, durability settings, claims and idempotent
// acceptance (spec/keys.md KEYS-012/013, KEYS-028..030, spec/messages.md DELIV-008/012/014).
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  migrate,
  MIGRATIONS,
  openSqliteStore,
  SqliteStore,
  type NewMessage,
  type StoredSignedKey,
} from '../../../reference-impl/store/index.ts';
import { AUTOCHECKPOINT_PAGES } from '../../../reference-impl/store/sqlite/checkpointer.ts';

const key = (fill: number): Uint8Array => {
  const k = new Uint8Array(33).fill(fill);
  k[0] = 5;
  return k;
};

/** A Kyber prekey as stored: 0x08 ‖ 1568 bytes of `fill`, with a placeholder signature. */
const kyber = (keyId: number, fill = keyId): StoredSignedKey => {
  const publicKey = new Uint8Array(1569).fill(fill & 0xff);
  publicKey[0] = 8;
  return { keyId, publicKey, signature: new Uint8Array(64).fill(fill & 0xff) };
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
      deviceKey: key(21),
      registrationId: 7,
      now: 0,
    });
    store.publishKeys('bob@wa.example', 1, {
      signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
      oneTimePreKeys: [
        { keyId: 1, publicKey: key(3) },
        { keyId: 2, publicKey: key(4) },
      ],
      lastResortKyberPreKey: kyber(1),
    });
    const ids = [0, 1, 2].map(
      () => store.claimKeys('bob@wa.example', undefined)[0]!.oneTimePreKey?.keyId ?? null,
    );
    expect(ids).to.deep.equal([1, 2, null]);
    store.close();
  });

  it('hands out each one-time Kyber prekey once, then the last-resort one to every claim, and counts both pools (KEYS-028, KEYS-029, KEYS-030)', () => {
    const store = openSqliteStore(':memory:');
    const bob = 'bob@wa.example';
    store.createLocalAccount({
      address: bob,
      platform: 'wa.example',
      identityKey: key(1),
      deviceKey: key(21),
      registrationId: 7,
      now: 0,
    });
    expect(
      store.publishKeys(bob, 1, {
        signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
        oneTimePreKeys: [{ keyId: 1, publicKey: key(3) }],
        lastResortKyberPreKey: kyber(1),
        oneTimeKyberPreKeys: [kyber(11), kyber(12)],
      }),
    ).to.deep.equal({ oneTime: 1, oneTimeKyber: 2 });
    const claims = [0, 1, 2, 3].map(() => store.claimKeys(bob, undefined)[0]!);
    expect(claims.map((c) => [c.kyberPreKey.keyId, c.kyberLastResort])).to.deep.equal([
      [11, false],
      [12, false],
      [1, true],
      [1, true],
    ]);
    expect(claims[0]!.kyberPreKey).to.deep.equal(kyber(11));
    expect(claims[3]!.kyberPreKey).to.deep.equal(kyber(1));
    expect(claims.map((c) => c.remaining)).to.deep.equal([
      { oneTime: 0, oneTimeKyber: 1 },
      { oneTime: 0, oneTimeKyber: 0 },
      { oneTime: 0, oneTimeKyber: 0 },
      { oneTime: 0, oneTimeKyber: 0 },
    ]);
    store.publishKeys(bob, 1, {
      signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
      oneTimePreKeys: [],
      lastResortKyberPreKey: kyber(2),
    });
    expect(store.claimKeys(bob, undefined)[0]!.kyberPreKey).to.deep.equal(kyber(2));
    expect(store.removeDevice(bob, 1)).to.equal(true);
    expect(store.countPreKeys(bob, 1)).to.deep.equal({ oneTime: 0, oneTimeKyber: 0 });
    store.close();
  });

  it('drops every prekey of a partner device, Kyber ones included, when it returns with another identity key', () => {
    const store = openSqliteStore(':memory:');
    const carol = 'carol@sig.example';
    const device = {
      address: carol,
      deviceId: 1,
      registrationId: 9,
      identityKey: key(3),
      deviceKey: key(3),
    };
    store.upsertPartnerDevice(device, 'sig.example', 0);
    store.publishKeys(carol, 1, {
      signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
      oneTimePreKeys: [{ keyId: 1, publicKey: key(4) }],
      lastResortKyberPreKey: kyber(1),
      oneTimeKyberPreKeys: [kyber(11)],
    });
    store.upsertPartnerDevice(
      { ...device, identityKey: key(7), deviceKey: key(7) },
      'sig.example',
      1,
    );
    expect(store.countPreKeys(carol, 1)).to.deep.equal({ oneTime: 0, oneTimeKyber: 0 });
    expect(store.claimKeys(carol, undefined)).to.deep.equal([]);
    store.close();
  });

  it('hands each one-time Kyber prekey to exactly one of two store connections claiming the same device at once, the last-resort one to the rest (KEYS-029)', async () => {
    const path = join(dir, 'race.db');
    const bob = 'bob@wa.example';
    const pool = 40;
    const store = openSqliteStore(path);
    store.createLocalAccount({
      address: bob,
      platform: 'wa.example',
      identityKey: key(1),
      deviceKey: key(21),
      registrationId: 7,
      now: 0,
    });
    store.publishKeys(bob, 1, {
      signedPreKey: { keyId: 1, publicKey: key(2), signature: new Uint8Array(64) },
      oneTimePreKeys: [],
      lastResortKyberPreKey: kyber(1),
      oneTimeKyberPreKeys: Array.from({ length: pool }, (_, i) => kyber(100 + i)),
    });
    store.close();
    const start = new SharedArrayBuffer(8);
    const signal = new Int32Array(start);
    const claims = 30;
    const workers = [0, 1].map(
      () =>
        // An eval worker registers tsx itself, so that it can load the TypeScript store.
        new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(
            new URL('./support/claim-worker.ts', import.meta.url).href,
          )}); });`,
          { eval: true, workerData: { path, address: bob, claims, start } },
        ),
    );
    const results = workers.map(
      (w) =>
        new Promise<{ keyId: number; lastResort: boolean }[]>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    const failed = Promise.race(results).then(() => undefined);
    while (Atomics.load(signal, 1) < workers.length)
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 5)), failed]);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
    const served = (await Promise.all(results)).flat();
    const oneTime = served.filter((s) => !s.lastResort).map((s) => s.keyId);
    expect(oneTime).to.have.length(pool);
    expect(new Set(oneTime).size).to.equal(pool);
    expect(served.filter((s) => s.lastResort).map((s) => s.keyId)).to.deep.equal(
      Array<number>(2 * claims - pool).fill(1),
    );
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

  it('closes the checkpoint worker’s connection before close returns, however soon after opening, so that nothing holds or changes the store’s files afterwards', async () => {
    for (const waitMs of [0, 5, 20, 120]) {
      const sub = join(dir, `after-${waitMs}`);
      const path = join(sub, 'p.db');
      const store = openSqliteStore(path);
      store.acceptMessage(message());
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      store.close();
      const closed = statSync(sub, { bigint: true }).mtimeNs;
      // Threads share the process's descriptors: none may still point at the store's files.
      const open = readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((target) => target.startsWith(path));
      expect(open, `${waitMs} ms after opening`).to.deep.equal([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(readdirSync(sub), `${waitMs} ms after opening`).to.deep.equal(['p.db']);
      expect(statSync(sub, { bigint: true }).mtimeNs, `${waitMs} ms after opening`).to.equal(
        closed,
      );
    }
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
    expect(store.db.prepare('SELECT count(*) AS n FROM deliveries').get()).to.deep.equal({
      n: written,
    });
    expect(largest / 4096, 'log pages at most').to.be.below(AUTOCHECKPOINT_PAGES * 2);
    store.close();
  });

  it('adds devices under the lowest free id from 2 to 127 and none past 127, whatever maxDevices (AUTH-032)', () => {
    const store = openSqliteStore(':memory:');
    const bob = { address: 'bob@wa.example', platform: 'wa.example', registrationId: 7, now: 1 };
    store.createLocalAccount({ ...bob, identityKey: key(1), deviceKey: key(21) });
    const ids = Array.from({ length: 126 }, () => store.addDevice(bob.address, 9, key(9), 1000, 2));
    expect(ids).to.deep.equal(Array.from({ length: 126 }, (_, i) => i + 2));
    expect(store.addDevice(bob.address, 9, key(9), 1000, 2)).to.equal(undefined);
    expect(store.listDevices(bob.address)).to.have.length(127);
    expect(store.removeDevice(bob.address, 77)).to.equal(true);
    expect(store.addDevice(bob.address, 10, key(9), 1000, 3)).to.equal(77);
    expect(store.getDevice(bob.address, 77)!.registrationId).to.equal(10);
    store.close();
  });

  it('forgets what a blocked sender was charged on a device when bob removes it, so the device that gets its id back starts even for every sender (DELIV-032, CONSENT-022)', () => {
    const store = openSqliteStore(':memory:');
    const bob = { address: 'bob@wa.example', platform: 'wa.example', registrationId: 7, now: 1 };
    store.createLocalAccount({ ...bob, identityKey: key(1), deviceKey: key(21) });
    expect(store.addDevice(bob.address, 9, key(9), 5, 2)).to.equal(2);
    const bound = { maxBytes: 1_000_000, maxMessages: 1 };
    const suppressed = (id: string): NewMessage => {
      const m = message({
        messageId: id,
        idempotencyKey: id,
        recipient: bob.address,
        queueBound: bound,
        ciphertexts: [{ deviceId: 2, type: 'whisper', body: 'Mw' }],
      });
      return { ...m, ciphertexts: [], charged: m.ciphertexts };
    };
    expect(store.acceptMessage(suppressed('s1'))).to.not.have.property('queueFull');
    expect(store.acceptMessage(suppressed('s2'))).to.include({ queueFull: true });
    expect(store.removeDevice(bob.address, 2)).to.equal(true);
    expect(store.addDevice(bob.address, 10, key(9), 6, 3)).to.equal(2);
    expect(store.acceptMessage(suppressed('s3'))).to.not.have.property('queueFull');
    store.close();
  });

  it('answers account and device reads from memory between writes and afresh after any other write', () => {
    const store = openSqliteStore(':memory:');
    const bob = { address: 'bob@wa.example', platform: 'wa.example', registrationId: 7, now: 1 };
    store.createLocalAccount({ ...bob, identityKey: key(1), deviceKey: key(21) });
    const devices = store.listDevices(bob.address);
    expect(store.listDevices(bob.address), 'a second read').to.equal(devices);
    expect(Object.isFrozen(devices), 'shared, so frozen').to.equal(true);
    store.acceptMessage(message({ recipient: bob.address }));
    expect(store.listDevices(bob.address), 'after a queue write').to.equal(devices);
    store.addDevice(bob.address, 9, key(9), 5, 2);
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
    expect(store.purgeExpired(10_000, 0, 100)).to.deep.equal({ deliveries: 1, more: false });
    store.close();
  });

  it('sweeps in steps of at most the given rows per table and says when more is left', () => {
    const store = openSqliteStore(':memory:');
    for (let i = 0; i < 5; i++)
      store.acceptMessage(message({ messageId: `m${i}`, idempotencyKey: `k${i}` }));
    const idempotency = () => store.db.prepare('SELECT count(*) AS n FROM idempotency').get();
    expect(store.purgeExpired(10_000, 2000, 2)).to.deep.equal({ deliveries: 2, more: true });
    expect(idempotency()).to.deep.equal({ n: 3 });
    expect(store.purgeExpired(10_000, 2000, 2)).to.deep.equal({ deliveries: 2, more: true });
    expect(store.purgeExpired(10_000, 2000, 2)).to.deep.equal({ deliveries: 1, more: false });
    expect(idempotency()).to.deep.equal({ n: 0 });
    store.close();
  });

  it('keeps idempotency records and deliveries that have not expired when it sweeps', () => {
    const store = openSqliteStore(':memory:');
    store.acceptMessage(message({ messageId: 'old', idempotencyKey: 'old', serverTimestamp: 1 }));
    store.acceptMessage(message({ messageId: 'new', idempotencyKey: 'new', expiresAt: 50_000 }));
    expect(store.purgeExpired(10_000, 500, 10)).to.deep.equal({ deliveries: 1, more: false });
    expect(store.findIdempotent('alice@wa.example', 1, 'old')).to.equal(undefined);
    expect(store.findIdempotent('alice@wa.example', 1, 'new')?.messageId).to.equal('new');
    expect(
      store.pendingDeliveries('bob@wa.example', 1, 0, 10_000).map((d) => d.messageId),
    ).to.deep.equal(['new']);
    store.close();
  });

  it('reads no table that grows with traffic as a whole, for any request or sweep step', () => {
    // Each statement the store prepared while every method ran, planned by SQLite: a full scan of
    // the queue, the idempotency records, contacts, keys or slots would cost time on the event
    // loop in proportion to all users' traffic.
    const db = new Database(':memory:');
    migrate(db);
    const prepared = new Set<string>();
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      prepared.add(sql);
      return prepare(sql);
    }) as typeof db.prepare;
    const store = new SqliteStore(db);
    exerciseEveryMethod(store);
    const scans = [...prepared].flatMap((sql) =>
      (
        prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...sql
            .split('?')
            .slice(1)
            .map(() => null),
        ) as {
          detail: string;
        }[]
      )
        .filter((r) => /^SCAN (?!CONSTANT ROW)/.test(r.detail))
        .map((r) => `${r.detail}: ${sql.replace(/\s+/g, ' ')}`),
    );
    expect(prepared.size, 'statements seen').to.be.above(40);
    expect(scans).to.deep.equal([]);
    store.close();
  });

  it('migrates devices of version 5 to take their identity key as device key, so that they still sign in (migration 6)', () => {
    const path = join(dir, 'v5.db');
    const db = new Database(path);
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 5),
    );
    db.exec(`
      INSERT INTO accounts (address, kind, platform, created_at)
        VALUES ('bob@wa.example', 'local', 'wa.example', 1);
      INSERT INTO devices (address, device_id, registration_id, identity_key, created_at)
        VALUES ('bob@wa.example', 1, 7, X'05${'01'.repeat(32)}', 1);
    `);
    db.close();
    const store = openSqliteStore(path);
    const device = store.getDevice('bob@wa.example', 1)!;
    expect(Buffer.from(device.deviceKey)).to.deep.equal(Buffer.from(device.identityKey));
    store.close();
  });

  it('migrates the queue totals of version 7 to count the distribution ciphertexts of queued group messages, and counts them from then on (migration 9, GROUP-062)', () => {
    const path = join(dir, 'v7.db');
    const db = new Database(path);
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 7),
    );
    db.exec(`
      INSERT INTO deliveries (message_id, sender, sender_device, origin_platform, third_party,
          recipient, device_id, type, body, server_ts, expires_at, group_id, distribution_type,
          distribution_body)
        VALUES ('m1', 'alice@wa.example', 1, 'wa.example', 0, 'bob@wa.example', 1, 'senderkey',
          'Mw', 1, 9999999999999, 'g.1', 'whisper', 'RAAA');
    `);
    const totals = (): unknown =>
      db.prepare('SELECT bytes, count FROM queue_totals WHERE recipient = ?').get('bob@wa.example');
    expect(totals()).to.deep.equal({ bytes: 2, count: 1 });
    db.close();
    openSqliteStore(path).close();
    const migrated = new Database(path);
    const read = (): unknown =>
      migrated
        .prepare('SELECT bytes, count FROM queue_totals WHERE recipient = ?')
        .get('bob@wa.example');
    expect(read()).to.deep.equal({ bytes: 6, count: 1 });
    migrated.exec(`DELETE FROM deliveries WHERE message_id = 'm1'`);
    expect(read()).to.equal(undefined);
    migrated.close();
  });

  it('revokes a removed device’s key for good: deviceKeyUsed names the identity key, current device keys and removed ones, and nothing else (AUTH-034, AUTH-036)', () => {
    const store = openSqliteStore(':memory:');
    const bob = { address: 'bob@wa.example', platform: 'wa.example', registrationId: 7, now: 1 };
    store.createLocalAccount({ ...bob, identityKey: key(1), deviceKey: key(21) });
    expect(store.addDevice(bob.address, 9, key(22), 5, 2)).to.equal(2);
    for (const used of [key(1), key(21), key(22)])
      expect(store.deviceKeyUsed(bob.address, used)).to.equal(true);
    expect(store.deviceKeyUsed(bob.address, key(23))).to.equal(false);
    expect(store.deviceKeyUsed('carol@wa.example', key(22)), 'another account').to.equal(false);
    expect(store.removeDevice(bob.address, 2, 3)).to.equal(true);
    expect(store.getDevice(bob.address, 2)).to.equal(undefined);
    expect(store.deviceKeyUsed(bob.address, key(22)), 'the removed device’s key').to.equal(true);
    expect(store.addDevice(bob.address, 10, key(23), 5, 4)).to.equal(2);
    expect(Buffer.from(store.getDevice(bob.address, 2)!.deviceKey)).to.deep.equal(
      Buffer.from(key(23)),
    );
    store.close();
  });

  it('migrates a version 2 queue keeping every delivery, its sender and origin, and never reusing a delivery id', () => {
    const path = join(dir, 'v2.db');
    const db = new Database(path);
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 2),
    );
    db.exec(`
      INSERT INTO messages VALUES ('m1', 'alice@wa.example', 2, 'sig.example', 1, 'bob@wa.example', 1000, 9000);
      INSERT INTO deliveries (message_id, recipient, device_id, type, body, expires_at)
        VALUES ('m1', 'bob@wa.example', 1, 'prekey', 'AAA', 9000),
               ('m1', 'bob@wa.example', 2, 'whisper', 'BBB', 9000);
      DELETE FROM deliveries WHERE seq = 2;
      INSERT INTO idempotency VALUES ('alice@wa.example', 2, 'k1', 'h1', 'm1', 1000);
    `);
    db.close();
    const store = openSqliteStore(path);
    expect(store.pendingDeliveries('bob@wa.example', 1, 0, 5000)).to.deep.equal([
      {
        seq: 1,
        messageId: 'm1',
        sender: 'alice@wa.example',
        senderDevice: 2,
        origin: { platform: 'sig.example', thirdParty: true },
        type: 'prekey',
        body: 'AAA',
        serverTimestamp: 1000,
      },
    ]);
    expect(store.findIdempotent('alice@wa.example', 2, 'k1')?.messageId).to.equal('m1');
    const next = store.acceptMessage(
      message({
        messageId: 'm2',
        idempotencyKey: 'k2',
        ciphertexts: [{ deviceId: 2, type: 'whisper', body: 'CC' }],
      }),
    );
    expect(next.queued.map((q) => q.delivery.seq)).to.deep.equal([3]);
    store.close();
  });
});

/** Calls every method of the store once or more, with rows present where a query reads them. */
function exerciseEveryMethod(store: SqliteStore): void {
  const bob = 'bob@wa.example';
  const alice = 'alice@wa.example';
  store.createLocalAccount({
    address: bob,
    platform: 'wa.example',
    identityKey: key(1),
    deviceKey: key(21),
    registrationId: 7,
    now: 1,
  });
  store.createLocalAccount({
    address: alice,
    platform: 'wa.example',
    identityKey: key(2),
    deviceKey: key(22),
    registrationId: 8,
    now: 1,
  });
  store.upsertPartnerDevice(
    {
      address: 'carol@sig.example',
      deviceId: 1,
      registrationId: 9,
      identityKey: key(3),
      deviceKey: key(3),
    },
    'sig.example',
    1,
  );
  store.getAccount(bob);
  store.getDevice(bob, 1);
  store.deviceKeyUsed(bob, key(9));
  const added = store.addDevice(bob, 11, key(9), 5, 1)!;
  const signed = { keyId: 1, publicKey: key(4), signature: new Uint8Array(64) };
  store.publishKeys(bob, 1, {
    signedPreKey: signed,
    lastResortKyberPreKey: kyber(1),
    oneTimeKyberPreKeys: [kyber(2)],
    oneTimePreKeys: [1, 2, 3].map((keyId) => ({ keyId, publicKey: key(5) })),
  });
  store.claimKeys(bob, undefined);
  store.claimKeys(bob, [1]);
  store.countOneTimePreKeys(bob, 1);
  store.acceptMessage(message({ openRequest: { platform: 'wa.example' } }));
  store.acceptMessage(message());
  // DELIV-032: the bound's reads, a suppressed send's charge, and a refusal at the bound.
  const bound = { maxBytes: 1_000_000, maxMessages: 100 };
  store.acceptMessage(message({ messageId: 'qb1', idempotencyKey: 'qb1', queueBound: bound }));
  const suppressed = message({ messageId: 'qb2', idempotencyKey: 'qb2', queueBound: bound });
  store.acceptMessage({ ...suppressed, ciphertexts: [], charged: suppressed.ciphertexts });
  store.acceptMessage(
    message({
      messageId: 'qb3',
      idempotencyKey: 'qb3',
      queueBound: { maxBytes: 0, maxMessages: 0 },
    }),
  );
  store.acceptMessage(
    message({ messageId: 'm2', idempotencyKey: 'k2', acceptContact: { platform: 'sig.example' } }),
  );
  store.findIdempotent(alice, 1, 'k1');
  store.pendingDeliveries(bob, 1, 0, 1);
  store.ackDeliveries(bob, 1, [1]);
  store.setConsent(bob, { enabled: true, platforms: ['sig.example'], inbox: 'separate' });
  store.getContact(bob, alice);
  store.listRequests(bob);
  store.respondRequest(bob, alice, 'decline', 2);
  store.setBlock(bob, alice, true, 2);
  store.setBlock(bob, alice, false, 3);
  store.isBlocked(bob, alice);
  store.getReport(
    store.addReport({
      reporter: bob,
      reported: alice,
      reason: 'spam',
      messageIds: ['m1'],
      comment: null,
      now: 4,
    }),
  );
  store.rememberTokenId('sig.example', 'jti-1', 10);
  store.attachmentBytes(bob, 1);
  const slot = {
    blobId: 'b1',
    owner: bob,
    kind: 'image',
    size: 10,
    digest: 'd',
    uploadToken: 't',
    capability: 'c',
    createdAt: 1,
    expiresAt: 5,
  };
  store.createSlot(slot);
  store.getSlot('b1');
  store.completeBlob('b1', 2);
  store.getBlob('b1');
  store.expiredSlots(10, 5);
  store.deleteSlot('b1');
  store.removeDevice(bob, added);
  store.listDevices(bob);
  store.purgeExpired(20_000, 20_000, 10);
  store.writeBatch([() => store.acceptMessage(message({ messageId: 'm3', idempotencyKey: 'k3' }))]);
}
