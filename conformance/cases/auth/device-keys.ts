// AUTH-033..036 of spec/auth.md#device-keys (MUST): each first-party device signs in with a device
// key of its own, never with the identity key that every device of the account holds; a removed
// device loses its connections at once and never signs in again, whichever device later gets its
// id (issue 15, finding 3).
import { hasMembers, isError, isType, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import type { World } from '../../transport/world.ts';
import { b64, TestUser } from '../../transport/users.ts';

/** The close code that ends the connections of a removed device (AUTH-035). */
const DEVICE_REMOVED_CLOSE = 4410;

/** A write of `user`, repeated after retryAfterMs while the provider answers RATE_LIMITED (PROTO-050). */
async function write(user: TestUser, type: string, body: Frame): Promise<Frame> {
  for (;;) {
    const reply = await user.peer.request(type, body);
    if (reply.type !== 'error' || reply.code !== 'RATE_LIMITED') return reply;
    await new Promise((r) => setTimeout(r, Math.max(0, Number(reply.retryAfterMs) || 0) + 10));
  }
}

/**
 * `owner` adds a sibling device whose device key is `key` (fresh by default): the reply, and the
 * new device as a test user (not connected) when it was added.
 */
async function addDevice(
  world: World,
  owner: TestUser,
  label: string,
  key: IdentityKeyPair = IdentityKeyPair.generate(),
): Promise<{ reply: Frame; device: TestUser }> {
  const registrationId = world.rng.int(1, 16380);
  const reply = await write(owner, 'device.add', { registrationId, deviceKey: b64(key.publicKey) });
  const deviceId = reply.type === 'device.added' ? (reply.deviceId as number) : 0;
  const device = new TestUser(
    label,
    owner.address,
    deviceId,
    registrationId,
    world.env,
    owner.identity,
    key,
  );
  return { reply, device };
}

/** `device` on a new connection signs in as `deviceId` of its account with `key`; the reply. */
async function signIn(device: TestUser, deviceId: number, key: IdentityKeyPair): Promise<Frame> {
  await device.connect();
  const signer = new TestUser(
    device.label,
    device.address,
    deviceId,
    device.registrationId,
    device.env,
    device.identity,
    key,
  );
  signer.welcome = device.welcome;
  return device.peer.request('auth', {
    method: 'device',
    address: device.address,
    deviceId,
    signature: signer.proof(),
  });
}

export const deviceKeyCases = [
  defineCase({
    id: 'AUTH-033-identity-key-signs-in-as-no-device',
    title:
      "alice's identity key, which every device of hers holds, signs in as none of her devices; her device key does",
    requirements: ['AUTH-033', 'AUTH-007'],
    level: 'MUST',
    quote:
      "The provider MUST store the `deviceKey` that `account.register` or `device.add` carries as the key of the device it creates, and MUST accept `auth` with method `device` only with a `signature` that verifies under the device key of the device named by `deviceId`, never under the account's identity key.",
    sends:
      'alice registers with a device key apart from her identity key; a new connection: auth as device 1 signed by her identity key; another: auth as device 1 signed by her device key',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const byIdentity = await signIn(alice, 1, alice.identity);
      mustMatch('AUTH-033', byIdentity, isError('AUTH_FAILED'), 'auth signed by the identity key');
      mustMatch(
        'AUTH-033',
        await signIn(alice, 1, alice.authKey),
        isType('auth.ok'),
        'auth signed by the device key',
      );
    },
  }),
  defineCase({
    id: 'AUTH-034-device-key-reuse-refused',
    title:
      "device.add is refused with CONFLICT for alice's identity key, a current device's key and a removed device's key",
    requirements: ['AUTH-034', 'AUTH-028'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with `CONFLICT` an `account.register` or `device.add` whose `deviceKey` is the account's identity key, the device key of a current device of the account, or the device key of a device removed from it.",
    sends:
      'mallory: account.register with deviceKey = identityKey; alice: device.add (key K), device.add with K, device.add with her identity key, device.remove, device.add with K again',
    async run({ world, target }) {
      const mallory = world.device('mallory');
      await mallory.connect();
      const own = await mallory.peer.request('account.register', {
        registrationToken: target.registrationToken,
        name: mallory.address.split('@')[0],
        identityKey: mallory.identityKey,
        registrationId: mallory.registrationId,
        deviceKey: mallory.identityKey,
      });
      mustMatch(
        'AUTH-034',
        own,
        isError('CONFLICT'),
        'account.register with deviceKey = identityKey',
      );
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const key = IdentityKeyPair.generate();
      const phone = await addDevice(world, alice, 'phone', key);
      mustMatch('AUTH-034', phone.reply, isType('device.added'), 'device.add with a fresh key');
      mustMatch(
        'AUTH-034',
        (await addDevice(world, alice, 'twin', key)).reply,
        isError('CONFLICT'),
        "device.add with the phone's key",
      );
      mustMatch(
        'AUTH-034',
        (await addDevice(world, alice, 'copy', alice.identity)).reply,
        isError('CONFLICT'),
        "device.add with alice's identity key",
      );
      const removed = await write(alice, 'device.remove', { deviceId: phone.device.deviceId });
      mustMatch('AUTH-028', removed, isType('device.removed'));
      mustMatch(
        'AUTH-034',
        (await addDevice(world, alice, 'back', key)).reply,
        isError('CONFLICT'),
        "device.add with the removed phone's key",
      );
    },
  }),
  defineCase({
    id: 'AUTH-035-removed-device-connections-closed',
    title:
      "removing alice's phone closes both of its open connections with DEVICE_REMOVED and 4410; a device that removes itself hears device.removed first",
    requirements: ['AUTH-035'],
    level: 'MUST',
    quote:
      'When a device is removed, the provider MUST send an `error` frame carrying `DEVICE_REMOVED` on every open connection authenticated as that device and close each with close code 4410 at once (after the `device.removed` reply when the device removed itself).',
    sends:
      'alice: device.add (phone), device.add (tablet); the phone authenticates on two connections; alice: device.remove of the phone; the tablet: device.remove of itself',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const { device: phone } = await addDevice(world, alice, 'phone');
      // The tablet is added now, under an id no removed device had.
      const { device: tablet } = await addDevice(world, alice, 'tablet');
      const connections = [];
      for (let i = 0; i < 2; i += 1) {
        await phone.connect();
        mustMatch('AUTH-035', await phone.authDevice(), isType('auth.ok'), 'the phone signs in');
        connections.push(phone.peer);
      }
      const removed = await write(alice, 'device.remove', { deviceId: phone.deviceId });
      mustMatch('AUTH-035', removed, hasMembers('device.removed', { deviceId: phone.deviceId }));
      for (const [i, peer] of connections.entries()) {
        const error = await peer.next(
          (f) => f.type === 'error',
          undefined,
          'an error frame',
          'AUTH-035',
        );
        mustMatch(
          'AUTH-035',
          error,
          isError('DEVICE_REMOVED'),
          `the removed phone's connection ${i + 1}`,
        );
        const code = await peer.closedWithin();
        must(
          'AUTH-035',
          that(
            code === DEVICE_REMOVED_CLOSE,
            `connection ${i + 1} closed with ${DEVICE_REMOVED_CLOSE}`,
            code ?? 'still open',
          ),
        );
      }
      await tablet.connect();
      mustMatch('AUTH-035', await tablet.authDevice(), isType('auth.ok'), 'the tablet signs in');
      const own = await write(tablet, 'device.remove', { deviceId: tablet.deviceId });
      mustMatch('AUTH-035', own, hasMembers('device.removed', { deviceId: tablet.deviceId }));
      const after = await tablet.peer.next(
        (f) => f.type === 'error',
        undefined,
        'an error frame',
        'AUTH-035',
      );
      mustMatch('AUTH-035', after, isError('DEVICE_REMOVED'), 'the tablet, which removed itself');
      const code = await tablet.peer.closedWithin();
      must(
        'AUTH-035',
        that(
          code === DEVICE_REMOVED_CLOSE,
          `the tablet's connection closed with ${DEVICE_REMOVED_CLOSE}`,
          code ?? 'still open',
        ),
      );
    },
  }),
  defineCase({
    id: 'AUTH-036-removed-device-never-signs-in',
    title:
      "alice's removed phone signs in neither under its old id, which her tablet got, nor as device 1",
    requirements: ['AUTH-036', 'AUTH-032', 'AUTH-033'],
    level: 'MUST',
    quote:
      "After a device is removed, the provider MUST refuse every `auth` with method `device` signed by its device key, for every device id of the account, including a device that was later added under the removed device's id.",
    sends:
      "alice: device.add (phone, key K), device.remove of the phone, device.add (tablet, key K', gets the phone's id); new connections: auth as the phone's id with K, auth as device 1 with K, auth as the tablet with K'",
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const { device: phone } = await addDevice(world, alice, 'phone');
      await phone.connect();
      mustMatch('AUTH-033', await phone.authDevice(), isType('auth.ok'), 'the phone signs in');
      phone.peer.close();
      mustMatch(
        'AUTH-036',
        await write(alice, 'device.remove', { deviceId: phone.deviceId }),
        isType('device.removed'),
      );
      const { reply, device: tablet } = await addDevice(world, alice, 'tablet');
      mustMatch(
        'AUTH-032',
        reply,
        hasMembers('device.added', { deviceId: phone.deviceId }),
        "the tablet gets the removed phone's id",
      );
      mustMatch(
        'AUTH-036',
        await signIn(phone, phone.deviceId, phone.authKey),
        isError('AUTH_FAILED'),
        `the removed phone signs in as device ${phone.deviceId}, now the tablet's id`,
      );
      mustMatch(
        'AUTH-036',
        await signIn(phone, 1, phone.authKey),
        isError('AUTH_FAILED'),
        'the removed phone signs in as device 1',
      );
      mustMatch(
        'AUTH-033',
        await signIn(tablet, tablet.deviceId, tablet.authKey),
        isType('auth.ok'),
        'the tablet signs in with its own key',
      );
    },
  }),
];
