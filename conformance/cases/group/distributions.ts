// GROUP cases of spec/groups.md#group-messages on where a sender key has been: a group send is
// refused while a member device, the sender's own other devices included, has had no distribution
// from the sending device (a new device, a member removed and added again), and accepted once the
// send carries one, which the new device then receives.
import { hasMembers, isError, isType, sameJson, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import {
  createGroup,
  distributionFor,
  nextGroupMessage,
  secondDevice,
  sendDistributed,
  sendToGroup,
} from '../../transport/groups.ts';

/** Four users and two added devices, each registered and authenticated: slow on a loaded target. */
const CASE_TIMEOUT_MS = 15_000;

/** `details.members` of a refusal, sorted by address: the requirement fixes no member order. */
const membersOf = (f: Frame): unknown =>
  Array.isArray(f?.details?.members)
    ? [...(f.details.members as Frame[])].sort((a, b) =>
        String(a.address).localeCompare(String(b.address)),
      )
    : f?.details?.members;

/** The refusal GROUP-052 asks for, naming exactly `members` (`[address, device ids]`). */
function refusalNaming(refusal: Frame, members: [string, number[]][]): ReturnType<typeof that> {
  const expected = members
    .map(([address, missing]) => ({ address, missing }))
    .sort((a, b) => a.address.localeCompare(b.address));
  const lists = ['missing', 'extra', 'stale'].every((k) => sameJson(refusal.details?.[k], []));
  return that(
    lists && sameJson(membersOf(refusal), expected),
    `details with empty missing, extra and stale and members ${JSON.stringify(expected)}`,
    refusal.details,
  );
}

export const groupDistributionCases = [
  defineCase({
    id: 'GROUP-052-new-devices-get-the-key',
    title:
      'after carol and alice each add a device, alice’s group send without a distribution is refused naming both new devices; with one it is accepted and carol’s new device gets it',
    requirements: ['GROUP-052', 'GROUP-040', 'GROUP-041'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse with `DEVICE_MISMATCH` a group `message.send` unless every device the message is for has had a distribution from the sending device or is addressed in its `distribution`; for members without a `distribution` entry, the refusal has pointer `/distribution` and lists in `details.members` each such member with the ids of those devices, in ascending order.',
    sends:
      'alice: group.create [carol, bob], message.send with a distribution to every member, message.send without; carol and alice: device.add; alice: message.send without a distribution, then with one for carol and alice’s new devices',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address, bob.address]);
      mustMatch(
        'GROUP-040',
        await sendDistributed(world, alice, state.group, state.version),
        isType('message.accepted'),
      );
      await nextGroupMessage(carol, state.group, 'GROUP-041');
      mustMatch(
        'GROUP-052',
        await sendToGroup(world, alice, state.group, state.version),
        isType('message.accepted'),
        'every member device had alice’s distribution with her first send',
      );
      await nextGroupMessage(carol, state.group, 'GROUP-041');
      const phone = await secondDevice(world, carol);
      const tablet = await secondDevice(world, alice);
      await phone.publish(1);
      await tablet.publish(1);
      const refusal = mustMatch(
        'GROUP-052',
        await sendToGroup(world, alice, state.group, state.version),
        isError('DEVICE_MISMATCH', '/distribution'),
      );
      must(
        'GROUP-052',
        refusalNaming(refusal, [
          [alice.address, [tablet.deviceId]],
          [carol.address, [phone.deviceId]],
        ]),
      );
      const distribution = await distributionFor(alice, state.group, [
        alice.address,
        carol.address,
      ]);
      const reply = mustMatch(
        'GROUP-040',
        await sendToGroup(world, alice, state.group, state.version, { distribution }),
        isType('message.accepted'),
      );
      const toPhone = distribution
        .find((d) => d.to === carol.address)
        ?.messages.find((m: Frame) => m.deviceId === phone.deviceId);
      mustMatch(
        'GROUP-041',
        await nextGroupMessage(phone, state.group, 'GROUP-041'),
        hasMembers('message', {
          messageId: reply.messageId,
          distribution: { ciphertextType: toPhone?.type, body: toPhone?.body },
        }),
      );
      await nextGroupMessage(tablet, state.group, 'GROUP-041');
    },
  }),
  defineCase({
    id: 'GROUP-052-readded-member-gets-the-key-again',
    title:
      'after alice removes bob and adds him again, her send without a distribution is refused naming bob’s device, though her key reached it before his removal',
    requirements: ['GROUP-052'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse with `DEVICE_MISMATCH` a group `message.send` unless every device the message is for has had a distribution from the sending device or is addressed in its `distribution`; for members without a `distribution` entry, the refusal has pointer `/distribution` and lists in `details.members` each such member with the ids of those devices, in ascending order.',
    sends:
      'alice: group.create [carol, bob], message.send with a distribution to every member, group.remove bob, group.add bob, message.send without a distribution',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address, bob.address]);
      mustMatch(
        'GROUP-040',
        await sendDistributed(world, alice, state.group, state.version),
        isType('message.accepted'),
      );
      await alice.peer.request('group.remove', { group: state.group, members: [bob.address] });
      const back = await alice.peer.request('group.add', {
        group: state.group,
        members: [bob.address],
      });
      mustMatch('GROUP-052', back, isType('group.state'));
      const refusal = mustMatch(
        'GROUP-052',
        await sendToGroup(world, alice, state.group, back.version),
        isError('DEVICE_MISMATCH', '/distribution'),
      );
      must('GROUP-052', refusalNaming(refusal, [[bob.address, [bob.deviceId]]]));
    },
  }),
];
