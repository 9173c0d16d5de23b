// CONSENT-022 of spec/consent.md#blocking-and-reports against rate limits: a sender blocked by one
// user and a sender whose request another user has not answered get the same answers, message by
// message, RATE_LIMITED included; a limit that counted only the blocked sender's messages would
// tell it of the block (issue 15, finding 2).
import { that } from '../../assert/match.ts';
import type { Frame } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/** Messages each sender sends: past the reference provider's new-request burst of 10. */
const SENDS = 12;

/** What a sender can tell from a reply: its type, or its error code. */
const answerOf = (reply: Frame): string =>
  reply.type === 'error' ? `error ${String(reply.code)}` : String(reply.type);

export const blockOracleCases = [
  defineCase({
    id: 'CONSENT-022-rate-limits-reveal-no-block',
    title: `bob, blocked by carol, and erin, whose request dave has not answered, get the same ${SENDS} answers to ${SENDS} texts each, RATE_LIMITED included`,
    requirements: ['CONSENT-022'],
    level: 'MUST',
    quote:
      'The provider MUST NOT reveal a decline or a block to the sender in any reply, `keys.claim` included.',
    sends: `carol: block.set bob; then ${SENDS} times, in turn: bob → carol, erin → dave (bob and erin on the suite's partner platform)`,
    timeoutMs: 20_000,
    async run({ world }) {
      const carol = await world.firstParty('carol', { optIn: true });
      const dave = await world.firstParty('dave', { optIn: true });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const erin = await world.thirdParty('erin', { preKeys: 0 });
      await carol.peer.request('block.set', { address: bob.address, blocked: true });
      const blocked: string[] = [];
      const waiting: string[] = [];
      for (let i = 0; i < SENDS; i += 1) {
        blocked.push(answerOf(await bob.sendText(carol.address, `text ${i}`)));
        waiting.push(answerOf(await erin.sendText(dave.address, `text ${i}`)));
      }
      must(
        'CONSENT-022',
        that(
          blocked.every((answer, i) => answer === waiting[i]),
          `the blocked sender's answers equal the other's: ${waiting.join(', ')}`,
          blocked.join(', '),
        ),
      );
    },
  }),
];
