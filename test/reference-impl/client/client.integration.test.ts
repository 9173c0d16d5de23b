// The client SDK against the real reference provider on port 0 (spec/auth.md, keys.md, messages.md,
// consent.md, content.md): accounts, keys, conversations, devices, retries, reconnects, consent.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryClientStore,
  ParleyError,
  SqliteClientStore,
  deleteContent,
  editContent,
  textContent,
  type IncomingMessage,
} from '../../../reference-impl/client/index.ts';
import {
  collect,
  eventually,
  FrameProxy,
  nextMessage,
  optIn,
  REGISTRATION_TOKEN,
  sleep,
  startWorld,
  waitFor,
  type ProxiedFrame,
  type World,
} from './support.ts';

const bodyIs =
  (body: string) =>
  (m: IncomingMessage): boolean =>
    m.content.kind === 'text' && m.content.body === body;

describe('the client SDK against the reference provider', function () {
  this.timeout(15000);
  let world: World;
  let dir: string;

  before(async () => {
    world = await startWorld();
    dir = mkdtempSync(join(tmpdir(), 'parley-client-it-'));
  });
  after(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('accounts and authentication', () => {
    it('registers alice as a first-party user and authenticates her again from her stored keys', async () => {
      const path = join(dir, 'alice-reg.db');
      const alice = world.client({ store: new SqliteClientStore(path) });
      const session = await alice.connect({
        method: 'register',
        registrationToken: REGISTRATION_TOKEN,
        name: 'alice-reg',
      });
      expect(session).to.deep.equal({
        address: 'alice-reg@wa.example',
        deviceId: 1,
        origin: { platform: 'wa.example', thirdParty: false },
      });
      await alice.dispose();

      const again = world.client({ store: new SqliteClientStore(path) });
      const resumed = await again.connect();
      expect(resumed.address).to.equal('alice-reg@wa.example');
      await again.dispose();
    });

    it('refuses alice’s registration with a wrong registration token', async () => {
      const alice = world.client();
      let error: unknown;
      await alice
        .connect({ method: 'register', registrationToken: 'wrong', name: 'alice-wrong' })
        .catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ParleyError);
      expect((error as ParleyError).code).to.equal('REGISTRATION_REFUSED');
    });

    it('authenticates bob of chat.example with a partner token as a third-party user', async () => {
      const bob = await world.thirdParty('bob-auth');
      expect(bob.session).to.deep.equal({
        address: 'bob-auth@chat.example',
        deviceId: 1,
        origin: { platform: 'chat.example', thirdParty: true },
      });
    });

    it('reports AUTH_FAILED when bob’s token source signs for a domain that is not enlisted', async () => {
      const bob = world.client({ partner: async () => 'e30.e30.e30', reconnect: false });
      let error: unknown;
      await bob
        .connect({ method: 'partner', address: 'bob-bad@chat.example' })
        .catch((e: unknown) => (error = e));
      expect((error as ParleyError).code).to.equal('AUTH_FAILED');
    });
  });

  describe('keys', () => {
    it('publishes alice’s prekeys on first connect so that bob claims a bundle with a one-time prekey', async () => {
      const alice = await world.firstParty('alice-keys');
      await optIn(alice);
      const bob = await world.thirdParty('bob-keys');
      const bundle = await bob.claimKeys('alice-keys@wa.example');
      expect(bundle.devices).to.have.length(1);
      expect(bundle.devices[0]!.oneTimePreKey).to.not.equal(null);
      expect(bundle.exhausted).to.equal(false);
    });

    it('refuses bob’s claim for alice with NOT_FOUND until alice opts in', async () => {
      await world.firstParty('alice-closed');
      const bob = await world.thirdParty('bob-closed');
      let error: unknown;
      await bob.claimKeys('alice-closed@wa.example').catch((e: unknown) => (error = e));
      expect((error as ParleyError).code).to.equal('NOT_FOUND');
    });
  });

  describe('prekey replenishment', () => {
    let small: World;
    before(async () => {
      small = await startWorld({
        advertised: { maxOneTimePreKeysPerPublish: 12, lowPreKeyThreshold: 10 },
      });
    });
    after(() => small.close());

    it('replenishes alice’s one-time prekeys when claims leave fewer than the threshold', async () => {
      const counts: number[] = [];
      const alice = small.client();
      alice.on('keysPublished', (e) => counts.push(e.oneTimePreKeyCount));
      await alice.connect({
        method: 'register',
        registrationToken: REGISTRATION_TOKEN,
        name: 'alice-low',
      });
      await sleep(200);
      expect(counts).to.deep.equal([12]);
      const carol = await small.firstParty('carol-low');
      for (let i = 0; i < 3; i++) await carol.claimKeys('alice-low@wa.example');
      await waitFor(
        alice,
        'keysPublished',
        (e: { oneTimePreKeyCount: number }) => e.oneTimePreKeyCount >= 10,
      );
      expect(counts.at(-1)).to.equal(21);
      const bundle = await carol.claimKeys('alice-low@wa.example');
      expect(bundle.devices[0]!.oneTimePreKey).to.not.equal(null);
    });
  });

  describe('rate limits', () => {
    let strict: World;
    before(async () => {
      strict = await startWorld({ rates: { sendPerSender: { burst: 1, perMinute: 120 } } });
    });
    after(() => strict.close());

    it('waits out RATE_LIMITED before bob’s send is retried with the same key, and delivers it once', async () => {
      const alice = await strict.firstParty('alice-rate');
      await optIn(alice);
      const received = collect(alice);
      const bob = await strict.thirdParty('bob-rate');
      await bob.sendText('alice-rate@wa.example', 'first');
      const started = Date.now();
      const second = await bob.sendText('alice-rate@wa.example', 'second');
      expect(Date.now() - started).to.be.at.least(100);
      expect(second.duplicate).to.equal(false);
      await sleep(200);
      expect(received.filter(bodyIs('second'))).to.have.length(1);
    });
  });

  describe('a conversation between a first-party and a third-party user', () => {
    it('lets bob of chat.example and alice of wa.example exchange text, a reply, a reaction and a read receipt', async () => {
      const alice = await world.firstParty('alice-chat');
      await optIn(alice);
      const bob = await world.thirdParty('bob-chat');

      const first = nextMessage(alice, bodyIs('hello alice'));
      const sent = await bob.sendText('alice-chat@wa.example', 'hello alice');
      const got = await first;
      expect(got.folder).to.equal('requests');
      expect(got.origin).to.deep.equal({ platform: 'chat.example', thirdParty: true });
      expect(got.from).to.equal('bob-chat@chat.example');
      expect(got.content.id).to.equal(sent.content.id);
      expect((await alice.listRequests()).map((r) => r.from)).to.deep.equal([
        'bob-chat@chat.example',
      ]);

      await alice.respondToRequest('bob-chat@chat.example', 'accept');
      const second = nextMessage(alice, bodyIs('are you there?'));
      const question = await bob.sendText('alice-chat@wa.example', 'are you there?');
      expect((await second).folder).to.equal('third-party');

      const reply = nextMessage(bob, bodyIs('yes, hi bob'));
      const answer = await alice.sendText('bob-chat@chat.example', 'yes, hi bob', {
        id: question.content.id,
        author: 'bob-chat@chat.example',
      });
      const replied = await reply;
      expect(replied.origin).to.deep.equal({ platform: 'wa.example', thirdParty: false });
      expect(replied.content).to.deep.include({
        replyTo: { id: question.content.id, author: 'bob-chat@chat.example' },
      });

      const reaction = nextMessage(alice, (m) => m.content.kind === 'reaction');
      await bob.react(
        'alice-chat@wa.example',
        { id: answer.content.id, author: 'alice-chat@wa.example' },
        '👍',
      );
      expect((await reaction).content).to.deep.include({
        targetId: answer.content.id,
        emoji: '👍',
      });

      const receipt = nextMessage(bob, (m) => m.content.kind === 'receipt');
      await alice.sendReceipt('bob-chat@chat.example', 'read', [question.content.id]);
      expect((await receipt).content).to.deep.include({
        receipt: 'read',
        messageIds: [question.content.id],
      });
    });

    it('carries bob’s typing indicator, edit and delete to alice', async () => {
      const alice = await world.firstParty('alice-kinds');
      await optIn(alice);
      const bob = await world.thirdParty('bob-kinds');
      const first = nextMessage(alice, bodyIs('helo'));
      const typo = await bob.sendText('alice-kinds@wa.example', 'helo');
      await first;
      await alice.respondToRequest('bob-kinds@chat.example', 'accept');
      const typing = nextMessage(alice, (m) => m.content.kind === 'typing');
      await bob.sendTyping('alice-kinds@wa.example', 'started');
      expect((await typing).content).to.deep.include({ state: 'started' });
      const edit = nextMessage(alice, (m) => m.content.kind === 'edit');
      await bob.send('alice-kinds@wa.example', editContent(typo.content.id, 'hello'));
      expect((await edit).content).to.deep.include({ targetId: typo.content.id, body: 'hello' });
      const removal = nextMessage(alice, (m) => m.content.kind === 'delete');
      await bob.send('alice-kinds@wa.example', deleteContent(typo.content.id));
      expect((await removal).content).to.deep.include({ targetId: typo.content.id });
    });

    it('refuses bob’s content that fails its schema before anything is sent', async () => {
      const bob = await world.thirdParty('bob-invalid');
      let error: unknown;
      await bob.sendText('alice@wa.example', '').catch((e: unknown) => (error = e));
      expect((error as ParleyError).code).to.equal('SCHEMA_VIOLATION');
      expect((error as ParleyError).pointer).to.equal('/body');
    });

    it('files carol’s first-party message in alice’s inbox beside bob’s third-party chat', async () => {
      const alice = await world.firstParty('alice-inbox');
      await optIn(alice);
      const carol = await world.firstParty('carol-inbox');
      const got = nextMessage(alice, bodyIs('lunch?'));
      await carol.sendText('alice-inbox@wa.example', 'lunch?');
      const message = await got;
      expect(message.folder).to.equal('inbox');
      expect(message.origin).to.deep.equal({ platform: 'wa.example', thirdParty: false });
    });
  });

  describe('unanswered sessions', () => {
    it('bob starts a new session with alice, from a fresh bundle, once his first message has gone unanswered for 30 days by his clock (ENC-058)', async () => {
      const alice = await world.firstParty('alice-month');
      await optIn(alice);
      const bobStore = new MemoryClientStore();
      let clock = Date.now();
      const bob = world.client({ store: bobStore, now: () => clock });
      await bob.connect({ method: 'partner', address: 'bob-month@chat.example' });
      const address = { name: 'alice-month@wa.example', deviceId: 1 };
      const first = nextMessage(alice, bodyIs('before the month'));
      await bob.sendText(address.name, 'before the month');
      await first;
      const before = (await bobStore.loadSession(address))!.current!.aliceBaseKey;

      clock += 29 * 24 * 3600 * 1000;
      const still = nextMessage(alice, bodyIs('29 days on'));
      await bob.sendText(address.name, '29 days on');
      await still;
      expect(
        Buffer.from((await bobStore.loadSession(address))!.current!.aliceBaseKey),
      ).to.deep.equal(Buffer.from(before));

      clock += 2 * 24 * 3600 * 1000;
      const later = nextMessage(alice, bodyIs('31 days on'));
      await bob.sendText(address.name, '31 days on');
      expect((await later).content.kind).to.equal('text');
      const after = (await bobStore.loadSession(address))!.current!;
      expect(Buffer.from(after.aliceBaseKey)).to.not.deep.equal(Buffer.from(before));
      expect(after.pendingPreKey).to.not.equal(null);
    });
  });

  describe('devices', () => {
    it('delivers bob’s message to both of alice’s devices and both decrypt it', async () => {
      const alice1 = await world.firstParty('alice-multi');
      await optIn(alice1);
      const link = await alice1.addDevice();
      const alice2 = world.client();
      await alice2.connect({ method: 'link', link });
      expect(alice2.session?.deviceId).to.equal(link.deviceId);

      const bob = await world.thirdParty('bob-multi');
      const on1 = nextMessage(alice1, bodyIs('to every device'));
      const on2 = nextMessage(alice2, bodyIs('to every device'));
      await bob.sendText('alice-multi@wa.example', 'to every device');
      const [m1, m2] = await Promise.all([on1, on2]);
      expect(m1.content.id).to.equal(m2.content.id);
      expect(m1.messageId).to.equal(m2.messageId);
    });

    it('recovers alice’s send when bob adds a device mid-conversation', async () => {
      const alice = await world.firstParty('alice-mismatch');
      await optIn(alice);
      const bobStore = new MemoryClientStore();
      const bob1 = world.client({ store: bobStore });
      await bob1.connect({ method: 'partner', address: 'bob-mismatch@chat.example' });
      const hello = nextMessage(alice, bodyIs('hi from bob'));
      await bob1.sendText('alice-mismatch@wa.example', 'hi from bob');
      await hello;
      await alice.respondToRequest('bob-mismatch@chat.example', 'accept');
      const r1 = nextMessage(bob1, bodyIs('hi bob'));
      await alice.sendText('bob-mismatch@chat.example', 'hi bob');
      await r1;

      // Bob's second device shares his identity key, with its own registration id and prekeys.
      const identity = (await bobStore.getLocalIdentity())!;
      const store2 = new MemoryClientStore();
      await store2.setLocalIdentity({
        identityPrivateKey: identity.identityPrivateKey,
        registrationId: 77,
      });
      const bob2 = world.client({ store: store2 });
      await bob2.connect({ method: 'partner', address: 'bob-mismatch@chat.example', deviceId: 2 });

      const on1 = nextMessage(bob1, bodyIs('after the new device'));
      const on2 = nextMessage(bob2, bodyIs('after the new device'));
      const result = await alice.sendText('bob-mismatch@chat.example', 'after the new device');
      expect(result.duplicate).to.equal(false);
      await Promise.all([on1, on2]);
    });

    it('rebuilds alice’s session with bob’s reinstalled device and reports his new identity key', async () => {
      const alice = await world.firstParty('alice-stale');
      await optIn(alice);
      const bob = await world.thirdParty('bob-stale');
      const hello = nextMessage(alice, bodyIs('before reinstall'));
      await bob.sendText('alice-stale@wa.example', 'before reinstall');
      await hello;
      await alice.respondToRequest('bob-stale@chat.example', 'accept');
      await bob.close();

      const reinstalled = await world.thirdParty('bob-stale');
      const changed = waitFor<{ address: string; deviceId: number }>(alice, 'identityChanged');
      const got = nextMessage(reinstalled, bodyIs('after reinstall'));
      await alice.sendText('bob-stale@chat.example', 'after reinstall');
      await got;
      expect(await changed).to.deep.equal({ address: 'bob-stale@chat.example', deviceId: 1 });
    });

    it('drops alice’s removed device from bob’s next send', async () => {
      const alice1 = await world.firstParty('alice-removed');
      await optIn(alice1);
      const alice2 = world.client();
      await alice2.connect({ method: 'link', link: await alice1.addDevice() });
      const bob = await world.thirdParty('bob-removed');
      const both = Promise.all([
        nextMessage(alice1, bodyIs('one')),
        nextMessage(alice2, bodyIs('one')),
      ]);
      await bob.sendText('alice-removed@wa.example', 'one');
      await both;
      await alice1.removeDevice(alice2.session!.deviceId);
      const only = nextMessage(alice1, bodyIs('two'));
      await bob.sendText('alice-removed@wa.example', 'two');
      await only;
    });

    it('disconnects alice’s removed laptop at once with 4410 and never reconnects it, while her phone signs in with its own device key (AUTH-033, AUTH-035)', async () => {
      const phoneStore = new MemoryClientStore();
      const phone = await world.firstParty('alice-revoked', { store: phoneStore });
      const laptop = world.client();
      const link = await phone.addDevice();
      const identity = await phoneStore.getLocalIdentity();
      expect(Buffer.from(link.devicePrivateKey)).to.not.deep.equal(
        Buffer.from(identity!.devicePrivateKey!),
      );
      expect(Buffer.from(link.devicePrivateKey)).to.not.deep.equal(
        Buffer.from(identity!.identityPrivateKey),
      );
      await laptop.connect({ method: 'link', link });
      const reconnecting: unknown[] = [];
      laptop.on('reconnecting', (r) => reconnecting.push(r));
      const disconnected = new Promise<{ code: number }>((resolve) =>
        laptop.once('disconnected', resolve),
      );
      await phone.removeDevice(laptop.session!.deviceId);
      expect((await disconnected).code).to.equal(4410);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reconnecting).to.deep.equal([]);
      expect(laptop.connected).to.equal(false);
    });
  });

  describe('delivery over an unreliable connection', () => {
    let proxy: FrameProxy;
    before(async () => {
      proxy = await FrameProxy.start(world.provider.wsUrl);
    });
    afterEach(() => {
      proxy.dropToClient = () => false;
      proxy.dropToProvider = () => false;
    });
    after(() => proxy.close());

    it('delivers bob’s retried send to alice once when the acceptance was lost', async () => {
      const alice = await world.firstParty('alice-retry');
      await optIn(alice);
      const received = collect(alice);
      const bob = world.client({ url: proxy.url });
      await bob.connect({ method: 'partner', address: 'bob-retry@chat.example' });

      let sends = 0;
      const keys: unknown[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'client' && frame.type === 'message.send') keys.push(frame.idempotencyKey);
      });
      proxy.dropToClient = (frame) => {
        if (frame.type !== 'message.accepted' || sends++ > 0) return false;
        setImmediate(() => proxy.dropConnections());
        return true;
      };
      const result = await bob.sendText('alice-retry@wa.example', 'exactly once');
      expect(result.duplicate).to.equal(true);
      expect(keys).to.have.length(2);
      expect(keys[0]).to.equal(keys[1]);
      await sleep(300);
      expect(received.filter(bodyIs('exactly once'))).to.have.length(1);
    });

    it('shows alice a message redelivered after a reconnect only once, and acks it again', async () => {
      const alice = world.client({ url: proxy.url });
      await alice.connect({
        method: 'register',
        registrationToken: REGISTRATION_TOKEN,
        name: 'alice-dedupe',
      });
      await optIn(alice);
      const received = collect(alice);
      const bob = await world.thirdParty('bob-dedupe');

      const pushes: string[] = [];
      const acks: string[] = [];
      proxy.on('frame', (from: string, frame: ProxiedFrame) => {
        if (from === 'provider' && frame.type === 'message') pushes.push(frame.messageId as string);
        if (from === 'client' && frame.type === 'message.ack')
          acks.push(...(frame.deliveryIds as string[]));
      });
      proxy.dropToProvider = (frame) => frame.type === 'message.ack';
      const first = nextMessage(alice, bodyIs('only once please'));
      const sent = await bob.sendText('alice-dedupe@wa.example', 'only once please');
      await first;
      await sleep(50);
      proxy.dropToProvider = () => false;
      const drained = waitFor(alice, 'queueEmpty');
      proxy.dropConnections();
      await drained;
      await sleep(100);
      expect(pushes.filter((id) => id === sent.messageId)).to.have.length(2);
      expect(acks.length).to.be.at.least(2);
      expect(received.filter(bodyIs('only once please'))).to.have.length(1);
    });

    it('hands alice’s app a message again after it failed to store it, without decrypting twice', async () => {
      let failures = 0;
      const stored: string[] = [];
      const alice = world.client({
        url: proxy.url,
        onMessage: (m) => {
          if (failures++ === 0) throw new Error('disk full');
          if (m.content.kind === 'text') stored.push(m.content.body);
        },
      });
      await alice.connect({
        method: 'register',
        registrationToken: REGISTRATION_TOKEN,
        name: 'alice-handover',
      });
      await optIn(alice);
      const problem = waitFor(alice, 'problem');
      const bob = await world.thirdParty('bob-handover');
      await bob.sendText('alice-handover@wa.example', 'keep me');
      await problem;
      const unreadable: unknown[] = [];
      alice.on('unreadable', (u) => unreadable.push(u));
      const again = nextMessage(alice, bodyIs('keep me'));
      proxy.dropConnections();
      await again;
      expect(stored).to.deep.equal(['keep me']);
      expect(unreadable).to.deep.equal([]);
    });

    it('reconnects alice with back-off after the connection drops, and she keeps receiving', async () => {
      const alice = world.client({ url: proxy.url });
      await alice.connect({
        method: 'register',
        registrationToken: REGISTRATION_TOKEN,
        name: 'alice-reconnect',
      });
      await optIn(alice);
      const attempts: { attempt: number; delayMs: number }[] = [];
      alice.on('reconnecting', (a) => attempts.push(a));
      const disconnected = waitFor(alice, 'disconnected');
      const reconnected = waitFor(alice, 'connected');
      proxy.dropConnections();
      await disconnected;
      await reconnected;
      expect(attempts.length).to.be.at.least(1);
      expect(attempts[0]!.delayMs).to.be.within(10, 20);
      const bob = await world.thirdParty('bob-reconnect');
      const got = nextMessage(alice, bodyIs('still there?'));
      await bob.sendText('alice-reconnect@wa.example', 'still there?');
      await got;
    });

    it('retries a pending send after a restart with its original idempotency key', async () => {
      const path = join(dir, 'bob-pending.db');
      const alice = await world.firstParty('alice-pending');
      await optIn(alice);
      const received = collect(alice);
      const bob = world.client({
        url: proxy.url,
        store: new SqliteClientStore(path),
        reconnect: false,
      });
      await bob.connect({ method: 'partner', address: 'bob-pending@chat.example' });
      proxy.dropToClient = (frame) => {
        if (frame.type !== 'message.accepted') return false;
        setImmediate(() => proxy.dropConnections());
        return true;
      };
      let error: unknown;
      await bob
        .sendText('alice-pending@wa.example', 'survives a restart')
        .catch((e: unknown) => (error = e));
      expect((error as ParleyError).code).to.equal('UNAVAILABLE');
      await bob.dispose();
      proxy.dropToClient = () => false;

      const store = new SqliteClientStore(path);
      expect(await store.listPendingSends()).to.have.length(1);
      const again = world.client({ url: proxy.url, store });
      await again.connect();
      await eventually(
        async () => (await store.listPendingSends()).length === 0,
        'the pending send is accepted',
      );
      await eventually(
        () => received.some(bodyIs('survives a restart')),
        'alice receives the retried send',
      );
      await sleep(100);
      expect(received.filter(bodyIs('survives a restart'))).to.have.length(1);
    });
  });

  describe('consent', () => {
    it('lets alice decline dave’s message request so that his next message never arrives', async () => {
      const alice = await world.firstParty('alice-decline');
      await optIn(alice);
      const received = collect(alice);
      const dave = await world.thirdParty('dave-decline');
      const first = nextMessage(alice, bodyIs('buy now'));
      await dave.sendText('alice-decline@wa.example', 'buy now');
      expect((await first).folder).to.equal('requests');
      await alice.respondToRequest('dave-decline@chat.example', 'decline');
      expect(await alice.listRequests()).to.deep.equal([]);
      const accepted = await dave.sendText('alice-decline@wa.example', 'last chance');
      expect(accepted.messageId).to.be.a('string');
      await sleep(300);
      expect(received.filter(bodyIs('last chance'))).to.have.length(0);
    });

    it('refuses alice’s read receipt to a sender whose request she has not accepted', async () => {
      const alice = await world.firstParty('alice-noreceipt');
      await optIn(alice);
      const erin = await world.thirdParty('erin-noreceipt');
      const first = nextMessage(alice, bodyIs('hi'));
      await erin.sendText('alice-noreceipt@wa.example', 'hi');
      const message = await first;
      let error: unknown;
      await alice
        .sendReceipt('erin-noreceipt@chat.example', 'read', [message.content.id])
        .catch((e: unknown) => (error = e));
      expect((error as ParleyError).code).to.equal('FORBIDDEN');
    });

    it('stops mallory’s messages once alice blocks him, and files alice’s report', async () => {
      const alice = await world.firstParty('alice-block');
      await optIn(alice);
      const received = collect(alice);
      const mallory = await world.thirdParty('mallory-block');
      const first = nextMessage(alice, bodyIs('spam 1'));
      const spam = await mallory.sendText('alice-block@wa.example', 'spam 1');
      await first;
      expect(await alice.block('mallory-block@chat.example')).to.equal(true);
      await mallory.send('alice-block@wa.example', textContent('spam 2'));
      await sleep(300);
      expect(received.filter(bodyIs('spam 2'))).to.have.length(0);
      const reportId = await alice.report('mallory-block@chat.example', 'spam', {
        messageIds: [spam.messageId],
      });
      expect(reportId).to.be.a('string').and.not.equal('');
    });
  });
});
