// DELIV cases of spec/messages.md#acceptance-and-durability and #offline-queue that need the
// operator: an accepted message survives a restart, is kept for `queueTtlSeconds` and never
// delivered after (restart and clock through conformance/transport/operator.ts).
import { isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { operatorHook } from '../../transport/operator.ts';

/** How far before and after the queue TTL alice comes back. */
const TTL_MARGIN_MS = 60_000;

export const durabilityCases = [
  defineCase({
    id: 'DELIV-008-accepted-survives-restart',
    title: "carol's accepted message to offline alice is delivered after the provider restarts",
    requirements: ['DELIV-008'],
    level: 'MUST',
    quote:
      'The provider MUST reply `message.accepted` only after the message is stored so that it survives a crash or restart of the provider.',
    sends:
      'carol → alice (offline): message.send; the operator restarts the provider; alice connects',
    exclusive: true,
    timeoutMs: 10_000,
    async run({ target, world }) {
      const restart = operatorHook(target.operator, 'restart', 'to restart the provider');
      const alice = await world.firstParty('alice');
      alice.peer.close();
      const carol = await world.firstParty('carol', { preKeys: 0 });
      mustMatch(
        'DELIV-008',
        await carol.sendText(alice.address, 'before the restart'),
        isType('message.accepted'),
      );
      await restart();
      await alice.connect();
      mustMatch('DELIV-008', await alice.authDevice(), isType('auth.ok'));
      const content = await alice.open(await alice.nextMessage());
      must(
        'DELIV-008',
        that(content.body === 'before the restart', 'the text carol sent', content),
      );
    },
  }),
  defineCase({
    id: 'DELIV-027-kept-for-queue-ttl',
    title:
      "carol's unacknowledged message reaches alice a minute before queueTtlSeconds, and is gone a minute after",
    requirements: ['DELIV-027', 'DELIV-028'],
    level: 'MUST',
    quote:
      'The provider MUST keep an accepted message for its device for at least `limits.queueTtlSeconds` seconds after acceptance, unless the device acknowledges it earlier.',
    sends:
      "carol → alice (offline); the target's clock moves to TTL − 60 s: alice connects, no ack; to TTL + 60 s: alice connects",
    exclusive: true,
    timeoutMs: 8000,
    async run({ target, world }) {
      const setClockAhead = operatorHook(
        target.operator,
        'setClockAhead',
        'to reach queueTtlSeconds',
      );
      const ttlMs = (target.welcome.limits.queueTtlSeconds as number) * 1000;
      const alice = await world.firstParty('alice');
      alice.peer.close();
      const carol = await world.firstParty('carol', { preKeys: 0 });
      mustMatch(
        'DELIV-027',
        await carol.sendText(alice.address, 'expiring'),
        isType('message.accepted'),
      );
      try {
        await setClockAhead(ttlMs - TTL_MARGIN_MS);
        await alice.connect();
        mustMatch('DELIV-027', await alice.authDevice(), isType('auth.ok'));
        const first = await alice.peer.next(
          (f) => f.type === 'message' || f.type === 'queue.empty',
        );
        mustMatch('DELIV-027', first, isType('message'), 'a minute before the TTL');
        alice.peer.close();
        await setClockAhead(ttlMs + TTL_MARGIN_MS);
        await alice.connect();
        mustMatch('DELIV-028', await alice.authDevice(), isType('auth.ok'));
        const after = await alice.peer.next(
          (f) => f.type === 'message' || f.type === 'queue.empty',
        );
        mustMatch('DELIV-028', after, isType('queue.empty'), 'a minute after the TTL');
      } finally {
        await setClockAhead(0);
      }
      await world.reconnect(alice);
      const back = await alice.peer.next((f) => f.type === 'message' || f.type === 'queue.empty');
      mustMatch(
        'DELIV-028',
        back,
        isType('queue.empty'),
        'deleted, not hidden: still gone with the clock back',
      );
    },
  }),
];
