// GROUP cases of a client (spec/groups.md "Group clients", spec/crypto.md ENC-089): the suite plays
// the other members. It checks that the client's group sends carry its sender key to every member
// device, that a member's removal or departure makes the client send under a new key the departed
// member cannot read, that a non-member's group message is not shown, and that membership changes
// pushed by the provider are applied and acknowledged, that a member's message of one group is
// not shown as a message of another (by its sender key, GROUP-054, and by the group its Content
// names, GROUP-056), that the client's group Contents name their group, and that the client's own
// sender keys differ per group, that
// a refusal naming member devices
// without the sender key is repaired, and that the group's name and avatar come from members
// only, the latest stamped holding.
import { randomBytes, randomUUID } from 'node:crypto';
import { that, type Frame } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import {
  deliverGroupCiphertext,
  deliverToGroup,
  encryptForGroup,
  openGroupSend,
  peerGroup,
  sendGroupText,
  type OpenedGroupSend,
} from '../../client/group-steps.ts';
import { DriverRefusal } from '../../client/link.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';

/** Fails `requirement` unless every device of `peer` decrypted the group send. */
async function mustOpenOnEveryDevice(
  requirement: string,
  client: ClientWorld,
  peer: SuitePeer,
  send: Frame,
): Promise<OpenedGroupSend[]> {
  const opened = await openGroupSend(client, peer, send);
  for (const o of opened)
    must(
      requirement,
      that(
        o.plaintext !== undefined,
        `${peer.label}’s device ${o.deviceId} decrypts the group message`,
        o.distributionError ?? o.error ?? 'no plaintext',
      ),
    );
  return opened;
}

/** A `group` content (spec/content.md "Group context"); `avatar` a pointer to a blob nobody fetches. */
function groupContext(name: string, avatar?: Frame): Frame {
  return {
    v: 1,
    id: randomUUID(),
    sentAt: Date.now(),
    kind: 'group',
    name,
    ...(avatar ? { avatar } : {}),
  };
}

/** A schema-valid pointer to an avatar image; the case only asks which one the client keeps. */
function avatarPointer(): Frame {
  const b64 = (n: number): string => randomBytes(n).toString('base64url');
  const blobId = b64(16);
  return {
    blobId,
    downloadUrl: `https://blobs.example/parley/v1/blobs/${blobId}/${b64(32)}`,
    key: b64(32),
    noncePrefix: b64(7),
    digest: b64(32),
    size: 48_213,
    paddedSize: 49_152,
    mediaType: 'image/jpeg',
    width: 640,
    height: 640,
  };
}

/** The chain id of the sender key a group send was encrypted under. */
const chainOf = (opened: OpenedGroupSend[]): number | undefined => opened[0]?.message?.chainId;

/** Checks that the client left `gone` behind: a new key for `stays`, nothing `gone` can read. */
async function mustHaveRotated(
  client: ClientWorld,
  before: number | undefined,
  send: Frame,
  stays: SuitePeer,
  gone: SuitePeer,
): Promise<void> {
  const entries = ((send.distribution ?? []) as Frame[]).map((d) => d.to);
  must(
    'ENC-089',
    that(!entries.includes(gone.address), `no distribution for ${gone.label}`, entries),
  );
  const kept = await mustOpenOnEveryDevice('ENC-089', client, stays, send);
  must(
    'ENC-089',
    that(
      chainOf(kept) !== before && kept[0]?.distribution !== undefined,
      `a new sender key, distributed to ${stays.label} with the message`,
      { chainBefore: before, chainNow: chainOf(kept) },
    ),
  );
  const [lost] = await openGroupSend(client, gone, send);
  must(
    'ENC-089',
    that(lost?.plaintext === undefined, `${gone.label} cannot decrypt it`, 'decrypted'),
  );
}

