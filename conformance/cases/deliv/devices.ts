// DELIV and AUTH cases of spec/messages.md#delivery and spec/auth.md#devices: pushes go to the
// newest connection of a device only, and a removed device leaves the key directory.
import { hasMembers, isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { TestUser } from '../../transport/users.ts';

export const deviceCases = [
  defineCase({
    id: 'DELIV-021-newest-connection-only',
    title: "after alice's device authenticates on a second connection, messages arrive there only",
    requirements: ['DELIV-021', 'DELIV-018'],
    level: 'MUST',
    quote:
      "When a device authenticates on a new connection, the provider MUST push that device's messages on the new connection only.",
    sends: 'alice authenticates device 1 on connection A, then on connection B; carol → alice',
    async run({ world, scale }) {
      const alice = await world.firstParty('alice');
      const old = alice.peer;
      await alice.connect();
      mustMatch('DELIV-021', await alice.authDevice(), isType('auth.ok'));
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.sendText(alice.address, 'where?');
      mustMatch('DELIV-018', await alice.nextMessage(), isType('message'));
      await new Promise((r) => setTimeout(r, scale(100)));
      const stray = old.peek((f) => f.type === 'message');
      must('DELIV-021', that(stray === undefined, 'nothing pushed on the older connection', stray));
    },
  }),
  defineCase({
    id: 'AUTH-028-device-removed',
    title: 'a removed device disappears from key claims and can no longer authenticate',
    requirements: ['AUTH-028', 'AUTH-027', 'KEYS-011', 'AUTH-007'],
    level: 'MUST',
    quote:
      'When a device is removed, the provider MUST delete its prekeys and every message queued for it.',
    sends:
      'alice: device.add, device 2 publishes; alice: device.remove 2; carol: keys.claim alice; device 2: auth',
    async run({ world }) {
      const alice = await world.firstParty('alice');
      const registrationId = world.rng.int(1, 16380);
      const added = await alice.peer.request('device.add', { registrationId });
      mustMatch('AUTH-027', added, isType('device.added'));
      const phone = new TestUser(
        'phone',
        alice.address,
        added.deviceId,
        registrationId,
        world.env,
        alice.identity,
      );
      await phone.connect();
      await phone.authDevice();
      await phone.peer.next((f) => f.type === 'queue.empty');
      await phone.publish(2);
      phone.peer.close();
      const removed = await alice.peer.request('device.remove', { deviceId: added.deviceId });
      mustMatch('AUTH-028', removed, hasMembers('device.removed', { deviceId: added.deviceId }));
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const bundle = await carol.peer.request('keys.claim', { address: alice.address });
      const ids = (bundle.devices ?? []).map((d: { deviceId: number }) => d.deviceId);
      must(
        'AUTH-028',
        that(ids.length === 1 && ids[0] === 1, 'only device 1 in the bundle', bundle),
      );
      await phone.connect();
      mustMatch('AUTH-007', await phone.authDevice(), isError('AUTH_FAILED'));
    },
  }),
];
