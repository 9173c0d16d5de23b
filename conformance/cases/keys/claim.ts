// KEYS cases of spec/keys.md#claiming: a one-time prekey is never served twice, also under
// concurrent claims; exhaustion is signalled with null and `exhausted`; keys.low is pushed.
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const claimCases = [
  defineCase({
    id: 'KEYS-012-concurrent-claims',
    title:
      "twelve concurrent claims over four connections share alice's five one-time prekeys without repeats",
    requirements: ['KEYS-012', 'KEYS-018', 'KEYS-019'],
    level: 'MUST',
    quote:
      'The provider MUST hand out each one-time prekey in at most one `keys.bundle`, also when claims for the same device are handled concurrently.',
    sends:
      'alice publishes 5 one-time prekeys; carol, dave, erin and frank each send 3 keys.claim for alice at once',
    timeoutMs: 8000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 5 });
      const claimers = await Promise.all(
        ['carol', 'dave', 'erin', 'frank'].map((n) => world.firstParty(n, { preKeys: 0 })),
      );
      const bundles = await Promise.all(
        claimers.flatMap((c) =>
          [0, 1, 2].map(() => c.peer.request('keys.claim', { address: alice.address })),
        ),
      );
      for (const b of bundles) mustMatch('KEYS-012', b, isType('keys.bundle'));
      const served = bundles.map((b) => b.devices?.[0]?.oneTimePreKey as Frame | null);
      const ids = served.filter((k): k is Frame => k !== null).map((k) => k.keyId as number);
      must(
        'KEYS-012',
        that(new Set(ids).size === ids.length, 'no one-time prekey served twice', ids),
      );
      must('KEYS-012', that(ids.length === 5, 'all 5 one-time prekeys served once', ids));
      for (const b of bundles) {
        const isNull = b.devices?.[0]?.oneTimePreKey === null;
        must('KEYS-019', that(b.exhausted === isNull, `exhausted ${isNull}`, b));
      }
    },
  }),
  defineCase({
    id: 'KEYS-018-exhausted-bundle',
    title: 'claiming a device with no one-time prekey left returns null and exhausted true',
    requirements: ['KEYS-018', 'KEYS-019'],
    level: 'MUST',
    quote:
      'When a device has no one-time prekey left, the provider MUST return its entry with `oneTimePreKey` set to null.',
    sends: 'alice publishes 1 one-time prekey; carol claims twice',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const first = await carol.peer.request('keys.claim', { address: alice.address });
      mustMatch('KEYS-019', first, hasMembers('keys.bundle', { exhausted: false }));
      const second = await carol.peer.request('keys.claim', { address: alice.address });
      mustMatch('KEYS-019', second, hasMembers('keys.bundle', { exhausted: true }));
      must(
        'KEYS-018',
        that(second.devices?.[0]?.oneTimePreKey === null, 'oneTimePreKey null', second),
      );
    },
  }),
  defineCase({
    id: 'KEYS-021-keys-low-push',
    title: 'a claim that leaves alice below the threshold pushes keys.low to her connection',
    requirements: ['KEYS-021', 'KEYS-022', 'PROTO-011'],
    level: 'MUST',
    quote:
      'When handing out a one-time prekey leaves a device with fewer than `limits.lowPreKeyThreshold` one-time prekeys, the provider MUST push `keys.low` to that device if it is connected.',
    sends: 'alice publishes lowPreKeyThreshold one-time prekeys; carol claims one',
    async run({ world }) {
      const { welcome } = await world.greeted('probe');
      const threshold = welcome.limits.lowPreKeyThreshold as number;
      const alice = await world.firstParty('alice', { preKeys: threshold });
      // Alice authenticated with no prekeys stored, so keys.low came right after auth.ok.
      const initial = await alice.peer.next(
        (f) => f.type === 'keys.low',
        undefined,
        'keys.low after auth',
      );
      mustMatch('KEYS-022', initial, hasMembers('keys.low', { oneTimePreKeyCount: 0 }));
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.peer.request('keys.claim', { address: alice.address });
      const low = await alice.peer.next((f) => f.type === 'keys.low', undefined, 'keys.low');
      mustMatch(
        'KEYS-021',
        low,
        hasMembers('keys.low', { oneTimePreKeyCount: threshold - 1, threshold }),
      );
      must(
        'PROTO-011',
        that(typeof low.id === 'string' && !('re' in low), 'a push with its own id and no re', low),
      );
    },
  }),
];
