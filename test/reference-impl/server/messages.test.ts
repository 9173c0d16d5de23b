// Delivery: sending, device lists, Signal-only bodies, idempotency, push, ack, order, offline queue
// and backlog (spec/messages.md, spec/crypto.md "Provider checks").
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import type { Device } from './support/harness.ts';
import {
  firstParty,
  reconnect,
  sleep,
  startTestProvider,
  type AnyFrame,
  freshDeviceKey,
} from './support/harness.ts';

describe('provider delivery (spec/messages.md)', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], { limits: { advertised: { maxMessageBytes: 4096 } } });
  });
  after(() => provider.close());

  async function pair(tag: string): Promise<[Device, Device]> {
    return [await firstParty(provider, `${tag}-alice`), await firstParty(provider, `${tag}-bob`)];
  }

  it('accepts a send with a messageId and serverTimestamp and pushes it at once to the connected device (DELIV-009, DELIV-013, DELIV-015, DELIV-016, DELIV-018)', async () => {
    const [alice, bob] = await pair('push');
    const before = Date.now();
    const accepted = await alice.sendText(bob.address, 'hello bob');
    expect(accepted).to.include({ type: 'message.accepted', duplicate: false });
    expect(accepted.messageId).to.be.a('string');
    expect(accepted.serverTimestamp).to.be.within(before, Date.now());
    const msg = await bob.nextMessage();
    expect(msg).to.deep.include({
      messageId: accepted.messageId,
      from: alice.address,
      fromDevice: 1,
      origin: { platform: 'wa.example', thirdParty: false },
      folder: 'inbox',
      ciphertextType: 'prekey',
      serverTimestamp: accepted.serverTimestamp,
    });
    expect(msg).not.to.have.property('re');
    expect(await bob.open(msg)).to.equal('hello bob');
  });

  it('relays every body byte for byte as submitted (ENC-003)', async () => {
    const [alice, bob] = await pair('bytes');
    await alice.startSessions(bob.address);
    const [m] = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'x',
    );
    await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'b1',
      messages: [m],
    });
    expect((await bob.nextMessage()).body).to.equal(m!.body);
  });

  it('reports missing, extra and stale devices, each sorted, in DEVICE_MISMATCH and queues nothing (DELIV-001, DELIV-002, DELIV-003, DELIV-007, PROTO-042)', async () => {
    const [alice, bob] = await pair('mismatch');
    const d2 = await bob.wire.request('device.add', {
      registrationId: 222,
      deviceKey: freshDeviceKey(),
    });
    const d3 = await bob.wire.request('device.add', {
      registrationId: 333,
      deviceKey: freshDeviceKey(),
    });
    await alice.startSessions(bob.address);
    const [one] = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId === 1 ? 2 : 1 }], // stale
      'x',
    );
    const messages = [one, { ...one, deviceId: 9 }, { ...one, deviceId: 7 }]; // 9 and 7: extra
    const error = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'mm',
      messages,
    });
    expect(error.code).to.equal('DEVICE_MISMATCH');
    expect(error.details).to.deep.equal({
      missing: [d2.deviceId, d3.deviceId],
      extra: [7, 9],
      stale: [1],
    });
    expect(await bob.wire.sees((f) => f.type === 'message', 150)).to.equal(false);
    expect(provider.store.pendingDeliveries(bob.address, 1, 0, Date.now())).to.have.length(0);
    // A refused send leaves no trace: the same key is free for the corrected send (PROTO-042).
    const fixed = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'fixed',
    );
    const missing = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'mm',
      messages: fixed,
    });
    expect(missing.details).to.deep.equal({
      missing: [d2.deviceId, d3.deviceId],
      extra: [],
      stale: [],
    });
  });

  it('refuses a body longer than maxMessageBytes with MESSAGE_TOO_LARGE (DELIV-005)', async () => {
    const [alice, bob] = await pair('large');
    await alice.startSessions(bob.address);
    const [m] = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'y'.repeat(5000),
    );
    const error = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'big',
      messages: [m],
    });
    expect(error).to.include({ code: 'MESSAGE_TOO_LARGE', pointer: '/messages/0/body' });
  });

  it('refuses a body that is not a Signal message of its type with NOT_SIGNAL_CIPHERTEXT (ENC-034)', async () => {
    const [alice, bob] = await pair('plain');
    const plaintext = Buffer.from('{"v":1,"kind":"text","body":"not encrypted"}').toString(
      'base64url',
    );
    for (const [type, body] of [
      ['whisper', plaintext],
      ['prekey', plaintext],
      ['whisper', Buffer.from([0x23, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).toString('base64url')],
      ['whisper', Buffer.from([0x54, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).toString('base64url')],
    ]) {
      const error = await alice.wire.request('message.send', {
        to: bob.address,
        idempotencyKey: randomUUID(),
        messages: [{ deviceId: 1, registrationId: bob.registrationId, type, body }],
      });
      expect(error).to.include({ code: 'NOT_SIGNAL_CIPHERTEXT', pointer: '/messages/0/body' });
    }
    // A real prekey message labelled whisper is refused too.
    await alice.startSessions(bob.address);
    const [m] = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'x',
    );
    const mislabelled = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: randomUUID(),
      messages: [{ ...m, type: 'whisper' }],
    });
    expect(mislabelled.code).to.equal('NOT_SIGNAL_CIPHERTEXT');
  });

  it('refuses an X3DH body, version byte 0x33 or 0x34, with LEGACY_SIGNAL_VERSION at that body, prekey and whisper alike, and accepts the version-4 original (ENC-057, ENC-023)', async () => {
    const [alice, bob] = await pair('legacy');
    await alice.startSessions(bob.address);
    const [m] = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'x',
    );
    const body = Buffer.from(m!.body as string, 'base64url');
    expect(body[0]).to.equal(0x44);
    const send = (type: string, bytes: Uint8Array) =>
      alice.wire.request('message.send', {
        to: bob.address,
        idempotencyKey: randomUUID(),
        messages: [{ ...m, type, body: Buffer.from(bytes).toString('base64url') }],
      });
    for (const version of [0x33, 0x34]) {
      const legacy = Buffer.from(body);
      legacy[0] = version;
      expect(await send('prekey', legacy)).to.include({
        code: 'LEGACY_SIGNAL_VERSION',
        pointer: '/messages/0/body',
      });
      expect(
        await send('whisper', Buffer.from([version, 0x0a, 0x21, 0x05, ...Buffer.alloc(40, 1)])),
      ).to.include({ code: 'LEGACY_SIGNAL_VERSION', pointer: '/messages/0/body' });
    }
    expect((await send('prekey', body)).type).to.equal('message.accepted');
  });

  it('refuses a prekey body whose identity key is not the sender device’s with NOT_SIGNAL_CIPHERTEXT (ENC-035)', async () => {
    const [alice, bob] = await pair('identity');
    const mallory = await firstParty(provider, 'identity-mallory');
    await mallory.startSessions(bob.address);
    const [m] = await mallory.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'x',
    );
    const error = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'id',
      messages: [m],
    });
    expect(error.code).to.equal('NOT_SIGNAL_CIPHERTEXT');
  });

  it('answers a retried send with the original messageId and duplicate true and queues it once (DELIV-012)', async () => {
    const [alice, bob] = await pair('retry');
    await alice.startSessions(bob.address);
    const messages = await alice.ciphertexts(
      bob.address,
      [{ deviceId: 1, registrationId: bob.registrationId }],
      'once',
    );
    const first = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'k',
      messages,
    });
    const again = await alice.wire.request('message.send', {
      to: bob.address,
      idempotencyKey: 'k',
      messages,
    });
    expect(again).to.include({
      messageId: first.messageId,
      serverTimestamp: first.serverTimestamp,
      duplicate: true,
    });
    await bob.nextMessage();
    expect(await bob.wire.sees((f) => f.type === 'message', 150)).to.equal(false);
    expect(provider.store.pendingDeliveries(bob.address, 1, 0, Date.now())).to.have.length(1);
  });

  it('refuses an idempotency key reused with other messages with CONFLICT (DELIV-014)', async () => {
    const [alice, bob] = await pair('conflict');
    expect((await alice.sendText(bob.address, 'one', 'same-key')).type).to.equal(
      'message.accepted',
    );
    expect((await alice.sendText(bob.address, 'two', 'same-key')).code).to.equal('CONFLICT');
  });

  it('scopes idempotency keys to the sending device', async () => {
    const [alice, bob] = await pair('scope');
    const carol = await firstParty(provider, 'scope-carol');
    const a = await alice.sendText(bob.address, 'a', 'shared');
    const c = await carol.sendText(bob.address, 'c', 'shared');
    expect(c.duplicate).to.equal(false);
    expect(c.messageId).not.to.equal(a.messageId);
  });

  it('fans out to every device, each receiving only its own ciphertext (DELIV-017)', async () => {
    const [alice, bob] = await pair('fanout');
    const { device: bob2 } = await bob.addSibling(77);
    await bob2.connect(provider);
    await bob2.authDevice();
    await bob2.publish(2);
    expect((await alice.sendText(bob.address, 'to both')).type).to.equal('message.accepted');
    const m1 = await bob.nextMessage();
    const m2 = await bob2.nextMessage();
    expect(m1.messageId).to.equal(m2.messageId);
    expect(m1.body).not.to.equal(m2.body);
    expect(await bob.open(m1)).to.equal('to both');
    expect(await bob2.open(m2)).to.equal('to both');
  });

  it('keeps unacknowledged messages and pushes them again after the device authenticates anew, on the new connection only (DELIV-019, DELIV-021)', async () => {
    const [alice, bob] = await pair('redeliver');
    const sent = await alice.sendText(bob.address, 'again');
    const first = await bob.nextMessage();
    const old = bob.wire;
    await reconnect(provider, bob);
    const second = await bob.nextMessage();
    expect(second.messageId).to.equal(sent.messageId);
    expect(second.id).to.equal(first.id);
    await alice.sendText(bob.address, 'later');
    await bob.nextMessage();
    expect(await old.sees((f) => f.type === 'message', 150)).to.equal(false);
  });

  it('removes acknowledged deliveries, counting only the device’s own known ids (DELIV-024, DELIV-025)', async () => {
    const [alice, bob] = await pair('ack');
    await alice.sendText(bob.address, 'ack me');
    const msg = await bob.nextMessage();
    const carol = await firstParty(provider, 'ack-carol');
    expect((await carol.wire.request('message.ack', { deliveryIds: [msg.id] })).count).to.equal(0);
    const acked = await bob.wire.request('message.ack', {
      deliveryIds: [msg.id, 'd.999999', 'zzz'],
    });
    expect(acked).to.include({ type: 'message.acked', count: 1 });
    expect(provider.store.pendingDeliveries(bob.address, 1, 0, Date.now())).to.have.length(0);
    await reconnect(provider, bob);
    await bob.wire.next((f) => f.type === 'queue.empty');
    expect(bob.wire.frames.filter((f) => f.type === 'message')).to.have.length(0);
  });

  it('pushes each delivery once on a connection (DELIV-020)', async () => {
    const [alice, bob] = await pair('once');
    for (let i = 0; i < 3; i++) await alice.sendText(bob.address, `n${i}`);
    await bob.wire.request('ping');
    await sleep(100);
    const ids = bob.wire.frames.filter((f) => f.type === 'message').map((f) => f.id);
    expect(ids).to.have.length(3);
    expect(new Set(ids).size).to.equal(3);
  });

  it('advertises a queue time-to-live of at least 30 days by default (DELIV-029)', async () => {
    const [alice] = await pair('ttl30');
    expect(alice.welcome.limits.queueTtlSeconds).to.be.at.least(2_592_000);
  });

  it('pushes one sender device’s messages in acceptance order (DELIV-026)', async () => {
    const [alice, bob] = await pair('order');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await alice.sendText(bob.address, `m${i}`)).messageId);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await bob.nextMessage();
      got.push(m.messageId);
      expect(await bob.open(m)).to.equal(`m${i}`);
    }
    expect(got).to.deep.equal(ids);
  });

  it('pushes one sender device’s messages in the order it sent them, also when it sends the next before the last is accepted (DELIV-026)', async () => {
    const [alice, bob] = await pair('pipelined');
    await alice.startSessions(bob.address);
    const device = [{ deviceId: 1, registrationId: bob.registrationId }];
    const bodies: AnyFrame[][] = [];
    for (let i = 0; i < 80; i++) bodies.push(await alice.ciphertexts(bob.address, device, `p${i}`));
    // Every frame leaves before the first reply arrives: the provider works on several at once.
    const replies = await Promise.all(
      bodies.map((messages, i) =>
        alice.wire.request('message.send', { to: bob.address, idempotencyKey: `p${i}`, messages }),
      ),
    );
    const got: string[] = [];
    for (let i = 0; i < replies.length; i++) {
      const m = await bob.nextMessage();
      got.push(m.messageId);
      expect(await bob.open(m)).to.equal(`p${i}`);
    }
    expect(got).to.deep.equal(replies.map((r) => r.messageId));
  });

  it('pushes the whole backlog after auth.ok and then one queue.empty (DELIV-030, DELIV-031)', async () => {
    const [alice, bob] = await pair('backlog');
    bob.wire.close();
    await sleep(50);
    for (let i = 0; i < 5; i++) await alice.sendText(bob.address, `b${i}`);
    await reconnect(provider, bob);
    await bob.wire.next((f) => f.type === 'queue.empty');
    const types = bob.wire.frames.map((f) => f.type);
    expect(types.filter((t) => t === 'message')).to.have.length(5);
    expect(bob.wire.frames.every((f) => f.type !== 'queue.empty')).to.equal(true);
  });
});

describe('provider offline queue expiry (spec/messages.md "Offline queue")', () => {
  it('delivers within queueTtlSeconds and deletes and never delivers a message older than it (DELIV-027, DELIV-028)', async () => {
    const provider = await startTestProvider([], {
      limits: { advertised: { queueTtlSeconds: 1 } },
    });
    const alice = await firstParty(provider, 'ttl-alice');
    const bob = await firstParty(provider, 'ttl-bob');
    expect(bob.welcome.limits.queueTtlSeconds).to.equal(1);
    bob.wire.close();
    await sleep(50);
    await alice.sendText(bob.address, 'kept');
    await reconnect(provider, bob);
    await bob.nextMessage();
    bob.wire.close();
    await sleep(1100);
    await reconnect(provider, bob);
    await bob.wire.next((f: AnyFrame) => f.type === 'queue.empty');
    expect(bob.wire.frames.filter((f) => f.type === 'message')).to.have.length(0);
    expect(provider.store.purgeExpired(Date.now(), 0, 10).deliveries).to.equal(1);
    await provider.close();
  });
});
