// DELIV cases of spec/messages.md#idempotency and #acceptance: a retried send yields one message,
// a reused key with other content is a CONFLICT, mismatched device lists and oversize bodies are refused.
import { randomUUID } from 'node:crypto';
import { equals, hasMembers, isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import { textContent } from '../../transport/users.ts';

export const idempotencyCases = [
  defineCase({
    id: 'DELIV-012-idempotent-retry',
    title:
      "carol's retried send returns the original messageId with duplicate true and alice gets it once",
    requirements: ['DELIV-012', 'DELIV-013', 'DELIV-014', 'DELIV-009'],
    level: 'MUST',
    quote:
      'When a sending device repeats, within 24 hours, a `message.send` with an idempotency key of an accepted send and the same `to` and `messages`, the provider MUST reply `message.accepted` with the original `messageId` and `serverTimestamp` and `duplicate` true, and MUST NOT queue the message again.',
    sends:
      'carol → alice: message.send twice with the same idempotencyKey and messages; then the key with other messages',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.startSessions(alice.address);
      const frame = {
        to: alice.address,
        idempotencyKey: randomUUID(),
        messages: await carol.encryptFor(alice.address, textContent('once')),
      };
      const first = await carol.peer.request('message.send', frame);
      mustMatch('DELIV-013', first, hasMembers('message.accepted', { duplicate: false }));
      must(
        'DELIV-009',
        that(
          typeof first.messageId === 'string' && Number.isInteger(first.serverTimestamp),
          'messageId and serverTimestamp',
          first,
        ),
      );
      const again = await carol.peer.request('message.send', frame);
      mustMatch(
        'DELIV-012',
        again,
        hasMembers('message.accepted', {
          messageId: first.messageId,
          serverTimestamp: first.serverTimestamp,
          duplicate: true,
        }),
      );
      const got = await alice.nextMessage();
      await alice.ack(got);
      must(
        'DELIV-012',
        await shouldStayQuiet(() => alice.peekNewMessage(), scale(200), 'one delivery only'),
      );
      const other = {
        ...frame,
        messages: await carol.encryptFor(alice.address, textContent('different')),
      };
      mustMatch('DELIV-014', await carol.peer.request('message.send', other), isError('CONFLICT'));
    },
  }),
  defineCase({
    id: 'DELIV-002-device-mismatch',
    title:
      'sends naming an extra device or a stale registration id are refused with sorted details',
    requirements: ['DELIV-002', 'DELIV-003', 'DELIV-007'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with `DEVICE_MISMATCH` a `message.send` that misses a current device of the recipient, names a device the recipient does not have, or carries a `registrationId` other than the device's current one.",
    sends:
      'carol → alice: ciphertexts for devices 1 and 7; then for device 1 with a wrong registrationId; then none',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.startSessions(alice.address);
      const [entry] = await carol.encryptFor(alice.address, textContent('hi'));
      const send = (messages: unknown[]) =>
        carol.peer.request('message.send', {
          to: alice.address,
          idempotencyKey: randomUUID(),
          messages,
        });
      const extra = await send([entry, { ...entry, deviceId: 7 }]);
      mustMatch('DELIV-002', extra, isError('DEVICE_MISMATCH'));
      must('DELIV-003', equals({ missing: [], extra: [7], stale: [] }, 'details')(extra.details));
      const stale = await send([{ ...entry, registrationId: (alice.registrationId % 16380) + 1 }]);
      mustMatch('DELIV-002', stale, isError('DEVICE_MISMATCH'));
      must('DELIV-003', equals({ missing: [], extra: [], stale: [1] }, 'details')(stale.details));
      must(
        'DELIV-007',
        that(
          !alice.peer.peek((f) => f.type === 'message'),
          'nothing queued from refused sends',
          'a message',
        ),
      );
    },
  }),
  defineCase({
    id: 'DELIV-005-message-too-large',
    title: 'a real ciphertext longer than maxMessageBytes is refused with MESSAGE_TOO_LARGE',
    requirements: ['DELIV-005'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `MESSAGE_TOO_LARGE` a `message.send` in which any body is longer than `limits.maxMessageBytes` bytes after base64url decoding.',
    sends: 'carol → alice: a text of maxMessageBytes characters, encrypted',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const max = carol.welcome.limits.maxMessageBytes as number;
      await carol.startSessions(alice.address);
      const messages = await carol.encryptFor(alice.address, textContent('x'.repeat(max)));
      const reply = await carol.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: randomUUID(),
        messages,
      });
      mustMatch('DELIV-005', reply, isError('MESSAGE_TOO_LARGE'));
      mustMatch(
        'DELIV-005',
        await carol.sendText(alice.address, 'small'),
        isType('message.accepted'),
      );
    },
  }),
];
