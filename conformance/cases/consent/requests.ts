// CONSENT cases of spec/consent.md#origin, #folders, #message-requests and #blocks: the server
// stamps origin, first contacts arrive as requests, accept moves them, decline and block are silent.
import { hasMembers, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import type { TestUser } from '../../transport/users.ts';

const quietly = (user: TestUser, ms: number, expected: string) =>
  shouldStayQuiet(() => user.peekNewMessage(), ms, expected);

export const requestCases = [
  defineCase({
    id: 'CONSENT-010-origin-stamped',
    title:
      'a message from bob carries the origin of his session even when his frame claims first-party',
    requirements: ['CONSENT-010', 'AUTH-022', 'DELIV-016'],
    level: 'MUST',
    quote:
      "The provider MUST stamp every `message` it pushes with the `origin` of the sender's authenticated session, never with a value taken from the sender's frames.",
    sends:
      'bob → alice: message.send with added origin {platform: provider, thirdParty: false} and from; then a plain message.send',
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.startSessions(alice.address);
      const messages = await bob.encryptFor(alice.address, new Uint8Array(Buffer.from('spoof')));
      const spoofed = await bob.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: `k.${world.rng.word(12)}`,
        messages,
        origin: { platform: target.domain, thirdParty: false },
        from: `someone@${target.domain}`,
      });
      if (spoofed.type === 'message.accepted') {
        const got = await alice.nextMessage();
        must(
          'CONSENT-010',
          that(got.origin?.thirdParty === true && got.from === bob.address, 'the true origin', got),
        );
      }
      await bob.sendText(alice.address, 'plain');
      const got = await alice.nextMessage();
      const expected = { platform: target.partner.domain, thirdParty: true };
      mustMatch('CONSENT-010', got, hasMembers('message', { origin: expected, from: bob.address }));
    },
  }),
  defineCase({
    id: 'CONSENT-014-message-request',
    title: "bob's first message lands in requests; after accept his messages go to third-party",
    requirements: ['CONSENT-014', 'CONSENT-015', 'CONSENT-011'],
    level: 'MUST',
    quote:
      'The provider MUST deliver every third-party message from a sender that the recipient has not accepted, declined or blocked with `folder` `requests`, and list that sender in `requests.list` with the time of their first message.',
    sends:
      'bob → alice: message.send; alice: requests.list, request.respond accept; bob → alice: message.send',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      const first = await bob.sendText(alice.address, 'may I?');
      mustMatch(
        'CONSENT-014',
        await alice.nextMessage(),
        hasMembers('message', { folder: 'requests' }),
      );
      const list = await alice.peer.request('requests.list');
      const entry = (list.pending ?? []).find((p: { from: string }) => p.from === bob.address);
      must(
        'CONSENT-014',
        that(
          entry && entry.firstSeen === first.serverTimestamp,
          `a pending request from ${bob.address} with firstSeen ${first.serverTimestamp}, the serverTimestamp of his first message`,
          list,
        ),
      );
      const responded = await alice.peer.request('request.respond', {
        from: bob.address,
        action: 'accept',
      });
      mustMatch('CONSENT-015', responded, isType('request.responded'));
      await bob.sendText(alice.address, 'thanks');
      mustMatch(
        'CONSENT-015',
        await alice.nextMessage(),
        hasMembers('message', { folder: 'third-party' }),
      );
      const after = await alice.peer.request('requests.list');
      must('CONSENT-015', that((after.pending ?? []).length === 0, 'no pending request', after));
    },
  }),
  defineCase({
    id: 'CONSENT-011-combined-inbox',
    title: 'with the combined inbox an accepted third-party sender lands in inbox, first-party too',
    requirements: ['CONSENT-011', 'CONSENT-032'],
    level: 'MUST',
    quote: 'The provider MUST set `folder` on every `message` as the table above defines.',
    sends:
      'alice: consent.set combined; bob → alice, accept, bob → alice; carol (first-party) → alice',
    async run({ world }) {
      const alice = await world.firstParty('alice', {
        optIn: { platforms: 'all', inbox: 'combined' },
      });
      const bob = await world.thirdParty('bob');
      const carol = await world.firstParty('carol');
      await bob.sendText(alice.address, 'hi');
      await alice.nextMessage();
      await alice.peer.request('request.respond', { from: bob.address, action: 'accept' });
      await bob.sendText(alice.address, 'hi again');
      mustMatch(
        'CONSENT-011',
        await alice.nextMessage(),
        hasMembers('message', { folder: 'inbox' }),
      );
      await carol.sendText(alice.address, 'first-party');
      const got = await alice.nextMessage();
      mustMatch(
        'CONSENT-032',
        got,
        hasMembers('message', { folder: 'inbox', from: carol.address }),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-016-silent-decline',
    title: 'after a decline bob still gets message.accepted but nothing is delivered',
    requirements: ['CONSENT-016', 'CONSENT-021', 'CONSENT-022'],
    level: 'MUST',
    quote:
      'The provider MUST answer a `message.send` from a declined or blocked sender with `message.accepted` exactly as it would for a delivered message, and MUST NOT deliver it.',
    sends: 'bob → alice; alice: request.respond decline; bob → alice, keys.claim alice',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.sendText(alice.address, 'hello?');
      await alice.nextMessage();
      await alice.peer.request('request.respond', { from: bob.address, action: 'decline' });
      const reply = await bob.sendText(alice.address, 'hello??');
      mustMatch('CONSENT-021', reply, hasMembers('message.accepted', { duplicate: false }));
      must('CONSENT-021', await quietly(alice, scale(300), 'no delivery after decline'));
      mustMatch(
        'CONSENT-022',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isType('keys.bundle'),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-019-block',
    title: 'after block.set bob is accepted silently, not delivered, and his claim still succeeds',
    requirements: ['CONSENT-019', 'CONSENT-021', 'CONSENT-022'],
    level: 'MUST',
    quote:
      'After `block.set` with `blocked` true, the provider MUST stop delivering messages from that address to the blocking user, whatever their origin, until `block.set` with `blocked` false.',
    sends: 'alice: block.set bob; bob → alice, keys.claim; alice: block.set false; bob → alice',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      const blocked = await alice.peer.request('block.set', {
        address: bob.address,
        blocked: true,
      });
      mustMatch('CONSENT-019', blocked, hasMembers('block.state', { blocked: true }));
      mustMatch(
        'CONSENT-021',
        await bob.sendText(alice.address, 'let me in'),
        isType('message.accepted'),
      );
      must('CONSENT-019', await quietly(alice, scale(300), 'no delivery while blocked'));
      mustMatch(
        'CONSENT-022',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isType('keys.bundle'),
      );
      await alice.peer.request('block.set', { address: bob.address, blocked: false });
      await bob.sendText(alice.address, 'now?');
      mustMatch('CONSENT-019', await alice.nextMessage(), isType('message'));
    },
  }),
];
