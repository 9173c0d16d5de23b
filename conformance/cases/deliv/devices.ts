// DELIV and AUTH cases of spec/messages.md#delivery and spec/auth.md#devices: pushes go to the
// newest connection of a device only, and a removed device leaves the key directory.
import { hasMembers, isError, isType, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { TestUser } from '../../transport/users.ts';

/** Device ids are 1..127 (AUTH-029, libsignal's range). */
const MAX_DEVICE_ID = 127;
/** Adds and removals after which a provider numbering upward would have passed 127. */
const CYCLES = 130;

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
  defineCase({
    id: 'AUTH-029-device-ids-1-to-127',
    title:
      'alice adds devices until refused (CONFLICT), then adds and removes one 130 times: every id is 1..127, none held twice',
    requirements: ['AUTH-029', 'AUTH-027', 'AUTH-028'],
    level: 'MUST',
    // up to 127 adds and removals, then 260 requests one after the other
    timeoutMs: 30_000,
    quote:
      'The provider MUST answer `device.add` with a device id from 1 to 127, reusing the id of a removed device, and MUST refuse a `device.add` with `CONFLICT` when the account has as many devices as the provider allows, which is at most 127.',
    sends:
      'alice: device.add until refused (at most 127), device.remove of each; then device.add and device.remove 130 times',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const add = (): Promise<Frame> =>
        alice.peer.request('device.add', { registrationId: world.rng.int(1, 16380) });
      const inRange = (id: unknown): boolean =>
        Number.isInteger(id) && (id as number) >= 1 && (id as number) <= MAX_DEVICE_ID;
      const held = new Set<number>([1]);
      let refused: Frame | undefined;
      for (let i = 0; i < MAX_DEVICE_ID && !refused; i++) {
        const added = await add();
        if (added.type === 'error') {
          refused = added;
          break;
        }
        mustMatch('AUTH-029', added, isType('device.added'));
        must('AUTH-029', that(inRange(added.deviceId), 'a device id from 1 to 127', added));
        must('AUTH-027', that(!held.has(added.deviceId), 'an id no current device has', added));
        held.add(added.deviceId);
      }
      // 127 devices (device 1 and 126 added) leave no free id, so the next add is refused.
      refused ??= await add();
      mustMatch('AUTH-029', refused, isError('CONFLICT'));
      for (const deviceId of [...held].filter((id) => id !== 1)) {
        const removed = await alice.peer.request('device.remove', { deviceId });
        mustMatch('AUTH-028', removed, hasMembers('device.removed', { deviceId }));
      }
      for (let i = 0; i < CYCLES; i++) {
        const added = await add();
        mustMatch('AUTH-029', added, isType('device.added'));
        must(
          'AUTH-029',
          that(inRange(added.deviceId), `a device id from 1 to 127 (add ${i + 1})`, added),
        );
        must('AUTH-027', that(added.deviceId !== 1, 'an id other than device 1', added));
        const removed = await alice.peer.request('device.remove', { deviceId: added.deviceId });
        mustMatch('AUTH-028', removed, hasMembers('device.removed', { deviceId: added.deviceId }));
      }
    },
  }),
];
