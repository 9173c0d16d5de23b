// Steps shared by the provider's group tests (spec/groups.md): sender-key-shaped bodies, a second
// device, and the distribution a member's first group send carries (GROUP-052).
import { expect } from 'chai';
import { Rng } from '../../../../conformance/runner/rng.ts';
import { senderKeyBody as shapedBody } from '../../../../conformance/transport/groups.ts';
import type { RunningProvider } from '../../../../reference-impl/server/index.ts';
import type { AnyFrame, Device } from './harness.ts';

const bodies = new Rng('provider group tests');

/** A `SenderKeyMessage`-shaped body (conformance/transport/groups.ts), from one seeded stream. */
export const senderKeyBody = (iteration = 0): string => shapedBody(bodies, iteration);

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
