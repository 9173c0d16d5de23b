// CONSENT cases of spec/consent.md#blocks, #message-requests, #reports and #opting-out: a block
// deletes what is queued and survives opting out; replying accepts a sender; reports are received.
import { hasMembers, isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const blockCases = [
  defineCase({
    id: 'CONSENT-020-block-deletes-queue',
    title:
      "blocking bob deletes his unacknowledged message, and the block survives alice's opt-out",
    requirements: ['CONSENT-020', 'CONSENT-031'],
    level: 'MUST',
    quote:
      'On `block.set` with `blocked` true, the provider MUST delete the unacknowledged messages from that address queued for the blocking user.',
    sends:
      'bob → alice (not acked); alice: block.set bob, reconnect; alice: opt out, opt in; bob → alice',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.sendText(alice.address, 'queued');
      await alice.nextMessage();
      await alice.peer.request('block.set', { address: bob.address, blocked: true });
      await world.reconnect(alice);
      const first = await alice.peer.next((f) => f.type === 'message' || f.type === 'queue.empty');
      mustMatch('CONSENT-020', first, isType('queue.empty'));
      const interop = (enabled: boolean) =>
        alice.peer.request('consent.set', {
          interop: { enabled, platforms: 'all', inbox: 'separate' },
        });
      await interop(false);
      await interop(true);
      mustMatch(
        'CONSENT-031',
        await bob.sendText(alice.address, 'still blocked?'),
        isType('message.accepted'),
      );
      const leaked = await alice.peer
        .next((f) => f.type === 'message', scale(300), 'a message')
        .catch(() => undefined);
      must(
        'CONSENT-031',
        that(leaked === undefined, 'no delivery: the block outlives the opt-out', leaked),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-015-reply-accepts',
    title: "alice replying to bob's request accepts him: his next message lands in third-party",
    requirements: ['CONSENT-015'],
    level: 'MUST',
    quote:
      "After `request.respond` with `accept`, or once the recipient sent a message to that sender, the provider MUST deliver that sender's messages to `third-party` (or `inbox` with the combined inbox) and remove the request.",
    sends: 'bob → alice (request); alice → bob; bob → alice',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.sendText(alice.address, 'hello');
      await alice.nextMessage();
      mustMatch(
        'CONSENT-015',
        await alice.sendText(bob.address, 'hi back'),
        isType('message.accepted'),
      );
      await bob.sendText(alice.address, 'great');
      mustMatch(
        'CONSENT-015',
        await alice.nextMessage(),
        hasMembers('message', { folder: 'third-party' }),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-030-platform-removed',
    title: "removing bob's platform from interop.platforms refuses him from then on",
    requirements: ['CONSENT-030', 'CONSENT-004'],
    level: 'MUST',
    quote:
      'When a user removes a platform from `interop.platforms`, the provider MUST apply the two rules above to the messages, requests and senders of that platform.',
    sends:
      'bob → alice (request); alice: consent.set platforms [other.example], requests.list; bob: keys.claim',
    async run({ world, target }) {
      const alice = await world.firstParty('alice', {
        optIn: { platforms: [target.partner.domain] },
      });
      const bob = await world.thirdParty('bob');
      await bob.sendText(alice.address, 'hello');
      await alice.nextMessage();
      await alice.peer.request('consent.set', {
        interop: { enabled: true, platforms: ['other.example'], inbox: 'separate' },
      });
      const list = await alice.peer.request('requests.list');
      must(
        'CONSENT-030',
        that(
          (list.pending ?? []).length === 0,
          'no pending request from the removed platform',
          list,
        ),
      );
      mustMatch(
        'CONSENT-004',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isError('NOT_FOUND'),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-023-report-received',
    title: 'a report about bob is answered with report.received and a fresh reportId each time',
    requirements: ['CONSENT-023'],
    level: 'MUST',
    quote:
      'The provider MUST store every `report` with the reporting address, the reported address, `reason`, `messageIds` and `comment`, and reply `report.received` with a new `reportId`.',
    sends: 'alice: report bob (spam) twice',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const send = () =>
        alice.peer.request('report', {
          address: bob.address,
          reason: 'spam',
          comment: 'unsolicited',
        });
      const [a, b] = [await send(), await send()];
      mustMatch('CONSENT-023', a, isType('report.received'));
      must(
        'CONSENT-023',
        that(
          typeof a.reportId === 'string' && a.reportId !== b.reportId,
          'two distinct reportIds',
          [a, b],
        ),
      );
    },
  }),
];
