// The SPQR braid end to end (spec: Cryptography — SPQR braid): Parley against libsignal-client
// 0.103.0 in both directions, and Parley on both ends. Epochs are read from field 5 of the
// messages each side sends. An epoch needs the ek side to get its header (3 chunks) and its
// encapsulation-key vector (36 chunks) across, so in a strictly alternating conversation an epoch
// takes about 80 messages: 200 messages reach epoch 3 (libsignal on both ends too), 440 epoch 6.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import type { CiphertextMessage } from '../../../reference-impl/crypto/index.ts';
import { makeParty, text, untext, type Party } from './support/parties.ts';
import { spqrOf } from './support/spqr-epochs.ts';

type Kind = 'parley' | 'libsignal';

const pairs: [Kind, Kind, string][] = [
  ['libsignal', 'parley', 'libsignal as alice with parley as bob'],
  ['parley', 'libsignal', 'parley as alice with libsignal as bob'],
  ['parley', 'parley', 'parley on both ends'],
  ['libsignal', 'libsignal', 'libsignal on both ends, the schedule the others must match'],
];

/** Highest SPQR epoch each side has sent in. */
class Epochs {
  readonly of = new Map<Party, number>();
  saw(from: Party, message: CiphertextMessage): void {
    this.of.set(from, Math.max(this.of.get(from) ?? 0, spqrOf(message).epoch));
  }
  get(party: Party): number {
    return this.of.get(party) ?? 0;
  }
}

async function established(aliceKind: Kind, bobKind: Kind): Promise<[Party, Party]> {
  const alice = makeParty(aliceKind);
  const bob = makeParty(bobKind);
  await alice.startSession(bob.address, await bob.bundle());
  return [alice, bob];
}

async function send(from: Party, to: Party, body: string, epochs: Epochs): Promise<void> {
  const message = await from.encrypt(to.address, text(body));
  epochs.saw(from, message);
  expect(untext(await to.decrypt(from.address, message))).to.equal(body);
}

