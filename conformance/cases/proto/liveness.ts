// PROTO cases of spec/framing.md#session-state and #shutdown: no idle close within 60 s of a
// received frame, and UNAVAILABLE with close code 1012 on every open connection when the provider
// stops (through the operator's restart hook, conformance/transport/operator.ts).
import type { Frame } from '../../assert/match.ts';
import { isError, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { operatorHook } from '../../transport/operator.ts';

/** PROTO-028: the provider may not close a connection idle for less than this. */
const IDLE_GRACE_MS = 60_000;
/**
 * How long the idle case stays silent by default, before --timeout-factor: short, so the suite
 * stays fast; `--timeout-factor 30` stretches it to the whole grace period (less a second).
 */
const IDLE_QUIET_MS = 2000;
const IDLE_MARGIN_MS = 1000;
/** The close code a stopping provider uses (registry: UNAVAILABLE). */
const CLOSE_SERVICE_RESTART = 1012;

export const livenessCases = [
  defineCase({
    id: 'PROTO-028-no-idle-close',
    title:
      'a connection silent since its last frame is still open and answers ping (2 s by default, up to 59 s with --timeout-factor)',
    requirements: ['PROTO-028'],
    level: 'MUST',
    quote:
      'The provider MUST NOT close for idleness a connection on which it received a frame within the last 60 seconds.',
    sends: 'alice: ping, then nothing for the quiet period, then ping',
    timeoutMs: IDLE_QUIET_MS + 3000,
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      await alice.peer.request('ping');
      const quiet = Math.min(scale(IDLE_QUIET_MS), IDLE_GRACE_MS - IDLE_MARGIN_MS);
      const closed = await alice.peer.closedWithin(quiet);
      must(
        'PROTO-028',
        that(
          closed === undefined,
          `still open after ${quiet} ms of silence`,
          `closed with ${closed}`,
        ),
      );
      must('PROTO-028', that(await alice.peer.alive(), 'ping answered with pong', 'no pong'));
    },
  }),
  defineCase({
    id: 'PROTO-036-unavailable-on-shutdown',
    title:
      'when the operator stops the provider every open connection gets UNAVAILABLE and close code 1012',
    requirements: ['PROTO-036'],
    level: 'MUST',
    quote:
      'A provider that stops serving MUST send an `error` frame carrying `UNAVAILABLE` on each open connection and close it with close code 1012.',
    sends: 'alice (authenticated) and a greeted peer stay open; the operator restarts the provider',
    exclusive: true,
    timeoutMs: 10_000,
    async run({ target, world }) {
      const restart = operatorHook(target.operator, 'restart', 'to stop the provider');
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const { peer } = await world.greeted('dave');
      await restart();
      for (const p of [alice.peer, peer]) {
        const code = await p.closedWithin();
        const error = p.peek((f: Frame) => f.type === 'error') ?? {};
        mustMatch('PROTO-036', error, isError('UNAVAILABLE'), `on ${p.label}'s connection`);
        must(
          'PROTO-036',
          that(
            code === CLOSE_SERVICE_RESTART,
            `${p.label}: close code ${CLOSE_SERVICE_RESTART}`,
            code,
          ),
        );
      }
    },
  }),
];
