// A group message stays in its group (spec/groups.md "Group clients", GROUP-054..056): the SDK
// encrypts for each group under a distribution id of its own and names the group in the Content,
// shows a group message only when its Content names the group it came in, records for each
// received sender key the group of the first message that so opened under it, and opens no
// message of another group under that key; against the reference provider, with a relay that
// delivers a message as another group's.
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryClientStore,
  ParleyError,
  SqliteClientStore,
  textContent,
  type ClientStore,
  type IncomingMessage,
  type ParleyClient,
  type UnreadableMessage,
} from '../../../reference-impl/client/index.ts';
import {
  collect,
  FrameProxy,
  nextMessage,
  REGISTRATION_TOKEN,
  startWorld,
  waitFor,
  type ProxiedFrame,
  type World,
} from './support.ts';

const textIs =
  (group: string, body: string) =>
  (m: IncomingMessage): boolean =>
    m.group === group && m.content.kind === 'text' && m.content.body === body;

const ALICE = { name: 'alice@wa.example', deviceId: 1 };
const GROUP_A = 'g_A';
const GROUP_B = 'g_B';
const KEY = '6f2f8a3e-1b7c-4c2a-9d51-0b7f3c2e8a11';

describe('group messages bound to their group in the client SDK (GROUP-054, GROUP-056)', function () {
  this.timeout(30000);
  let world: World;
  let proxy: FrameProxy;
  let dir: string;

  before(async () => {
    world = await startWorld();
    proxy = await FrameProxy.start(world.provider.wsUrl);
    dir = mkdtempSync(join(tmpdir(), 'parley-group-binding-'));
  });
  after(async () => {
    await proxy.close();
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    proxy.rewriteToClient = (frame) => frame;
  });

  /**
   * alice; carol (SQLite store, behind the relay); bob; groups A (alice, bob, carol) and B (alice,
   * carol), in each of which carol has read alice's first message, so she holds her key for both.
   */
  async function twoGroups(tag: string) {
    const alice = await world.firstParty(`alice-${tag}`);
    const bob = await world.firstParty(`bob-${tag}`);
    const carolDb = join(dir, `carol-${tag}.db`);
    const carol = world.client({ url: proxy.url, store: new SqliteClientStore(carolDb) });
    await carol.connect({
      method: 'register',
      registrationToken: REGISTRATION_TOKEN,
      name: `carol-${tag}`,
    });
    const a = (await alice.createGroup([bob.session!.address, carol.session!.address])).group;
    const b = (await alice.createGroup([carol.session!.address])).group;
    for (const [group, text] of [
      [a, 'hello A'],
      [b, 'hello B'],
    ] as const) {
      const got = nextMessage(carol, textIs(group, text));
      await alice.sendGroupText(group, text);
      await got;
    }
    return { alice, bob, carol, carolDb, a, b };
  }

  /**
   * Has the relay deliver carol the next group message of `from` as one of `to`; resolves to the
   * frame as the provider sent it.
   */
  function misroute(from: string, to: string): Promise<ProxiedFrame> {
    return new Promise((resolve) => {
      let done = false;
      proxy.rewriteToClient = (frame: ProxiedFrame) => {
        if (done || frame.type !== 'message' || frame.group !== from) return frame;
        done = true;
        resolve(frame);
        return { ...frame, group: to };
      };
    });
  }

  const wrongGroup = (carol: ParleyClient, group: string): Promise<UnreadableMessage> =>
    waitFor<UnreadableMessage>(carol, 'unreadable', (m) => m.group === group);

  it('carol does not show alice’s message of group A that the provider delivers as one of group B, is told why, and reads alice’s next message in A (GROUP-054)', async () => {
    const { alice, bob, carol, a, b } = await twoGroups('misroute');
    const shown = collect(carol);
    void misroute(a, b);
    const refused = wrongGroup(carol, b);
    const atBob = nextMessage(bob, textIs(a, 'only for A'));
    await alice.sendGroupText(a, 'only for A');
    expect(await refused).to.include({ reason: 'wrong-group', from: alice.session!.address });
    await atBob;
    const next = nextMessage(carol, textIs(a, 'A again'));
    await alice.sendGroupText(a, 'A again');
    await next;
    expect(shown.map((m) => [m.group, (m.content as { body?: string }).body])).to.deep.equal([
      [a, 'A again'],
    ]);
  });

  it('carol does not show alice’s first message of group A, which carries her sender key, delivered as one of group B; the same message opens in A, and alice’s later messages of A open in A only (GROUP-056)', async () => {
    const alice = await world.firstParty('alice-first');
    const carol = world.client({ url: proxy.url, store: new MemoryClientStore() });
    await carol.connect({
      method: 'register',
      registrationToken: REGISTRATION_TOKEN,
      name: 'carol-first',
    });
    const a = (await alice.createGroup([carol.session!.address])).group;
    const b = (await alice.createGroup([carol.session!.address])).group;
    const shown = collect(carol);
    const original = misroute(a, b);
    const refused = wrongGroup(carol, b);
    const first = await alice.sendGroupText(a, 'first of A');
    expect(first.distributedTo).to.deep.equal([`${carol.session!.address}.1`]);
    expect(await refused).to.include({ reason: 'wrong-group' });
    // The same ciphertext, delivered in its own group (under a delivery id of its own), opens:
    // the discard put the sender key's state back and recorded no group for it.
    const frame = await original;
    const inA = nextMessage(carol, textIs(a, 'first of A'));
    proxy.toClients({
      ...frame,
      id: `${String(frame.id)}-again`,
      messageId: `${String(frame.messageId)}-again`,
    });
    await inA;
    const next = nextMessage(carol, textIs(a, 'A again'));
    const again = await alice.sendGroupText(a, 'A again');
    expect(again.distributedTo).to.deep.equal([]);
    await next;
    void misroute(a, b);
    const later = wrongGroup(carol, b);
    await alice.sendGroupText(a, 'A, delivered as B');
    expect(await later).to.include({ reason: 'wrong-group' });
    expect(shown.map((m) => [m.group, (m.content as { body?: string }).body])).to.deep.equal([
      [a, 'first of A'],
      [a, 'A again'],
    ]);
  });

  it('alice’s group sends name their group in the Content, whatever group the content she passes names, and her 1:1 sends refuse a Content that names one (GROUP-056)', async () => {
    const { alice, carol, a, b } = await twoGroups('names');
    const got = nextMessage(carol, textIs(a, 'named'));
    const sent = await alice.sendToGroup(a, { ...textContent('named'), group: b });
    expect(sent.content.group).to.equal(a);
    expect((await got).content.group).to.equal(a);
    const refusal = await alice
      .send(carol.session!.address, { ...textContent('not a group'), group: a })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refusal).to.be.instanceOf(ParleyError).and.include({
      code: 'SCHEMA_VIOLATION',
      pointer: '/group',
    });
  });

  it('alice encrypts for groups A and B under sender keys of two distribution ids (GROUP-055)', async () => {
    const { alice, a, b } = await twoGroups('ids');
    const store = (alice as unknown as { store: ClientStore }).store;
    const [idA, idB] = [(await store.getGroup(a))!, (await store.getGroup(b))!].map(
      (g) => g.distributionId,
    );
    expect(idA).to.be.a('string').and.not.equal(idB);
  });

  it('alice’s new sender key of group A, delivered to carol with a message of group B, opens nothing in B but alice’s next message in A (GROUP-054)', async () => {
    const { alice, bob, carol, a, b } = await twoGroups('rotated');
    await alice.removeFromGroup(a, [bob.session!.address]);
    const shown = collect(carol);
    void misroute(a, b);
    const refused = wrongGroup(carol, b);
    const sent = await alice.sendGroupText(a, 'new key, for A');
    expect(sent.distributedTo).to.deep.equal([`${carol.session!.address}.1`]);
    expect(await refused).to.include({ reason: 'wrong-group' });
    const next = nextMessage(carol, textIs(a, 'A under the new key'));
    const again = await alice.sendGroupText(a, 'A under the new key');
    expect(again.distributedTo).to.deep.equal([]);
    await next;
    expect(shown.map((m) => m.group)).to.deep.equal([a]);
  });

  it('a sender key kept in a store written before groups were recorded serves the group of the first message it opens, and no other after (GROUP-054)', async () => {
    const { alice, carol, carolDb, a, b } = await twoGroups('upgrade');
    await carol.close();
    const raw = new Database(carolDb);
    raw.exec('DROP TABLE sender_key_groups');
    raw.close();
    const again = world.client({ url: proxy.url, store: new SqliteClientStore(carolDb) });
    await again.connect();
    const inA = nextMessage(again, textIs(a, 'A after the upgrade'));
    await alice.sendGroupText(a, 'A after the upgrade');
    await inA;
    void misroute(a, b);
    const refused = wrongGroup(again, b);
    await alice.sendGroupText(a, 'A, delivered as B');
    expect(await refused).to.include({ reason: 'wrong-group' });
  });
});

