// ATT-034 of spec/attachments.md#slot (SHOULD): the attachment bytes that the users of one partner
// platform reserve are limited all together, so that minted addresses, each within its own quota,
// cannot reserve without end (issue 15, finding 4). Reaching the limit spends the suite's partner
// platform's share for the rest of the run, so the case runs alone and restarts the target after
// (operator hook `restart`), which gives a provider that keeps the share in memory a fresh one;
// without the hook it skips rather than starve the other cases' partner users.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase, type CaseContext } from '../../runner/case.ts';
import { operatorHook } from '../../transport/operator.ts';
import { digestOf, slot } from './blob.ts';

/** Partner users at most, and slots each: with 100 MiB documents, 16 users × 2 GiB = 32 GiB. */
const MAX_USERS = 16;
const MAX_SLOTS_EACH = 64;
const DIGEST = digestOf(Buffer.from('never uploaded'));

/** Partner users reserve the largest document slots until RATE_LIMITED; the verifier on ATT-034. */
async function reserveUntilLimited({ target, world }: CaseContext): Promise<void> {
  const largest = target.welcome.limits.attachments.document as number;
  let reserved = 0;
  let limited = false;
  for (let i = 1; i <= MAX_USERS && !limited; i += 1) {
    const user = await world.thirdParty(`uploader${i}`, { preKeys: 0 });
    for (let j = 0; j < MAX_SLOTS_EACH; j += 1) {
      const reply = await slot(user.peer, largest, DIGEST);
      if (reply.type === 'attachment.slotted') reserved += largest;
      else if (reply.type === 'error' && reply.code === 'RATE_LIMITED') limited = true;
      else
        must(
          'ATT-034',
          that(
            reply.type === 'error' && reply.code === 'QUOTA_EXCEEDED',
            'attachment.slotted, QUOTA_EXCEEDED (the user’s own quota) or RATE_LIMITED',
            JSON.stringify(reply).slice(0, 160),
          ),
        );
      if (reply.type === 'error') break;
    }
    user.peer.close();
  }
  const gib = (reserved / 2 ** 30).toFixed(1);
  must(
    'ATT-034',
    that(limited, `RATE_LIMITED within ${MAX_USERS} users' quotas`, `${gib} GiB reserved`),
  );
}

export const platformQuotaCases = [
  defineCase({
    id: 'ATT-034-platform-reservations-limited',
    title: `up to ${MAX_USERS} users of one partner platform, each reserving its own quota in the largest document slots, meet RATE_LIMITED before the last`,
    requirements: ['ATT-034'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD limit the attachment bytes that the users of one partner platform reserve with `attachment.slot`, all together and whichever their addresses, refusing the excess with `RATE_LIMITED`.',
    sends: `up to ${MAX_USERS} partner users, one after another: attachment.slot of the largest document size until QUOTA_EXCEEDED (their own quota) or RATE_LIMITED; then the operator restarts the target`,
    exclusive: true,
    timeoutMs: 30_000,
    async run(context) {
      const restart = operatorHook(
        context.target.operator,
        'restart',
        "to give the partner platform's attachment share back to the other cases afterwards",
      );
      try {
        await reserveUntilLimited(context);
      } finally {
        await restart();
      }
    },
  }),
];
