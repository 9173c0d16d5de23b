// Groups in the client SDK against the real reference provider on port 0, with SQLite stores
// (spec/groups.md; spec/crypto.md "Sender keys", ENC-081, ENC-089): a mixed group of first-party
// and partner users, every content kind, rotation on removal, and a removed member's lock-out.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  groupDecrypt,
  parseSenderKeyMessage,
  ProtocolError,
  ProtocolErrorCode,
} from '../../../reference-impl/crypto/index.ts';
import {
  attachmentContent,
  downloadAttachment,
  SqliteClientStore,
  uploadAttachment,
  type IncomingMessage,
  type ParleyClient,
} from '../../../reference-impl/client/index.ts';
import {
  eventually,
  FrameProxy,
  nextMessage,
  sleep,
  optIn,
  startWorld,
  waitFor,
  type ProxiedFrame,
  type World,
} from './support.ts';

const textIs =
  (group: string, body: string) =>
  (m: IncomingMessage): boolean =>
    m.group === group && m.content.kind === 'text' && m.content.body === body;

describe('groups in the client SDK against the reference provider', function () {
  this.timeout(30000);
  let world: World;
  let dir: string;

  before(async () => {
    world = await startWorld();
    dir = mkdtempSync(join(tmpdir(), 'parley-client-groups-'));
  });
  after(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** alice (first-party, SQLite), bob of chat.example and carol (first-party), all opted in. */
  async function trio(tag: string, aliceUrl?: string) {
    const aliceStore = join(dir, `alice-${tag}.db`);
    const alice = world.client({
      store: new SqliteClientStore(aliceStore),
      ...(aliceUrl ? { url: aliceUrl } : {}),
    });
    await alice.connect({
      method: 'register',
      registrationToken: 'test-registration-token',
      name: `alice-${tag}`,
    });
    const bob = await world.thirdParty(`bob-${tag}`, {
      store: new SqliteClientStore(join(dir, `bob-${tag}.db`)),
    });
    const carol = await world.firstParty(`carol-${tag}`, {
      store: new SqliteClientStore(join(dir, `carol-${tag}.db`)),
    });
    await optIn(alice);
    await optIn(carol);
    return { alice, bob, carol, aliceStore };
  }

  async function groupOf(alice: ParleyClient, members: ParleyClient[]): Promise<string> {
    const created = await alice.createGroup(members.map((m) => m.session!.address));
    return created.group;
  }

  it('alice creates a mixed group and bob of chat.example and carol read her text, filed under third-party chats', async () => {
    const { alice, bob, carol } = await trio('create');
    const group = await groupOf(alice, [bob, carol]);
    const atBob = nextMessage(bob, textIs(group, 'Hello group'));
    const atCarol = nextMessage(carol, textIs(group, 'Hello group'));
    const sent = await alice.sendGroupText(group, 'Hello group');
    expect(sent.distributedTo).to.have.members([
      `${bob.session!.address}.1`,
      `${carol.session!.address}.1`,
    ]);
    const [b, c] = await Promise.all([atBob, atCarol]);
    expect(b.from).to.equal(alice.session!.address);
    expect(c.folder).to.equal('third-party');
    expect(b.content.id).to.equal(sent.content.id);
    const known = await bob.knownGroup(group);
    expect(known?.members.map((m) => m.address)).to.have.members([
      alice.session!.address,
      bob.session!.address,
      carol.session!.address,
    ]);
  });

  it('members reply, react, edit, delete, send receipts and attachments in the group as in 1:1 chats', async () => {
    const { alice, bob, carol } = await trio('kinds');
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(bob, textIs(group, 'Lunch?'));
    const sent = await alice.sendGroupText(group, 'Lunch?');
    await first;

    const replyAtAlice = nextMessage(alice, textIs(group, 'Yes!'));
    const replyAtCarol = nextMessage(carol, textIs(group, 'Yes!'));
    const reply = await bob.sendGroupText(group, 'Yes!', {
      id: sent.content.id,
      author: alice.session!.address,
    });
    const r = await replyAtAlice;
    expect(r.content.kind === 'text' && r.content.replyTo?.id).to.equal(sent.content.id);
    await replyAtCarol;

    const kind = (k: string) => (m: IncomingMessage) => m.group === group && m.content.kind === k;
    const reaction = nextMessage(alice, kind('reaction'));
    await carol.reactInGroup(group, { id: reply.content.id, author: bob.session!.address }, '👍');
    expect((await reaction).from).to.equal(carol.session!.address);

    const edit = nextMessage(bob, kind('edit'));
    await alice.editInGroup(group, sent.content.id, 'Lunch at 1?');
    const e = await edit;
    expect(e.content.kind === 'edit' && e.content.body).to.equal('Lunch at 1?');

    const del = nextMessage(carol, kind('delete'));
    await alice.deleteInGroup(group, sent.content.id);
    await del;

    const receipt = nextMessage(bob, kind('receipt'));
    await carol.sendGroupReceipt(group, 'read', [reply.content.id]);
    expect((await receipt).from).to.equal(carol.session!.address);

    const path = join(dir, 'menu.pdf');
    writeFileSync(path, Buffer.from('%PDF-1.4 lunch menu'));
    const pointer = await uploadAttachment(bob, path, {
      kind: 'document',
      mediaType: 'application/pdf',
      fileName: 'menu.pdf',
    });
    const file = nextMessage(carol, kind('attachment'));
    await bob.sendToGroup(group, attachmentContent([pointer], { caption: 'Menu' }));
    const f = await file;
    if (f.content.kind !== 'attachment') throw new Error('not an attachment');
    const chunks: Buffer[] = [];
    for await (const chunk of await downloadAttachment(f.content.attachments[0]!))
      chunks.push(Buffer.from(chunk as Uint8Array));
    expect(Buffer.concat(chunks).toString()).to.equal('%PDF-1.4 lunch menu');
  });

  it('after carol is removed, alice sends under a new sender key that only bob receives, and carol cannot decrypt it (ENC-089)', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    try {
      const sends: ProxiedFrame[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'client' && frame.type === 'message.send' && 'group' in frame)
          sends.push(frame);
      });
      const { alice, bob, carol } = await trio('remove', proxy.url);
      const group = await groupOf(alice, [bob, carol]);
      const before = nextMessage(carol, textIs(group, 'before'));
      await alice.sendGroupText(group, 'before');
      await before;

      await alice.removeFromGroup(group, [carol.session!.address]);
      const atBob = nextMessage(bob, textIs(group, 'after'));
      const after = await alice.sendGroupText(group, 'after');
      await atBob;
      expect(after.distributedTo).to.deep.equal([`${bob.session!.address}.1`]);

      const [old, rotated] = sends.map((s) =>
        parseSenderKeyMessage(Buffer.from(s.body as string, 'base64url')),
      );
      expect(rotated!.distributionId).to.equal(old!.distributionId);
      expect(rotated!.chainId).to.not.equal(old!.chainId);
      expect(rotated!.iteration).to.equal(0);

      // carol holds alice's old sender key only: the later message does not decrypt with it.
      const carolStore = (carol as unknown as { store: SqliteClientStore }).store;
      let error: unknown;
      await groupDecrypt(
        Buffer.from(sends[1]!.body as string, 'base64url'),
        { name: alice.session!.address, deviceId: 1 },
        carolStore,
      ).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).code).to.equal(ProtocolErrorCode.NoSenderKeyState);
      // and nothing of it reached her
      const stray = await waitFor(
        carol,
        'message',
        (m: IncomingMessage) => m.group === group,
        500,
      ).catch(() => undefined);
      expect(stray).to.equal(undefined);
    } finally {
      await proxy.close();
    }
  });

  it('carol, offline while alice sends and then removes her, reads what was sent before the removal and is told she was removed', async () => {
    const { alice, bob, carol } = await trio('offline');
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(carol, textIs(group, 'first'));
    await alice.sendGroupText(group, 'first');
    await first;
    const carolAddress = carol.session!.address;
    await carol.close();
    await alice.sendGroupText(group, 'while carol is away');
    await alice.removeFromGroup(group, [carolAddress]);
    await alice.sendGroupText(group, 'after carol was removed');
    const seen: IncomingMessage[] = [];
    carol.on('message', (m) => seen.push(m));
    const removed = waitFor(
      carol,
      'groupChanged',
      (c: { action: string }) => c.action === 'removed',
    );
    await carol.connect();
    await removed;
    await waitFor(carol, 'queueEmpty').catch(() => undefined);
    expect(
      seen.filter((m) => m.group === group).map((m) => m.content.kind === 'text' && m.content.body),
    ).to.deep.equal(['while carol is away']);
    expect((await carol.knownGroup(group))?.members.map((m) => m.address)).to.include(
      alice.session!.address,
    );
    let error: unknown;
    await carol.sendGroupText(group, 'can I still write?').catch((e: unknown) => (error = e));
    expect((error as { code?: string }).code).to.equal('NOT_FOUND');
  });

  it('after bob leaves, carol’s next message goes under a new sender key to the remaining members (ENC-089)', async () => {
    const { alice, bob, carol } = await trio('leave');
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(bob, textIs(group, 'hi all'));
    const firstSent = await carol.sendGroupText(group, 'hi all');
    await first;
    expect(firstSent.distributedTo).to.have.members([
      `${alice.session!.address}.1`,
      `${bob.session!.address}.1`,
    ]);
    const changed = waitFor(carol, 'groupChanged', (c: { action: string }) => c.action === 'left');
    await bob.leaveGroup(group);
    await changed;
    const atAlice = nextMessage(alice, textIs(group, 'bob left'));
    const sent = await carol.sendGroupText(group, 'bob left');
    expect(sent.distributedTo).to.deep.equal([`${alice.session!.address}.1`]);
    await atAlice;
  });

  it('a member’s sender key survives a restart: alice sends again from her SQLite store without a new distribution', async () => {
    const { alice, bob, carol, aliceStore } = await trio('restart');
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(bob, textIs(group, 'one'));
    await alice.sendGroupText(group, 'one');
    await first;
    await alice.dispose();

    const again = world.client({ store: new SqliteClientStore(aliceStore) });
    await again.connect();
    const second = nextMessage(bob, textIs(group, 'two'));
    const sent = await again.sendGroupText(group, 'two');
    expect(sent.distributedTo).to.deep.equal([]);
    await second;
  });

  it('a group send cut off before message.accepted is sent again after a restart with its original idempotency key, and bob gets it once', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    try {
      const { alice, bob, carol, aliceStore } = await trio('pending', proxy.url);
      const group = await groupOf(alice, [bob, carol]);
      const seen: IncomingMessage[] = [];
      bob.on('message', (m) => seen.push(m));
      const keys: string[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'client' && frame.type === 'message.send' && 'group' in frame)
          keys.push(frame.idempotencyKey as string);
      });
      proxy.dropToClient = (frame) => {
        if (frame.type !== 'message.accepted') return false;
        setImmediate(() => proxy.dropConnections());
        return true;
      };
      const cut = world.client({ url: proxy.url, store: new SqliteClientStore(aliceStore) });
      await alice.dispose();
      await cut.connect();
      let error: unknown;
      await cut.sendGroupText(group, 'survives a restart').catch((e: unknown) => (error = e));
      expect((error as { code?: string }).code).to.equal('UNAVAILABLE');
      await cut.dispose();
      proxy.dropToClient = () => false;

      const store = new SqliteClientStore(aliceStore);
      expect(await store.listPendingGroupSends()).to.have.length(1);
      const again = world.client({ url: proxy.url, store, reconnect: false });
      await again.connect();
      await eventually(
        async () => (await store.listPendingGroupSends()).length === 0,
        'the pending group send is accepted',
      );
      await eventually(
        () => seen.some(textIs(group, 'survives a restart')),
        'bob receives the group message',
      );
      await sleep(100);
      expect(seen.filter(textIs(group, 'survives a restart'))).to.have.length(1);
      expect(new Set(keys).size).to.equal(1);
    } finally {
      await proxy.close();
    }
  });

  it('a DEVICE_MISMATCH on a distribution entry makes alice build a session with bob’s new device and send again, so that it reads the group too', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    const refusals: string[] = [];
    proxy.on('frame', (from: string, frame: ProxiedFrame) => {
      if (from === 'provider' && frame.type === 'error') refusals.push(String(frame.code));
    });
    const { alice, bob, carol } = await trio('devices', proxy.url);
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(bob, textIs(group, 'one device'));
    await alice.sendGroupText(group, 'one device');
    await first;
    const bob2 = await world.thirdParty('bob-devices', { deviceId: 2 });
    // carol's removal makes alice start a new key, for every device of bob's she knows of: one.
    await alice.removeFromGroup(group, [carol.session!.address]);
    const atBob2 = nextMessage(bob2, textIs(group, 'two devices'));
    const sent = await alice.sendGroupText(group, 'two devices');
    expect(sent.distributedTo).to.have.members([
      `${bob.session!.address}.1`,
      `${bob.session!.address}.2`,
    ]);
    expect((await atBob2).fromDevice).to.equal(1);
    expect(refusals).to.deep.equal(['DEVICE_MISMATCH']);
    await proxy.close();
  });

  it('alice names the mixed group and gives it an avatar: bob and carol keep both, carol still after a restart from her SQLite store, and a later name without avatar replaces both (GROUP-060)', async () => {
    const { alice, bob, carol } = await trio('context');
    const group = await groupOf(alice, [bob, carol]);
    const path = join(dir, 'avatar.jpg');
    writeFileSync(path, Buffer.from('\xff\xd8\xff\xe0 not really a jpeg'));
    const avatar = await uploadAttachment(alice, path, { kind: 'image', mediaType: 'image/jpeg' });
    const named = (m: IncomingMessage): boolean => m.group === group && m.content.kind === 'group';
    const atBob = nextMessage(bob, named);
    const atCarol = nextMessage(carol, named);
    await alice.setGroupInfo(group, { name: 'Lunch club', avatar });
    await Promise.all([atBob, atCarol]);
    for (const member of [alice, bob, carol]) {
      const known = await member.knownGroup(group);
      expect(known?.name, member.session!.address).to.equal('Lunch club');
      expect(known?.avatar?.digest, member.session!.address).to.equal(avatar.digest);
    }
    const carolStore = join(dir, 'carol-context.db');
    await carol.dispose();
    const carolAgain = world.client({ store: new SqliteClientStore(carolStore) });
    await carolAgain.connect();
    expect((await carolAgain.knownGroup(group))?.name).to.equal('Lunch club');

    const renamed = nextMessage(carolAgain, named);
    await bob.setGroupInfo(group, { name: 'Dinner club' });
    await renamed;
    const known = await carolAgain.knownGroup(group);
    expect(known?.name).to.equal('Dinner club');
    expect(known?.avatar).to.equal(undefined);
    await carolAgain.dispose();
  });

  it('a group.create whose reply is lost with the connection is asked again with the same idempotency key: alice gets the group it created, and carol hears of one group (GROUP-061)', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    try {
      const { alice, carol } = await trio('create-retry', proxy.url);
      const created: string[] = [];
      carol.on('groupChanged', (change) => {
        if (change.action === 'created') created.push(change.group);
      });
      const keys: string[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'client' && frame.type === 'group.create')
          keys.push(frame.idempotencyKey as string);
      });
      let lost = false;
      proxy.dropToClient = (frame) => {
        if (frame.type !== 'group.state' || lost) return false;
        lost = true;
        setImmediate(() => proxy.dropConnections());
        return true;
      };
      const group = await alice.createGroup([carol.session!.address]);
      expect(lost).to.equal(true);
      expect(keys).to.have.length(2);
      expect(keys[1]).to.equal(keys[0]);
      await eventually(() => created.length > 0, 'carol hears of the group');
      await sleep(200);
      expect(created).to.deep.equal([group.group]);
    } finally {
      await proxy.close();
    }
  });

  it('a group.create whose reply is lost with the app is asked again with its key at the next start: alice records the group it created, and carol hears of one group (GROUP-061)', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    try {
      const { alice, carol, aliceStore } = await trio('create-restart', proxy.url);
      const created: string[] = [];
      carol.on('groupChanged', (change) => {
        if (change.action === 'created') created.push(change.group);
      });
      let lost = false;
      proxy.dropToClient = (frame) => (frame.type === 'group.state' ? (lost = true) : false);
      const attempt = alice.createGroup([carol.session!.address]).catch((e: unknown) => e);
      await eventually(() => lost, 'the reply to group.create dropped');
      await alice.dispose(); // the app goes before the reply comes
      expect(await attempt).to.have.property('code', 'UNAVAILABLE');
      await eventually(() => created.length > 0, 'carol hears of the group');

      const again = world.client({ store: new SqliteClientStore(aliceStore) });
      await again.connect();
      await eventually(
        async () => (await again.knownGroup(created[0]!)) !== undefined,
        'alice records the group at the next start',
      );
      await sleep(200);
      expect(created).to.have.length(1);
      await again.dispose();
    } finally {
      await proxy.close();
    }
  });

  it('a member added later gets the sender key with the next group send and reads from there on', async () => {
    const { alice, bob, carol } = await trio('join');
    const group = await groupOf(alice, [bob]);
    const one = nextMessage(bob, textIs(group, 'just us'));
    await alice.sendGroupText(group, 'just us');
    await one;
    await alice.addToGroup(group, [carol.session!.address]);
    const atCarol = nextMessage(carol, textIs(group, 'welcome carol'));
    const sent = await alice.sendGroupText(group, 'welcome carol');
    expect(sent.distributedTo).to.deep.equal([`${carol.session!.address}.1`]);
    await atCarol;
  });

  it('a distribution message is taken only as the sender key of the device whose 1:1 message carried it (ENC-081)', async () => {
    const { alice, bob, carol } = await trio('origin');
    const group = await groupOf(alice, [bob, carol]);
    const atBob = nextMessage(bob, textIs(group, 'signed by alice'));
    await alice.sendGroupText(group, 'signed by alice');
    await atBob;
    const bobStore = (bob as unknown as { store: SqliteClientStore }).store;
    const distributionId = (await (alice as unknown as { store: SqliteClientStore }).store.getGroup(
      group,
    ))!.distributionId;
    expect(
      await bobStore.loadSenderKey({ name: alice.session!.address, deviceId: 1 }, distributionId),
    ).to.not.equal(undefined);
    expect(
      await bobStore.loadSenderKey({ name: carol.session!.address, deviceId: 1 }, distributionId),
    ).to.equal(undefined);
  });

  it('bob adds a second device and alice’s next group send, with nobody gone, carries her sender key to it once the provider names it, so that it reads the group (GROUP-052)', async () => {
    const proxy = await FrameProxy.start(world.provider.wsUrl);
    try {
      const refusals: unknown[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'provider' && frame.type === 'error') refusals.push(frame);
      });
      const { alice, bob, carol } = await trio('new-device', proxy.url);
      const group = await groupOf(alice, [bob, carol]);
      const first = nextMessage(bob, textIs(group, 'before the new device'));
      await alice.sendGroupText(group, 'before the new device');
      await first;
      const bob2 = await world.thirdParty('bob-new-device', { deviceId: 2 });
      const atBob2 = nextMessage(bob2, textIs(group, 'after the new device'));
      const atBob = nextMessage(bob, textIs(group, 'after the new device'));
      const sent = await alice.sendGroupText(group, 'after the new device');
      expect(sent.distributedTo).to.have.members([
        `${bob.session!.address}.1`,
        `${bob.session!.address}.2`,
      ]);
      expect((await atBob2).from).to.equal(alice.session!.address);
      await atBob;
      expect(refusals).to.deep.equal([
        {
          ...(refusals[0] as object),
          code: 'DEVICE_MISMATCH',
          pointer: '/distribution',
          details: {
            missing: [],
            extra: [],
            stale: [],
            members: [{ address: bob.session!.address, missing: [2] }],
          },
        },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('alice’s own second device gets her sender key with her next group send and reads what she sends from her first (GROUP-052)', async () => {
    const { alice, bob, carol } = await trio('own-device');
    const group = await groupOf(alice, [bob, carol]);
    const first = nextMessage(bob, textIs(group, 'from one device'));
    await alice.sendGroupText(group, 'from one device');
    await first;
    const tablet = world.client({ store: new SqliteClientStore(join(dir, 'alice-tablet.db')) });
    await tablet.connect({ method: 'link', link: await alice.addDevice() });
    const atTablet = nextMessage(tablet, textIs(group, 'my tablet reads this'));
    const sent = await alice.sendGroupText(group, 'my tablet reads this');
    expect(sent.distributedTo).to.deep.equal([`${alice.session!.address}.2`]);
    const got = await atTablet;
    expect([got.from, got.fromDevice]).to.deep.equal([alice.session!.address, 1]);
  });
});
