// GROUP cases of spec/groups.md#group-messages: one sender-key body fanned out to every device of
// every member, distribution ciphertexts to their devices only, nothing to removed members,
// refusals of non-members, stale versions and bodies that are not SenderKeyMessages.
import { hasMembers, isError, isType, sameJson, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldStayQuiet } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import {
  createGroup,
  nextGroupChange,
  nextGroupMessage,
  peekGroupMessage,
  distributionFor,
  secondDevice,
  sendDistributed,
  senderKeyBody,
  sendToGroup,
} from '../../transport/groups.ts';

/** Three or four test users, each registered and authenticated: slow on a loaded target. */
const CASE_TIMEOUT_MS = 10_000;

export const groupMessageCases = [
  defineCase({
    id: 'GROUP-041-fan-out',
    title:
      'alice’s group message reaches both of carol’s devices and bob’s, byte for byte, not alice’s own device, with carol’s distribution ciphertexts on carol’s devices only',
    requirements: ['GROUP-041', 'GROUP-040', 'GROUP-046'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST deliver an accepted group message to every device of every member at the time of acceptance, except the sending device, as a `message` with `ciphertextType` `senderkey`, `group`, and `body` byte for byte as sent.',
    sends:
      'carol adds a device; alice: group.create [carol, bob], keys.claim each member, message.send to the group with a distribution for carol’s two devices and bob’s',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol');
      const phone = await secondDevice(world, carol);
      await phone.publish(2);
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address, bob.address]);
      const distribution = await distributionFor(alice, state.group);
      const sessions = alice.known.get(carol.address) ?? [];
      must(
        'GROUP-046',
        that(sessions.length === 2, 'a bundle for each of carol’s two devices', sessions),
      );
      const body = senderKeyBody(world.rng);
      const reply = await alice.peer.request('message.send', {
        group: state.group,
        groupVersion: state.version,
        idempotencyKey: `k.${world.rng.word(12)}`,
        body,
        distribution,
      });
      mustMatch('GROUP-040', reply, hasMembers('message.accepted', { duplicate: false }));
      for (const device of [carol, phone, bob]) {
        const got = await nextGroupMessage(device, state.group, 'GROUP-041');
        mustMatch(
          'GROUP-041',
          got,
          hasMembers('message', {
            messageId: reply.messageId,
            from: alice.address,
            ciphertextType: 'senderkey',
            body,
          }),
        );
        const mine = distribution
          .find((d) => d.to === device.address)
          ?.messages.find((m: Frame) => m.deviceId === device.deviceId);
        const expected = mine && { ciphertextType: mine.type, body: mine.body };
        must(
          'GROUP-046',
          that(
            sameJson(got.distribution, expected),
            `distribution ${JSON.stringify(expected) ?? 'absent'} on ${device.label}`,
            got,
          ),
        );
      }
      must(
        'GROUP-041',
        await shouldStayQuiet(
          () => peekGroupMessage(alice, state.group),
          scale(200),
          'no copy for the sending device',
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-043-nothing-after-removal',
    title:
      'after alice removes bob, he hears of the removal, gets nothing she sends later, and his own send is refused',
    requirements: ['GROUP-043', 'GROUP-042', 'GROUP-013'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST NOT deliver to a removed member any group message accepted after the removal committed.',
    sends: 'alice: group.create [carol, bob], group.remove bob, message.send; bob: message.send',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address, bob.address]);
      const removed = await alice.peer.request('group.remove', {
        group: state.group,
        members: [bob.address],
      });
      mustMatch('GROUP-043', removed, isType('group.state'));
      await nextGroupChange(bob, state.group, removed.version, 'GROUP-013');
      mustMatch(
        'GROUP-040',
        await sendDistributed(world, alice, state.group, removed.version),
        isType('message.accepted'),
      );
      await nextGroupMessage(carol, state.group, 'GROUP-041');
      must(
        'GROUP-043',
        await shouldStayQuiet(
          () => peekGroupMessage(bob, state.group),
          scale(300),
          'nothing for bob after his removal',
        ),
      );
      mustMatch(
        'GROUP-042',
        await sendToGroup(world, bob, state.group, removed.version),
        isError('NOT_FOUND'),
      );
    },
  }),
  defineCase({
    id: 'GROUP-044-stale-version',
    title:
      'a send for the version before alice added dave is refused with GROUP_VERSION_STALE; a retry of a send stored earlier is still its duplicate',
    requirements: ['GROUP-044', 'GROUP-040'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse a group `message.send` whose `groupVersion` is not the group’s current version with `GROUP_VERSION_STALE`.',
    sends:
      'alice: group.create [carol], message.send v1, group.add dave, the same send again, a new send at v1',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const dave = await world.firstParty('dave', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address]);
      const frame = {
        group: state.group,
        groupVersion: state.version,
        idempotencyKey: `k.${world.rng.word(12)}`,
        body: senderKeyBody(world.rng),
        distribution: await distributionFor(alice, state.group),
      };
      const first = await alice.peer.request('message.send', frame);
      mustMatch('GROUP-040', first, isType('message.accepted'));
      await alice.peer.request('group.add', { group: state.group, members: [dave.address] });
      mustMatch(
        'GROUP-040',
        await alice.peer.request('message.send', frame),
        hasMembers('message.accepted', { messageId: first.messageId, duplicate: true }),
      );
      mustMatch(
        'GROUP-044',
        await alice.peer.request('message.send', {
          ...frame,
          idempotencyKey: `k.${world.rng.word(12)}`,
        }),
        isError('GROUP_VERSION_STALE'),
      );
    },
  }),
  defineCase({
    id: 'GROUP-045-sender-key-shape',
    title:
      'a group body that is a SignalMessage, or a truncated SenderKeyMessage, is refused with NOT_SIGNAL_CIPHERTEXT and reaches nobody',
    requirements: ['GROUP-045'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse a group `message.send` whose `body` does not parse as a `SenderKeyMessage` of version 3 (version byte, protobuf fields 1 to 4, 64-byte signature) with `NOT_SIGNAL_CIPHERTEXT`.',
    sends:
      'alice: group.create [carol]; message.send with a 0x44 body, then with a SenderKeyMessage cut short',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 1 });
      const state = await createGroup(alice, [carol.address]);
      const signal = Buffer.from([
        0x44,
        ...Array.from({ length: 120 }, () => world.rng.int(0, 255)),
      ]);
      for (const body of [signal.toString('base64url'), senderKeyBody(world.rng).slice(0, 60)])
        mustMatch(
          'GROUP-045',
          await sendToGroup(world, alice, state.group, state.version, { body }),
          isError('NOT_SIGNAL_CIPHERTEXT'),
        );
      must(
        'GROUP-045',
        await shouldStayQuiet(
          () => peekGroupMessage(carol, state.group),
          scale(200),
          'no delivery of a refused body',
        ),
      );
    },
  }),
  defineCase({
    id: 'GROUP-046-distribution-checks',
    title:
      'a distribution entry for dave, not a member, is refused with NOT_FOUND, and one that misses carol’s second device with DEVICE_MISMATCH',
    requirements: ['GROUP-046'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST refuse a `distribution` entry that names a non-member with `NOT_FOUND` and one that does not address exactly the member’s current devices with `DEVICE_MISMATCH`, and MUST deliver each distribution ciphertext only with the group message to the device it addresses.',
    sends:
      'alice: group.create [carol]; message.send with distribution to dave, then to carol’s device 1 only',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol');
      await secondDevice(world, carol);
      const dave = await world.firstParty('dave');
      const state = await createGroup(alice, [carol.address]);
      await alice.startSessions(dave.address);
      const toDave = await alice.encryptFor(dave.address, new Uint8Array(Buffer.from('x')));
      mustMatch(
        'GROUP-046',
        await sendToGroup(world, alice, state.group, state.version, {
          distribution: [{ to: dave.address, messages: toDave }],
        }),
        isError('NOT_FOUND', '/distribution/0/to'),
      );
      await alice.startSessions(carol.address);
      const toCarol = await alice.encryptFor(carol.address, new Uint8Array(Buffer.from('y')));
      mustMatch(
        'GROUP-046',
        await sendToGroup(world, alice, state.group, state.version, {
          distribution: [{ to: carol.address, messages: toCarol.filter((m) => m.deviceId === 1) }],
        }),
        isError('DEVICE_MISMATCH'),
      );
    },
  }),
  defineCase({
    id: 'GROUP-047-co-member-claims',
    title:
      'bob (partner) claims the keys of dan, another partner user, once alice put both in a group',
    requirements: ['GROUP-047'],
    level: 'MUST',
    capabilities: ['groups'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST answer a `keys.claim` by a group member for another member who is a partner platform’s user with that member’s bundles, whatever the platforms of the two.',
    sends: 'alice: group.create [bob, dan]; bob: keys.claim dan',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const dan = await world.thirdParty('dan');
      await createGroup(alice, [bob.address, dan.address]);
      mustMatch(
        'GROUP-047',
        await bob.peer.request('keys.claim', { address: dan.address }),
        isType('keys.bundle'),
      );
    },
  }),
  defineCase({
    id: 'GROUP-048-consent-in-groups',
    title:
      'once alice opts out of interop, bob’s group messages reach carol (opted in) and not her',
    requirements: ['GROUP-048', 'GROUP-041'],
    level: 'MUST',
    capabilities: ['groups', 'consent'],
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'The provider MUST NOT deliver a group message from a third-party sender to a first-party member whose interop settings do not allow the sender’s platform.',
    sends: 'carol: group.create [alice, bob]; alice: consent.set enabled false; bob → group',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { optIn: true, preKeys: 1 });
      const carol = await world.firstParty('carol', { optIn: true, preKeys: 1 });
      const bob = await world.thirdParty('bob', { preKeys: 1 });
      const state = await createGroup(carol, [alice.address, bob.address]);
      await alice.peer.request('consent.set', {
        interop: { enabled: false, platforms: 'all', inbox: 'separate' },
      });
      mustMatch(
        'GROUP-040',
        await sendDistributed(world, bob, state.group, state.version),
        isType('message.accepted'),
      );
      await nextGroupMessage(carol, state.group, 'GROUP-041');
      must(
        'GROUP-048',
        await shouldStayQuiet(
          () => peekGroupMessage(alice, state.group),
          scale(300),
          'nothing from bob for alice after she opted out',
        ),
      );
    },
  }),
];
