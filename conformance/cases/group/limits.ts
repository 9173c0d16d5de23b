// GROUP cases of spec/groups.md#limits: the advertised group size and its refusal, and the rate
// limits on group creation and on additions by third-party users.
import { hasMembers, isError, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { createGroup } from '../../transport/groups.ts';

/** Most requests a rate-limit case sends before it decides the target has no limit. */
const MAX_ATTEMPTS = 200;

/**
 * Frames of 1 024 addresses (20 480 additions) within which a limit that counts addresses must
 * refuse; a limit on writing frames in general (PROTO-050) counts 20 frames only.
 */
const MAX_ADDITION_FRAMES = 20;

export const groupLimitCases = [
  defineCase({
    id: 'GROUP-031-group-full',
    title:
      'a group.create naming limits.maxGroupMembers others, and a group.add one address past the room left beside carol, are refused with GROUP_FULL and change nothing',
    requirements: ['GROUP-031', 'GROUP-030'],
    level: 'MUST',
    capabilities: ['groups'],
    quote:
      'The provider MUST refuse with `GROUP_FULL`, changing nothing, a `group.create` or `group.add` that would take a group’s members and invitations past `limits.maxGroupMembers`.',
    sends:
      'alice: group.create naming max unknown addresses; group.create [carol]; group.add of max − 1 unknown addresses; group.get',
    timeoutMs: 10_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const max = alice.welcome.limits?.maxGroupMembers;
      must(
        'GROUP-030',
        that(
          Number.isInteger(max) && max >= 2,
          'limits.maxGroupMembers advertised',
          alice.welcome.limits,
        ),
      );
      // The size is checked before who the addresses are (spec/groups.md#limits): none exists.
      const base = world.rng.word(8);
      const strangers = (n: number): string[] =>
        Array.from({ length: n }, (_, i) => `n${base}.${i}@${world.target.domain}`);
      mustMatch(
        'GROUP-031',
        await alice.peer.request('group.create', {
          idempotencyKey: `k.${world.rng.word(12)}`,
          members: strangers(max),
        }),
        isError('GROUP_FULL'),
      );
      const state = await createGroup(alice, [carol.address]);
      // alice and carol leave room for max − 2; max − 1 more is one too many.
      mustMatch(
        'GROUP-031',
        await alice.peer.request('group.add', { group: state.group, members: strangers(max - 1) }),
        isError('GROUP_FULL'),
      );
      const read = await alice.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-031', read, hasMembers('group.state', { version: state.version }));
      must('GROUP-031', that((read.members ?? []).length === 2, 'alice and carol only', read));
    },
  }),
  defineCase({
    id: 'GROUP-032-creation-rate',
    title: 'alice creating groups as fast as she can is refused with RATE_LIMITED at some point',
    requirements: ['GROUP-032'],
    level: 'SHOULD',
    capabilities: ['groups'],
    quote:
      'The provider SHOULD limit the rate of `group.create` per account, refusing excess requests with `RATE_LIMITED`.',
    sends: `alice: up to ${MAX_ATTEMPTS} group.create`,
    timeoutMs: 20_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      let last: Frame = {};
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        last = await alice.peer.request('group.create', {
          idempotencyKey: `k.${world.rng.word(12)}`,
        });
        if (last.type !== 'group.state') break;
      }
      mustMatch('GROUP-032', last, isError('RATE_LIMITED'));
    },
  }),
  defineCase({
    id: 'GROUP-033-addition-rate',
    title:
      'bob (partner) naming 1 024 addresses per group.add is refused with RATE_LIMITED within 20 frames',
    requirements: ['GROUP-033'],
    level: 'MUST',
    capabilities: ['groups'],
    quote:
      'The provider MUST limit the rate of additions to groups by third-party users, counting each address named, per adding account and per partner platform, refusing excess requests with `RATE_LIMITED`.',
    sends: `bob: group.create; up to ${MAX_ADDITION_FRAMES} group.add of 1 024 unknown addresses each`,
    timeoutMs: 30_000,
    async run({ world }) {
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const state = await createGroup(bob);
      const base = world.rng.word(8);
      let last: Frame = {};
      for (let i = 0; i < MAX_ADDITION_FRAMES; i++) {
        const members = Array.from(
          { length: 1024 },
          (_, j) => `n${base}.${i}.${j}@${world.target.domain}`,
        );
        last = await bob.peer.request('group.add', { group: state.group, members });
        if (last.type === 'error' && last.code === 'RATE_LIMITED') break;
      }
      mustMatch('GROUP-033', last, isError('RATE_LIMITED'));
    },
  }),
];
