// CONSENT cases of spec/consent.md#opting-out and #rate-limits: opting out drops queued third-party
// messages and requests at once; excess third-party sends are refused with RATE_LIMITED + retryAfterMs.
import { randomUUID } from 'node:crypto';
import type { Frame } from '../../assert/match.ts';
import { isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { textContent } from '../../transport/users.ts';

export const optOutCases = [
  defineCase({
    id: 'CONSENT-028-opt-out-drops-queue',
    title: "opting out deletes bob's unacknowledged message and pending request, and refuses him",
    requirements: ['CONSENT-028', 'CONSENT-029', 'CONSENT-005'],
    level: 'MUST',
    quote:
      "When a user sets `interop.enabled` to false, the provider MUST delete every unacknowledged third-party message queued for the user's devices, and MUST never deliver it.",
    sends:
      'bob → alice (not acked); alice: consent.set enabled false, reconnect, requests.list; bob: keys.claim',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.sendText(alice.address, 'queued');
      await alice.nextMessage();
      const off = await alice.peer.request('consent.set', {
        interop: { enabled: false, platforms: 'all', inbox: 'separate' },
      });
      mustMatch('CONSENT-028', off, isType('consent.state'));
      mustMatch('CONSENT-028', await world.reconnect(alice), isType('auth.ok'));
      const first = await alice.peer.next((f) => f.type === 'message' || f.type === 'queue.empty');
      must(
        'CONSENT-028',
        that(first.type === 'queue.empty', 'queue.empty and no redelivery', first),
      );
      const list = await alice.peer.request('requests.list');
      must('CONSENT-029', that((list.pending ?? []).length === 0, 'no pending request', list));
      mustMatch(
        'CONSENT-005',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isError('NOT_FOUND'),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-025-rate-limited',
    title: 'a third-party sender who keeps sending is refused with RATE_LIMITED and a retryAfterMs',
    requirements: ['CONSENT-025', 'PROTO-041'],
    level: 'MUST',
    quote:
      'The provider MUST limit the rate of third-party `message.send` and `keys.claim` both per sending account and per partner platform, refusing excess requests with `RATE_LIMITED`.',
    sends: 'bob → alice: up to 200 message.send in a row until one is refused',
    timeoutMs: 10000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      let refused: Frame | undefined = await bob.sendText(alice.address, 'message 0');
      if (refused.type !== 'error') refused = undefined;
      // Pipelined, 20 sends a round trip, so that a distant target finishes (issue 14).
      for (let i = 1; i < 200 && !refused; i += 20) {
        const frames: Frame[] = [];
        for (let j = i; j < Math.min(i + 20, 200); j++)
          frames.push({
            to: alice.address,
            idempotencyKey: randomUUID(),
            messages: await bob.encryptFor(alice.address, textContent(`message ${j}`)),
          });
        const replies = await Promise.all(frames.map((f) => bob.peer.request('message.send', f)));
        refused = replies.find((r) => r.type === 'error');
      }
      mustMatch(
        'CONSENT-025',
        refused ?? { note: 'no refusal within 200 sends' },
        isError('RATE_LIMITED'),
      );
      const wait = refused!.retryAfterMs;
      must(
        'PROTO-041',
        that(Number.isInteger(wait) && wait >= 0, 'retryAfterMs, a non-negative integer', refused),
      );
    },
  }),
];
