// Consent and the third-party inbox: opt-in, refusal without an existence oracle, folders, message
// requests, blocks, reports, rate limits and opting out (spec/consent.md, DMA Art. 7(7)).
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
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

describe('provider consent (spec/consent.md)', () => {
  let provider: RunningProvider;
  let partner: Partner;
  let other: Partner;
  before(async () => {
    partner = await makePartner('chat.example');
    other = await makePartner('other.example');
    provider = await startTestProvider([partner, other]);
  });
  after(() => provider.close());

  it('creates every account with interop off, inbox separate, all platforms (CONSENT-001)', async () => {
    const alice = await firstParty(provider, 'c1');
    expect((await alice.wire.request('consent.get')).interop).to.deep.equal({
      enabled: false,
      platforms: 'all',
      inbox: 'separate',
    });
  });

  it('refuses consent.get, consent.set, requests.list and request.respond from a partner session with FORBIDDEN (CONSENT-003)', async () => {
    const bob = await thirdParty(provider, partner, 'c3');
    for (const [type, body] of [
      ['consent.get', {}],
      ['consent.set', { interop: { enabled: true, platforms: 'all', inbox: 'separate' } }],
      ['requests.list', {}],
      ['request.respond', { from: 'x@wa.example', action: 'accept' }],
    ] as const)
      expect((await bob.wire.request(type, body)).code).to.equal('FORBIDDEN');
  });

  it('answers a third-party send and claim to a user who has not opted in exactly as for an unknown user, and applies consent.set from the next request (CONSENT-004, CONSENT-005, CONSENT-006, CONSENT-008)', async () => {
    const alice = await firstParty(provider, 'c6');
    const bob = await thirdParty(provider, partner, 'c6b');
    const claimOff = await bob.wire.request('keys.claim', { address: alice.address });
    const claimNone = await bob.wire.request('keys.claim', { address: 'nobody@wa.example' });
    expect(claimOff.code).to.equal('NOT_FOUND');
    expect(withoutRe(claimOff)).to.deep.equal(withoutRe(claimNone));
    // A send with a wrong device list still gets NOT_FOUND: consent comes first.
    const messages = [{ deviceId: 42, registrationId: 1, type: 'whisper', body: 'Mw' }];
    const sendOff = await bob.wire.request('message.send', {
      to: alice.address,
      idempotencyKey: 'a',
      messages,
    });
    const sendNone = await bob.wire.request('message.send', {
      to: 'nobody@wa.example',
      idempotencyKey: 'b',
      messages,
    });
    expect(sendOff.code).to.equal('NOT_FOUND');
    expect(withoutRe(sendOff)).to.deep.equal(withoutRe(sendNone));
    await optIn(alice, ['other.example']);
    const claimOther = await bob.wire.request('keys.claim', { address: alice.address });
    expect(withoutRe(claimOther)).to.deep.equal(withoutRe(claimNone));
    await optIn(alice, ['chat.example']);
    expect((await bob.wire.request('keys.claim', { address: alice.address })).type).to.equal(
      'keys.bundle',
    );
  });

  it('takes no measurably different time to refuse for lack of consent than for an unknown user (CONSENT-007)', async () => {
    await firstParty(provider, 'c7');
    const bob = await thirdParty(provider, partner, 'c7b');
    const times: Record<'off' | 'none', number[]> = { off: [], none: [] };
    for (let i = 0; i < 50; i++) {
      for (const [kind, address] of [
        ['off', 'c7@wa.example'],
        ['none', `ghost${i}@wa.example`],
      ] as const) {
        const t = process.hrtime.bigint();
        await bob.wire.request('keys.claim', { address });
        times[kind].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    expect(Math.abs(median(times.off) - median(times.none))).to.be.below(10);
  });

  it('does not consume a one-time prekey for a claim refused for lack of consent (CONSENT-009)', async () => {
    const alice = await firstParty(provider, 'c9', 3);
    const bob = await thirdParty(provider, partner, 'c9b');
    await bob.wire.request('keys.claim', { address: alice.address });
    expect(provider.store.countOneTimePreKeys(alice.address, 1)).to.equal(3);
  });

  it('delivers a first contact to requests with the sender’s origin, lists it, and after accept files it under third-party (CONSENT-010, CONSENT-011, CONSENT-014, CONSENT-015)', async () => {
    const alice = await firstParty(provider, 'c14');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c14b');
    const sent = await bob.sendText(alice.address, 'hi from chat.example');
    expect(sent.type).to.equal('message.accepted');
    const first = await alice.nextMessage();
    expect(first).to.deep.include({
      from: bob.address,
      origin: { platform: 'chat.example', thirdParty: true },
      folder: 'requests',
    });
    expect(await alice.open(first)).to.equal('hi from chat.example');
    const list = await alice.wire.request('requests.list');
    expect(list.pending).to.deep.equal([
      {
        from: bob.address,
        origin: { platform: 'chat.example', thirdParty: true },
        firstSeen: sent.serverTimestamp,
      },
    ]);
    expect(
      await alice.wire.request('request.respond', { from: bob.address, action: 'accept' }),
    ).to.include({
      type: 'request.responded',
      action: 'accept',
    });
    expect((await alice.wire.request('requests.list')).pending).to.deep.equal([]);
    await bob.sendText(alice.address, 'second');
    expect((await alice.nextMessage()).folder).to.equal('third-party');
  });

  it('files accepted third-party messages in inbox with the combined inbox (CONSENT-011)', async () => {
    const alice = await firstParty(provider, 'c11');
    await optIn(alice, 'all', 'combined');
    const bob = await thirdParty(provider, partner, 'c11b');
    await bob.sendText(alice.address, 'req');
    expect((await alice.nextMessage()).folder).to.equal('requests');
    await alice.wire.request('request.respond', { from: bob.address, action: 'accept' });
    await bob.sendText(alice.address, 'in');
    expect((await alice.nextMessage()).folder).to.equal('inbox');
  });

  it('treats a sender as accepted once the recipient messaged them first (CONSENT-015)', async () => {
    const alice = await firstParty(provider, 'c15');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c15b');
    expect((await alice.sendText(bob.address, 'hello bob')).type).to.equal('message.accepted');
    const atBob = await bob.nextMessage();
    expect(atBob).to.deep.include({
      origin: { platform: 'wa.example', thirdParty: false },
      folder: 'inbox',
    });
    await bob.open(atBob);
    await bob.sendText(alice.address, 'hi alice');
    expect((await alice.nextMessage()).folder).to.equal('third-party');
  });

  it('stamps origin from the session, so a partner user cannot pass as first-party (CONSENT-010)', async () => {
    const alice = await firstParty(provider, 'c10');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c10b');
    bob.wire.send({
      v: 1,
      type: 'message.send',
      id: 'spoof',
      to: alice.address,
      idempotencyKey: 's',
      messages: [],
      origin: { platform: 'wa.example', thirdParty: false },
    });
    expect((await bob.wire.next((f) => f.re === 'spoof')).code).to.equal('SCHEMA_VIOLATION');
    await bob.sendText(alice.address, 'x');
    expect((await alice.nextMessage()).origin).to.deep.equal({
      platform: 'chat.example',
      thirdParty: true,
    });
  });

  it('after decline deletes the sender’s queued messages and silently drops later ones until the recipient writes (CONSENT-016, CONSENT-021, CONSENT-022)', async () => {
    const alice = await firstParty(provider, 'c16');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c16b');
    alice.wire.close();
    await sleep(30);
    await bob.sendText(alice.address, 'one');
    await alice.connect(provider);
    await alice.authDevice();
    const req = await alice.nextMessage();
    await alice.open(req);
    await alice.wire.request('request.respond', { from: bob.address, action: 'decline' });
    expect(provider.store.pendingDeliveries(alice.address, 1, 0, Date.now())).to.have.length(0);
    expect((await alice.wire.request('requests.list')).pending).to.deep.equal([]);
    const dropped = await bob.sendText(alice.address, 'two');
    expect(dropped).to.include({ type: 'message.accepted', duplicate: false });
    expect(await alice.wire.sees((f) => f.type === 'message', 150)).to.equal(false);
    expect((await bob.wire.request('keys.claim', { address: alice.address })).type).to.equal(
      'keys.bundle',
    );
    await alice.sendText(bob.address, 'changed my mind');
    await bob.sendText(alice.address, 'three');
    expect((await alice.nextMessage()).folder).to.equal('third-party');
  });

  it('after block deletes queued messages from that address and stops delivery whatever the origin, until unblocked (CONSENT-019, CONSENT-020, CONSENT-021)', async () => {
    const alice = await firstParty(provider, 'c19');
    const carol = await firstParty(provider, 'c19c');
    alice.wire.close();
    await sleep(30);
    await carol.sendText(alice.address, 'queued');
    await alice.connect(provider);
    await alice.wire.request('auth', {
      method: 'device',
      address: alice.address,
      deviceId: 1,
      signature: alice.proof(),
    });
    await alice.nextMessage();
    await alice.wire.next((f) => f.type === 'queue.empty');
    expect(
      await alice.wire.request('block.set', { address: carol.address, blocked: true }),
    ).to.include({
      type: 'block.state',
      blocked: true,
    });
    expect(provider.store.pendingDeliveries(alice.address, 1, 0, Date.now())).to.have.length(0);
    expect((await carol.sendText(alice.address, 'blocked')).type).to.equal('message.accepted');
    expect(await alice.wire.sees((f) => f.type === 'message', 150)).to.equal(false);
    await alice.wire.request('block.set', { address: carol.address, blocked: false });
    await carol.sendText(alice.address, 'unblocked');
    expect((await alice.nextMessage()).from).to.equal(carol.address);
  });

  it('blocks through request.respond with block (CONSENT-019)', async () => {
    const alice = await firstParty(provider, 'c19r');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c19rb');
    await bob.sendText(alice.address, 'spam');
    await alice.nextMessage();
    await alice.wire.request('request.respond', { from: bob.address, action: 'block' });
    expect(provider.store.isBlocked(alice.address, bob.address)).to.equal(true);
    expect((await bob.sendText(alice.address, 'more spam')).type).to.equal('message.accepted');
    expect(await alice.wire.sees((f) => f.type === 'message', 150)).to.equal(false);
  });

  it('stores a report with reporter, reported, reason, message ids and comment (CONSENT-023)', async () => {
    const alice = await firstParty(provider, 'c23');
    const reply = await alice.wire.request('report', {
      address: 'spammer@chat.example',
      reason: 'spam',
      messageIds: ['m-1', 'm-2'],
      comment: 'unsolicited ads',
    });
    expect(reply.type).to.equal('report.received');
    expect(provider.store.getReport(reply.reportId)).to.deep.include({
      reporter: alice.address,
      reported: 'spammer@chat.example',
      reason: 'spam',
      messageIds: ['m-1', 'm-2'],
      comment: 'unsolicited ads',
    });
    const second = await alice.wire.request('report', {
      address: 'x@chat.example',
      reason: 'other',
    });
    expect(second.reportId).not.to.equal(reply.reportId);
  });

  it('on opting out deletes queued third-party messages, requests and accepted senders, keeps blocks and first-party mail (CONSENT-028, CONSENT-029, CONSENT-031, CONSENT-032)', async () => {
    const alice = await firstParty(provider, 'c28');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c28b');
    const dan = await thirdParty(provider, partner, 'c28d');
    const carol = await firstParty(provider, 'c28c');
    await alice.sendText(dan.address, 'you are accepted');
    await alice.wire.request('block.set', { address: 'blocked@chat.example', blocked: true });
    alice.wire.close();
    await sleep(30);
    await bob.sendText(alice.address, 'request');
    await dan.sendText(alice.address, 'accepted');
    await carol.sendText(alice.address, 'first-party');
    await alice.connect(provider);
    await alice.authDevice();
    await alice.wire.next((f) => f.type === 'queue.empty');
    alice.wire.frames.length = 0;
    await alice.wire.request('consent.set', {
      interop: { enabled: false, platforms: 'all', inbox: 'separate' },
    });
    const left = provider.store.pendingDeliveries(alice.address, 1, 0, Date.now());
    expect(left.map((d) => d.sender)).to.deep.equal([carol.address]);
    expect((await alice.wire.request('requests.list')).pending).to.deep.equal([]);
    expect(provider.store.getContact(alice.address, dan.address)).to.equal(undefined);
    expect(provider.store.isBlocked(alice.address, 'blocked@chat.example')).to.equal(true);
    await reconnect(provider, alice);
    await alice.wire.next((f) => f.type === 'queue.empty');
    expect(alice.wire.frames.filter((f) => f.type === 'message').map((f) => f.from)).to.deep.equal([
      carol.address,
    ]);
    // First-party traffic is unaffected by interop settings.
    expect((await carol.sendText(alice.address, 'still here')).type).to.equal('message.accepted');
    expect((await alice.nextMessage()).folder).to.equal('inbox');
  });

  it('removing a platform applies the opt-out rules to that platform only (CONSENT-030)', async () => {
    const alice = await firstParty(provider, 'c30');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'c30b');
    const olga = await thirdParty(provider, other, 'c30o');
    alice.wire.close();
    await sleep(30);
    await bob.sendText(alice.address, 'from chat');
    await olga.sendText(alice.address, 'from other');
    await alice.connect(provider);
    await alice.authDevice();
    await alice.wire.next((f) => f.type === 'queue.empty');
    await optIn(alice, ['other.example']);
    const left = provider.store.pendingDeliveries(alice.address, 1, 0, Date.now());
    expect(left.map((d) => d.sender)).to.deep.equal([olga.address]);
    expect(
      (await alice.wire.request('requests.list')).pending.map((p: AnyFrame) => p.from),
    ).to.deep.equal([olga.address]);
  });
});

describe('provider third-party rate limits (spec/consent.md "Rate limits")', () => {
  async function setup(rates: object): Promise<[RunningProvider, Device, Device, Partner]> {
    const partner = await makePartner();
    const provider = await startTestProvider([partner], { limits: { rates } });
    const alice = await firstParty(provider, 'rl-alice');
    await optIn(alice);
    const bob = await thirdParty(provider, partner, 'rl-bob');
    return [provider, alice, bob, partner];
  }

  it('refuses third-party sends over the per-sender limit with RATE_LIMITED and retryAfterMs (CONSENT-025, PROTO-041)', async () => {
    const [provider, alice, bob] = await setup({ sendPerSender: { burst: 3, perMinute: 1 } });
    await alice.wire.request('request.respond', { from: bob.address, action: 'accept' });
    for (let i = 0; i < 3; i++)
      expect((await bob.sendText(alice.address, `${i}`)).type).to.equal('message.accepted');
    const refused = await bob.sendText(alice.address, 'too many');
    expect(refused.code).to.equal('RATE_LIMITED');
    expect(refused.retryAfterMs).to.be.a('number').within(1, 60_000);
    // First-party traffic is not limited by the third-party buckets.
    const carol = await firstParty(provider, 'rl-carol');
    for (let i = 0; i < 5; i++)
      expect((await carol.sendText(alice.address, `${i}`)).type).to.equal('message.accepted');
    await provider.close();
  });

  it('refuses third-party sends and claims over the per-platform limit across senders (CONSENT-025)', async () => {
    const [provider, alice, bob, partner] = await setup({
      sendPerPlatform: { burst: 2, perMinute: 1 },
      claimPerPlatform: { burst: 2, perMinute: 1 },
    });
    await alice.wire.request('request.respond', { from: bob.address, action: 'accept' });
    expect((await bob.sendText(alice.address, '1')).type).to.equal('message.accepted'); // claim 1, send 1
    expect((await bob.sendText(alice.address, '2')).type).to.equal('message.accepted'); // send 2
    const eve = await thirdParty(provider, partner, 'rl-eve');
    expect((await eve.wire.request('keys.claim', { address: alice.address })).type).to.equal(
      'keys.bundle',
    );
    expect((await eve.wire.request('keys.claim', { address: alice.address })).code).to.equal(
      'RATE_LIMITED',
    );
    expect((await eve.sendText(alice.address, '3')).code).to.equal('RATE_LIMITED');
    await provider.close();
  });

  it('bob, blocked by carol, and erin, whose request dave has not answered, get the same answers to 12 sends each: 10 accepted, then RATE_LIMITED (CONSENT-022)', async () => {
    const partner = await makePartner();
    const provider = await startTestProvider([partner]);
    const carol = await firstParty(provider, 'oracle-carol');
    const dave = await firstParty(provider, 'oracle-dave');
    await optIn(carol);
    await optIn(dave);
    const bob = await thirdParty(provider, partner, 'oracle-bob', 0);
    const erin = await thirdParty(provider, partner, 'oracle-erin', 0);
    await carol.wire.request('block.set', { address: bob.address, blocked: true });
    const answer = (f: AnyFrame): string => (f.type === 'error' ? f.code : f.type);
    const blocked: string[] = [];
    const waiting: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      blocked.push(answer(await bob.sendText(carol.address, `${i}`)));
      waiting.push(answer(await erin.sendText(dave.address, `${i}`)));
    }
    const expected = [
      ...Array<string>(10).fill('message.accepted'),
      'RATE_LIMITED',
      'RATE_LIMITED',
    ];
    expect(waiting).to.deep.equal(expected);
    expect(blocked).to.deep.equal(expected);
    expect(await carol.wire.sees((f) => f.type === 'message')).to.equal(false);
    await provider.close();
  });

  it('twelve minted senders of one platform writing 10 texts each to alice, who answers none, get 100 accepted and the rest RATE_LIMITED (CONSENT-033)', async () => {
    const partner = await makePartner();
    const provider = await startTestProvider([partner]);
    const alice = await firstParty(provider, 'minted-alice');
    await optIn(alice);
    let accepted = 0;
    let limited = 0;
    for (let i = 0; i < 12; i += 1) {
      const sender = await thirdParty(provider, partner, `minted-${i}`, 0);
      expect((await sender.startSessions(alice.address)).type).to.equal('keys.bundle');
      for (let j = 0; j < 10; j += 1) {
        const reply = await sender.sendText(alice.address, `${j}`);
        if (reply.type === 'message.accepted') accepted += 1;
        else if (reply.code === 'RATE_LIMITED') limited += 1;
        else expect.fail(JSON.stringify(reply));
      }
      sender.wire.close();
    }
    expect({ accepted, limited }).to.deep.equal({ accepted: 100, limited: 20 });
    expect((await alice.wire.request('requests.list')).pending).to.have.length(10);
    await provider.close();
  });

  it('eleven minted claimers of one platform claiming alice 5 times each: the 51st claim is RATE_LIMITED (KEYS-033)', async () => {
    const partner = await makePartner();
    const provider = await startTestProvider([partner]);
    const alice = await firstParty(provider, 'claimed-alice', 100);
    await optIn(alice);
    const answers: string[] = [];
    for (let i = 0; i < 11; i += 1) {
      const claimer = await thirdParty(provider, partner, `claimer-${i}`, 0);
      for (let j = 0; j < 5; j += 1) {
        const reply = await claimer.wire.request('keys.claim', { address: alice.address });
        answers.push(reply.type === 'error' ? reply.code : reply.type);
      }
      claimer.wire.close();
    }
    expect(answers).to.deep.equal([
      ...Array<string>(50).fill('keys.bundle'),
      ...Array<string>(5).fill('RATE_LIMITED'),
    ]);
    // Alice's own platform's first-party users are not counted against the partner platform.
    const carol = await firstParty(provider, 'claimed-carol', 0);
    expect((await carol.wire.request('keys.claim', { address: alice.address })).type).to.equal(
      'keys.bundle',
    );
    await provider.close();
  });

  it('alice’s 61st block.set in a burst and her 21st report get RATE_LIMITED with retryAfterMs; nothing of them is stored (PROTO-050, PROTO-042)', async () => {
    const provider = await startTestProvider([]);
    const alice = await firstParty(provider, 'writes-alice', 0);
    const answers: string[] = [];
    for (let i = 0; i < 61; i += 1) {
      const reply = await alice.wire.request('block.set', {
        address: `spammer${i}@chat.example`,
        blocked: true,
      });
      answers.push(reply.type === 'error' ? reply.code : reply.type);
    }
    expect(answers.slice(0, 60).every((a) => a === 'block.state')).to.equal(true);
    expect(answers[60]).to.equal('RATE_LIMITED');
    expect(provider.store.isBlocked(alice.address, 'spammer60@chat.example')).to.equal(false);
    const report = () =>
      alice.wire.request('report', {
        address: 'mallory@chat.example',
        reason: 'spam',
        comment: 'x'.repeat(2000),
      });
    for (let i = 0; i < 20; i += 1) expect((await report()).type).to.equal('report.received');
    const refused = await report();
    expect(refused.code).to.equal('RATE_LIMITED');
    expect(refused.retryAfterMs).to.be.a('number').above(0);
    await provider.close();
  });

  it('applies the lower new-request limit to messages that open a request (CONSENT-026)', async () => {
    const [provider, alice, bob] = await setup({
      newRequestPerSender: { burst: 1, perMinute: 1 },
      sendPerSender: { burst: 100, perMinute: 100 },
    });
    expect((await bob.sendText(alice.address, 'hello?')).type).to.equal('message.accepted');
    const carol = await firstParty(provider, 'rl-carol2');
    await optIn(carol);
    expect((await bob.sendText(carol.address, 'hello too?')).code).to.equal('RATE_LIMITED');
    await alice.wire.request('request.respond', { from: bob.address, action: 'accept' });
    expect((await bob.sendText(alice.address, 'thanks')).type).to.equal('message.accepted');
    await provider.close();
  });
});
