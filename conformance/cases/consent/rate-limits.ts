// CONSENT-026 of spec/consent.md#rate-limits (SHOULD): messages that open a new message request
// meet a lower limit than messages to recipients who accepted the sender.
import { isType, show, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { TargetFault } from '../../runner/signals.ts';

/** New recipients bob writes to before the case concludes there is no lower limit. */
const MAX_NEW_REQUESTS = 24;

/** New recipients made and written to at a time. */
const PIPELINE = 6;

export const consentRateCases = [
  defineCase({
    id: 'CONSENT-026-new-requests-limited-lower',
    title:
      'bob is RATE_LIMITED opening new message requests within 24 recipients, while his sends to alice, who accepted him, still go through',
    requirements: ['CONSENT-026'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD apply a lower limit to messages that open a new message request than to messages to recipients that accepted the sender.',
    sends:
      'bob → alice, alice accepts; bob → 24 fresh opted-in users until RATE_LIMITED; bob → alice',
    timeoutMs: 20_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      mustMatch(
        'CONSENT-026',
        await bob.sendText(alice.address, 'hello'),
        isType('message.accepted'),
      );
      await alice.nextMessage();
      mustMatch(
        'CONSENT-026',
        await alice.peer.request('request.respond', { from: bob.address, action: 'accept' }),
        isType('request.responded'),
      );
      let limitedAt: number | undefined;
      // PIPELINE strangers at a time, their claims and sends pipelined, so that a distant target
      // finishes (issue 14); the sends still reach the target in order.
      for (let i = 1; i <= MAX_NEW_REQUESTS && limitedAt === undefined; i += PIPELINE) {
        const labels = Array.from(
          { length: Math.min(PIPELINE, MAX_NEW_REQUESTS + 1 - i) },
          (_, k) => `user${i + k}`,
        );
        const strangers = await Promise.all(
          labels.map((label) => world.firstParty(label, { optIn: true, preKeys: 1 })),
        );
        const bundles = await Promise.all(strangers.map((s) => bob.startSessions(s.address)));
        bundles.forEach((bundle, k) => {
          if (bundle.type !== 'keys.bundle')
            throw new TargetFault(
              'CONSENT-026',
              `a keys.bundle of the opted-in ${strangers[k]!.address}`,
              show(bundle),
            );
        });
        const replies = await Promise.all(
          strangers.map((s) => bob.sendText(s.address, 'a new request')),
        );
        const at = replies.findIndex((r) => r.type === 'error' && r.code === 'RATE_LIMITED');
        if (at >= 0) limitedAt = i + at;
        for (const s of strangers) s.peer.close();
      }
      must(
        'CONSENT-026',
        that(
          limitedAt !== undefined,
          `RATE_LIMITED within ${MAX_NEW_REQUESTS} new requests`,
          'never limited',
        ),
      );
      mustMatch(
        'CONSENT-026',
        await bob.sendText(alice.address, 'still fine'),
        isType('message.accepted'),
        'to alice, who accepted bob, after the new requests were limited',
      );
    },
  }),
];
