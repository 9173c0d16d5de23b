// Provider-hosted groups against a real provider on a real port with a real SQLite file: membership
// changes and their authorisation, versions and pushes, invitations by consent, fan-out of group
// messages to every device of every member, removal, limits (spec/groups.md, DMA Art. 7(2)(b)).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { senderKeyShapeFault } from '../../../reference-impl/server/sender-key-shape.ts';
import { distributionTo, groupMessage, secondDevice, senderKeyBody } from './support/groups.ts';
import {
  firstParty,
  makePartner,
  optIn,
  reconnect,
  sleep,
  startTestProvider,
  thirdParty,
  type AnyFrame,
  type Device,
  type Partner,
} from './support/harness.ts';

function withoutRe(f: AnyFrame): AnyFrame {
  const rest = { ...f };
  delete rest.re;
  return rest;
}

const changed = (group: string, version: number) => (f: AnyFrame) =>
  f.type === 'group.changed' && f.group === group && f.version === version;

describe('provider groups (spec/groups.md)', function () {
  this.timeout(30_000);
  let dir: string;
  let provider: RunningProvider;
  let partner: Partner;
  let n = 0;
  const name = (label: string): string => `${label}g${++n}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-groups-'));
    partner = await makePartner('chat.example');
    provider = await startTestProvider([partner], {
      dbPath: join(dir, 'parley.db'),
      limits: {
        advertised: { maxGroupMembers: 4 },
        rates: { groupAddPerSender: { burst: 20, perMinute: 1 } },
      },
    });
  });
  after(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function create(owner: Device, members: string[] = []): Promise<AnyFrame> {
    const state = await owner.wire.request('group.create', {
      idempotencyKey: randomUUID(),
      ...(members.length > 0 ? { members } : {}),
    });
    expect(state.type, JSON.stringify(state)).to.equal('group.state');
    return state;
  }

  it('advertises capability groups and limits.maxGroupMembers in welcome (GROUP-030)', async () => {
    const alice = await firstParty(provider, name('alice'));
    expect(alice.welcome.capabilities).to.include('groups');
    expect(alice.welcome.limits.maxGroupMembers).to.equal(4);
  });

  it('creates a group at version 1 with alice as admin and carol and bob as members, and pushes the creation to every member device but the one that asked (GROUP-001, GROUP-010, GROUP-013)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    expect(state.version).to.equal(1);
    expect(state.group).to.match(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(state.members).to.deep.equal([
      { address: alice.address, role: 'admin', state: 'member' },
      { address: carol.address, role: 'member', state: 'member' },
      { address: bob.address, role: 'member', state: 'member' },
    ]);
    expect(await alice.wire.sees(changed(state.group, 1), 300)).to.equal(false);
    for (const d of [carol, bob]) {
      const push = await d.wire.next(changed(state.group, 1));
      expect(push).to.include({ action: 'created', by: alice.address });
      expect(push.members).to.deep.equal([alice.address, carol.address, bob.address]);
      expect((await d.wire.request('message.ack', { deliveryIds: [push.id] })).count).to.equal(1);
    }
  });

  it('answers alice’s repeated group.create with its idempotency key with the group it created, even past her creation rate, refuses the key with other members with CONFLICT, and carol hears of one group (GROUP-061)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const dave = await firstParty(provider, name('dave'));
    const idempotencyKey = randomUUID();
    const request = { idempotencyKey, members: [carol.address] };
    const first = await alice.wire.request('group.create', request);
    expect(first).to.include({ type: 'group.state', version: 1 });
    // Use up alice's creations (10 at once): a retry is answered, not counted.
    let limited: AnyFrame | undefined;
    for (let i = 0; i < 20 && limited === undefined; i += 1) {
      const other = await alice.wire.request('group.create', { idempotencyKey: randomUUID() });
      if (other.type === 'error') limited = other;
    }
    expect(limited).to.include({ code: 'RATE_LIMITED' });
    const again = await alice.wire.request('group.create', request);
    expect(withoutRe(again)).to.deep.equal(withoutRe(first));
    const conflict = await alice.wire.request('group.create', {
      idempotencyKey,
      members: [carol.address, dave.address],
    });
    expect(conflict).to.include({ type: 'error', code: 'CONFLICT', pointer: '/idempotencyKey' });
    await carol.wire.next(changed(first.group, 1));
    expect(await carol.wire.sees((f) => f.type === 'group.changed', 300)).to.equal(false);
    expect(await dave.wire.sees((f) => f.type === 'group.changed', 0)).to.equal(false);
    // Once alice has left, a retry reads as any group she is not in (GROUP-004).
    await alice.wire.request('group.leave', { group: first.group });
    const gone = await alice.wire.request('group.create', request);
    const unknown = await alice.wire.request('group.get', { group: 'g.unknown' });
    expect(withoutRe(gone)).to.deep.equal(withoutRe(unknown));
  });

  it('fans one group message out to every device of every member but the sending one, body byte for byte, with each distribution ciphertext only on its device (GROUP-040, GROUP-041, GROUP-046)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const carolPhone = await secondDevice(provider, carol);
    await carolPhone.publish(2);
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    const distribution = await distributionTo(alice, [carol, carolPhone, bob]);
    const body = senderKeyBody();
    const reply = await alice.wire.request('message.send', {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body,
      distribution,
    });
    expect(reply).to.include({ type: 'message.accepted', duplicate: false });
    for (const d of [carol, carolPhone, bob]) {
      const got = await d.wire.next(groupMessage(state.group));
      expect(got).to.include({
        messageId: reply.messageId,
        from: alice.address,
        fromDevice: 1,
        ciphertextType: 'senderkey',
        body,
      });
      const mine = distribution
        .find((e) => e.to === d.address)!
        .messages.find((m: AnyFrame) => m.deviceId === d.deviceId);
      expect(got.distribution).to.deep.equal({ ciphertextType: mine.type, body: mine.body });
      expect(
        await d.open({
          ...got.distribution,
          ciphertextType: mine.type,
          from: alice.address,
          fromDevice: 1,
        }),
      ).to.equal(`sender key for ${d.address}`);
    }
    expect(await alice.wire.sees(groupMessage(state.group), 300)).to.equal(false);
  });

  it('refuses group.add, group.remove and group.role from a member who is not an admin with FORBIDDEN and changes nothing (GROUP-011, GROUP-012)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const dave = await firstParty(provider, name('dave'));
    const state = await create(alice, [carol.address]);
    for (const [type, body] of [
      ['group.add', { group: state.group, members: [dave.address] }],
      ['group.remove', { group: state.group, members: [alice.address] }],
      ['group.role', { group: state.group, member: carol.address, role: 'admin' }],
    ] as const)
      expect((await carol.wire.request(type, body)).code, type).to.equal('FORBIDDEN');
    const after = await carol.wire.request('group.get', { group: state.group });
    expect(after.version).to.equal(1);
    expect(after.members.map((m: AnyFrame) => m.address)).to.deep.equal([
      alice.address,
      carol.address,
    ]);
  });

  it('answers group.get and a group send for an unknown group and for a group the sender is not in with identical NOT_FOUND errors (GROUP-003, GROUP-004, GROUP-042)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const eve = await firstParty(provider, name('eve'));
    const state = await create(alice);
    const unknown = await eve.wire.request('group.get', { group: 'g.nothing-here' });
    const foreign = await eve.wire.request('group.get', { group: state.group });
    expect(unknown.code).to.equal('NOT_FOUND');
    expect(withoutRe(foreign)).to.deep.equal(withoutRe(unknown));
    const send = (group: string) =>
      eve.wire.request('message.send', {
        group,
        groupVersion: 1,
        idempotencyKey: randomUUID(),
        body: senderKeyBody(),
      });
    const a = await send('g.nothing-here');
    const b = await send(state.group);
    expect(a.code).to.equal('NOT_FOUND');
    expect(withoutRe(b)).to.deep.equal(withoutRe(a));
  });

  it('delivers nothing sent after the removal to the removed member, who can no longer send, while the removal itself reaches them (GROUP-013, GROUP-042, GROUP-043)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(alice, [carol.address, bob.address]);
    const removed = await alice.wire.request('group.remove', {
      group: state.group,
      members: [bob.address],
    });
    expect(removed.version).to.equal(2);
    expect(removed.members.map((m: AnyFrame) => m.address)).to.not.include(bob.address);
    expect(await bob.wire.next(changed(state.group, 2))).to.include({ action: 'removed' });
    await alice.wire.request('message.send', {
      group: state.group,
      groupVersion: 2,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(1),
      distribution: await distributionTo(alice, [carol]),
    });
    await carol.wire.next(groupMessage(state.group));
    expect(await bob.wire.sees(groupMessage(state.group), 300)).to.equal(false);
    const refused = await bob.wire.request('message.send', {
      group: state.group,
      groupVersion: 2,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
    });
    expect(refused.code).to.equal('NOT_FOUND');
    // And after a reconnection, nothing waits for bob either.
    bob.wire.close();
    await reconnect(provider, bob, partner);
    await bob.wire.next((f) => f.type === 'queue.empty');
    expect(bob.wire.frames.some(groupMessage(state.group))).to.equal(false);
  });

  it('refuses a send for a stale group version with GROUP_VERSION_STALE, yet answers a retry of a stored send as a duplicate (GROUP-044, GROUP-040)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const dave = await firstParty(provider, name('dave'));
    const state = await create(alice, [carol.address]);
    const frame = {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
      distribution: await distributionTo(alice, [carol]),
    };
    const first = await alice.wire.request('message.send', frame);
    expect(first.type).to.equal('message.accepted');
    await alice.wire.request('group.add', { group: state.group, members: [dave.address] });
    const retry = await alice.wire.request('message.send', frame);
    expect(retry).to.include({
      type: 'message.accepted',
      messageId: first.messageId,
      duplicate: true,
    });
    const stale = await alice.wire.request('message.send', {
      ...frame,
      idempotencyKey: randomUUID(),
    });
    expect(stale).to.include({ code: 'GROUP_VERSION_STALE', pointer: '/groupVersion' });
  });

  it('refuses a body that is not a SenderKeyMessage with NOT_SIGNAL_CIPHERTEXT (GROUP-045)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const state = await create(alice);
    const signal = Buffer.from([0x44, ...randomBytes(120)]).toString('base64url');
    for (const body of [signal, senderKeyBody().slice(0, 60)]) {
      const reply = await alice.wire.request('message.send', {
        group: state.group,
        groupVersion: 1,
        idempotencyKey: randomUUID(),
        body,
      });
      expect(reply).to.include({ code: 'NOT_SIGNAL_CIPHERTEXT', pointer: '/body' });
    }
    expect(senderKeyShapeFault(Buffer.from(senderKeyBody(), 'base64url'))).to.equal(undefined);
  });

  it('refuses a distribution entry for a non-member with NOT_FOUND and one that misses a device with DEVICE_MISMATCH (GROUP-046)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const carolPhone = await secondDevice(provider, carol);
    const dave = await firstParty(provider, name('dave'));
    const state = await create(alice, [carol.address]);
    await alice.startSessions(carol.address);
    await alice.startSessions(dave.address);
    const toDave = await alice.ciphertexts(
      dave.address,
      [{ deviceId: 1, registrationId: dave.registrationId }],
      'x',
    );
    const outsider = await alice.wire.request('message.send', {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
      distribution: [{ to: dave.address, messages: toDave }],
    });
    expect(outsider).to.include({ code: 'NOT_FOUND', pointer: '/distribution/0/to' });
    const toCarol = await alice.ciphertexts(
      carol.address,
      [{ deviceId: 1, registrationId: carol.registrationId }],
      'y',
    );
    const missing = await alice.wire.request('message.send', {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
      distribution: [{ to: carol.address, messages: toCarol }],
    });
    expect(missing.code).to.equal('DEVICE_MISMATCH');
    expect(missing.details.missing).to.deep.equal([carolPhone.deviceId]);
  });

  it('makes an invitation of a third-party addition of a user who opted in but has not accepted bob, pushes it to her device, lists it in requests, and joins the group on accept (GROUP-020, GROUP-022, GROUP-023, GROUP-025)', async () => {
    const bob = await thirdParty(provider, partner, name('bob'));
    const alice = await firstParty(provider, name('alice'));
    await optIn(alice);
    const state = await create(bob, [alice.address]);
    expect(state.members[1]).to.deep.equal({
      address: alice.address,
      role: 'member',
      state: 'invited',
    });
    const list = await alice.wire.request('requests.list');
    expect(list.pending).to.deep.equal([
      {
        from: bob.address,
        origin: { platform: 'chat.example', thirdParty: true },
        firstSeen: list.pending[0].firstSeen,
        group: state.group,
      },
    ]);
    await bob.wire.request('message.send', {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
    });
    // The invitation's own push (GROUP-025) and nothing else of the group.
    const invited = await alice.wire.next((f) => f.type === 'group.invited');
    expect(invited).to.include({ group: state.group, by: bob.address });
    expect(
      await alice.wire.sees((f) => f.group === state.group && f.type !== 'group.invited', 300),
    ).to.equal(false);
    const accepted = await alice.wire.request('request.respond', {
      from: bob.address,
      action: 'accept',
      group: state.group,
    });
    expect(accepted).to.include({ type: 'request.responded', group: state.group });
    const joined = await bob.wire.next(changed(state.group, 2));
    expect(joined).to.include({ action: 'joined', by: alice.address });
    const now = await alice.wire.request('group.get', { group: state.group });
    expect(now.members[1].state).to.equal('member');
    expect((await alice.wire.request('requests.list')).pending).to.deep.equal([]);
  });

  it('keeps showing a declined invitation as invited to the group, with no version change (GROUP-022, GROUP-012)', async () => {
    const bob = await thirdParty(provider, partner, name('bob'));
    const alice = await firstParty(provider, name('alice'));
    await optIn(alice);
    const state = await create(bob, [alice.address]);
    const declined = await alice.wire.request('request.respond', {
      from: bob.address,
      action: 'decline',
      group: state.group,
    });
    expect(declined.type).to.equal('request.responded');
    const seen = await bob.wire.request('group.get', { group: state.group });
    expect(seen).to.deep.include({ version: 1 });
    expect(seen.members[1]).to.deep.equal({
      address: alice.address,
      role: 'member',
      state: 'invited',
    });
    expect((await alice.wire.request('requests.list')).pending).to.deep.equal([]);
  });

  it('answers a third-party addition of a user who has not opted in exactly as one of an unknown address (GROUP-021)', async () => {
    const bob = await thirdParty(provider, partner, name('bob'));
    const alice = await firstParty(provider, name('alice'));
    const state = await create(bob);
    const off = await bob.wire.request('group.add', {
      group: state.group,
      members: [alice.address],
    });
    const none = await bob.wire.request('group.add', {
      group: state.group,
      members: [`nobody${n}@wa.example`],
    });
    expect(off).to.include({ code: 'NOT_FOUND', pointer: '/members/0' });
    expect(withoutRe(off)).to.deep.equal(withoutRe(none));
  });

  it('files group messages under third-party chats when the group has a partner member, and in the inbox otherwise (GROUP-024)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const bob = await thirdParty(provider, partner, name('bob'));
    const plain = await create(alice, [carol.address]);
    const mixed = await create(alice, [carol.address, bob.address]);
    for (const [g, to] of [
      [plain, [carol]],
      [mixed, [carol, bob]],
    ] as const)
      await alice.wire.request('message.send', {
        group: g.group,
        groupVersion: 1,
        idempotencyKey: randomUUID(),
        body: senderKeyBody(),
        distribution: await distributionTo(alice, to),
      });
    expect((await carol.wire.next(groupMessage(plain.group))).folder).to.equal('inbox');
    expect((await carol.wire.next(groupMessage(mixed.group))).folder).to.equal('third-party');
  });

  it('refuses with GROUP_FULL an addition past limits.maxGroupMembers, changing nothing (GROUP-031)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await firstParty(provider, name('m'), 0));
    const state = await create(
      alice,
      others.slice(0, 3).map((d) => d.address),
    );
    const full = await alice.wire.request('group.add', {
      group: state.group,
      members: [others[3]!.address],
    });
    expect(full.code).to.equal('GROUP_FULL');
    expect((await alice.wire.request('group.get', { group: state.group })).version).to.equal(1);
  });

  it('makes the earliest member an admin when the last admin leaves, and refuses to demote the last admin with CONFLICT (GROUP-014, GROUP-015)', async () => {
    const alice = await firstParty(provider, name('alice'));
    const carol = await firstParty(provider, name('carol'));
    const dave = await firstParty(provider, name('dave'));
    const state = await create(alice, [carol.address, dave.address]);
    const demote = await alice.wire.request('group.role', {
      group: state.group,
      member: alice.address,
      role: 'member',
    });
    expect(demote.code).to.equal('CONFLICT');
    expect(await alice.wire.request('group.leave', { group: state.group })).to.include({
      type: 'group.left',
      group: state.group,
    });
    expect(await dave.wire.next(changed(state.group, 2))).to.include({ action: 'left' });
    expect(await dave.wire.next(changed(state.group, 3))).to.deep.include({
      action: 'role',
      role: 'admin',
      members: [carol.address],
    });
    const after = await carol.wire.request('group.get', { group: state.group });
    expect(after.members).to.deep.equal([
      { address: carol.address, role: 'admin', state: 'member' },
      { address: dave.address, role: 'member', state: 'member' },
    ]);
  });

  it('lets bob claim the keys of dan, a user of another partner platform, once they share a group, and not before (GROUP-047)', async () => {
    const other = await makePartner('other.example');
    const local = await startTestProvider([partner, other], { dbPath: join(dir, 'claims.db') });
    try {
      const alice = await firstParty(local, name('alice'));
      const bob = await thirdParty(local, partner, name('bob'));
      const dan = await thirdParty(local, other, name('dan'));
      expect((await bob.wire.request('keys.claim', { address: dan.address })).code).to.equal(
        'NOT_FOUND',
      );
      await create(alice, [bob.address, dan.address]);
      expect((await bob.wire.request('keys.claim', { address: dan.address })).type).to.equal(
        'keys.bundle',
      );
    } finally {
      await local.close();
    }
  });

  it('does not deliver bob’s group messages to alice once she opted out of interop, while carol, opted in, still gets them (GROUP-048)', async () => {
    const alice = await firstParty(provider, name('alice'));
    await optIn(alice);
    const carol = await firstParty(provider, name('carol'));
    await optIn(carol);
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(carol, [alice.address, bob.address]);
    await alice.wire.request('consent.set', {
      interop: { enabled: false, platforms: 'all', inbox: 'separate' },
    });
    // alice's interop settings keep her out of bob's fan-out, so his key need not reach her.
    const sent = await bob.wire.request('message.send', {
      group: state.group,
      groupVersion: 1,
      idempotencyKey: randomUUID(),
      body: senderKeyBody(),
      distribution: await distributionTo(bob, [carol]),
    });
    expect(sent.type, JSON.stringify(sent)).to.equal('message.accepted');
    await carol.wire.next(groupMessage(state.group));
    expect(await alice.wire.sees(groupMessage(state.group), 300)).to.equal(false);
  });

  it('limits the addresses bob adds to groups with RATE_LIMITED and retryAfterMs (GROUP-033)', async () => {
    const bob = await thirdParty(provider, partner, name('bob'));
    const state = await create(bob);
    const unknown = Array.from({ length: 21 }, (_, i) => `x${i}n${n}@wa.example`);
    const reply = await bob.wire.request('group.add', { group: state.group, members: unknown });
    expect(reply.code).to.equal('RATE_LIMITED');
    expect(reply.retryAfterMs).to.be.a('number');
  });

  it('keeps groups, versions and queued membership changes across a restart of the provider (GROUP-003, GROUP-013)', async () => {
    const path = join(dir, 'restart.db');
    let p = await startTestProvider([partner], { dbPath: path });
    const alice = await firstParty(p, name('alice'));
    const carol = await firstParty(p, name('carol'));
    carol.wire.close();
    const state = await create(alice, [carol.address]);
    await p.close();
    p = await startTestProvider([partner], { dbPath: path });
    try {
      await reconnect(p, carol);
      const push = await carol.wire.next(changed(state.group, 1));
      expect(push.action).to.equal('created');
      await sleep(10);
      const got = await carol.wire.request('group.get', { group: state.group });
      expect(got).to.deep.include({ version: 1 });
    } finally {
      await p.close();
    }
  });
});
