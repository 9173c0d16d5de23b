// DELIV SHOULD cases of spec/messages.md#offline-queue and #acknowledgement: a queue TTL of 30 days
// and no second push of a delivery on one connection. A broken SHOULD warns; the target stays conformant.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const deliveryShouldCases = [
  defineCase({
    id: 'DELIV-029-queue-ttl-30-days',
    title: 'welcome advertises a queueTtlSeconds of at least 30 days',
    requirements: ['DELIV-029'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD advertise a `limits.queueTtlSeconds` of at least 2 592 000 (30 days).',
    sends: 'hello',
    async run({ world }) {
      const { welcome } = await world.greeted('alice');
      const ttl = welcome.limits?.queueTtlSeconds;
      must('DELIV-029', that(ttl >= 2592000, 'queueTtlSeconds ≥ 2592000', ttl));
    },
  }),
  defineCase({
    id: 'DELIV-020-no-repush-on-connection',
    title: 'an unacknowledged delivery is not pushed twice on the same connection',
    requirements: ['DELIV-020'],
    level: 'SHOULD',
    quote: 'The provider SHOULD NOT push the same delivery twice on one connection.',
    sends: 'carol → alice twice; alice acks neither and waits',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.sendText(alice.address, 'one');
      await carol.sendText(alice.address, 'two');
      const seen: string[] = [];
      const deadline = Date.now() + scale(400);
      while (Date.now() < deadline) {
        const f = await alice.peer
          .next((x) => x.type === 'message', deadline - Date.now())
          .catch(() => undefined);
        if (f) seen.push(f.id as string);
      }
      must(
        'DELIV-020',
        that(
          new Set(seen).size === seen.length && seen.length === 2,
          'two distinct deliveries',
          seen,
        ),
      );
    },
  }),
];
