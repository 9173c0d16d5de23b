// Steps shared by the provider's group tests (spec/groups.md): sender-key-shaped bodies, a second
// device, and the distribution a member's first group send carries (GROUP-052).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { RunningProvider } from '../../../../reference-impl/server/index.ts';
import type { AnyFrame, Device } from './harness.ts';

/** A `SenderKeyMessage`-shaped body (version 3, protobuf fields 1..4, 64-byte signature). */
export function senderKeyBody(iteration = 0, ciphertext: Uint8Array = randomBytes(48)): string {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return out;
  };
  const proto = Buffer.from([
    0x0a,
    16,
    ...randomBytes(16),
    0x10,
    ...varint(7),
    0x18,
    ...varint(iteration),
    0x22,
    ...varint(ciphertext.length),
    ...ciphertext,
  ]);
  return Buffer.concat([Buffer.from([0x33]), proto, randomBytes(64)]).toString('base64url');
}

/** Adds a second device to a first-party account, connected and authenticated. */
export async function secondDevice(provider: RunningProvider, owner: Device): Promise<Device> {
  const { device: phone } = await owner.addSibling(4242);
  await phone.connect(provider);
  expect((await phone.authDevice()).type).to.equal('auth.ok');
  await phone.wire.next((f) => f.type === 'queue.empty');
  return phone;
}

/**
 * `sender`'s distribution to the devices `to`: per address, a 1:1 ciphertext for each of them
 * (sessions claimed the first time), as a member's first group send carries (GROUP-052).
 */
export async function distributionTo(sender: Device, to: readonly Device[]): Promise<AnyFrame[]> {
  const out: AnyFrame[] = [];
  for (const address of new Set(to.map((d) => d.address))) {
    const devices = to.filter((d) => d.address === address);
    expect((await sender.startSessions(address)).type).to.equal('keys.bundle');
    out.push({
      to: address,
      messages: await sender.ciphertexts(address, devices, `sender key for ${address}`),
    });
  }
  return out;
}

/** A `message` push of `group`. */
export const groupMessage = (group: string) => (f: AnyFrame) =>
  f.type === 'message' && f.group === group;
