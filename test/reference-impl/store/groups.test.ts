// The SQLite store's group layer on a real file: membership rows and versions, membership-change
// pushes to every device before and after a change, and the fan-out of a group message read in
// its own transaction, bounded per member device, and the key of the request that created a group
// (spec/groups.md GROUP-012, GROUP-013, GROUP-041, GROUP-043, GROUP-048, GROUP-061, GROUP-062).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openSqliteStore,
  type GroupChange,
  type GroupMemberRecord,
  type NewGroupMessage,
  type SqliteStore,
} from '../../../reference-impl/store/index.ts';

const DOMAIN = 'wa.example';
const key = new Uint8Array(33).fill(7);
key[0] = 5;

function row(address: string, overrides: Partial<GroupMemberRecord> = {}): GroupMemberRecord {
  return {
    address,
    role: 'member',
    status: 'member',
    thirdParty: !address.endsWith(`@${DOMAIN}`),
    addedBy: 'alice@wa.example',
    addedByPlatform: DOMAIN,
    since: 1000,
    ...overrides,
  };
}

function change(overrides: Partial<GroupChange> = {}): GroupChange {
  return {
    groupId: 'g.1',
    actor: 'alice@wa.example',
    actorDevice: 1,
    origin: { platform: DOMAIN, thirdParty: false },
    action: 'added',
    put: [],
    drop: [],
    named: [],
    now: 1000,
    expiresAt: 100_000,
    ...overrides,
  };
}

function send(overrides: Partial<NewGroupMessage> = {}): NewGroupMessage {
  return {
    messageId: 'm1',
    groupId: 'g.1',
    sender: 'alice@wa.example',
    senderDevice: 1,
    origin: { platform: DOMAIN, thirdParty: false },
    idempotencyKey: 'k1',
    requestHash: 'h1',
    serverTimestamp: 2000,
    expiresAt: 100_000,
    body: 'Mw',
    distribution: new Map(),
    ...overrides,
  };
}

