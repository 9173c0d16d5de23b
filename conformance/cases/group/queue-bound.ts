// GROUP-062 of spec/groups.md#queue-bound (SHOULD): a group message meets DELIV-032's bound of
// every member device's queue, and a send that would pass it is refused with RATE_LIMITED and a
// retryAfterMs and queued for nobody. The embedded target states a small bound through the operator
// hook setPeerBounds (as DELIV-032's case does); against a target without the hook the case sends
// at most MAX_FLOOD_CHARS and skips past it.
import { that, type Frame } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';
import {
  createGroup,
  distributionFor,
  nextGroupMessage,
  senderKeyBody,
} from '../../transport/groups.ts';

/** The bound the case asks an operator for, in characters of base64url bodies. */
const SMALL_QUEUE_CHARS = 256 * 1024;
/** Ciphertext bytes of each group body: about 20 000 characters in base64url. */
const CIPHERTEXT_BYTES = 15_000;
/** The body characters the case queues at most against a target that states no bound. */
const MAX_FLOOD_CHARS = 16 * 1024 * 1024;

export const groupQueueBoundCases = [
  defineCase({
    id: 'GROUP-062-queue-bound-fan-out',
    title:
      'alice’s group messages to carol, who reads them, and bob, who reads none, meet RATE_LIMITED with a retryAfterMs once bob’s queue is full, and carol gets nothing of the refused one',
    requirements: ['GROUP-062'],
    level: 'SHOULD',
    capabilities: ['groups'],
    quote:
      'The provider SHOULD apply DELIV-032’s bound to every device of every member a group message reaches, refusing a group `message.send` that would pass the bound of any of them with `RATE_LIMITED` and a `retryAfterMs` and queueing nothing for any device, and counting a device that a block or GROUP-048 leaves out as if the message had been queued for it.',
    sends: `setPeerBounds maxQueuedBytesPerDevice ${SMALL_QUEUE_CHARS} when offered; alice: group.create [carol, bob], then group sends of about 20 000 body characters until one is refused (carol acknowledges each, bob none; at most ${MAX_FLOOD_CHARS / 1024 / 1024} Mi body characters without the hook)`,
    exclusive: true,
    timeoutMs: 60_000,
    async run({ target, world, scale }) {
      const set = target.operator?.setPeerBounds;
      if (set) await set({ maxQueuedBytesPerDevice: SMALL_QUEUE_CHARS });
      try {
        const alice = await world.firstParty('alice', { preKeys: 0 });
        const carol = await world.firstParty('carol');
        const bob = await world.firstParty('bob');
        const state = await createGroup(alice, [carol.address, bob.address]);
        const cap = set ? 2 * SMALL_QUEUE_CHARS : MAX_FLOOD_CHARS;
        let queued = 0;
        let sends = 0;
        let refusal: Frame | undefined;
        let refusedBody = '';
        while (refusal === undefined && queued <= cap) {
          const body = senderKeyBody(world.rng, sends, CIPHERTEXT_BYTES);
          // The first send carries alice's sender key to both members' devices (GROUP-052).
          const distribution = sends === 0 ? await distributionFor(alice, state.group) : [];
          const reply = await alice.peer.request('message.send', {
            group: state.group,
            groupVersion: state.version,
            idempotencyKey: `k.${world.rng.word(12)}`,
            body,
            ...(distribution.length > 0 ? { distribution } : {}),
          });
          sends += 1;
          if (reply.type !== 'message.accepted') {
            refusal = reply;
            refusedBody = body;
            break;
          }
          queued += body.length;
          // carol reads and acknowledges every group message: her queue never fills.
          await carol.ack(await nextGroupMessage(carol, state.group, 'GROUP-041'));
        }
        if (refusal === undefined && !set)
          throw new SkipCase(
            `${sends} group sends (${queued} body characters) to a member device that reads nothing were all accepted: the provider's bound, if any, lies beyond the case's cap, and it offers no operator hook setPeerBounds to state a small one`,
          );
        must(
          'GROUP-062',
          that(
            refusal?.type === 'error' &&
              refusal.code === 'RATE_LIMITED' &&
              typeof refusal.retryAfterMs === 'number' &&
              refusal.retryAfterMs >= 0,
            `an error RATE_LIMITED with a retryAfterMs once ${SMALL_QUEUE_CHARS} body characters wait for bob's device`,
            refusal === undefined
              ? `${sends} group sends (${queued} body characters queued for bob) all accepted`
              : JSON.stringify(refusal).slice(0, 200),
          ),
        );
        must(
          'GROUP-062',
          await shouldStayQuiet(
            () =>
              carol.peer.peek(
                (f) => f.type === 'message' && f.group === state.group && f.body === refusedBody,
              ),
            scale(300),
            'nothing of the refused group message for carol',
          ),
        );
      } finally {
        if (set) await set(undefined);
      }
    },
  }),
];
