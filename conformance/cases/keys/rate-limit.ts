// KEYS-017 of spec/keys.md#claiming (SHOULD): `keys.claim` is rate-limited per claiming account,
// so nobody drains a device's one-time prekeys.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/**
 * Claims the case makes before concluding there is no limit: far above any one-time prekey pool a
 * client keeps (Signal's clients publish 100), so a limit that protects the pool shows up before.
 */
const MAX_CLAIMS = 250;

/** Claims sent before awaiting their replies. */
const PIPELINE = 25;

export const claimRateCases = [
  defineCase({
    id: 'KEYS-017-claim-rate-limited',
    title: "bob's rapid keys.claim of alice is answered RATE_LIMITED before 250 claims",
    requirements: ['KEYS-017'],
    level: 'SHOULD',
    quote:
      "The provider SHOULD rate-limit `keys.claim` per claiming account, answering `RATE_LIMITED`, so that no one can drain a device's one-time prekeys.",
    sends: 'bob (third-party) → alice: keys.claim until RATE_LIMITED, at most 250 times',
    timeoutMs: 10_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 5 });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      let limitedAt: number | undefined;
      // Pipelined, PIPELINE claims a round trip, so that a distant target finishes (issue 14).
      for (let sent = 0; sent < MAX_CLAIMS && limitedAt === undefined; sent += PIPELINE) {
        const replies = await Promise.all(
          Array.from({ length: Math.min(PIPELINE, MAX_CLAIMS - sent) }, () =>
            bob.peer.request('keys.claim', { address: alice.address }),
          ),
        );
        const at = replies.findIndex((r) => r.type === 'error' && r.code === 'RATE_LIMITED');
        if (at >= 0) limitedAt = sent + at + 1;
      }
      must(
        'KEYS-017',
        that(limitedAt !== undefined, `RATE_LIMITED within ${MAX_CLAIMS} claims`, 'never limited'),
      );
    },
  }),
];
