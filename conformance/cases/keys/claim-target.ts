// KEYS-033 of spec/keys.md#claiming (SHOULD): the third-party `keys.claim` of one account is
// limited per claiming platform, whichever of its accounts claim, so that many minted addresses,
// each far within its own limit, cannot drain a pool together (issue 15, finding 4).
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/** Claims each partner user makes: far below any per-claimer limit. */
const CLAIMS_EACH = 5;
/** Partner users at most: 200 claims of alice, twice a pool of 100 one-time prekeys. */
const MAX_CLAIMERS = 40;

export const claimTargetCases = [
  defineCase({
    id: 'KEYS-033-claims-of-one-account-limited',
    title: `${MAX_CLAIMERS} users of one partner platform claiming alice ${CLAIMS_EACH} times each meet RATE_LIMITED before the last`,
    requirements: ['KEYS-033'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD also rate-limit the third-party `keys.claim` of each account per claiming partner platform, whichever accounts of that platform claim, answering `RATE_LIMITED`.',
    sends: `up to ${MAX_CLAIMERS} partner users, one after another: ${CLAIMS_EACH} × keys.claim of alice each, until RATE_LIMITED`,
    timeoutMs: 30_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 5 });
      let limitedAt: number | undefined;
      let claims = 0;
      for (let i = 1; i <= MAX_CLAIMERS && limitedAt === undefined; i += 1) {
        const claimer = await world.thirdParty(`claimer${i}`, { preKeys: 0 });
        for (let j = 0; j < CLAIMS_EACH && limitedAt === undefined; j += 1) {
          claims += 1;
          const reply = await claimer.peer.request('keys.claim', { address: alice.address });
          if (reply.type === 'error' && reply.code === 'RATE_LIMITED') limitedAt = claims;
        }
        claimer.peer.close();
      }
      must(
        'KEYS-033',
        that(
          limitedAt !== undefined,
          `RATE_LIMITED within ${MAX_CLAIMERS * CLAIMS_EACH} claims of alice by ${MAX_CLAIMERS} accounts`,
          `all ${claims} claims answered`,
        ),
      );
    },
  }),
];
