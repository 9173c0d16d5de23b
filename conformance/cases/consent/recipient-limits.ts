// CONSENT-033 of spec/consent.md#rate-limits (SHOULD): messages to one user from senders the user
// has not accepted are limited per sending platform, whichever its senders, so that minted sender
// addresses, each within its own limit, cannot fill the user's requests (issue 15, finding 4).
import { that } from '../../assert/match.ts';
import { must, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/** Texts each partner user sends: below any per-sender new-request limit (the reference: 10). */
const TEXTS_EACH = 5;
/** Partner users at most. */
const MAX_SENDERS = 30;

export const recipientLimitCases = [
  defineCase({
    id: 'CONSENT-033-minted-senders-limited-per-recipient',
    title: `${MAX_SENDERS} users of one partner platform writing ${TEXTS_EACH} texts each to dave, who answers none, meet RATE_LIMITED before the last`,
    requirements: ['CONSENT-033'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD limit the rate of third-party messages to each user from senders the user has not accepted, per sending partner platform and whichever its senders, refusing the excess with `RATE_LIMITED`.',
    sends: `up to ${MAX_SENDERS} partner users, one after another: ${TEXTS_EACH} texts each to dave, until RATE_LIMITED`,
    timeoutMs: 40_000,
    async run({ world }) {
      const dave = await world.firstParty('dave', { optIn: true });
      let limitedAt: number | undefined;
      let texts = 0;
      for (let i = 1; i <= MAX_SENDERS && limitedAt === undefined; i += 1) {
        const sender = await world.thirdParty(`sender${i}`, { preKeys: 0 });
        const bundle = await sender.startSessions(dave.address);
        requireThat(
          bundle.type === 'keys.bundle',
          `sender ${i} cannot claim dave's keys (${JSON.stringify(bundle).slice(0, 120)}): the messages cannot be tested`,
        );
        for (let j = 0; j < TEXTS_EACH && limitedAt === undefined; j += 1) {
          texts += 1;
          const reply = await sender.sendText(dave.address, `request ${j}`);
          if (reply.type === 'error' && reply.code === 'RATE_LIMITED') limitedAt = texts;
          else
            must(
              'CONSENT-033',
              that(
                reply.type === 'message.accepted',
                `sender ${i}'s text accepted or refused with RATE_LIMITED`,
                JSON.stringify(reply).slice(0, 160),
              ),
            );
        }
        sender.peer.close();
      }
      must(
        'CONSENT-033',
        that(
          limitedAt !== undefined,
          `RATE_LIMITED within ${MAX_SENDERS * TEXTS_EACH} texts from ${MAX_SENDERS} senders`,
          `all ${texts} texts accepted`,
        ),
      );
    },
  }),
];
