// DELIV cases of spec/messages.md#acknowledgement, #order and #offline-queue: at-least-once until
// acked, per-sender order, backlog then queue.empty, and fan-out to every device of a recipient.
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isType, that } from '../../assert/match.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { b64, TestUser } from '../../transport/users.ts';

export const queueCases = [
  defineCase({
    id: 'DELIV-019-redelivered-until-acked',
    title: 'an unacknowledged message is pushed again after reconnecting, and not after its ack',
    requirements: ['DELIV-019', 'DELIV-024', 'DELIV-025', 'DELIV-021'],
    level: 'MUST',
    quote:
      'The provider MUST keep a pushed message queued until its device acknowledges the delivery id with `message.ack`, and MUST push every unacknowledged message again after the device next authenticates.',
    sends:
      'carol → alice; alice reconnects without ack; alice acks (plus an unknown id); alice reconnects',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.sendText(alice.address, 'until acked');
      const first = await alice.nextMessage();
      await world.reconnect(alice);
      const again = await alice.nextMessage();
      must(
        'DELIV-019',
        that(again.messageId === first.messageId, `messageId ${first.messageId} again`, again),
      );
      const acked = await alice.peer.request('message.ack', {
        deliveryIds: [again.id, 'no-such-delivery'],
      });
      mustMatch('DELIV-024', acked, hasMembers('message.acked', { count: 1 }));
      await world.reconnect(alice);
      const next = await alice.peer.next((f) => f.type === 'message' || f.type === 'queue.empty');
      mustMatch('DELIV-025', next, isType('queue.empty'));
    },
  }),
  defineCase({
    id: 'DELIV-026-per-sender-order',
    title: 'five messages from carol arrive at alice in the order they were accepted',
    requirements: ['DELIV-026', 'DELIV-030', 'DELIV-031'],
    level: 'MUST',
    quote:
      'The provider MUST push the messages of one sender device to one recipient device in the order in which it accepted them.',
    sends: 'carol → alice (offline): five message.send; alice connects',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice');
      alice.peer.close();
      const carol = await world.firstParty('carol', { preKeys: 0 });
      for (let i = 1; i <= 5; i++) await carol.sendText(alice.address, `m${i}`);
      await alice.connect();
      mustMatch('DELIV-030', await alice.authDevice(), isType('auth.ok'));
      const bodies: string[] = [];
      let last: Frame | undefined;
      for (let i = 0; i < 5; i++) {
        last = await alice.nextMessage();
        bodies.push((await alice.open(last)).body as string);
      }
      must('DELIV-026', that(bodies.join() === 'm1,m2,m3,m4,m5', 'm1..m5 in order', bodies));
      const empty = await alice.peer.next(
        (f) => f.type === 'queue.empty',
        undefined,
        'queue.empty after the backlog',
        'DELIV-030',
      );
      must(
        'DELIV-031',
        that(
          alice.peer.arrivalOf(empty) > alice.peer.arrivalOf(last!),
          'queue.empty after the last of the five queued messages',
          `queue.empty arrived as frame ${alice.peer.arrivalOf(empty)}, the last message as frame ${alice.peer.arrivalOf(last!)}`,
        ),
      );
      must(
        'DELIV-030',
        await shouldStayQuiet(
          () => alice.peer.peek((f) => f.type === 'queue.empty'),
          scale(200),
          'one queue.empty after the backlog, not two',
        ),
      );
    },
  }),
  defineCase({
    id: 'DELIV-017-fan-out',
    title: "carol's send reaches both of alice's devices, each with its own ciphertext",
    requirements: ['DELIV-017', 'DELIV-001', 'AUTH-027', 'KEYS-011'],
    level: 'MUST',
    quote: 'The provider MUST push each ciphertext only to the device it was encrypted for.',
    sends:
      'alice: device.add; device 2 authenticates and publishes; carol claims alice and sends one text to both devices',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const phone = world.rng.int(1, 16380);
      const phoneKey = IdentityKeyPair.generate();
      const added = await alice.peer.request('device.add', {
        registrationId: phone,
        deviceKey: b64(phoneKey.publicKey),
      });
      mustMatch('AUTH-027', added, isType('device.added'));
      must('AUTH-027', that(added.deviceId !== 1, 'a device id other than 1', added));
      const second = new TestUser(
        'alice2',
        alice.address,
        added.deviceId,
        phone,
        world.env,
        alice.identity,
        phoneKey,
      );
      await second.connect();
      mustMatch('AUTH-027', await second.authDevice(), isType('auth.ok'));
      await second.peer.next((f) => f.type === 'queue.empty');
      await second.publish(2);
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const bundle = await carol.startSessions(alice.address);
      must('KEYS-011', that(bundle.devices?.length === 2, 'two bundle entries', bundle));
      mustMatch(
        'DELIV-001',
        await carol.sendText(alice.address, 'to both'),
        isType('message.accepted'),
      );
      const [one, two] = [await alice.nextMessage(), await second.nextMessage()];
      must(
        'DELIV-017',
        that(one.body !== two.body, 'a different ciphertext per device', [one.body, two.body]),
      );
      must(
        'DELIV-017',
        that(
          (await alice.open(one)).body === 'to both' && (await second.open(two)).body === 'to both',
          'each device decrypts its own',
          'undecryptable',
        ),
      );
    },
  }),
];