describe('the SQLite store’s groups', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-groups-store-'));
    store = openSqliteStore(join(dir, 'parley.db'));
    for (const name of ['alice', 'carol', 'dave'])
      store.createLocalAccount({
        address: `${name}@${DOMAIN}`,
        platform: DOMAIN,
        identityKey: key,
        deviceKey: new Uint8Array(32).fill(9),
        registrationId: 1,
        now: 0,
      });
    store.addDevice('carol@wa.example', 2, new Uint8Array(32).fill(8), 16, 0);
    store.upsertPartnerDevice(
      {
        address: 'bob@chat.example',
        deviceId: 1,
        registrationId: 3,
        identityKey: key,
        deviceKey: key,
      },
      'chat.example',
      0,
    );
    store.writeGroupChange(
      change({
        create: true,
        action: 'created',
        put: [
          row('alice@wa.example', { role: 'admin' }),
          row('carol@wa.example'),
          row('bob@chat.example'),
        ],
        named: ['alice@wa.example', 'carol@wa.example', 'bob@chat.example'],
      }),
    );
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a group at version 1 and increments the version once per change, never for a silent one (GROUP-012)', () => {
    expect(store.getGroup('g.1')?.version).to.equal(1);
    store.writeGroupChange(change({ put: [row('dave@wa.example')], named: ['dave@wa.example'] }));
    expect(store.getGroup('g.1')?.version).to.equal(2);
    store.writeGroupChange(
      change({ put: [row('dave@wa.example', { status: 'declined' })], named: [], silent: true }),
    );
    expect(store.getGroup('g.1')?.version).to.equal(2);
  });

  it('queues a membership change for every device of every member before and after it, the removed member included, but the actor’s device (GROUP-013)', () => {
    const result = store.writeGroupChange(
      change({ action: 'removed', drop: ['bob@chat.example'], named: ['bob@chat.example'] }),
    );
    expect(result.queued.map((q) => `${q.address}/${q.deviceId}`)).to.have.members([
      'carol@wa.example/1',
      'carol@wa.example/2',
      'bob@chat.example/1',
    ]);
    const pending = store.pendingDeliveries('bob@chat.example', 1, 0, 0);
    expect(pending.at(-1)?.type).to.equal('group.changed');
    expect(JSON.parse(pending.at(-1)!.body)).to.include({ action: 'removed', version: 2 });
  });

  it('fans a group message out to every device of every member but the sending one, with each distribution ciphertext on its device only (GROUP-041, GROUP-046)', () => {
    const distribution = new Map([
      ['carol@wa.example', new Map([[2, { deviceId: 2, type: 'whisper' as const, body: 'RA' }]])],
    ]);
    const result = store.acceptGroupMessage(send({ distribution }));
    expect(result.queued.map((q) => `${q.address}/${q.deviceId}`)).to.deep.equal([
      'carol@wa.example/1',
      'carol@wa.example/2',
      'bob@chat.example/1',
    ]);
    const phone = store.pendingDeliveries('carol@wa.example', 2, 0, 0).at(-1)!;
    expect(phone).to.deep.include({ type: 'senderkey', body: 'Mw', group: 'g.1' });
    expect(phone.distribution).to.deep.equal({ type: 'whisper', body: 'RA' });
    expect(store.pendingDeliveries('carol@wa.example', 1, 0, 0).at(-1)!.distribution).to.equal(
      undefined,
    );
  });

  it('leaves out a member removed before the send, a member who blocked the sender, and a duplicate of an idempotency key (GROUP-043, CONSENT-019, GROUP-040)', () => {
    store.writeGroupChange(change({ action: 'removed', drop: ['bob@chat.example'], named: [] }));
    store.setBlock('carol@wa.example', 'alice@wa.example', true, 0);
    expect(store.acceptGroupMessage(send()).queued).to.deep.equal([]);
    store.setBlock('carol@wa.example', 'alice@wa.example', false, 0);
    const again = store.acceptGroupMessage(send());
    expect(again).to.include({ duplicate: true, conflict: false });
    expect(again.queued).to.deep.equal([]);
  });

  it('fans a third-party sender’s message out only to first-party members whose interop settings allow its platform (GROUP-048)', () => {
    store.setConsent('carol@wa.example', {
      enabled: true,
      platforms: ['chat.example'],
      inbox: 'separate',
    });
    const fromBob = send({
      sender: 'bob@chat.example',
      origin: { platform: 'chat.example', thirdParty: true },
    });
    expect(store.acceptGroupMessage(fromBob).queued.map((q) => q.address)).to.deep.equal([
      'carol@wa.example',
      'carol@wa.example',
    ]);
  });

  it('knows who shares a group and whether a group has a partner member (GROUP-047, GROUP-024)', () => {
    expect(store.shareGroup('bob@chat.example', 'carol@wa.example')).to.equal(true);
    expect(store.shareGroup('dave@wa.example', 'carol@wa.example')).to.equal(false);
    expect(store.groupHasThirdParty('g.1')).to.equal(true);
    store.writeGroupChange(change({ action: 'removed', drop: ['bob@chat.example'], named: [] }));
    expect(store.groupHasThirdParty('g.1')).to.equal(false);
  });

  /** Characters queued for one device: bodies and distribution ciphertexts. */
  const queuedChars = (address: string, deviceId: number): number =>
    store
      .pendingDeliveries(address, deviceId, 0, 0)
      .reduce((n, d) => n + d.body.length + (d.distribution?.body.length ?? 0), 0);

  it('refuses, writing nothing, a group message whose distribution ciphertext would take one member device past its bound, and queues the same body without it (GROUP-062)', () => {
    const before = queuedChars('carol@wa.example', 2);
    expect(queuedChars('carol@wa.example', 1)).to.equal(before);
    const queueBound = { maxBytes: before + 'Mw'.length + 1, maxMessages: 1000 };
    const distribution = new Map([
      ['carol@wa.example', new Map([[2, { deviceId: 2, type: 'whisper' as const, body: 'RA' }]])],
    ]);
    const full = store.acceptGroupMessage(send({ distribution, queueBound }));
    expect(full).to.include({ queueFull: true, duplicate: false });
    expect(full.queued).to.deep.equal([]);
    expect(queuedChars('carol@wa.example', 2)).to.equal(before);
    expect(store.findIdempotent('alice@wa.example', 1, 'k1')).to.equal(undefined);
    const plain = store.acceptGroupMessage(send({ queueBound }));
    expect(plain).to.include({ duplicate: false });
    expect(plain.queueFull).to.equal(undefined);
    expect(plain.queued).to.have.length(3);
    // A retry of the stored send at a full queue is still answered as the duplicate it is.
    const retry = store.acceptGroupMessage(send({ queueBound: { maxBytes: 0, maxMessages: 0 } }));
    expect(retry).to.include({ duplicate: true, conflict: false });
    expect(retry.queueFull).to.equal(undefined);
  });

  it('counts the distribution ciphertexts of queued group messages against the bound of their device (GROUP-062, migration 9)', () => {
    const before = queuedChars('carol@wa.example', 2);
    const distribution = new Map([
      ['carol@wa.example', new Map([[2, { deviceId: 2, type: 'whisper' as const, body: 'RA' }]])],
    ]);
    store.acceptGroupMessage(send({ distribution }));
    // carol's phone holds before + 4 characters, her first device before + 2: a second body of 2
    // fits the first device under before + 4, and the phone only if its distribution went uncounted.
    const second = store.acceptGroupMessage(
      send({
        messageId: 'm2',
        idempotencyKey: 'k2',
        queueBound: { maxBytes: before + 4, maxMessages: 1000 },
      }),
    );
    expect(second.queueFull).to.equal(true);
    expect(queuedChars('carol@wa.example', 1)).to.equal(before + 2);
  });

  it('counts alice’s group messages against the bound of carol, who blocked her, as if they were queued, while queueing none: the bound reveals no block (GROUP-062, CONSENT-022)', () => {
    store.writeGroupChange(
      change({
        groupId: 'g.2',
        create: true,
        action: 'created',
        put: [row('alice@wa.example', { role: 'admin' }), row('carol@wa.example')],
        named: ['alice@wa.example', 'carol@wa.example'],
      }),
    );
    // What carol's device held from alice stays charged to alice when carol blocks her.
    const held = store.pendingDeliveries('carol@wa.example', 1, 0, 0).length;
    store.setBlock('carol@wa.example', 'alice@wa.example', true, 0);
    const waiting = store.pendingDeliveries('carol@wa.example', 1, 0, 0).length;
    const queueBound = { maxBytes: 1_000_000, maxMessages: held + 2 };
    const answers = [1, 2, 3].map((i) =>
      store.acceptGroupMessage(
        send({ groupId: 'g.2', messageId: `m${i}`, idempotencyKey: `k${i}`, queueBound }),
      ),
    );
    expect(answers.map((a) => a.queueFull ?? false)).to.deep.equal([false, false, true]);
    expect(answers.flatMap((a) => a.queued)).to.deep.equal([]);
    expect(store.pendingDeliveries('carol@wa.example', 1, 0, 0)).to.have.length(waiting);
  });

  it('records the idempotency key of the request that created a group with the group id, in the change’s transaction (GROUP-061)', () => {
    store.writeGroupChange(
      change({
        groupId: 'g.2',
        create: true,
        action: 'created',
        put: [row('alice@wa.example', { role: 'admin' })],
        named: ['alice@wa.example'],
        idempotency: { key: 'create-1', requestHash: 'h-create' },
      }),
    );
    expect(store.findIdempotent('alice@wa.example', 1, 'create-1')).to.deep.equal({
      requestHash: 'h-create',
      messageId: 'g.2',
      serverTimestamp: 1000,
    });
  });

  it('deletes a group once its last member left', () => {
    store.writeGroupChange(
      change({
        action: 'left',
        drop: ['alice@wa.example', 'carol@wa.example', 'bob@chat.example'],
        named: [],
      }),
    );
    expect(store.getGroup('g.1')).to.equal(undefined);
  });
});
