// GROUP cases of spec/groups.md#groups-and-members and #membership-changes: creation, reading,
// the refusal without an oracle, admin-only changes, versions, pushes, leaving and the last admin.
import { hasMembers, isError, isType, sameErrorApartFromRe, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import { createGroup, nextGroupChange, sendToGroup } from '../../transport/groups.ts';

const addresses = (state: { members?: { address: string }[] }): string[] =>
  (state.members ?? []).map((m) => m.address);

/** Three or four test users, each registered and authenticated: slow on a loaded target. */
const CASE_TIMEOUT_MS = 10_000;

export const groupMembershipCases = [
  defineCase({
    id: 'GROUP-001-create',
    title:
      'alice creates a group with carol and bob: version 1, alice an admin, both members, and their devices hear of it',
    requirements: ['GROUP-001', 'GROUP-010', 'GROUP-013'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST answer `group.create` with `group.state` naming a new group id, version 1, and the sender as an admin among the members.',
    sends: 'alice: group.create [carol, bob (partner)]; carol, bob: message.ack of group.changed',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const state = await alice.peer.request('group.create', {
        idempotencyKey: `k.${world.rng.word(12)}`,
        members: [carol.address, bob.address],
      });
      mustMatch('GROUP-001', state, hasMembers('group.state', { version: 1 }));
      const alices = state.members.find((m: { address: string }) => m.address === alice.address);
      must('GROUP-001', that(alices?.role === 'admin', 'alice listed as an admin', state));
      for (const who of [carol.address, bob.address])
        must(
          'GROUP-010',
          that(
            state.members.some(
              (m: { address: string; state: string }) => m.address === who && m.state === 'member',
            ),
            `${who} listed as a member`,
            state,
          ),
        );
      for (const user of [carol, bob]) {
        const push = await nextGroupChange(user, state.group, 1, 'GROUP-013');
        mustMatch('GROUP-013', push, hasMembers('group.changed', { by: alice.address }));
        mustMatch(
          'GROUP-013',
          await user.peer.request('message.ack', { deliveryIds: [push.id] }),
          hasMembers('message.acked', { count: 1 }),
        );
      }
    },
  }),
  defineCase({
    id: 'GROUP-061-create-idempotent',
    title:
      'alice repeats her group.create with its idempotency key: the same group, carol hears of one; with dave added to it: CONFLICT, and dave hears of none',
    requirements: ['GROUP-061'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'When a device repeats, within 24 hours, a `group.create` with the idempotency key of one it sent before and the same `members`, the provider MUST NOT create another group and MUST answer with `group.state` of the group the first request created; a repeat of the key with other `members` it MUST refuse with `CONFLICT`, creating nothing.',
    sends:
      'alice: group.create [carol] with key k, the same again, group.create [carol, dave] with k; carol, dave: group.changed pushes',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const dave = await world.firstParty('dave', { preKeys: 0 });
      const idempotencyKey = `k.${world.rng.word(12)}`;
      const request = { idempotencyKey, members: [carol.address] };
      const first = await alice.peer.request('group.create', request);
      mustMatch('GROUP-061', first, hasMembers('group.state', { version: 1 }));
      const again = await alice.peer.request('group.create', request);
      mustMatch('GROUP-061', again, hasMembers('group.state', { group: first.group }));
      mustMatch(
        'GROUP-061',
        await alice.peer.request('group.create', {
          idempotencyKey,
          members: [carol.address, dave.address],
        }),
        isError('CONFLICT'),
      );
      await nextGroupChange(carol, first.group, 1, 'GROUP-061');
      must(
        'GROUP-061',
        await shouldStayQuiet(
          () => carol.peer.peek((f) => f.type === 'group.changed' && f.group !== first.group),
          scale(300),
          'no group.changed of a second group for carol',
        ),
      );
      must(
        'GROUP-061',
        await shouldStayQuiet(
          () => dave.peer.peek((f) => f.type === 'group.changed'),
          0,
          'no group.changed for dave',
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-004-no-group-oracle',
    title: 'eve reads and sends to a group she is not in exactly as to a group that does not exist',
    requirements: ['GROUP-004', 'GROUP-003', 'GROUP-042'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST answer a group request or a group `message.send` for a group that does not exist, or from a sender who is not its member, with `NOT_FOUND` in `error` frames that are identical for both cases apart from `re`.',
    sends:
      'alice: group.create, group.get; eve: group.get and message.send to it and to an unknown id',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const eve = await world.firstParty('eve', { preKeys: 0 });
      const state = await createGroup(alice);
      mustMatch(
        'GROUP-003',
        await alice.peer.request('group.get', { group: state.group }),
        hasMembers('group.state', { group: state.group, version: state.version }),
      );
      const unknown = `g.${world.rng.word(20)}`;
      const none = await eve.peer.request('group.get', { group: unknown });
      mustMatch('GROUP-004', none, isError('NOT_FOUND'));
      mustMatch(
        'GROUP-004',
        await eve.peer.request('group.get', { group: state.group }),
        sameErrorApartFromRe(none),
      );
      const noneSend = await sendToGroup(world, eve, unknown, 1);
      mustMatch('GROUP-042', noneSend, isError('NOT_FOUND'));
      mustMatch(
        'GROUP-042',
        await sendToGroup(world, eve, state.group, state.version),
        sameErrorApartFromRe(noneSend),
      );
    },
  }),
  defineCase({
    id: 'GROUP-011-admins-only',
    title:
      'carol, a member but not an admin, cannot add, remove or promote: FORBIDDEN, and the group stays at its version',
    requirements: ['GROUP-011', 'GROUP-012'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse `group.add`, `group.remove` and `group.role` from a member who is not an admin with `FORBIDDEN`, changing nothing.',
    sends:
      'alice: group.create [carol]; carol: group.add dave, group.remove alice, group.role carol admin; carol: group.get',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const dave = await world.firstParty('dave', { preKeys: 0 });
      const state = await createGroup(alice, [carol.address]);
      const attempts = [
        ['group.add', { group: state.group, members: [dave.address] }],
        ['group.remove', { group: state.group, members: [alice.address] }],
        ['group.role', { group: state.group, member: carol.address, role: 'admin' }],
      ] as const;
      for (const [type, body] of attempts)
        mustMatch('GROUP-011', await carol.peer.request(type, body), isError('FORBIDDEN'), type);
      const after = await carol.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-011', after, hasMembers('group.state', { version: state.version }));
      must(
        'GROUP-011',
        that(
          addresses(after).join() === [alice.address, carol.address].join() &&
            after.members.every((m: { address: string; role: string }) =>
              m.address === carol.address ? m.role === 'member' : true,
            ),
          'alice and carol only, carol still a member',
          after,
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-012-versions',
    title:
      'every change alice commits takes the version one up, and every member device hears of each',
    requirements: ['GROUP-012', 'GROUP-013', 'GROUP-010'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST increment a group’s version by one with every change it commits, and MUST NOT change the version otherwise.',
    sends:
      'alice: group.create [carol], group.add dave, group.role dave admin, group.remove dave, group.get',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const dave = await world.firstParty('dave', { preKeys: 0 });
      const state = await createGroup(alice, [carol.address]);
      const added = await alice.peer.request('group.add', {
        group: state.group,
        members: [dave.address],
      });
      mustMatch('GROUP-012', added, hasMembers('group.state', { version: state.version + 1 }));
      mustMatch('GROUP-010', added, hasMembers('group.state', { version: state.version + 1 }));
      const promoted = await alice.peer.request('group.role', {
        group: state.group,
        member: dave.address,
        role: 'admin',
      });
      mustMatch('GROUP-012', promoted, hasMembers('group.state', { version: state.version + 2 }));
      const removed = await alice.peer.request('group.remove', {
        group: state.group,
        members: [dave.address],
      });
      mustMatch('GROUP-012', removed, hasMembers('group.state', { version: state.version + 3 }));
      const read = await carol.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-012', read, hasMembers('group.state', { version: state.version + 3 }));
      for (let v = state.version + 1; v <= state.version + 3; v++)
        await nextGroupChange(carol, state.group, v, 'GROUP-013');
      // dave was a member before the removal: he hears of it (GROUP-013).
      mustMatch(
        'GROUP-013',
        await nextGroupChange(dave, state.group, state.version + 3, 'GROUP-013'),
        hasMembers('group.changed', { action: 'removed', members: [dave.address] }),
      );
    },
  }),
  defineCase({
    id: 'GROUP-015-last-admin',
    title:
      'alice, the only admin, cannot step down; when she leaves, carol, the earliest member, becomes an admin',
    requirements: ['GROUP-015', 'GROUP-014'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST keep an admin in every group that has members, refusing with `CONFLICT` a `group.role` that would leave none and making the earliest remaining member an admin, in a change of its own, when the last admin leaves.',
    sends:
      'alice: group.create [carol, dave], group.role alice member, group.leave; dave: group.get',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const dave = await world.firstParty('dave', { preKeys: 0 });
      const state = await createGroup(alice, [carol.address, dave.address]);
      mustMatch(
        'GROUP-015',
        await alice.peer.request('group.role', {
          group: state.group,
          member: alice.address,
          role: 'member',
        }),
        isError('CONFLICT'),
      );
      mustMatch(
        'GROUP-014',
        await alice.peer.request('group.leave', { group: state.group }),
        hasMembers('group.left', { group: state.group }),
      );
      const read = await dave.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-014', read, isType('group.state'));
      const carols = read.members.find((m: { address: string }) => m.address === carol.address);
      must(
        'GROUP-015',
        that(
          !addresses(read).includes(alice.address) && carols?.role === 'admin',
          'alice gone and carol an admin',
          read,
        ),
      );
      must(
        'GROUP-015',
        that(
          read.version === state.version + 2,
          `version ${state.version + 2}: left, then role`,
          read,
        ),
      );
    },
  }),
];
