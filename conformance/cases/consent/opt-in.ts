// CONSENT cases of spec/consent.md#opt-in and #no-existence-oracle: interop off by default, refusals
// indistinguishable from "no such user" in content and in time, per-platform opt-in, no prekey spent.
import { randomBytes } from 'node:crypto';
import {
  equals,
  hasMembers,
  isError,
  isType,
  sameErrorApartFromRe,
  that,
} from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64 } from '../../transport/users.ts';

/** Refusals of each kind timed for CONSENT-007, as spec/consent.md asks (50, interleaved). */
const TIMING_SAMPLES = 50;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export const optInCases = [
  defineCase({
    id: 'CONSENT-001-default-off',
    title: 'a new account has interop disabled and a third-party claim for it is refused',
    requirements: ['CONSENT-001', 'CONSENT-005'],
    level: 'MUST',
    quote: 'The provider MUST create every account with `interop.enabled` false.',
    sends: 'alice: account.register, consent.get; bob: keys.claim alice',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const state = await alice.peer.request('consent.get');
      mustMatch('CONSENT-001', state, isType('consent.state'));
      must('CONSENT-001', equals(false, 'interop.enabled')(state.interop?.enabled));
      const bob = await world.thirdParty('bob');
      mustMatch(
        'CONSENT-005',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isError('NOT_FOUND'),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-006-no-existence-oracle',
    title: 'refusals for lack of consent equal those for an unknown address, and spend no prekey',
    requirements: ['CONSENT-006', 'CONSENT-009', 'CONSENT-008'],
    level: 'MUST',
    quote:
      'The provider MUST answer a third-party `message.send` or `keys.claim` that consent does not allow with `NOT_FOUND`, in an `error` frame identical, apart from `re`, to the one it sends for an address that does not exist.',
    sends:
      'bob: keys.claim and message.send (to devices 1 and 9) for alice (opted out) and for an unknown address',
    async run({ world, target }) {
      const alice = await world.firstParty('alice');
      const bob = await world.thirdParty('bob');
      const ghost = `${world.name('ghost')}@${target.domain}`;
      const claim = (address: string) => bob.peer.request('keys.claim', { address });
      const unknown = await claim(ghost);
      mustMatch('CONSENT-006', unknown, isError('NOT_FOUND'));
      mustMatch('CONSENT-006', await claim(alice.address), sameErrorApartFromRe(unknown));
      const body = 'MwgBEiEF' + 'A'.repeat(60);
      const send = (to: string) =>
        bob.peer.request('message.send', {
          to,
          idempotencyKey: `k.${world.rng.word(12)}`,
          messages: [{ deviceId: 9, registrationId: 1, type: 'whisper', body }],
        });
      const sendUnknown = await send(ghost);
      mustMatch('CONSENT-008', await send(alice.address), sameErrorApartFromRe(sendUnknown));
      const republish = await alice.publish(0);
      mustMatch('CONSENT-009', republish, hasMembers('keys.published', { oneTimePreKeyCount: 5 }));
    },
  }),
  defineCase({
    id: 'CONSENT-007-no-timing-oracle',
    title: 'refusals for lack of consent take as long as refusals for an unknown address',
    requirements: ['CONSENT-007'],
    level: 'MUST',
    quote:
      'The provider MUST NOT let the response time of a refusal for lack of consent differ measurably from that of a refusal for an unknown address.',
    sends:
      'bob: 50 interleaved pairs of keys.claim, then 50 of message.send, for alice (opted out) and for an unknown address; medians compared for each kind',
    // Alone: cases running beside it load the same target and skew one series (seen as a flake).
    exclusive: true,
    timeoutMs: 15_000,
    async run({ world, target, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const ghost = `${world.name('ghost')}@${target.domain}`;
      // A refused send needs no session: one well-formed entry is refused before it is read.
      const entry = { deviceId: 1, registrationId: 1, type: 'whisper', body: b64(randomBytes(64)) };
      const kinds = {
        'keys.claim': (address: string) => ({ address }),
        'message.send': (address: string) => ({
          to: address,
          idempotencyKey: world.rng.word(16),
          messages: [entry],
        }),
      };
      for (const [type, body] of Object.entries(kinds)) {
        const time = async (address: string): Promise<number> => {
          const t = process.hrtime.bigint();
          await bob.peer.request(type, body(address));
          return Number(process.hrtime.bigint() - t) / 1e6;
        };
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < TIMING_SAMPLES; i++) {
          // Interleaved, in a seeded order, so drift affects both series alike.
          const aliceFirst = world.rng.int(0, 1) === 1;
          if (aliceFirst) a.push(await time(alice.address));
          b.push(await time(ghost));
          if (!aliceFirst) a.push(await time(alice.address));
        }
        const [ma, mb] = [median(a), median(b)];
        // spec/consent.md: a difference of medians above 10 ms fails; a loaded target gets half
        // its median response time as well.
        const allowed = Math.max(scale(10), 0.5 * Math.max(ma, mb));
        must(
          'CONSENT-007',
          that(
            Math.abs(ma - mb) <= allowed,
            `${type} refusals: medians of ${TIMING_SAMPLES} each within ${allowed.toFixed(1)} ms`,
            `consent ${ma.toFixed(2)} ms vs unknown ${mb.toFixed(2)} ms`,
          ),
        );
      }
    },
  }),
  defineCase({
    id: 'CONSENT-005-per-platform',
    title: "opting in for another platform only keeps bob's platform out; listing it lets bob in",
    requirements: ['CONSENT-005', 'CONSENT-004'],
    level: 'MUST',
    quote:
      'The provider MUST accept a third-party `message.send` or `keys.claim` for a recipient only when the recipient has `interop.enabled` true and `interop.platforms` is `"all"` or lists the sender\'s `origin.platform`.',
    sends:
      "alice: consent.set platforms [other.example]; bob: keys.claim; alice: consent.set platforms [bob's]; bob: keys.claim",
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { optIn: { platforms: ['other.example'] } });
      const bob = await world.thirdParty('bob');
      mustMatch(
        'CONSENT-005',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isError('NOT_FOUND'),
      );
      await alice.peer.request('consent.set', {
        interop: { enabled: true, platforms: [target.partner.domain], inbox: 'separate' },
      });
      mustMatch(
        'CONSENT-004',
        await bob.peer.request('keys.claim', { address: alice.address }),
        isType('keys.bundle'),
      );
    },
  }),
  defineCase({
    id: 'CONSENT-003-partner-forbidden',
    title: 'a partner session may not read or change consent',
    requirements: ['CONSENT-003'],
    level: 'MUST',
    quote:
      'The provider MUST refuse `consent.get`, `consent.set`, `requests.list` and `request.respond` from a partner session with `FORBIDDEN`.',
    sends: 'bob: consent.get, consent.set, requests.list',
    async run({ world }) {
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      mustMatch('CONSENT-003', await bob.peer.request('consent.get'), isError('FORBIDDEN'));
      const set = await bob.peer.request('consent.set', {
        interop: { enabled: true, platforms: 'all', inbox: 'separate' },
      });
      mustMatch('CONSENT-003', set, isError('FORBIDDEN'));
      mustMatch('CONSENT-003', await bob.peer.request('requests.list'), isError('FORBIDDEN'));
    },
  }),
];
