// AUTH-031 of spec/auth.md#challenge (MUST): a provider advertises its authentication window in
// `welcome` and closes with 1008 a connection that has not authenticated within it, pings or not
// (issue 15, finding 7). The embedded target states a short window through the operator hook
// setPeerBounds (operator.ts); a remote target without the hook is checked when its own window
// fits the case's budget, and the case skips with the reason otherwise.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';

/** The close code for a policy violation (RFC 6455), AUTH-031's close code. */
const CLOSE_POLICY_VIOLATION = 1008;
/** The window the case asks an operator for: AUTH-031's least. */
const SHORT_WINDOW_SECONDS = 5;
/** The longest stated window the case waits out without the hook. */
const MAX_WAITED_WINDOW_SECONDS = 20;
/** How often mallory pings while she waits: pings must not hold the connection open. */
const PING_EVERY_MS = 1000;
/**
 * How late after the window the close may come, as a share of the window plus a fixed margin: a
 * provider checks its connections now and then, not at the instant the window ends.
 */
const LATE_SHARE = 0.5;
const LATE_MARGIN_MS = 2000;

export const authWindowCases = [
  defineCase({
    id: 'AUTH-031-unauthenticated-connection-closed',
    title:
      'mallory, who says hello and pings but never authenticates, is closed with 1008 once the advertised authWindowSeconds passed',
    requirements: ['AUTH-031'],
    level: 'MUST',
    quote:
      'The provider MUST advertise in `welcome` a `limits.authWindowSeconds` from 5 to 86400, and MUST close with close code 1008 a connection that has not received `auth.ok` `authWindowSeconds` after it opened, whatever frames (pings included) it sent.',
    sends: `setPeerBounds authWindowSeconds ${SHORT_WINDOW_SECONDS} when offered; hello; a ping every ${PING_EVERY_MS} ms, never auth, until the connection closes`,
    exclusive: true,
    timeoutMs: 60_000,
    async run({ target, world, scale }) {
      const set = target.operator?.setPeerBounds;
      if (set) await set({ authWindowSeconds: SHORT_WINDOW_SECONDS });
      try {
        const mallory = world.device('mallory');
        const opened = Date.now();
        const welcome = await mallory.connect();
        const window = (welcome.limits as Record<string, unknown> | undefined)?.authWindowSeconds;
        must(
          'AUTH-031',
          that(
            typeof window === 'number' &&
              Number.isInteger(window) &&
              window >= 5 &&
              window <= 86400,
            'welcome.limits.authWindowSeconds, an integer from 5 to 86400',
            JSON.stringify(window),
          ),
        );
        const seconds = window as number;
        if (set === undefined && seconds > MAX_WAITED_WINDOW_SECONDS)
          throw new SkipCase(
            `the target states an authentication window of ${seconds} s, longer than the case's ${MAX_WAITED_WINDOW_SECONDS} s budget, and offers no operator hook setPeerBounds to state a shorter one`,
          );
        const deadline = opened + seconds * 1000 * (1 + LATE_SHARE) + scale(LATE_MARGIN_MS);
        const pinger = setInterval(() => {
          if (mallory.peer.closeCode === undefined)
            mallory.peer.send({ v: 1, type: 'ping', id: world.name('p') });
        }, PING_EVERY_MS);
        let code: number | undefined;
        try {
          code = await mallory.peer.closedWithin(Math.max(0, deadline - Date.now()));
        } finally {
          clearInterval(pinger);
        }
        const after = Date.now() - opened;
        must(
          'AUTH-031',
          that(
            code === CLOSE_POLICY_VIOLATION,
            `close code ${CLOSE_POLICY_VIOLATION} within ${Math.round((deadline - opened) / 1000)} s of opening (window ${seconds} s)`,
            code === undefined
              ? `still open ${Math.round(after / 1000)} s after it opened`
              : `close code ${code} after ${after} ms`,
          ),
        );
        must(
          'AUTH-031',
          that(
            after >= seconds * 1000 - 500,
            `no close before the ${seconds} s window passed`,
            `closed after ${after} ms`,
          ),
        );
      } finally {
        if (set) await set(undefined);
      }
    },
  }),
];
