// Where a sender key has been (spec/groups.md "Group messages", GROUP-052), against a real provider
// on a real port with a real SQLite file: a group send is refused while a member device, the
// sender's own included, has had no distribution from the sending device, and what the provider
// remembers goes with removals of members and devices, re-registrations and unblocks.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  firstParty,
  makePartner,
  optIn,
  startTestProvider,
  thirdParty,
  type AnyFrame,
  type Device,
  type Partner,
} from './support/harness.ts';
import { distributionTo, groupMessage, secondDevice, senderKeyBody } from './support/groups.ts';

describe('sender-key distributions the provider requires of a group send (GROUP-052)', function () {
  this.timeout(30_000);
  let dir: string;
  let provider: RunningProvider;
  let partner: Partner;
  let n = 0;
  const name = (label: string): string => `${label}d${++n}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-group-distributions-'));
    partner = await makePartner('chat.example');
    provider = await startTestProvider([partner], { dbPath: join(dir, 'parley.db') });
  });
  after(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function create(owner: Device, members: string[]): Promise<AnyFrame> {
    const state = await owner.wire.request('group.create', {
      idempotencyKey: randomUUID(),
      members,
    });
    expect(state.type, JSON.stringify(state)).to.equal('group.state');
    return state;
  }

  function send(
    sender: Device,
    state: AnyFrame,
    distribution: AnyFrame[] = [],
    version: number = state.version as number,
  ): Promise<AnyFrame> {
    return sender.wire.request('message.send', {
      group: state.group,
      groupVersion: version,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
      ...(distribution.length > 0 ? { distribution } : {}),
    });
  }

  /** The refusal's `details.members` as `[address, device ids]` pairs. */
  const named = (refusal: AnyFrame): [string, number[]][] =>
    (refusal.details?.members as AnyFrame[] | undefined)?.map((m) => [m.address, m.missing]) ?? [];

  it('refuses alice’s first group send without a distribution, naming every member device in details.members, and takes the next one without', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    const refusal = await send(alice, state);
    expect(refusal).to.deep.include({
      type: 'error',
      code: 'DEVICE_MISMATCH',
      pointer: '/distribution',
    });
    expect(refusal.details).to.deep.include({ missing: [], extra: [], stale: [] });
    expect(named(refusal)).to.deep.equal([
      [carol.address, [1]],
      [bob.address, [1]],
    ]);
    expect(await carol.wire.sees(groupMessage(state.group), 200)).to.equal(false);
    expect((await send(alice, state, await distributionTo(alice, [carol, bob]))).type).to.equal(
      'message.accepted',
    );
    expect((await send(alice, state)).type).to.equal('message.accepted');
  });

  it('names carol’s new device and alice’s own second device until a send carries the key to them, which then delivers it to both', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const state = await create(alice, [carol.address]);
    await send(alice, state, await distributionTo(alice, [carol]));
    const phone = await secondDevice(provider, carol);
    await phone.publish(1);
    const tablet = await secondDevice(provider, alice);
    await tablet.publish(1);
    const refusal = await send(alice, state);
    expect(refusal).to.include({ code: 'DEVICE_MISMATCH', pointer: '/distribution' });
    expect(named(refusal)).to.deep.equal([
      [alice.address, [tablet.deviceId]],
      [carol.address, [phone.deviceId]],
    ]);
    // An entry for carol that leaves out her new device is the entry's own mismatch (GROUP-046).
    const partial = await send(alice, state, await distributionTo(alice, [carol]));
    expect(partial).to.deep.include({
      code: 'DEVICE_MISMATCH',
      pointer: '/distribution/0/messages',
      details: { missing: [phone.deviceId], extra: [], stale: [] },
    });
    const accepted = await send(alice, state, await distributionTo(alice, [tablet, carol, phone]));
    expect(accepted.type, JSON.stringify(accepted)).to.equal('message.accepted');
    for (const d of [phone, tablet]) {
      const got = await d.wire.next(groupMessage(state.group));
      expect(got.messageId).to.equal(accepted.messageId);
      expect(await d.open({ ...got.distribution, from: alice.address, fromDevice: 1 })).to.equal(
        `sender key for ${d.address}`,
      );
    }
    expect((await send(alice, state)).type).to.equal('message.accepted');
  });

  it('asks again for a member removed and added back, and for a device id reused after a removal', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    const phone = await secondDevice(provider, carol);
    await phone.publish(1);
    await send(alice, state, await distributionTo(alice, [carol, phone, bob]));
    await alice.wire.request('group.remove', { group: state.group, members: [bob.address] });
    const back = await alice.wire.request('group.add', {
      group: state.group,
      members: [bob.address],
    });
    const refusal = await send(alice, back);
    expect(named(refusal)).to.deep.equal([[bob.address, [1]]]);
    await send(alice, back, await distributionTo(alice, [bob]));

    expect((await carol.wire.request('device.remove', { deviceId: phone.deviceId })).type).to.equal(
      'device.removed',
    );
    const again = await secondDevice(provider, carol);
    expect(again.deviceId).to.equal(phone.deviceId);
    expect(named(await send(alice, back))).to.deep.equal([[carol.address, [again.deviceId]]]);
  });

  it('asks again for bob’s device once he reinstalls it, and asks bob’s reinstalled device to distribute its own new key', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    await optIn(alice);
    await optIn(carol);
    const bobName = name('bob');
    const bob = await thirdParty(provider, partner, bobName);
    const state = await create(alice, [carol.address, bob.address]);
    await send(alice, state, await distributionTo(alice, [carol, bob]));
    await send(bob, state, await distributionTo(bob, [alice, carol]));
    bob.wire.close();
    // The same address and device id with a new identity key and registration id.
    const reinstalled = await thirdParty(provider, partner, bobName);
    expect(reinstalled.registrationId).to.not.equal(bob.registrationId);
    expect(named(await send(alice, state))).to.deep.equal([[bob.address, [1]]]);
    expect(named(await send(reinstalled, state))).to.deep.equal([
      [alice.address, [1]],
      [carol.address, [1]],
    ]);
  });

  it('forgets what a member who left had distributed, so that their key goes out again when they come back', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const state = await create(alice, [carol.address]);
    expect((await send(carol, state, await distributionTo(carol, [alice]))).type).to.equal(
      'message.accepted',
    );
    await carol.wire.request('group.leave', { group: state.group });
    const back = await alice.wire.request('group.add', {
      group: state.group,
      members: [carol.address],
    });
    expect(named(await send(carol, back))).to.deep.equal([[alice.address, [1]]]);
  });

  it('asks bob to distribute to carol, who blocked him, like any member, and again once she unblocks him (CONSENT-022)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    await optIn(alice);
    await optIn(carol);
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    await carol.wire.request('block.set', { address: bob.address, blocked: true });
    const refusal = await send(bob, state);
    expect(named(refusal)).to.deep.equal([
      [alice.address, [1]],
      [carol.address, [1]],
    ]);
    expect((await send(bob, state, await distributionTo(bob, [alice, carol]))).type).to.equal(
      'message.accepted',
    );
    expect((await send(bob, state)).type).to.equal('message.accepted');
    expect(await carol.wire.sees(groupMessage(state.group), 200)).to.equal(false);
    await carol.wire.request('block.set', { address: bob.address, blocked: false });
    expect(named(await send(bob, state))).to.deep.equal([[carol.address, [1]]]);
  });

  it('leaves out of bob’s check alice, whose interop settings keep his messages from her (GROUP-048)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    await optIn(carol);
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(carol, [alice.address, bob.address]);
    expect(named(await send(bob, state))).to.deep.equal([[carol.address, [1]]]);
  });
});
