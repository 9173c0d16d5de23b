// Interop with libsignal-client 0.103.0 in both directions (spec: Cryptography — "Proof: interop
// tests in both directions"): PQXDH with Kyber-1024, SPQR with both sides running the braid (its
// own long runs are in spqr-braid-interop.test.ts), fields 5 and 6. Every title names libsignal so
// that `mocha --grep libsignal` selects them. Party names are ACIs, so prekey messages carry field 6.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import protobuf from 'protobufjs';
import {
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../reference-impl/crypto/wire.ts';
import { verifySignature } from '../../../reference-impl/crypto/index.ts';
import type { LibsignalParty } from './support/parties.ts';
import { makeParty, text, untext, type Party } from './support/parties.ts';
import * as Signal from '@signalapp/libsignal-client';
import type { CiphertextMessage } from '../../../reference-impl/crypto/index.ts';

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
  const alice = makeParty(aliceKind);
  const bob = makeParty(bobKind);
  await alice.startSession(bob.address, await bob.bundle(oneTime));
  return [alice, bob];
}

async function send(from: Party, to: Party, message: string): Promise<void> {
  const ciphertext = await from.encrypt(to.address, text(message));
  expect(untext(await to.decrypt(from.address, ciphertext))).to.equal(message);
}

async function refusal(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** `to` refuses `message` and nothing it holds for `from` changes. */
async function expectRefused(
  from: Party,
  to: Party,
  message: CiphertextMessage,
  why: string,
): Promise<void> {
  const before = await to.stateOf(from.address);
  const error = await refusal(() => to.decrypt(from.address, message));
  expect(error, why).to.be.instanceOf(Error);
  expect(await to.stateOf(from.address), `${why}: state after the refusal`).to.equal(before);
}

/** Fisher–Yates with node's CSPRNG (the order is logged on failure through the titles of values). */
function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('reference-impl/crypto interop with libsignal-client 0.103.0', () => {
  for (const [aliceKind, bobKind, title] of pairs) {
    describe(title, () => {
      it(`sets up a PQXDH session and exchanges a first message and reply (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const first = await alice.encrypt(bob.address, text('hello bob'));
        expect(first.type).to.equal('prekey');
        const parsed = parsePreKeySignalMessage(first.body);
        expect(first.body[0]).to.equal(0x44);
        expect(parsed.kyberCiphertext).to.have.length(1569);
        expect(parsed.message.addresses).to.have.length(36);
        expect(parsed.message.pqRatchet[0]).to.equal(1);
        expect(untext(await bob.decrypt(alice.address, first))).to.equal('hello bob');
        await send(bob, alice, 'hello alice');
        const after = await alice.encrypt(bob.address, text('again'));
        expect(after.type).to.equal('whisper');
        expect(parseSignalMessage(after.body).addresses).to.equal(null);
        expect(untext(await bob.decrypt(alice.address, after))).to.equal('again');
      });

      it(`sets up a session from a bundle without a one-time prekey, and on a last-resort Kyber prekey (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind, false);
        await send(alice, bob, 'no one-time prekey');
        await send(bob, alice, 'still fine');
        for (let i = 0; i < 2; i++) {
          const carol = makeParty(aliceKind);
          await carol.startSession(bob.address, await bob.bundle(false, true));
          await send(carol, bob, `on the last-resort Kyber prekey ${i}`);
          await send(bob, carol, 'reply');
        }
      });

      it(`keeps a long conversation of 300 messages alternating direction in step (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        for (let i = 0; i < 300; i++) {
          const [from, to] = i % 3 === 2 ? [bob, alice] : [alice, bob];
          await send(from, to, `message ${i} from ${from.kind}`);
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

      it(`survives a third of the messages dropped and the rest shuffled, in both directions over several ratchet steps (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'open');
        for (let round = 0; round < 6; round++) {
          const [from, to] = round % 2 === 0 ? [bob, alice] : [alice, bob];
          const batch = [];
          for (let i = 0; i < 30; i++) {
            batch.push({ i, message: await from.encrypt(to.address, text(`r${round} m${i}`)) });
          }
          const delivered = shuffled(batch).filter(() => randomInt(3) !== 0);
          for (const { i, message } of delivered) {
            expect(untext(await to.decrypt(from.address, message))).to.equal(`r${round} m${i}`);
          }
          await send(to, from, `round ${round} done`);
        }
      });

      it(`carries a burst of 1000 messages one way, then one back (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'start');
        await send(bob, alice, 'go');
        for (let i = 0; i < 1000; i++) await send(alice, bob, `burst ${i}`);
        await send(bob, alice, 'done');
        for (let i = 0; i < 1000; i++) await send(bob, alice, `back ${i}`);
        await send(alice, bob, 'done too');
      });

      it(`converges after simultaneous initiation: both start sessions and both first messages cross (${title})`, async () => {
        const alice = makeParty(aliceKind);
        const bob = makeParty(bobKind);
        await alice.startSession(bob.address, await bob.bundle());
        await bob.startSession(alice.address, await alice.bundle());
        const fromAlice = await alice.encrypt(bob.address, text('alice first'));
        const fromBob = await bob.encrypt(alice.address, text('bob first'));
        expect(fromAlice.type).to.equal('prekey');
        expect(fromBob.type).to.equal('prekey');
        expect(untext(await bob.decrypt(alice.address, fromAlice))).to.equal('alice first');
        expect(untext(await alice.decrypt(bob.address, fromBob))).to.equal('bob first');
        for (let i = 0; i < 10; i++) {
          await send(alice, bob, `alice ${i}`);
          await send(bob, alice, `bob ${i}`);
        }
      });

      it(`recovers from a session reset: alice starts over from a fresh bundle while old messages are in flight (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'hi');
        await send(bob, alice, 'hello');
        const inFlight = await alice.encrypt(bob.address, text('sent before the reset'));
        const bobInFlight = await bob.encrypt(alice.address, text('bob before the reset'));
        await alice.startSession(bob.address, await bob.bundle());
        const reset = await alice.encrypt(bob.address, text('after the reset'));
        expect(reset.type).to.equal('prekey');
        expect(untext(await bob.decrypt(alice.address, reset))).to.equal('after the reset');
        await send(bob, alice, 'reply on the new session');
        expect(untext(await bob.decrypt(alice.address, inFlight))).to.equal(
          'sent before the reset',
        );
        expect(untext(await alice.decrypt(bob.address, bobInFlight))).to.equal(
          'bob before the reset',
        );
        for (let i = 0; i < 5; i++) {
          await send(alice, bob, `after ${i}`);
          await send(bob, alice, `reply ${i}`);
        }
      });

      it(`keeps independent sessions with several devices of one account, one of each implementation (${title})`, async () => {
        const alice = makeParty(aliceKind);
        const bob1 = makeParty(bobKind);
        const other: Kind = bobKind === 'parley' ? 'libsignal' : 'parley';
        const bob2 = makeParty(other, bob1.address.name, 2);
        const bob3 = makeParty(bobKind, bob1.address.name, 127);
        for (const device of [bob1, bob2, bob3]) {
          await alice.startSession(device.address, await device.bundle());
        }
        for (let i = 0; i < 10; i++) {
          for (const device of [bob1, bob2, bob3]) {
            await send(alice, device, `to device ${device.address.deviceId}: ${i}`);
            if (i % 2 === 1) await send(device, alice, `from device ${device.address.deviceId}`);
          }
        }
      });

      it(`refuses duplicates, prekey and whisper, and keeps its state unchanged (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const first = await alice.encrypt(bob.address, text('first'));
        const second = await alice.encrypt(bob.address, text('second'));
        await bob.decrypt(alice.address, first);
        await bob.decrypt(alice.address, second);
        await expectRefused(alice, bob, first, 'duplicate prekey message');
        await expectRefused(alice, bob, second, 'duplicate second prekey message');
        await send(bob, alice, 'reply');
        const whisper = await alice.encrypt(bob.address, text('whisper'));
        expect(whisper.type).to.equal('whisper');
        await bob.decrypt(alice.address, whisper);
        await expectRefused(alice, bob, whisper, 'duplicate whisper message');
        await send(alice, bob, 'still talking');
      });

      it(`refuses a SignalMessage with any single byte tampered, keeping its state, then decrypts the original (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        await send(alice, bob, 'hi');
        await send(bob, alice, 'hello');
        for (const [from, to] of [
          [alice, bob],
          [bob, alice],
        ] as const) {
          const message = await from.encrypt(to.address, text('tamper with me'));
          expect(message.type).to.equal('whisper');
          for (let at = 0; at < message.body.length; at++) {
            const body = Uint8Array.from(message.body);
            body[at] = body[at]! ^ 0x01;
            await expectRefused(from, to, { type: 'whisper', body }, `byte ${at}`);
          }
          expect(untext(await to.decrypt(from.address, message))).to.equal('tamper with me');
        }
      });

      it(`refuses a PreKeySignalMessage with any authenticated byte tampered, and accepts, as libsignal, a changed registration id (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const message = await alice.encrypt(bob.address, text('first'));
        // Not authenticated in the Signal Protocol: the low nibble of the version byte (the
        // sender's highest version) and the value of registration_id (field 5). Its tag byte is
        // authenticated in effect: 0x28 → 0x29 is a wire-type error, which both refuse.
        const body = message.body;
        const reader = protobuf.Reader.create(body.subarray(1));
        const unauthenticated = new Set([0]);
        let registrationAt = -1;
        while (reader.pos < reader.len) {
          const tag = reader.uint32();
          if (tag >>> 3 === 5) {
            registrationAt = 1 + reader.pos;
            reader.uint32();
            for (let at = registrationAt; at < 1 + reader.pos; at++) unauthenticated.add(at);
          } else reader.skipType(tag & 7);
        }
        expect(registrationAt).to.be.greaterThan(0);
        for (let at = 0; at < body.length; at++) {
          if (unauthenticated.has(at)) continue;
          const tampered = Uint8Array.from(body);
          tampered[at] = tampered[at]! ^ 0x01;
          await expectRefused(alice, bob, { type: 'prekey', body: tampered }, `byte ${at}`);
        }
        const otherRegistration = Uint8Array.from(body);
        otherRegistration[registrationAt] = otherRegistration[registrationAt]! ^ 0x01;
        expect(
          untext(await bob.decrypt(alice.address, { type: 'prekey', body: otherRegistration })),
        ).to.equal('first');
        await send(bob, alice, 'reply');
      });

      it(`refuses a prekey message relabelled as version 3 (X3DH), as libsignal does, and then accepts the original (${title})`, async () => {
        const [alice, bob] = await established(aliceKind, bobKind);
        const message = await alice.encrypt(bob.address, text('pqxdh only'));
        for (const version of [0x33, 0x34]) {
          const body = Uint8Array.from(message.body);
          body[0] = version;
          await expectRefused(alice, bob, { type: 'prekey', body }, `version byte ${version}`);
        }
        expect(untext(await bob.decrypt(alice.address, message))).to.equal('pqxdh only');
      });

      it(`stops encrypting after 30 days without an answer, as libsignal does (${title})`, async () => {
        const t0 = Date.UTC(2026, 0, 1);
        const day = 24 * 60 * 60 * 1000;
        const alice = makeParty(aliceKind);
        const bob = makeParty(bobKind);
        await alice.startSession(bob.address, await bob.bundle(), t0);
        const edge = await alice.encrypt(bob.address, text('day 30'), t0 + 30 * day);
        expect(edge.type).to.equal('prekey');
        expect(
          await refusal(() => alice.encrypt(bob.address, text('day 31'), t0 + 31 * day)),
        ).to.be.instanceOf(Error);
        expect(untext(await bob.decrypt(alice.address, edge))).to.equal('day 30');
      });
    });
  }

  it('libsignal verifies Parley’s signed prekey and Kyber prekey signatures, and Parley verifies libsignal’s', async () => {
    const parley = makeParty('parley');
    const libsignal = makeParty('libsignal') as LibsignalParty;
    for (let i = 0; i < 10; i++) {
      const ours = await parley.bundle();
      const identity = Signal.PublicKey.deserialize(Buffer.from(ours.identityKey));
      expect(
        identity.verify(Buffer.from(ours.signedPreKey), Buffer.from(ours.signedPreKeySignature)),
      ).to.equal(true);
      expect(
        identity.verify(Buffer.from(ours.kyberPreKey), Buffer.from(ours.kyberPreKeySignature)),
      ).to.equal(true);
      const theirs = await libsignal.bundle();
      expect(
        verifySignature(theirs.identityKey, theirs.signedPreKey, theirs.signedPreKeySignature),
      ).to.equal(true);
      expect(
        verifySignature(theirs.identityKey, theirs.kyberPreKey, theirs.kyberPreKeySignature),
      ).to.equal(true);
      expect(theirs.kyberPreKey[0]).to.equal(0x08);
      expect(theirs.kyberPreKey).to.have.length(1569);
      // and each refuses the other's Kyber key signed by a different identity
      expect(
        verifySignature(ours.identityKey, theirs.kyberPreKey, theirs.kyberPreKeySignature),
      ).to.equal(false);
    }
  });
});
