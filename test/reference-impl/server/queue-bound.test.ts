// A bounded queue per recipient device (spec/messages.md DELIV-032, issue 15 finding 5): a flood to
// one device stops at the bound with RATE_LIMITED, the queue takes sends again once read, and a
// sender the recipient blocked meets the bound at the same send (CONSENT-022); a group message meets
// the bound of every member device it reaches (GROUP-062).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Rng } from '../../../conformance/runner/rng.ts';
import { senderKeyBody } from '../../../conformance/transport/groups.ts';
import { distributionTo } from './support/groups.ts';
import { firstParty, startTestProvider, type AnyFrame } from './support/harness.ts';

/** The bound of these tests, in characters of base64url bodies: about seven texts of 20 000. */
const BOUND_CHARS = 200_000;
const TEXT = 'f'.repeat(20_000);

const answer = (f: AnyFrame): string => (f.type === 'error' ? f.code : f.type);

describe('a bounded queue per recipient device (DELIV-032)', function () {
  this.timeout(20_000);

  it('alice’s texts to bob, who reads none, are refused with RATE_LIMITED and a retryAfterMs once his queue holds the bound, and accepted again once he acknowledges them (DELIV-032)', async () => {
    const provider = await startTestProvider([], {
      limits: { queuePerDevice: { maxBytes: BOUND_CHARS, maxMessages: 1000 } },
    });
    const alice = await firstParty(provider, 'qb-alice', 0);
    const bob = await firstParty(provider, 'qb-bob');
    const answers: string[] = [];
    let refusal: AnyFrame | undefined;
    for (let i = 0; i < 12 && refusal === undefined; i += 1) {
      const reply = await alice.sendText(bob.address, TEXT);
      answers.push(answer(reply));
      if (reply.type === 'error') refusal = reply;
    }
    expect(refusal).to.include({ type: 'error', code: 'RATE_LIMITED' });
    expect(refusal!.retryAfterMs).to.equal(60_000);
    const accepted = answers.length - 1;
    expect(accepted).to.be.within(5, 9);
    // Nothing of the refused send was queued: bob's queue holds exactly the accepted ones.
    expect(provider.store.pendingDeliveries(bob.address, 1, 0, Date.now())).to.have.length(
      accepted,
    );
    const ids: string[] = [];
    for (let i = 0; i < accepted; i += 1) ids.push((await bob.nextMessage()).id as string);
    expect(await bob.wire.request('message.ack', { deliveryIds: ids })).to.include({
      type: 'message.acked',
      count: accepted,
    });
    expect(answer(await alice.sendText(bob.address, TEXT))).to.equal('message.accepted');
    await provider.close();
  });

  it('carol, blocked by dave, and alice, whom erin has not blocked, get the same answers to a flood: the bound reveals no block (DELIV-032, CONSENT-022)', async () => {
    const provider = await startTestProvider([], {
      limits: { queuePerDevice: { maxBytes: BOUND_CHARS, maxMessages: 1000 } },
    });
    const alice = await firstParty(provider, 'qb2-alice', 0);
    const carol = await firstParty(provider, 'qb2-carol', 0);
    const dave = await firstParty(provider, 'qb2-dave');
    const erin = await firstParty(provider, 'qb2-erin');
    await dave.wire.request('block.set', { address: carol.address, blocked: true });
    const blocked: string[] = [];
    const free: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      blocked.push(answer(await carol.sendText(dave.address, TEXT)));
      free.push(answer(await alice.sendText(erin.address, TEXT)));
    }
    expect(free).to.include('RATE_LIMITED');
    expect(blocked).to.deep.equal(free);
    expect(provider.store.pendingDeliveries(dave.address, 1, 0, Date.now())).to.have.length(0);
    await provider.close();
  });

  it('alice’s group messages to carol, who reads them, and bob, who reads none, are refused with RATE_LIMITED and a retryAfterMs once bob’s queue holds the bound, queued for neither, and accepted again once he acknowledges (GROUP-062)', async () => {
    const provider = await startTestProvider([], {
      limits: { queuePerDevice: { maxBytes: BOUND_CHARS, maxMessages: 1000 } },
    });
    const alice = await firstParty(provider, 'qbg-alice', 0);
    const carol = await firstParty(provider, 'qbg-carol');
    const bob = await firstParty(provider, 'qbg-bob');
    const state = await alice.wire.request('group.create', {
      idempotencyKey: randomUUID(),
      members: [carol.address, bob.address],
    });
    const rng = new Rng('GROUP-062');
    // The first send carries alice's sender key to carol's and bob's devices (GROUP-052).
    let distribution: AnyFrame[] | undefined = await distributionTo(alice, [carol, bob]);
    const send = (): Promise<AnyFrame> => {
      const frame = {
        group: state.group,
        groupVersion: state.version,
        idempotencyKey: randomUUID(),
        body: senderKeyBody(rng, 0, 15_000), // about 20 000 characters
        ...(distribution ? { distribution } : {}),
      };
      distribution = undefined;
      return alice.wire.request('message.send', frame);
    };
    const isGroupMessage = (f: AnyFrame): boolean =>
      f.type === 'message' && f.group === state.group;
    let accepted = 0;
    let refusal: AnyFrame | undefined;
    for (let i = 0; i < 12 && refusal === undefined; i += 1) {
      const reply = await send();
      if (reply.type === 'error') refusal = reply;
      else {
        accepted += 1;
        const got = await carol.wire.next(isGroupMessage);
        await carol.wire.request('message.ack', { deliveryIds: [got.id] });
      }
    }
    expect(refusal).to.include({ type: 'error', code: 'RATE_LIMITED', retryAfterMs: 60_000 });
    expect(accepted).to.be.within(5, 9);
    expect(await carol.wire.sees(isGroupMessage, 300)).to.equal(false);
    const atBob = provider.store
      .pendingDeliveries(bob.address, 1, 0, Date.now())
      .filter((d) => d.type === 'senderkey');
    expect(atBob).to.have.length(accepted);
    const ids: string[] = [];
    for (let i = 0; i < accepted; i += 1)
      ids.push((await bob.wire.next(isGroupMessage)).id as string);
    await bob.wire.request('message.ack', { deliveryIds: ids });
    expect((await send()).type).to.equal('message.accepted');
    await provider.close();
  });
});
