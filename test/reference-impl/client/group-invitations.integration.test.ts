// Group invitations in the client SDK against the real reference provider (spec/groups.md
// #invitations, GROUP-020, GROUP-022, GROUP-025): the invitee hears of an invitation from a push,
// answers it, and once accepted reads the group like any member.
import { expect } from 'chai';
import type { GroupInvitedFrame } from '../../../schemas/frames/index.ts';
import type { IncomingMessage } from '../../../reference-impl/client/index.ts';
import { nextMessage, optIn, sleep, startWorld, waitFor, type World } from './support.ts';

describe('group invitations in the client SDK against the reference provider', function () {
  this.timeout(30000);
  let world: World;
  before(async () => (world = await startWorld()));
  after(() => world.close());

  it('alice hears of bob’s invitation from a push, acknowledged once, accepts it and then reads the group and its messages', async () => {
    const alice = await world.firstParty('alice-invited');
    await optIn(alice);
    const bob = await world.thirdParty('bob-inviter');
    const invited = waitFor<GroupInvitedFrame>(alice, 'groupInvited');
    const { group } = await bob.createGroup([alice.session!.address]);
    const push = await invited;
    expect(push).to.include({ group, by: bob.session!.address });
    expect(push.origin).to.deep.equal({ platform: 'chat.example', thirdParty: true });
    const requests = await alice.listRequests();
    expect(requests.some((r) => r.from === bob.session!.address && r.group === group)).to.equal(
      true,
    );

    // Acknowledged: a new connection of the same device does not hear of it again.
    let again = 0;
    alice.on('groupInvited', () => again++);
    await alice.close();
    await alice.connect();
    await sleep(300);
    expect(again).to.equal(0);

    await alice.respondToRequest(bob.session!.address, 'accept', group);
    const known = await alice.knownGroup(group);
    expect(known?.members.map((m) => m.address)).to.have.members([
      alice.session!.address,
      bob.session!.address,
    ]);
    const hello = nextMessage(alice, (m: IncomingMessage) => m.group === group);
    await bob.sendGroupText(group, 'welcome');
    const got = await hello;
    expect(got.content.kind === 'text' && got.content.body).to.equal('welcome');
  });

  it('a user who declines an invitation stays out of the group and hears nothing of it', async () => {
    const carol = await world.firstParty('carol-declines');
    await optIn(carol);
    const bob = await world.thirdParty('bob-declined');
    const invited = waitFor<GroupInvitedFrame>(carol, 'groupInvited');
    const { group } = await bob.createGroup([carol.session!.address]);
    await invited;
    await carol.respondToRequest(bob.session!.address, 'decline', group);
    expect(await carol.knownGroup(group)).to.equal(undefined);
    let heard = 0;
    carol.on('message', (m) => void (m.group === group && heard++));
    await bob.sendGroupText(group, 'anyone?');
    await sleep(300);
    expect(heard).to.equal(0);
  });
});