describe('the group a client store records for each received sender key (GROUP-054)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-sender-key-groups-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const stores: [string, () => ClientStore][] = [
    ['MemoryClientStore', () => new MemoryClientStore()],
    ['SqliteClientStore', () => new SqliteClientStore(':memory:')],
  ];
  for (const [name, make] of stores) {
    it(`${name}: alice’s key is recorded for the first group it came with, and a later group does not replace it`, async () => {
      const store = make();
      expect(await store.senderKeyGroup(ALICE, KEY)).to.equal(undefined);
      await store.bindSenderKeyGroup(ALICE, KEY, GROUP_A);
      await store.bindSenderKeyGroup(ALICE, KEY, GROUP_B);
      expect(await store.senderKeyGroup(ALICE, KEY)).to.equal(GROUP_A);
      expect(await store.senderKeyGroup({ ...ALICE, deviceId: 2 }, KEY)).to.equal(undefined);
      await store.close();
    });
  }

  it('a SQLite file written before groups were recorded marks each sender key it holds once, with no group, which the first group recorded then replaces', async () => {
    const path = join(dir, 'old.db');
    const old = new SqliteClientStore(path);
    await old.close();
    const raw = new Database(path);
    raw.exec('DROP TABLE sender_key_groups');
    raw
      .prepare('INSERT INTO sender_keys (sender, distribution_id, record) VALUES (?, ?, ?)')
      .run('alice@wa.example.1', KEY, Buffer.from([1]));
    raw.close();
    const upgraded = new SqliteClientStore(path);
    expect(await upgraded.senderKeyGroup(ALICE, KEY)).to.equal(null);
    await upgraded.bindSenderKeyGroup(ALICE, KEY, GROUP_B);
    await upgraded.bindSenderKeyGroup(ALICE, KEY, GROUP_A);
    expect(await upgraded.senderKeyGroup(ALICE, KEY)).to.equal(GROUP_B);
    const other = '0b7f3c2e-8a11-4c2a-9d51-6f2f8a3e1b7c';
    const raw2 = new Database(path);
    raw2
      .prepare('INSERT INTO sender_keys (sender, distribution_id, record) VALUES (?, ?, ?)')
      .run('alice@wa.example.1', other, Buffer.from([1]));
    raw2.close();
    await upgraded.close();
    const reopened = new SqliteClientStore(path);
    expect(await reopened.senderKeyGroup(ALICE, other)).to.equal(undefined);
    await reopened.close();
  });
});
