// Session encrypt/decrypt and its failure semantics (reference-impl/crypto/cipher.ts, session.ts):
// every refused message raises its exact error class and leaves the serialised session unchanged.
import { expect } from 'chai';
import {
  BadMacError,
  decrypt,
  DuplicatedMessageError,
  encrypt,
  IdentityKeyPair,
  InMemoryProtocolStore,
  MessageTooFarAheadError,
  NoSessionError,
  processPreKeyBundle,
  serializeSessionRecord,
  SignatureValidationError,
  UnknownPreKeyError,
  UnknownSignedPreKeyError,
  UntrustedIdentityError,
  type CiphertextMessage,
} from '../../../reference-impl/crypto/index.ts';
import {
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../reference-impl/crypto/wire.ts';
import { ParleyParty, text, untext } from './support/parties.ts';

async function snapshot(party: ParleyParty, peer: ParleyParty): Promise<string> {
  const record = await party.store.loadSession(peer.address);
  const identity = await party.store.getIdentity(peer.address);
  return JSON.stringify({
    record: record === undefined ? null : Buffer.from(serializeSessionRecord(record)).toString(),
    identity: identity === undefined ? null : Buffer.from(identity).toString('hex'),
  });
}

async function expectRefused(
  party: ParleyParty,
  peer: ParleyParty,
  message: CiphertextMessage,
  errorClass: new (...args: never[]) => Error,
): Promise<void> {
  const before = await snapshot(party, peer);
  let caught: unknown;
  try {
    await party.decrypt(peer.address, message);
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(errorClass);
  expect(await snapshot(party, peer), 'session state after the refusal').to.equal(before);
}

async function conversation(): Promise<[ParleyParty, ParleyParty]> {
  const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
  const bob = new ParleyParty({ name: 'bob', deviceId: 1 });
  await alice.startSession(bob.address, await bob.bundle());
  return [alice, bob];
}

async function exchange(from: ParleyParty, to: ParleyParty, message: string): Promise<void> {
  expect(
    untext(await to.decrypt(from.address, await from.encrypt(to.address, text(message)))),
  ).to.equal(message);
}

/** Flips the last MAC byte of the SignalMessage (inside a prekey message, the inner one's). */
function tamperMac(message: CiphertextMessage): CiphertextMessage {
  const body = Uint8Array.from(message.body);
  let end = body.length;
  if (message.type === 'prekey') {
    const inner = parsePreKeySignalMessage(body).message.serialized;
    end = Buffer.from(body).indexOf(Buffer.from(inner)) + inner.length;
  }
  body[end - 1] = body[end - 1]! ^ 1;
  return { type: message.type, body };
}

describe('reference-impl/crypto/cipher', () => {
  it('refuses a bundle whose signed prekey signature does not verify, storing nothing', async () => {
    const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
    const bob = new ParleyParty({ name: 'bob', deviceId: 1 });
    const bundle = await bob.bundle();
    const signature = Uint8Array.from(bundle.signedPreKeySignature);
    signature[5] = signature[5]! ^ 1;
    let caught: unknown;
    try {
      await processPreKeyBundle(
        { ...bundle, signedPreKeySignature: signature },
        bob.address,
        alice.store,
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(SignatureValidationError);
    expect(await alice.store.loadSession(bob.address)).to.equal(undefined);
    expect(await alice.store.getIdentity(bob.address)).to.equal(undefined);
  });

  it('refuses to encrypt for an address without a session with NoSessionError', async () => {
    const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
    let caught: unknown;
    try {
      await encrypt(text('x'), { name: 'bob', deviceId: 1 }, alice.store);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(NoSessionError);
  });

  it('keeps one session per device, so alice talks to two of bob’s devices independently', async () => {
    const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
    const phone = new ParleyParty({ name: 'bob', deviceId: 1 });
    const laptop = new ParleyParty({ name: 'bob', deviceId: 2 });
    await alice.startSession(phone.address, await phone.bundle());
    await alice.startSession(laptop.address, await laptop.bundle());
    await exchange(alice, phone, 'to the phone');
    await exchange(alice, laptop, 'to the laptop');
    await exchange(laptop, alice, 'from the laptop');
    await exchange(phone, alice, 'from the phone');
    const phoneRecord = await alice.store.loadSession(phone.address);
    const laptopRecord = await alice.store.loadSession(laptop.address);
    expect(phoneRecord).not.to.equal(laptopRecord);
  });

  it('refuses a message whose MAC does not verify with BadMacError and keeps the session', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const message = await alice.encrypt(bob.address, text('tampered'));
    await expectRefused(bob, alice, tamperMac(message), BadMacError);
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('tampered');
  });

  it('refuses a prekey message with a tampered MAC with BadMacError and stores no session', async () => {
    const [alice, bob] = await conversation();
    const message = await alice.encrypt(bob.address, text('first'));
    await expectRefused(bob, alice, tamperMac(message), BadMacError);
    expect(await bob.store.loadSession(alice.address)).to.equal(undefined);
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('first');
  });

  it('refuses a replayed message with DuplicatedMessageError and keeps the session', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    const message = await alice.encrypt(bob.address, text('once'));
    await bob.decrypt(alice.address, message);
    await expectRefused(bob, alice, message, DuplicatedMessageError);
  });

  it('refuses a replayed skipped message after it was delivered late', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    const early = await alice.encrypt(bob.address, text('early'));
    await exchange(alice, bob, 'overtakes');
    expect(untext(await bob.decrypt(alice.address, early))).to.equal('early');
    await expectRefused(bob, alice, early, DuplicatedMessageError);
  });

  it('replays a prekey message from the same base key without building a second session', async () => {
    const [alice, bob] = await conversation();
    const first = await alice.encrypt(bob.address, text('first'));
    const second = await alice.encrypt(bob.address, text('second'));
    await bob.decrypt(alice.address, first);
    expect(untext(await bob.decrypt(alice.address, second))).to.equal('second');
    await expectRefused(bob, alice, first, DuplicatedMessageError);
    expect((await bob.store.loadSession(alice.address))!.previous).to.have.length(0);
  });

  it('refuses a message more than 25 000 steps ahead with MessageTooFarAheadError', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const record = (await alice.store.loadSession(bob.address))!;
    const sender = record.current!.senderChain;
    // Jump alice's chain far ahead without sending (the test's stand-in for 25 001 lost messages).
    const { nextChainKey } = await import('../../../reference-impl/crypto/ratchet.ts');
    let chainKey = sender.chainKey;
    for (let i = 0; i < 25_001; i++) chainKey = nextChainKey(chainKey);
    record.current!.senderChain = { ratchetKeyPair: sender.ratchetKeyPair, chainKey };
    const message = await alice.encrypt(bob.address, text('far'));
    expect(parseSignalMessage(message.body).counter).to.equal(25_001);
    await expectRefused(bob, alice, message, MessageTooFarAheadError);
  });

  it('decrypts a message exactly 25 000 steps ahead', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    const record = (await alice.store.loadSession(bob.address))!;
    const sender = record.current!.senderChain;
    const { nextChainKey } = await import('../../../reference-impl/crypto/ratchet.ts');
    let chainKey = sender.chainKey;
    for (let i = 0; i < 25_000; i++) chainKey = nextChainKey(chainKey);
    record.current!.senderChain = { ratchetKeyPair: sender.ratchetKeyPair, chainKey };
    const edge = await alice.encrypt(bob.address, text('edge'));
    // bob's receiving chain stands at 1 after 'hi': counter 25 001 is a jump of exactly 25 000
    expect(parsePreKeySignalMessage(edge.body).message.counter).to.equal(25_001);
    expect(untext(await bob.decrypt(alice.address, edge))).to.equal('edge');
    const chain = (await bob.store.loadSession(alice.address))!.current!.receiverChains[0]!;
    expect(chain.messageKeys).to.have.length(2000);
  });

  it('refuses a prekey message naming an unknown one-time prekey with UnknownPreKeyError', async () => {
    const [alice, bob] = await conversation();
    const message = await alice.encrypt(bob.address, text('first'));
    await bob.decrypt(alice.address, message);
    // a second alice (same identity, new store) claims the now-used one-time prekey again
    const replay = new ParleyParty({ name: 'alice', deviceId: 1 });
    const bundle = await bob.bundle();
    const usedPreKeyId = bundle.preKeyId! - 2;
    await replay.startSession(bob.address, { ...bundle, preKeyId: usedPreKeyId });
    const stale = await replay.encrypt(bob.address, text('stale'));
    await bob.store.saveIdentity(alice.address, replay.identityKey);
    await expectRefused(bob, alice, stale, UnknownPreKeyError);
  });

  it('refuses a prekey message naming an unknown signed prekey with UnknownSignedPreKeyError', async () => {
    const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
    const bob = new ParleyParty({ name: 'bob', deviceId: 1 });
    const bundle = await bob.bundle();
    await alice.startSession(bob.address, { ...bundle, signedPreKeyId: 999_999 });
    await expectRefused(
      bob,
      alice,
      await alice.encrypt(bob.address, text('x')),
      UnknownSignedPreKeyError,
    );
  });

  it('refuses a prekey message from a known address with a changed identity with UntrustedIdentityError', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const impostor = new ParleyParty({ name: 'alice', deviceId: 1 });
    await impostor.startSession(bob.address, await bob.bundle());
    await expectRefused(
      bob,
      alice,
      await impostor.encrypt(bob.address, text('me again')),
      UntrustedIdentityError,
    );
    await exchange(alice, bob, 'the real alice still gets through');
  });

  it('refuses to encrypt to a peer whose identity changed in the identity store', async () => {
    const [alice, bob] = await conversation();
    await alice.store.saveIdentity(bob.address, IdentityKeyPair.generate().publicKey);
    let caught: unknown;
    try {
      await alice.encrypt(bob.address, text('x'));
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(UntrustedIdentityError);
  });

  it('replaces the session on a new prekey message from a known peer and archives the old one', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const inFlight = await alice.encrypt(bob.address, text('sent before the reset'));
    // alice resets (e.g. reinstall keeping her identity): a new session from a fresh bundle
    await alice.startSession(bob.address, await bob.bundle());
    const reset = await alice.encrypt(bob.address, text('after the reset'));
    expect(reset.type).to.equal('prekey');
    expect(untext(await bob.decrypt(alice.address, reset))).to.equal('after the reset');
    const record = (await bob.store.loadSession(alice.address))!;
    expect(record.previous).to.have.length(1);
    // a message of the archived session still decrypts, and promotes that session again
    expect(untext(await bob.decrypt(alice.address, inFlight))).to.equal('sent before the reset');
    await exchange(bob, alice, 'reply');
  });

  it('removes a used one-time prekey only after a successful decryption', async () => {
    const [alice, bob] = await conversation();
    const message = await alice.encrypt(bob.address, text('first'));
    const preKeyId = parsePreKeySignalMessage(message.body).preKeyId!;
    await expectRefused(bob, alice, tamperMac(message), BadMacError);
    expect(await bob.store.getPreKey(preKeyId)).not.to.equal(undefined);
    await bob.decrypt(alice.address, message);
    expect(await bob.store.getPreKey(preKeyId)).to.equal(undefined);
  });

  it('refuses a whisper message when no session exists with NoSessionError', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    await exchange(bob, alice, 'hello');
    const message = await alice.encrypt(bob.address, text('x'));
    const stranger = new InMemoryProtocolStore(IdentityKeyPair.generate(), 5);
    let caught: unknown;
    try {
      await decrypt(message, alice.address, stranger);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(NoSessionError);
  });

  it('sends previous_counter as the index of the last key of the previous sending chain', async () => {
    const [alice, bob] = await conversation();
    await exchange(alice, bob, 'hi');
    for (let i = 0; i < 4; i++) await exchange(bob, alice, `b${i}`);
    const reply = await alice.encrypt(bob.address, text('after bob sent four'));
    expect(parseSignalMessage(reply.body).previousCounter).to.equal(0);
    await bob.decrypt(alice.address, reply);
    const next = await bob.encrypt(alice.address, text('bob after the DH step'));
    const parsed = parseSignalMessage(next.body);
    expect(parsed.counter).to.equal(0);
    expect(parsed.previousCounter).to.equal(3);
  });
});
