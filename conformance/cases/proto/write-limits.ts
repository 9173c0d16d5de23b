// PROTO-050 of spec/framing.md#transport (SHOULD): every frame type that writes to the provider's
// store is rate-limited per account, `block.set` and `report` included (issue 15, finding 5).
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { Peer } from '../../transport/peer.ts';

/** Frames of each type the case sends at most before concluding there is no limit. */
const MAX_FRAMES = 300;

/** Sends `body` as `type` until RATE_LIMITED or MAX_FRAMES; resolves how many went before it. */
async function floodUntilLimited(
  peer: Peer,
  type: string,
  body: (i: number) => Frame,
): Promise<{ limitedAt?: number; other?: Frame }> {
  for (let i = 1; i <= MAX_FRAMES; i += 1) {
    const reply = await peer.request(type, body(i));
    if (reply.type === 'error' && reply.code === 'RATE_LIMITED') return { limitedAt: i };
    if (reply.type === 'error') return { other: reply };
  }
  return {};
}

export const writeLimitCases = [
  defineCase({
    id: 'PROTO-050-block-and-report-floods-limited',
    title: `alice's block.set and report floods each meet RATE_LIMITED within ${MAX_FRAMES} frames`,
    requirements: ['PROTO-050'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD rate-limit per account every frame type that writes to its store, `block.set` and `report` included, answering `RATE_LIMITED`.',
    sends: `alice: block.set of fresh addresses until RATE_LIMITED (at most ${MAX_FRAMES}); report of mallory with a comment until RATE_LIMITED (at most ${MAX_FRAMES})`,
    timeoutMs: 30_000,
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const blocks = await floodUntilLimited(alice.peer, 'block.set', (i) => ({
        address: `spammer${i}@${target.partner.domain}`,
        blocked: true,
      }));
      const reports = await floodUntilLimited(alice.peer, 'report', () => ({
        address: `mallory@${target.partner.domain}`,
        reason: 'spam',
        comment: 'x'.repeat(1000),
      }));
      const show = (r: { limitedAt?: number; other?: Frame }): string =>
        r.limitedAt !== undefined
          ? `RATE_LIMITED at ${r.limitedAt}`
          : r.other
            ? JSON.stringify(r.other).slice(0, 160)
            : `all ${MAX_FRAMES} accepted`;
      must(
        'PROTO-050',
        that(
          blocks.limitedAt !== undefined,
          `block.set RATE_LIMITED within ${MAX_FRAMES}`,
          show(blocks),
        ),
      );
      must(
        'PROTO-050',
        that(
          reports.limitedAt !== undefined,
          `report RATE_LIMITED within ${MAX_FRAMES}`,
          show(reports),
        ),
      );
    },
  }),
];
