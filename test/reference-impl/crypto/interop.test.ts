// Interop with libsignal-client 0.72.1 in both directions (spec: Cryptography — "Proof: interop
// tests in both directions"). Every title names libsignal so `mocha --grep libsignal` selects them.
import { expect } from 'chai';
import { makeParty, text, untext, type Party } from './support/parties.ts';

type Kind = 'parley' | 'libsignal';

const pairs: [Kind, Kind, string][] = [
  ['libsignal', 'parley', 'libsignal as alice with parley as bob'],
  ['parley', 'libsignal', 'parley as alice with libsignal as bob'],
];

async function established(
  aliceKind: Kind,
  bobKind: Kind,
  oneTime = true,
): Promise<[Party, Party]> {
  const alice = makeParty(aliceKind, 'alice');
  const bob = makeParty(bobKind, 'bob');
  await alice.startSession(bob.address, await bob.bundle(oneTime));
  return [alice, bob];
}

async function send(from: Party, to: Party, message: string): Promise<void> {
  const ciphertext = await from.encrypt(to.address, text(message));
  expect(untext(await to.decrypt(from.address, ciphertext))).to.equal(message);
}

describe('reference-impl/crypto interop', () => {
  for (const [aliceKind, bobKind, title] of pairs) {
    describe(title, () => {
      it(`sets up a session and exchanges a first message and reply (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const first = await alice.encrypt(bob.address, text('hello bob'));
        expect(first.type).to.equal('prekey');
        expect(untext(await bob.decrypt(alice.address, first))).to.equal('hello bob');
        await send(bob, alice, 'hello alice');
        const after = await alice.encrypt(bob.address, text('again'));
        expect(after.type).to.equal('whisper');
        expect(untext(await bob.decrypt(alice.address, after))).to.equal('again');
      });

      it(`sets up a session from a bundle without a one-time prekey (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind, false);
        await send(alice, bob, 'no one-time prekey');
        await send(bob, alice, 'still fine');
      });

      it(`keeps a long conversation alternating direction in step (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        for (let i = 0; i < 60; i++) {
          const [from, to] = i % 3 === 2 ? [bob, alice] : [alice, bob];
          await send(from, to, `message ${i} from ${from.address.name}`);
          if (i % 5 === 0) await send(to, from, `reply ${i}`);
        }
      });

      it(`decrypts out-of-order and skipped deliveries across ratchet steps (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'open');
        await send(bob, alice, 'ack');
        const held = [];
        for (let i = 0; i < 10; i++) held.push(await alice.encrypt(bob.address, text(`a${i}`)));
        // deliver 9, 3, 7 first; bob replies (a DH step); then alice writes again and the rest arrive
        for (const i of [9, 3, 7])
          expect(untext(await bob.decrypt(alice.address, held[i]!))).to.equal(`a${i}`);
        await send(bob, alice, 'reply after skips');
        const later = await alice.encrypt(bob.address, text('later'));
        for (const i of [0, 8, 1, 2, 6, 4, 5]) {
          expect(untext(await bob.decrypt(alice.address, held[i]!))).to.equal(`a${i}`);
        }
        expect(untext(await bob.decrypt(alice.address, later))).to.equal('later');
      });

      it(`carries a burst of 1000 messages one way (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'start');
        await send(bob, alice, 'go');
        for (let i = 0; i < 1000; i++) await send(alice, bob, `burst ${i}`);
        await send(bob, alice, 'done');
      });
    });
  }
});