function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('reference-impl/crypto SPQR braid with libsignal-client 0.103.0', () => {
  for (const [aliceKind, bobKind, title] of pairs) {
    describe(title, () => {
      it(`advances both sides' SPQR epochs in 200 alternating messages (libsignal interop: ${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const epochs = new Epochs();
        for (let i = 0; i < 200; i++) {
          const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
          await send(from, to, `m${i}`, epochs);
        }
        expect(epochs.get(alice), 'alice').to.be.at.least(3);
        expect(epochs.get(bob), 'bob').to.be.at.least(3);
      });

      it(`reaches epoch 6 or later on both sides (5 epochs added) in 440 alternating messages (libsignal interop: ${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const epochs = new Epochs();
        const seen: number[] = [];
        for (let i = 0; i < 440; i++) {
          const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
          await send(from, to, `m${i}`, epochs);
          if (i % 40 === 39) seen.push(epochs.get(alice), epochs.get(bob));
        }
        expect(epochs.get(alice), `alice (every 40: ${seen})`).to.be.at.least(6);
        expect(epochs.get(bob), `bob (every 40: ${seen})`).to.be.at.least(6);
      });

      it(`advances epochs in runs of 100 messages one way, then 100 the other (libsignal interop: ${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const epochs = new Epochs();
        for (let run = 0; run < 6; run++) {
          const [from, to] = run % 2 === 0 ? [alice, bob] : [bob, alice];
          for (let i = 0; i < 100; i++) await send(from, to, `run ${run} m${i}`, epochs);
        }
        // one way, only the ct side's last chunks and the next header get across: about one epoch
        // per change of direction (the same with libsignal on both ends)
        expect(epochs.get(alice), 'alice').to.be.at.least(2);
        expect(epochs.get(bob), 'bob').to.be.at.least(2);
      });

      it(`keeps the braid going with 30 % of messages dropped at random and the rest reordered within batches (libsignal interop: ${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        // the first message is a prekey message and must arrive
        await send(alice, bob, 'open', new Epochs());
        const epochs = new Epochs();
        let delivered = 0;
        for (let round = 0; round < 140; round++) {
          const [from, to] = round % 2 === 0 ? [bob, alice] : [alice, bob];
          const batch: [CiphertextMessage, string][] = [];
          for (let i = 0; i < 4; i++) {
            const body = `round ${round} m${i}`;
            const message = await from.encrypt(to.address, text(body));
            epochs.saw(from, message);
            batch.push([message, body]);
          }
          const kept = batch.filter(() => randomInt(10) >= 3);
          for (const [message, body] of shuffled(kept)) {
            expect(untext(await to.decrypt(from.address, message))).to.equal(body);
            delivered++;
          }
        }
        expect(delivered).to.be.greaterThan(300);
        expect(epochs.get(alice), 'alice').to.be.at.least(3);
        expect(epochs.get(bob), 'bob').to.be.at.least(3);
      });

      it(`starts a fresh braid after a session reset in the middle of an epoch, while the old session's messages still decrypt (libsignal interop: ${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const epochs = new Epochs();
        for (let i = 0; i < 100; i++) {
          const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
          await send(from, to, `old ${i}`, epochs);
        }
        expect(epochs.get(alice)).to.equal(2);
        const inFlight = [];
        for (let i = 0; i < 3; i++)
          inFlight.push(await alice.encrypt(bob.address, text(`late ${i}`)));
        await alice.startSession(bob.address, await bob.bundle());
        const fresh = new Epochs();
        const first = await alice.encrypt(bob.address, text('new session'));
        expect(first.type).to.equal('prekey');
        expect(spqrOf(first).epoch).to.equal(1);
        expect(untext(await bob.decrypt(alice.address, first))).to.equal('new session');
        for (let i = 0; i < 3; i++) {
          expect(untext(await bob.decrypt(alice.address, inFlight[i]!))).to.equal(`late ${i}`);
        }
        for (let i = 0; i < 200; i++) {
          const [from, to] = i % 2 === 0 ? [bob, alice] : [alice, bob];
          await send(from, to, `new ${i}`, fresh);
        }
        expect(fresh.get(alice), 'alice').to.be.at.least(3);
        expect(fresh.get(bob), 'bob').to.be.at.least(3);
      });
    });
  }

  /**
   * Alice sends runs of 45 messages and bob answers with runs of 45, so the braid moves about an
   * epoch per pair of runs while few DH steps pass (5 receiving chains are kept); alice holds back
   * two messages of each of her runs, and bob gets them all at the end, across epoch changes.
   * Which of them decrypt is the same whoever receives them, libsignal or Parley. (In this
   * schedule all do: within the five receiving chains the Double Ratchet keeps, the braid does not
   * get far enough for SPQR to drop the chain epoch these messages name.)
   */
  async function lateDeliveries(aliceKind: Kind, bobKind: Kind): Promise<string[]> {
    const [alice, bob] = await established(aliceKind, bobKind);
    const epochs = new Epochs();
    const held: [CiphertextMessage, string, number][] = [];
    for (let run = 0; run < 9; run++) {
      const [from, to] = run % 2 === 0 ? [alice, bob] : [bob, alice];
      for (let i = 0; i < 45; i++) {
        const body = `run ${run} m${i}`;
        if (from === alice && run > 0 && (i === 5 || i === 40)) {
          const message = await alice.encrypt(bob.address, text(body));
          held.push([message, body, spqrOf(message).epoch]);
          continue;
        }
        await send(from, to, body, epochs);
      }
    }
    const outcomes: string[] = [];
    for (const [message, body, epoch] of held) {
      try {
        expect(untext(await bob.decrypt(alice.address, message))).to.equal(body);
        outcomes.push(`${body} (epoch ${epoch}): decrypted`);
      } catch (error) {
        if (!(error instanceof Error) || error.name === 'AssertionError') throw error;
        outcomes.push(`${body} (epoch ${epoch}): refused`);
      }
    }
    return outcomes;
  }

  it('decrypts messages held back across epoch changes exactly as libsignal does, whichever side sends (libsignal interop)', async () => {
    for (const sender of ['libsignal', 'parley'] as const) {
      const byLibsignal = await lateDeliveries(sender, 'libsignal');
      const byParley = await lateDeliveries(sender, 'parley');
      expect(byParley, `${sender} sending`).to.deep.equal(byLibsignal);
      expect(byLibsignal.some((o) => o.endsWith('decrypted'))).to.equal(true);
    }
  });
});
