// DELIV-032 of spec/messages.md#offline-queue (SHOULD): a device's queue is bounded, and a send
// that would pass the bound is refused with RATE_LIMITED and a retryAfterMs (issue 15, finding 5).
// The embedded target states a small bound through the operator hook setPeerBounds (operator.ts);
// against a target without the hook the case sends at most MAX_FLOOD_CHARS and skips past it.
import { randomUUID } from 'node:crypto';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';
import { textContent } from '../../transport/users.ts';

/** The bound the case asks an operator for, in characters of base64url bodies. */
const SMALL_QUEUE_CHARS = 256 * 1024;
/** Characters of each text: its body is about 4/3 of it in base64url. */
const TEXT_CHARS = 20_000;
/** The body characters the case queues at most against a target that states no bound. */
const MAX_FLOOD_CHARS = 16 * 1024 * 1024;

export const queueBoundCases = [
  defineCase({
    id: 'DELIV-032-queue-bound',
    title:
      'alice’s texts to bob, who reads none, meet RATE_LIMITED with a retryAfterMs once his queue is full',
    requirements: ['DELIV-032'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD bound the bytes and the messages queued for one device, refusing a `message.send` that would pass the bound of any of the recipient’s devices with `RATE_LIMITED` and a `retryAfterMs` and queueing nothing for any device, and counting a send whose sender the recipient blocked or declined as if its messages had been queued (CONSENT-022).',
    sends: `setPeerBounds maxQueuedBytesPerDevice ${SMALL_QUEUE_CHARS} when offered; alice sends texts of ${TEXT_CHARS} characters to bob, who acknowledges none, until one is refused (at most ${MAX_FLOOD_CHARS / 1024 / 1024} Mi body characters without the hook)`,
    exclusive: true,
    timeoutMs: 60_000,
    async run({ target, world }) {
      const set = target.operator?.setPeerBounds;
      if (set) await set({ maxQueuedBytesPerDevice: SMALL_QUEUE_CHARS });
      try {
        const alice = await world.firstParty('alice', { preKeys: 0 });
        const bob = await world.firstParty('bob');
        const cap = set ? 2 * SMALL_QUEUE_CHARS : MAX_FLOOD_CHARS;
        const text = 'q'.repeat(TEXT_CHARS);
        let queued = 0;
        let sends = 0;
        let refusal: Record<string, unknown> | undefined;
        // The first text opens alice's session with bob; the next are encrypted in it.
        const first = await alice.sendText(bob.address, text);
        sends += 1;
        if (first.type === 'message.accepted') queued += TEXT_CHARS;
        else refusal = first;
        while (refusal === undefined && queued <= cap) {
          const messages = await alice.encryptFor(bob.address, textContent(text));
          const reply = await alice.peer.request('message.send', {
            to: bob.address,
            idempotencyKey: randomUUID(),
            messages,
          });
          sends += 1;
          if (reply.type === 'message.accepted')
            queued += String((messages as { body: string }[])[0]!.body).length;
          else refusal = reply;
        }
        if (refusal === undefined && !set)
          throw new SkipCase(
            `${sends} sends (${queued} body characters) to one device were all accepted: the provider's bound, if any, lies beyond the case's cap, and it offers no operator hook setPeerBounds to state a small one`,
          );
        must(
          'DELIV-032',
          that(
            refusal?.type === 'error' &&
              refusal.code === 'RATE_LIMITED' &&
              typeof refusal.retryAfterMs === 'number' &&
              refusal.retryAfterMs >= 0,
            `an error RATE_LIMITED with a retryAfterMs once ${SMALL_QUEUE_CHARS} body characters wait for bob's device`,
            refusal === undefined
              ? `${sends} sends (${queued} body characters queued) all accepted`
              : JSON.stringify(refusal).slice(0, 200),
          ),
        );
      } finally {
        if (set) await set(undefined);
      }
    },
  }),
];
