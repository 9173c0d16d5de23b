// GROUP cases of spec/groups.md#invitations: a third-party addition reaches only users who allow
// the adder's platform, refused as an unknown address otherwise; it is an invitation in their
// requests until accepted; a decline is not revealed; folders of group messages.
import { hasMembers, isError, sameErrorApartFromRe, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import {
  createGroup,
  nextGroupChange,
  nextGroupMessage,
  peekGroupMessage,
  sendDistributed,
} from '../../transport/groups.ts';

const entryOf = (
  state: { members?: { address: string; state: string }[] },
  address: string,
): { address: string; state: string } | undefined =>
  state.members?.find((m) => m.address === address);

/** Three or four test users, each registered and authenticated: slow on a loaded target. */
const CASE_TIMEOUT_MS = 10_000;

export const groupInvitationCases = [
  defineCase({
    id: 'GROUP-020-invitation',
    title:
      'bob (partner) adds alice, who opted in but never accepted him: an invitation in her requests, nothing delivered until she accepts, then a member',
    requirements: ['GROUP-020', 'GROUP-022', 'GROUP-023', 'GROUP-003'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST add a first-party user named in a `group.create` or `group.add` by a third-party user as an invitation listed in that user’s `requests.list` with `group`, unless the user has accepted the adder as a contact.',
    sends:
      'bob: group.create [alice], group.get; alice: requests.list; bob → group; alice: request.respond accept with group; bob: group.get',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(bob, [alice.address]);
      must(
        'GROUP-020',
        that(entryOf(state, alice.address)?.state === 'invited', 'alice listed as invited', state),
      );
      const list = await alice.peer.request('requests.list');
      const pending = (list.pending ?? []).find(
        (p: { from: string; group?: string }) => p.from === bob.address && p.group === state.group,
      );
      must(
        'GROUP-020',
        that(pending !== undefined, `an invitation from ${bob.address} to ${state.group}`, list),
      );
      const listed = await bob.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-003', listed, hasMembers('group.state', { version: state.version }));
      must(
        'GROUP-003',
        that(
          entryOf(listed, alice.address)?.state === 'invited' &&
            entryOf(listed, bob.address)?.state === 'member',
          'bob a member and alice’s invitation, listed by group.get',
          listed,
        ),
      );
      await sendDistributed(world, bob, state.group, state.version);
      must(
        'GROUP-023',
        await shouldStayQuiet(
          // Anything of the group but the invitation's own push (GROUP-025).
          () => alice.peer.peek((f) => f.group === state.group && f.type !== 'group.invited'),
          scale(300),
          'no group message or change for an invitee',
        ),
      );
      mustMatch(
        'GROUP-022',
        await alice.peer.request('request.respond', {
          from: bob.address,
          action: 'accept',
          group: state.group,
        }),
        hasMembers('request.responded', { group: state.group, action: 'accept' }),
      );
      const joined = await nextGroupChange(bob, state.group, state.version + 1, 'GROUP-022');
      mustMatch('GROUP-022', joined, hasMembers('group.changed', { members: [alice.address] }));
      const read = await bob.peer.request('group.get', { group: state.group });
      must(
        'GROUP-022',
        that(entryOf(read, alice.address)?.state === 'member', 'alice now a member', read),
      );
      await sendDistributed(world, bob, state.group, state.version + 1);
      await nextGroupMessage(alice, state.group, 'GROUP-022');
    },
  }),
  defineCase({
    id: 'GROUP-025-invitation-pushed',
    title:
      'bob (partner) invites alice and carol, who blocked him: alice’s device gets a group.invited push naming the group and bob, carol’s gets none',
    requirements: ['GROUP-025'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'When it files an invitation under GROUP-020, the provider MUST queue a `group.invited` push naming the group and the user who invited for every device of the invited user, in the same commit, and MUST NOT queue one when the invited user has blocked that user.',
    sends:
      'carol: block.set bob; bob: group.create [alice]; alice: message.ack of group.invited; bob: group.add [carol]',
    async run({ world, target, scale }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 0 });
      const carol = await world.firstParty('carol', { optIn: true, preKeys: 0 });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      mustMatch(
        'GROUP-025',
        await carol.peer.request('block.set', { address: bob.address, blocked: true }),
        hasMembers('block.state', { blocked: true }),
      );
      const state = await createGroup(bob, [alice.address]);
      const push = await alice.peer.next(
        (f) => f.type === 'group.invited' && f.group === state.group,
        undefined,
        `a group.invited push for group ${state.group}`,
        'GROUP-025',
      );
      mustMatch(
        'GROUP-025',
        push,
        hasMembers('group.invited', {
          by: bob.address,
          origin: { platform: target.partner.domain, thirdParty: true },
        }),
      );
      mustMatch(
        'GROUP-025',
        await alice.peer.request('message.ack', { deliveryIds: [push.id] }),
        hasMembers('message.acked', { count: 1 }),
      );
      await bob.peer.request('group.add', { group: state.group, members: [carol.address] });
      must(
        'GROUP-025',
        await shouldStayQuiet(
          () => carol.peer.peek((f) => f.type === 'group.invited'),
          scale(300),
          'no invitation pushed to a user who blocked the adder',
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-022-decline-unrevealed',
    title:
      'alice declines bob’s invitation: the group still shows her as invited, at the same version, and she hears nothing more',
    requirements: ['GROUP-022', 'GROUP-023', 'GROUP-012'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST make a user who accepts an invitation with `request.respond` a member in a change of its own, and MUST keep showing a declined invitation to the other members as `invited`.',
    sends:
      'bob: group.create [alice]; alice: request.respond decline with group; bob: group.get, message.send',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(bob, [alice.address]);
      mustMatch(
        'GROUP-022',
        await alice.peer.request('request.respond', {
          from: bob.address,
          action: 'decline',
          group: state.group,
        }),
        hasMembers('request.responded', { action: 'decline' }),
      );
      const read = await bob.peer.request('group.get', { group: state.group });
      mustMatch('GROUP-022', read, hasMembers('group.state', { version: state.version }));
      must(
        'GROUP-022',
        that(
          entryOf(read, alice.address)?.state === 'invited',
          'alice still shown as invited',
          read,
        ),
      );
      await sendDistributed(world, bob, state.group, state.version);
      must(
        'GROUP-023',
        await shouldStayQuiet(
          () => peekGroupMessage(alice, state.group),
          scale(300),
          'nothing delivered after a decline',
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-021-no-addition-oracle',
    title:
      'bob adds alice, who has not opted in, and an unknown address: the two refusals are the same frame',
    requirements: ['GROUP-021', 'GROUP-010'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST answer an addition by a third-party user that the named user’s interop settings do not allow with `NOT_FOUND`, in an `error` frame identical, apart from `re`, to the one it sends for an address that does not exist.',
    sends: 'bob: group.create; group.add [nobody], group.add [alice]',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(bob);
      const nobody = `${world.name('nobody')}@${world.target.domain}`;
      const unknown = await bob.peer.request('group.add', {
        group: state.group,
        members: [nobody],
      });
      mustMatch('GROUP-021', unknown, isError('NOT_FOUND'));
      mustMatch(
        'GROUP-021',
        await bob.peer.request('group.add', { group: state.group, members: [alice.address] }),
        sameErrorApartFromRe(unknown),
      );
    },
  }),
  defineCase({
    id: 'GROUP-024-group-folders',
    title:
      'carol’s group messages are filed in the inbox for a first-party group and under third-party chats once bob (partner) is in it',
    requirements: ['GROUP-024'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST set `folder` on a group `message` to `third-party` (`inbox` with the combined inbox) when the group has a member of a partner platform, and to `inbox` otherwise.',
    sends: 'alice: group.create [carol], group.create [carol, bob]; alice → each group',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const plain = await createGroup(alice, [carol.address]);
      const mixed = await createGroup(alice, [carol.address, bob.address]);
      await sendDistributed(world, alice, plain.group, plain.version);
      await sendDistributed(world, alice, mixed.group, mixed.version);
      mustMatch(
        'GROUP-024',
        await nextGroupMessage(carol, plain.group, 'GROUP-041'),
        hasMembers('message', { folder: 'inbox' }),
      );
      mustMatch(
        'GROUP-024',
        await nextGroupMessage(carol, mixed.group, 'GROUP-041'),
        hasMembers('message', { folder: 'third-party' }),
      );
    },
  }),
];
