// AUTH cases of spec/auth.md#challenge: a challenge authenticates at most one `auth` frame, and an
// `auth` more than 60 seconds after its `welcome` is refused (the clock moves through the
// operator's hook; without it the case waits for real only when --timeout-factor allows).
import type { Frame } from '../../assert/match.ts';
import { isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/** AUTH-004: the lifetime of a challenge. */
const CHALLENGE_TTL_MS = 60_000;
/** How far past the lifetime the stale `auth` arrives. */
const STALE_MARGIN_MS = 2000;
/** The close code of AUTH_FAILED (registry). */
const CLOSE_AUTH_FAILED = 4401;
/** Time the case needs besides a real wait: registering alice, reconnecting, two auths. */
const REAL_WAIT_HEADROOM_MS = 5000;
/** The default case timeout, before the factor: a real wait needs --timeout-factor ≥ 14. */
const CHALLENGE_CASE_TIMEOUT_MS = 5000;

export const challengeCases = [
  defineCase({
    id: 'AUTH-003-challenge-single-use',
    title:
      "two auth frames sent at once under one challenge (alice's, then carol's proof) get one auth.ok at most",
    requirements: ['AUTH-003'],
    level: 'MUST',
    quote: 'The provider MUST accept each challenge in at most one `auth` frame.',
    sends:
      'a greeted connection: auth as alice and auth as carol, both over the same challenge, without waiting',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const { peer, welcome } = await world.greeted('mallory');
      const proof = (user: typeof alice): Frame => ({
        method: 'device',
        address: user.address,
        deviceId: user.deviceId,
        signature: user.proof(user.address, user.deviceId, welcome.challenge as string),
      });
      const first = peer.request('auth', proof(alice));
      const second = peer.request('auth', proof(carol)).catch(() => undefined);
      const replies = [await first.catch(() => undefined), await second];
      const ok = replies.filter((r) => r?.type === 'auth.ok');
      must('AUTH-003', that(ok.length <= 1, 'at most one auth.ok for one challenge', replies));
    },
  }),
  defineCase({
    id: 'AUTH-004-stale-challenge',
    title:
      "alice's auth 62 s after its welcome is refused with AUTH_FAILED and the connection closed",
    requirements: ['AUTH-004'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `AUTH_FAILED` an `auth` frame that arrives more than 60 seconds after the `welcome` that carried its challenge.',
    sends: "alice: hello; the target's clock moves 62 s on (or the case waits 62 s); auth",
    exclusive: true,
    timeoutMs: CHALLENGE_CASE_TIMEOUT_MS,
    async run({ target, world, scale }) {
      const stale = CHALLENGE_TTL_MS + STALE_MARGIN_MS;
      // A clock move that restarts the target would close alice's connection with its challenge.
      const setClockAhead = target.operator?.clockAheadRestarts
        ? undefined
        : target.operator?.setClockAhead;
      requireThat(
        setClockAhead !== undefined ||
          scale(CHALLENGE_CASE_TIMEOUT_MS) > stale + REAL_WAIT_HEADROOM_MS,
        `needs the operator hook setClockAhead (moving the clock without a restart), or --timeout-factor ${Math.ceil((stale + REAL_WAIT_HEADROOM_MS) / CHALLENGE_CASE_TIMEOUT_MS)} or more to wait ${stale / 1000} s for real`,
      );
      const alice = await world.firstParty('alice', { preKeys: 0 });
      alice.peer.close();
      await alice.connect();
      try {
        if (setClockAhead) await setClockAhead(stale);
        else await new Promise((resolve) => setTimeout(resolve, stale));
        mustMatch('AUTH-004', await alice.authDevice(), isError('AUTH_FAILED'));
      } finally {
        await setClockAhead?.(0);
      }
      const code = await alice.peer.closedWithin();
      must('AUTH-004', that(code === CLOSE_AUTH_FAILED, `close code ${CLOSE_AUTH_FAILED}`, code));
      await alice.connect();
      mustMatch(
        'AUTH-004',
        await alice.authDevice(),
        isType('auth.ok'),
        'a fresh challenge still works',
      );
    },
  }),
];
