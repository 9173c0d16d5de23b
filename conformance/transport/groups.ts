// Shared steps of the GROUP cases (spec/groups.md): sender-key-shaped bodies, creating a group,
// sending to it, a second device, and waiting for a group's pushes, so that cases compose them.
import { randomUUID } from 'node:crypto';
import { IdentityKeyPair } from '../../reference-impl/crypto/index.ts';
import type { Frame } from '../assert/match.ts';
import { show } from '../assert/match.ts';
import type { Rng } from '../runner/rng.ts';
import { TargetFault } from '../runner/signals.ts';
import type { World } from './world.ts';
import { b64, TestUser } from './users.ts';

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return out;
}

/**
 * A body shaped as libsignal's `SenderKeyMessage` (version byte 0x33; protobuf: 1 distribution id
 * of 16 bytes, 2 chain id, 3 iteration, 4 ciphertext; 64-byte signature) with seeded filler. The
 * provider cannot verify it (it holds no sender key), so its shape is all a provider case needs.
 */
export function senderKeyBody(rng: Rng, iteration = 0, ciphertextBytes = 48): string {
  const bytes = (n: number): number[] => Array.from({ length: n }, () => rng.int(0, 255));
  const ciphertext = bytes(ciphertextBytes);
  const proto = [
    0x0a,
    16,
    ...bytes(16),
    0x10,
    ...varint(rng.int(0, 1_000_000)),
    0x18,
    ...varint(iteration),
    0x22,
    ...varint(ciphertext.length),
    ...ciphertext,
  ];
  return Buffer.from([0x33, ...proto, ...bytes(64)]).toString('base64url');
}

/** `owner` creates a group with `members`; returns the `group.state` (a harness fault otherwise). */
export async function createGroup(
  owner: TestUser,
  members: readonly string[] = [],
): Promise<Frame> {
  const state = await owner.peer.request('group.create', {
    idempotencyKey: randomUUID(),
    ...(members.length > 0 ? { members: [...members] } : {}),
  });
  if (state.type !== 'group.state')
    throw new TargetFault(undefined, 'group.state for a valid group.create', show(state));
  return state;
}

/** `sender` sends a sender-key body to `group` at `version`; resolves the reply. */
export function sendToGroup(
  world: World,
  sender: TestUser,
  group: string,
  version: number,
  extra: Frame = {},
): Promise<Frame> {
  return sender.peer.request('message.send', {
    group,
    groupVersion: version,
    idempotencyKey: `k.${world.rng.word(12)}`,
    body: senderKeyBody(world.rng),
    ...extra,
  });
}

/**
 * A `distribution` from `sender` to the current members of `group` (read with `group.get`), or to
 * those of them named in `only`: for each member (the sender included, for its other devices)
 * whose keys the sender may claim, a 1:1 ciphertext of filler for each current device but the
 * sending one, sessions built from a claim the first time. The provider cannot read what the
 * ciphertexts carry; it refuses a group send that misses a member device no distribution from the
 * sending device has reached (GROUP-052). Members whose claim is refused (a consent the sender's
 * platform lacks) are left out, as the provider leaves them out of the fan-out (GROUP-048).
 */
export async function distributionFor(
  sender: TestUser,
  group: string,
  only?: readonly string[],
): Promise<Frame[]> {
  const state = await sender.peer.request('group.get', { group });
  if (state.type !== 'group.state')
    throw new TargetFault(undefined, `group.state for a member's group.get`, show(state));
  const out: Frame[] = [];
  for (const m of state.members as Frame[]) {
    const address = m.address as string;
    if (m.state !== 'member' || (only !== undefined && !only.includes(address))) continue;
    const bundle = await sender.startSessions(address);
    if (bundle.type !== 'keys.bundle') continue;
    if (address === sender.address)
      sender.known.set(
        address,
        (sender.known.get(address) ?? []).filter((d) => d.deviceId !== sender.deviceId),
      );
    const messages = await sender.encryptFor(address, new Uint8Array(Buffer.from('skdm')));
    if (messages.length > 0) out.push({ to: address, messages });
  }
  return out;
}

/**
 * `sender` sends a sender-key body to `group` at `version` with a distribution to every member
 * device (`distributionFor`), as a member's first send must; resolves the reply.
 */
export async function sendDistributed(
  world: World,
  sender: TestUser,
  group: string,
  version: number,
  extra: Frame = {},
): Promise<Frame> {
  const distribution = await distributionFor(sender, group);
  return sendToGroup(world, sender, group, version, {
    ...(distribution.length > 0 ? { distribution } : {}),
    ...extra,
  });
}

/** Adds and connects a second device of `owner` (first-party), past its `queue.empty`. */
export async function secondDevice(world: World, owner: TestUser): Promise<TestUser> {
  const registrationId = world.rng.int(1, 16380);
  const deviceKey = IdentityKeyPair.generate(); // the phone's own device key (AUTH-033)
  const added = await owner.peer.request('device.add', {
    registrationId,
    deviceKey: b64(deviceKey.publicKey),
  });
  if (added.type !== 'device.added')
    throw new TargetFault(undefined, 'device.added for a second device', show(added));
  const phone = new TestUser(
    `${owner.label}-phone`,
    owner.address,
    added.deviceId as number,
    registrationId,
    world.env,
    owner.identity,
    deviceKey,
  );
  await phone.connect();
  const ok = await phone.authDevice();
  if (ok.type !== 'auth.ok')
    throw new TargetFault(undefined, 'auth.ok for an added device', show(ok));
  phone.authOk = ok;
  await phone.peer.next((f) => f.type === 'queue.empty');
  return phone;
}

/** A `message` push of `group` on `user`'s connection, taken; a TargetSilence on `requirement` when none comes. */
export function nextGroupMessage(
  user: TestUser,
  group: string,
  requirement: string,
): Promise<Frame> {
  return user.peer.next(
    (f) => f.type === 'message' && f.group === group,
    undefined,
    `a message of group ${group}`,
    requirement,
  );
}

/** The `group.changed` push of `group` at `version` on `user`'s connection. */
export function nextGroupChange(
  user: TestUser,
  group: string,
  version: number,
  requirement: string,
): Promise<Frame> {
  return user.peer.next(
    (f) => f.type === 'group.changed' && f.group === group && f.version === version,
    undefined,
    `group.changed of group ${group} at version ${version}`,
    requirement,
  );
}

/** A `message` push of `group` that arrived on `user`'s connection, left in place. */
export function peekGroupMessage(user: TestUser, group: string): Frame | undefined {
  return user.peer.peek((f) => f.type === 'message' && f.group === group);
}
