// DELIV and AUTH cases of spec/messages.md#delivery and spec/auth.md#devices: pushes go to the
// newest connection of a device only, and a removed device leaves the key directory.
import { hasMembers, isError, isType, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { b64, TestUser } from '../../transport/users.ts';

/** Device ids are 1..127 (AUTH-032, libsignal's range). */
const MAX_DEVICE_ID = 127;

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
      const phoneKey = IdentityKeyPair.generate();
      const added = await alice.peer.request('device.add', {
        registrationId,
        deviceKey: b64(phoneKey.publicKey),
      });
      mustMatch('AUTH-027', added, isType('device.added'));
      const phone = new TestUser(
        'phone',
        alice.address,
        added.deviceId,
        registrationId,
        world.env,
        alice.identity,
        phoneKey,
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
    id: 'AUTH-032-lowest-free-device-id',
    title:
      'alice adds devices until refused (CONFLICT), each under the lowest free id; after removing two, the next adds get those ids back, lowest first',
    requirements: ['AUTH-032', 'AUTH-027', 'AUTH-028'],
    level: 'MUST',
    quote:
      'The provider MUST answer `device.add` with the lowest device id from 1 to 127 that no current device of the account has, and MUST refuse a `device.add` with `CONFLICT` when the account has as many devices as the provider allows, which is at most 127.',
    sends:
      'alice: device.add until refused (at most 127), waiting out RATE_LIMITED; device.remove of her second and third devices; device.add twice',
    // up to 127 adds; a provider limiting writes per account (PROTO-050) makes the case wait
    timeoutMs: 60_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      /** A write of alice, repeated after retryAfterMs while the provider answers RATE_LIMITED. */
      const write = async (type: string, body: Frame): Promise<Frame> => {
        for (;;) {
          const reply = await alice.peer.request(type, body);
          if (reply.type !== 'error' || reply.code !== 'RATE_LIMITED') return reply;
          await new Promise((r) =>
            setTimeout(r, Math.max(0, Number(reply.retryAfterMs) || 0) + 10),
          );
        }
      };
      const add = (): Promise<Frame> =>
        write('device.add', {
          registrationId: world.rng.int(1, 16380),
          deviceKey: b64(IdentityKeyPair.generate().publicKey),
        });
      const held = new Set<number>([1]);
      const lowestFree = (): number => {
        let id = 1;
        while (held.has(id)) id += 1;
        return id;
      };
      let refused: Frame | undefined;
      for (let i = 0; i < MAX_DEVICE_ID && !refused; i++) {
        const added = await add();
        if (added.type === 'error') refused = added;
        else {
          mustMatch('AUTH-032', added, hasMembers('device.added', { deviceId: lowestFree() }));
          held.add(added.deviceId);
        }
      }
      refused ??= await add(); // 127 devices leave no id free
      mustMatch('AUTH-032', refused, isError('CONFLICT'));
      const removable = [...held].filter((id) => id !== 1).slice(0, 2);
      if (removable.length < 2)
        throw new SkipCase(`the provider allows ${held.size} devices, too few to remove two`);
      for (const deviceId of removable.reverse()) {
        const removed = await write('device.remove', { deviceId });
        mustMatch('AUTH-028', removed, hasMembers('device.removed', { deviceId }));
        held.delete(deviceId);
      }
      for (let i = 0; i < 2; i++) {
        const expected = lowestFree();
        mustMatch('AUTH-032', await add(), hasMembers('device.added', { deviceId: expected }));
        held.add(expected);
      }
    },
  }),
];