export const clientGroupCases = [
  defineClientCase({
    id: 'GROUP-049-client-distributes-to-every-device',
    title:
      'the client’s group sends carry its sender key to every device of every member, and to a member added later',
    requirements: ['GROUP-049'],
    level: 'MUST',
    quote:
      'A client MUST carry its current sender key for a group, in the `distribution` of its group send, to every device of every member that does not hold that key yet, no later than in the first message it encrypts with that key for them.',
    sends:
      'driver: createGroup with bob (two devices) and carol, sendGroupText, addToGroup dave (two devices), sendGroupText; suite: every device decrypts',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob', { devices: 2 });
      const carol = client.peer('carol');
      const dave = client.peer('dave', { devices: 2 });
      const { group } = await client.drive('createGroup', {
        members: [bob.address, carol.address],
      });
      const first = await sendGroupText(client, group, 'hello bob and carol');
      for (const peer of [bob, carol])
        await mustOpenOnEveryDevice('GROUP-049', client, peer, first);
      await client.drive('addToGroup', { group, members: [dave.address] });
      const second = await sendGroupText(client, group, 'welcome dave');
      await mustOpenOnEveryDevice('GROUP-049', client, dave, second);
    },
  }),

  defineClientCase({
    id: 'ENC-089-client-rotates-after-removal',
    title:
      'after the client removes carol, its next group message is under a new sender key that bob gets and carol cannot read',
    requirements: ['ENC-089'],
    level: 'MUST',
    quote:
      'After a member has left a group or been removed from it, a sender MUST create a new sender key for the group, and distribute it to the remaining member devices only, before it sends the group its next message.',
    sends:
      'driver: createGroup with bob and carol, sendGroupText, removeFromGroup carol, sendGroupText; suite: bob and carol try both',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const { group } = await client.drive('createGroup', {
        members: [bob.address, carol.address],
      });
      const first = await sendGroupText(client, group, 'before');
      const before = chainOf(await mustOpenOnEveryDevice('ENC-089', client, bob, first));
      await mustOpenOnEveryDevice('ENC-089', client, carol, first);
      await client.drive('removeFromGroup', { group, members: [carol.address] });
      const after = await sendGroupText(client, group, 'after carol left');
      await mustHaveRotated(client, before, after, bob, carol);
    },
  }),

  defineClientCase({
    id: 'ENC-089-client-rotates-after-leave',
    title:
      'after carol leaves a group the client is in, the client’s next group message is under a new sender key carol cannot read',
    requirements: ['ENC-089'],
    level: 'MUST',
    quote:
      'After a member has left a group or been removed from it, a sender MUST create a new sender key for the group, and distribute it to the remaining member devices only, before it sends the group its next message.',
    sends:
      'suite: bob’s group with the client and carol; driver: sendGroupText; mock: group.changed (carol left); driver: sendGroupText',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const group = await peerGroup(client, [bob, carol]);
      const first = await sendGroupText(client, group, 'before');
      const before = chainOf(await mustOpenOnEveryDevice('ENC-089', client, bob, first));
      await mustOpenOnEveryDevice('ENC-089', client, carol, first);
      const push = client.mock.groups.change(group, carol.address, 'left', [carol.address]);
      if (push) await client.mock.ackedWithin(push, client.waitMs);
      const after = await sendGroupText(client, group, 'after carol left');
      await mustHaveRotated(client, before, after, bob, carol);
    },
  }),

  defineClientCase({
    id: 'GROUP-050-client-refuses-non-member',
    title: 'the client does not show a group message from someone who is not a member of the group',
    requirements: ['GROUP-050'],
    level: 'MUST',
    quote:
      'A client MUST discard, without showing it, a group message whose sender is not a member of the group as the client knows it.',
    sends:
      'suite: bob’s group with the client; eve, not a member, sends a group message with her sender key; then bob sends one',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const eve = client.peer('eve');
      const group = await peerGroup(client, [bob]);
      const fromEve = await deliverToGroup(client, eve, group, client.text('let me in'));
      const shown = (await client.outcome(fromEve)).received;
      must('GROUP-050', that(shown === undefined, 'eve’s group message not shown', shown));
      const content = client.text('hello from bob');
      const fromBob = await deliverToGroup(client, bob, group, content);
      const got = await client.received(fromBob.messageId);
      must(
        'GROUP-050',
        that(got?.content.id === content.id, 'a member’s group message shown', got ?? 'nothing'),
      );
    },
  }),

  defineClientCase({
    id: 'GROUP-054-client-keeps-messages-in-their-group',
    title:
      'the client does not show a message of group B under the sender key bob’s messages of group A opened under, and shows his next message of A',
    requirements: ['GROUP-054'],
    level: 'MUST',
    quote:
      'A client MUST discard, without showing it, a group message whose SenderKeyMessage names a sender key under which it has opened, from that sender device, a message of another group.',
    sends:
      'suite: bob’s groups A and B with the client; bob sends one message to each, with his sender key for it; then a message naming B in its Content under his key of A, delivered in B; then his next message of A, in A',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const groupA = await peerGroup(client, [bob]);
      const groupB = await peerGroup(client, [bob]);
      for (const [group, text] of [
        [groupA, 'hello A'],
        [groupB, 'hello B'],
      ] as const) {
        const content = client.text(text);
        const d = await deliverToGroup(client, bob, group, content);
        const got = await client.received(d.messageId);
        must(
          'GROUP-054',
          that(
            got?.content.id === content.id && got?.group === group,
            `bob’s first message of ${group} shown in it`,
            got ?? 'nothing',
          ),
        );
      }
      // Under A's key, yet naming B inside: only the key's group can tell it is not B's.
      const c = await encryptForGroup(client, bob, groupA, client.text('B, under the key of A'), {
        distribute: false,
        names: groupB,
      });
      const inB = deliverGroupCiphertext(client, bob, groupB, c);
      const shown = (await client.outcome(inB)).received;
      must(
        'GROUP-054',
        that(shown === undefined, 'a message under bob’s key of A not shown in B', shown),
      );
      const content = client.text('A again');
      const inA = await deliverToGroup(client, bob, groupA, content, { distribute: false });
      const got = await client.received(inA.messageId);
      must(
        'GROUP-054',
        that(
          got?.content.id === content.id && got?.group === groupA,
          'bob’s next message of A shown in A',
          got ?? 'nothing',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'GROUP-056-client-refuses-content-of-another-group',
    title:
      'the client does not show bob’s message whose Content names group A, delivered with his first sender key as a message of group B, and shows his next message of A',
    requirements: ['GROUP-056'],
    level: 'MUST',
    quote:
      'A client MUST put the id of the group in the `group` of the `Content` of every group message it sends, and MUST discard, without showing it, a group message whose `Content` does not name the group it was delivered for.',
    sends:
      'suite: bob’s groups A and B with the client; bob’s first message of A, with his sender key, delivered as a message of B; his next message of A, with his key, in A; a message of A whose Content names no group, in A',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const groupA = await peerGroup(client, [bob]);
      const groupB = await peerGroup(client, [bob]);
      const c = await encryptForGroup(client, bob, groupA, client.text('only for A'));
      const inB = deliverGroupCiphertext(client, bob, groupB, c);
      const shown = (await client.outcome(inB)).received;
      must(
        'GROUP-056',
        that(shown === undefined, 'bob’s message of A, delivered as one of B, not shown', shown),
      );
      const content = client.text('A again');
      const inA = await deliverToGroup(client, bob, groupA, content);
      const got = await client.received(inA.messageId);
      must(
        'GROUP-056',
        that(
          got?.content.id === content.id && got?.group === groupA,
          'bob’s next message of A shown in A',
          got ?? 'nothing',
        ),
      );
      const unnamed = await deliverToGroup(client, bob, groupA, client.text('no group named'), {
        distribute: false,
        names: null,
      });
      const noName = (await client.outcome(unnamed)).received;
      must(
        'GROUP-056',
        that(noName === undefined, 'bob’s message of A naming no group not shown', noName),
      );
    },
  }),

  defineClientCase({
    id: 'GROUP-056-client-names-the-group',
    title: 'the client’s group messages name their group in their Content',
    requirements: ['GROUP-056'],
    level: 'MUST',
    quote:
      'A client MUST put the id of the group in the `group` of the `Content` of every group message it sends, and MUST discard, without showing it, a group message whose `Content` does not name the group it was delivered for.',
    sends:
      'driver: createGroup with bob, sendGroupText, createGroup with bob, sendGroupText; suite: bob decrypts each and reads its Content’s group',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      for (const text of ['to the first group', 'to the second group']) {
        const { group } = await client.drive('createGroup', { members: [bob.address] });
        const send = await sendGroupText(client, group, text);
        const [opened] = await mustOpenOnEveryDevice('GROUP-056', client, bob, send);
        const content = opened?.plaintext ? client.contentOf(opened.plaintext) : undefined;
        must(
          'GROUP-056',
          that(
            content?.group === group,
            `the Content of the message to ${group} names it`,
            content ?? 'no Content',
          ),
        );
      }
    },
  }),

  defineClientCase({
    id: 'GROUP-055-client-distribution-id-per-group',
    title:
      'the client’s messages to two groups it created are under sender keys of two distribution ids',
    requirements: ['GROUP-055'],
    level: 'MUST',
    quote:
      'A client MUST encrypt its messages to each group under a sender key whose distribution id it uses for no other group.',
    sends:
      'driver: createGroup with bob, createGroup with bob, sendGroupText to each; suite: reads the distribution id of each SenderKeyMessage',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const ids: (string | undefined)[] = [];
      for (const text of ['to the first group', 'to the second group']) {
        const { group } = await client.drive('createGroup', { members: [bob.address] });
        const send = await sendGroupText(client, group, text);
        const [opened] = await mustOpenOnEveryDevice('GROUP-055', client, bob, send);
        ids.push(opened?.message?.distributionId);
      }
      must(
        'GROUP-055',
        that(ids[0] !== undefined && ids[0] !== ids[1], 'a distribution id for each group', ids),
      );
    },
  }),

  defineClientCase({
    id: 'GROUP-051-client-applies-group-changes',
    title:
      'the client acknowledges a group.changed push and sends its sender key to the member it added',
    requirements: ['GROUP-051'],
    level: 'MUST',
    quote:
      'A client MUST apply every `group.changed` push to the membership it keeps and acknowledge it with `message.ack`.',
    sends:
      'suite: bob’s group with the client; mock: group.changed (bob added carol); driver: sendGroupText; suite: carol decrypts',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const group = await peerGroup(client, [bob]);
      const push = client.mock.groups.change(group, bob.address, 'added', [carol.address]);
      must(
        'GROUP-051',
        that(
          push !== undefined && (await client.mock.ackedWithin(push, client.waitMs)),
          'the group.changed push acknowledged',
          'no message.ack for it',
        ),
      );
      const send = await sendGroupText(client, group, 'hello carol');
      await mustOpenOnEveryDevice('GROUP-051', client, carol, send);
    },
  }),

  defineClientCase({
    id: 'GROUP-053-client-reaches-named-devices',
    title:
      'when the provider refuses a group send naming bob’s second device as without the sender key, the client sends again with its key for both of bob’s devices',
    requirements: ['GROUP-053'],
    level: 'SHOULD',
    quote:
      'On a `DEVICE_MISMATCH` refusal of its group send with pointer `/distribution`, a client SHOULD build sessions with the devices `details.members` names that it has none with, and send again with its sender key in the `distribution` for every device of those members.',
    sends:
      'driver: createGroup with bob (two devices), sendGroupText, sendGroupText; mock: accepts the first send, refuses the second with DEVICE_MISMATCH /distribution {members: [bob, [2]]}, accepts the next; suite: bob’s second device decrypts it',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob', { devices: 2 });
      const { group } = await client.drive('createGroup', { members: [bob.address] });
      let groupSends = 0;
      client.mock.handle('message.send', () => {
        groupSends += 1;
        if (groupSends === 2)
          return {
            type: 'error',
            code: 'DEVICE_MISMATCH',
            message: 'the sender key of this device has not reached every device of bob',
            pointer: '/distribution',
            details: {
              missing: [],
              extra: [],
              stale: [],
              members: [{ address: bob.address, missing: [2] }],
            },
          };
        return {
          type: 'message.accepted',
          messageId: `m_${randomUUID()}`,
          serverTimestamp: Date.now(),
          duplicate: false,
        };
      });
      // bob's second device never opens the first send: it is the device that lost the key.
      await sendGroupText(client, group, 'one');
      const outcome = await client.drive('sendGroupText', { group, text: 'two' }).then(
        () => 'sent',
        (e: unknown) => {
          if (e instanceof DriverRefusal) return 'refused';
          throw e;
        },
      );
      const sends = client.mock.received.filter(
        (f) => f.type === 'message.send' && f.group === group,
      );
      must(
        'GROUP-053',
        that(
          outcome === 'sent' && sends.length >= 3,
          'the refused send sent again and accepted',
          `${outcome} after ${sends.length} group message.send`,
        ),
      );
      const again = sends[2]!;
      const entry = ((again.distribution ?? []) as Frame[]).find((d) => d.to === bob.address);
      const devices = ((entry?.messages ?? []) as Frame[]).map((m) => m.deviceId as number);
      must(
        'GROUP-053',
        that(
          devices.sort().join() === '1,2',
          'a distribution entry for bob’s devices 1 and 2',
          again.distribution ?? 'no distribution',
        ),
      );
      const opened = await openGroupSend(client, bob, again);
      const second = opened.find((o) => o.deviceId === 2);
      must(
        'GROUP-053',
        that(
          second?.plaintext !== undefined,
          'bob’s device 2 decrypts the group message',
          second?.distributionError ?? second?.error ?? 'no plaintext',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'GROUP-060-client-group-name-from-members',
    title:
      'the client names the group as bob, a member, named it; not as eve, who is not a member, nor as carol in an older message it received later',
    requirements: ['GROUP-060'],
    level: 'MUST',
    quote:
      'A client MUST take a group’s name and avatar only from a `group` content in a group message of that group whose sender is a member of the group as the client knows it, and MUST keep, of those, the one whose `message` has the latest `serverTimestamp`.',
    sends:
      'suite: bob’s group with the client and carol; bob: group content (name, avatar); eve (no member): group content; carol: group content stamped before bob’s; bob: group content without avatar; driver: groupInfo after each',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const eve = client.peer('eve');
      const group = await peerGroup(client, [bob, carol]);
      const shows = async (): Promise<Frame> => client.drive('groupInfo', { group });
      const avatar = avatarPointer();
      const named = await deliverToGroup(client, bob, group, groupContext('Book club', avatar));
      await client.received(named.messageId);
      const stamp = named.frame.serverTimestamp as number;
      const first = await shows();
      must(
        'GROUP-060',
        that(
          first.name === 'Book club' && first.avatarDigest === avatar.digest,
          'the name and avatar bob set',
          first,
        ),
      );
      const fromEve = await deliverToGroup(client, eve, group, groupContext('Eve’s den'));
      await client.outcome(fromEve);
      const afterEve = await shows();
      must(
        'GROUP-060',
        that(afterEve.name === 'Book club', 'still bob’s name after eve’s group content', afterEve),
      );
      const older = await deliverToGroup(client, carol, group, groupContext('Old name'), {
        serverTimestamp: stamp - 60_000,
      });
      await client.received(older.messageId);
      const afterOlder = await shows();
      must(
        'GROUP-060',
        that(
          afterOlder.name === 'Book club' && afterOlder.avatarDigest === avatar.digest,
          'still bob’s name and avatar after carol’s group content stamped a minute before his',
          afterOlder,
        ),
      );
      const renamed = await deliverToGroup(client, bob, group, groupContext('Book club 2'), {
        serverTimestamp: stamp + 1,
      });
      await client.received(renamed.messageId);
      const last = await shows();
      must(
        'GROUP-060',
        that(
          last.name === 'Book club 2' && last.avatarDigest === null,
          'bob’s later name, and no avatar since his later group content has none',
          last,
        ),
      );
    },
  }),
];
