// Sender keys (the group cipher) against libsignal-client 0.103.0 in both directions (spec:
// Cryptography — Sender keys): libsignal distributes and encrypts while Parley processes and
// decrypts, and the reverse; tampering, replays, forgeries by a member, out-of-order delivery,
// the forward-jump and kept-key limits, and a sender rotating its key. Every title names
// libsignal so that `mocha --grep libsignal` selects them.
import { createCipheriv, randomInt, randomUUID } from 'node:crypto';
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import {
  limits,
  ProtocolError,
  ProtocolErrorCode,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
  type ProtocolAddress,
} from '../../../../reference-impl/crypto/index.ts';
import {
  senderMessageKeys,
  senderMessageKeySeed,
} from '../../../../reference-impl/crypto/group/state.ts';
import { encodeSenderKeyMessage } from '../../../../reference-impl/crypto/group/wire.ts';
import { generateKeyPair } from '../../../../reference-impl/crypto/curve.ts';
import {
  libsignalRecordOf,
  makeMember,
  ParleyMember,
  LibsignalMember,
  type GroupMember,
} from '../support/group-members.ts';
import { text, toBuffer, untext } from '../support/parties.ts';

type Kind = 'parley' | 'libsignal';

const pairs: [Kind, Kind, string][] = [
  ['libsignal', 'parley', 'libsignal sends, parley receives'],
  ['parley', 'libsignal', 'parley sends, libsignal receives'],
];

/** alice (sender) and bob (receiver) with alice's sender key for a fresh distribution id at bob. */
async function group(
  senderKind: Kind,
  receiverKind: Kind,
): Promise<{ alice: GroupMember; bob: GroupMember; distributionId: string }> {
  const alice = makeMember(senderKind);
  const bob = makeMember(receiverKind);
  const distributionId = randomUUID();
  await bob.accept(alice.address, await alice.distribute(distributionId));
  return { alice, bob, distributionId };
}

async function refusal(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * `bob` refuses `body` from alice and holds exactly the state he held before. On a Parley receiver
 * the refusal carries `code`; libsignal's errors are checked to be errors only.
 */
async function expectRefused(
  bob: GroupMember,
  alice: GroupMember,
  distributionId: string,
  body: Uint8Array,
  code: ProtocolErrorCode,
  why: string,
): Promise<void> {
  const before = await bob.stateOf(alice.address, distributionId);
  const error = await refusal(() => bob.decrypt(alice.address, body));
  expect(error, why).to.be.instanceOf(Error);
  if (bob.kind === 'parley') {
    expect(error, why).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).code, `${why}: ${(error as Error).message}`).to.equal(code);
  }
  expect(await bob.stateOf(alice.address, distributionId), `${why}: state after`).to.equal(before);
}

function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('reference-impl/crypto/group interop with libsignal-client 0.103.0', () => {
  for (const [senderKind, receiverKind, title] of pairs) {
    describe(title, () => {
      it(`alice distributes her sender key and bob decrypts her group messages; both messages carry version byte 0x33 and libsignal's fields (${title})`, async () => {
        const alice = makeMember(senderKind);
        const bob = makeMember(receiverKind);
        const distributionId = randomUUID();
        const distribution = await alice.distribute(distributionId);
        expect(distribution[0]).to.equal(0x33);
        const ours = parseSenderKeyDistributionMessage(distribution);
        const theirs = Signal.SenderKeyDistributionMessage.deserialize(toBuffer(distribution));
        expect(ours.distributionId).to.equal(distributionId).and.to.equal(theirs.distributionId());
        expect(ours.chainId)
          .to.equal(theirs.chainId())
          .and.to.be.below(2 ** 31);
        expect(ours.iteration).to.equal(0).and.to.equal(theirs.iteration());
        expect([...ours.chainKey]).to.deep.equal([...theirs.chainKey()]);
        await bob.accept(alice.address, distribution);
        for (let i = 0; i < 3; i++) {
          const body = await alice.encrypt(distributionId, text(`hello group ${i}`));
          expect(body[0]).to.equal(0x33);
          const parsed = parseSenderKeyMessage(body);
          const signal = Signal.SenderKeyMessage.deserialize(toBuffer(body));
          expect(parsed.distributionId)
            .to.equal(signal.distributionId())
            .and.to.equal(distributionId);
          expect(parsed.chainId).to.equal(signal.chainId()).and.to.equal(ours.chainId);
          expect(parsed.iteration).to.equal(signal.iteration()).and.to.equal(i);
          expect([...parsed.ciphertext]).to.deep.equal([...signal.ciphertext()]);
          const signingKey = Signal.PublicKey.deserialize(toBuffer(ours.signingKey));
          expect(signal.verifySignature(signingKey)).to.equal(true);
          expect(untext(await bob.decrypt(alice.address, body))).to.equal(`hello group ${i}`);
        }
      });

      it(`bob decrypts 300 group messages from alice in order, of every length up to 300 bytes (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        for (let i = 0; i < 300; i++) {
          const plaintext = 'm'.repeat(i);
          const body = await alice.encrypt(distributionId, text(plaintext));
          expect(untext(await bob.decrypt(alice.address, body))).to.equal(plaintext);
        }
      });

      it(`bob decrypts alice's messages with a third dropped and the rest shuffled, and refuses each one again as a replay with his state unchanged (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const sent = [];
        for (let i = 0; i < 60; i++) {
          sent.push({ i, body: await alice.encrypt(distributionId, text(`m${i}`)) });
        }
        const delivered = shuffled(sent).filter(() => randomInt(3) !== 0);
        for (const { i, body } of delivered) {
          expect(untext(await bob.decrypt(alice.address, body)), `message ${i}`).to.equal(`m${i}`);
        }
        for (const { i, body } of delivered.slice(0, 10)) {
          await expectRefused(
            bob,
            alice,
            distributionId,
            body,
            ProtocolErrorCode.DuplicatedMessage,
            `replay of ${i}`,
          );
        }
        const late = await alice.encrypt(distributionId, text('after the replays'));
        expect(untext(await bob.decrypt(alice.address, late))).to.equal('after the replays');
      });

      it(`bob refuses alice's message with any one byte changed, his state unchanged, and then decrypts the original (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        await bob.decrypt(alice.address, await alice.encrypt(distributionId, text('first')));
        const body = await alice.encrypt(distributionId, text('tamper with me'));
        for (let at = 0; at < body.length; at++) {
          const tampered = Uint8Array.from(body);
          tampered[at] = tampered[at]! ^ (1 << randomInt(8));
          const before = await bob.stateOf(alice.address, distributionId);
          const error = await refusal(() => bob.decrypt(alice.address, tampered));
          expect(error, `byte ${at} changed`).to.be.instanceOf(Error);
          expect(await bob.stateOf(alice.address, distributionId), `byte ${at}`).to.equal(before);
        }
        expect(untext(await bob.decrypt(alice.address, body))).to.equal('tamper with me');
      });

      it(`bob refuses a message that carol, a member holding alice's chain key, encrypts under it and signs with her own key (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const distribution = parseSenderKeyDistributionMessage(
          await alice.distribute(distributionId),
        );
        const keys = senderMessageKeys(
          senderMessageKeySeed({ iteration: distribution.iteration, seed: distribution.chainKey }),
        );
        const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
        const forged = encodeSenderKeyMessage({
          distributionId,
          chainId: distribution.chainId,
          iteration: distribution.iteration,
          ciphertext: Buffer.concat([cipher.update(text('from alice, honestly')), cipher.final()]),
          signingPrivateKey: generateKeyPair().privateKey,
        });
        await expectRefused(
          bob,
          alice,
          distributionId,
          forged.serialized,
          ProtocolErrorCode.SignatureValidationFailed,
          'signed by carol',
        );
        const real = await alice.encrypt(distributionId, text('really alice'));
        expect(untext(await bob.decrypt(alice.address, real))).to.equal('really alice');
      });

      it(`bob refuses a message of a distribution id or a chain id he holds no sender key for (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const other = randomUUID();
        await alice.distribute(other);
        await expectRefused(
          bob,
          alice,
          other,
          await alice.encrypt(other, text('unknown distribution')),
          ProtocolErrorCode.NoSenderKeyState,
          'unknown distribution id',
        );
        await alice.rotate(distributionId);
        await expectRefused(
          bob,
          alice,
          distributionId,
          await alice.encrypt(distributionId, text('unknown chain')),
          ProtocolErrorCode.NoSenderKeyState,
          'unknown chain id',
        );
      });

      it(`bob decrypts a message ${limits.SENDER_KEY_MAX_FORWARD_JUMPS} iterations ahead, refuses one ${limits.SENDER_KEY_MAX_FORWARD_JUMPS + 1} ahead, and keeps the newest ${limits.SENDER_KEY_MAX_MESSAGE_KEYS} skipped keys only (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const limit = limits.SENDER_KEY_MAX_FORWARD_JUMPS;
        const kept = limits.SENDER_KEY_MAX_MESSAGE_KEYS;
        const wanted = new Set([0, limit - kept - 1, limit - kept, limit - 1, limit, limit + 1]);
        const held = new Map<number, Uint8Array>();
        for (let i = 0; i <= limit + 1; i++) {
          const body = await alice.encrypt(distributionId, text(`m${i}`));
          if (wanted.has(i)) held.set(i, body);
        }
        await expectRefused(
          bob,
          alice,
          distributionId,
          held.get(limit + 1)!,
          ProtocolErrorCode.MessageTooFarAhead,
          `iteration ${limit + 1} from 0`,
        );
        expect(untext(await bob.decrypt(alice.address, held.get(limit)!))).to.equal(`m${limit}`);
        expect(untext(await bob.decrypt(alice.address, held.get(limit + 1)!))).to.equal(
          `m${limit + 1}`,
        );
        for (const i of [limit - kept, limit - 1]) {
          expect(untext(await bob.decrypt(alice.address, held.get(i)!))).to.equal(`m${i}`);
        }
        for (const i of [0, limit - kept - 1]) {
          await expectRefused(
            bob,
            alice,
            distributionId,
            held.get(i)!,
            ProtocolErrorCode.DuplicatedMessage,
            `skipped key ${i}, beyond the ${kept} kept`,
          );
        }
      });

      it(`bob drops the oldest skipped keys first when two jumps together skip more than ${limits.SENDER_KEY_MAX_MESSAGE_KEYS} (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const kept = limits.SENDER_KEY_MAX_MESSAGE_KEYS;
        // First jump skips 0..1499, the second 1501..2500: 2 500 keys, of which the oldest 500 go.
        const firstJump = 1500;
        const last = firstJump + 1000 + 1;
        const dropped = firstJump + 1000 - kept;
        const wanted = new Set([0, dropped - 1, dropped, firstJump, firstJump + 1, last]);
        const held = new Map<number, Uint8Array>();
        for (let i = 0; i <= last; i++) {
          const body = await alice.encrypt(distributionId, text(`m${i}`));
          if (wanted.has(i)) held.set(i, body);
        }
        expect(untext(await bob.decrypt(alice.address, held.get(firstJump)!))).to.equal(
          `m${firstJump}`,
        );
        expect(untext(await bob.decrypt(alice.address, held.get(last)!))).to.equal(`m${last}`);
        for (const i of [dropped, firstJump + 1]) {
          expect(untext(await bob.decrypt(alice.address, held.get(i)!))).to.equal(`m${i}`);
        }
        for (const i of [0, dropped - 1]) {
          await expectRefused(
            bob,
            alice,
            distributionId,
            held.get(i)!,
            ProtocolErrorCode.DuplicatedMessage,
            `skipped key ${i}, among the oldest dropped`,
          );
        }
      });

      it(`alice rotates her sender key five times and bob still decrypts her messages in flight under the last ${limits.MAX_SENDER_KEY_STATES} keys, not under the first (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const inFlight: { key: number; body: Uint8Array }[] = [];
        for (let key = 0; key <= limits.MAX_SENDER_KEY_STATES; key++) {
          if (key > 0) await bob.accept(alice.address, await alice.rotate(distributionId));
          for (let i = 0; i < 3; i++) {
            inFlight.push({
              key,
              body: await alice.encrypt(distributionId, text(`k${key} m${i}`)),
            });
          }
        }
        const chainIds = new Set(inFlight.map(({ body }) => parseSenderKeyMessage(body).chainId));
        expect(chainIds.size).to.equal(limits.MAX_SENDER_KEY_STATES + 1);
        for (const { key, body } of shuffled(inFlight)) {
          if (key === 0) {
            await expectRefused(
              bob,
              alice,
              distributionId,
              body,
              ProtocolErrorCode.NoSenderKeyState,
              'a message under the first key, beyond the states kept',
            );
          } else {
            expect(untext(await bob.decrypt(alice.address, body))).to.match(
              new RegExp(`^k${key} `),
            );
          }
        }
      });

      it(`a distribution message that bob processes twice does not rewind alice's chain: a used message stays refused (${title})`, async () => {
        const alice = makeMember(senderKind);
        const bob = makeMember(receiverKind);
        const distributionId = randomUUID();
        const distribution = await alice.distribute(distributionId);
        await bob.accept(alice.address, distribution);
        const first = await alice.encrypt(distributionId, text('first'));
        expect(untext(await bob.decrypt(alice.address, first))).to.equal('first');
        await bob.accept(alice.address, distribution);
        await expectRefused(
          bob,
          alice,
          distributionId,
          first,
          ProtocolErrorCode.DuplicatedMessage,
          'replay after the distribution message came again',
        );
        const second = await alice.encrypt(distributionId, text('second'));
        expect(untext(await bob.decrypt(alice.address, second))).to.equal('second');
      });

      it(`dave, who joins after alice sent five messages, gets her key at iteration 5 and cannot decrypt the earlier ones (${title})`, async () => {
        const { alice, bob, distributionId } = await group(senderKind, receiverKind);
        const early = [];
        for (let i = 0; i < 5; i++) early.push(await alice.encrypt(distributionId, text(`e${i}`)));
        const dave = makeMember(receiverKind);
        const distribution = await alice.distribute(distributionId);
        expect(parseSenderKeyDistributionMessage(distribution).iteration).to.equal(5);
        await dave.accept(alice.address, distribution);
        for (const body of early) {
          await expectRefused(
            dave,
            alice,
            distributionId,
            body,
            ProtocolErrorCode.DuplicatedMessage,
            'a message from before dave joined',
          );
          await bob.decrypt(alice.address, body);
        }
        const later = await alice.encrypt(distributionId, text('welcome dave'));
        expect(untext(await dave.decrypt(alice.address, later))).to.equal('welcome dave');
        expect(untext(await bob.decrypt(alice.address, later))).to.equal('welcome dave');
      });
    });
  }

  it('from one sender-key state, parley and libsignal encrypt the same bytes up to the signature, and each verifies the other (libsignal)', async () => {
    const alice = new ParleyMember({ name: randomUUID(), deviceId: 1 });
    const distributionId = randomUUID();
    await alice.distribute(distributionId);
    const state = (await alice.store.loadSenderKey(alice.address, distributionId))!.current!;
    const twin = new LibsignalMember(alice.address);
    await twin.store.saveSenderKey(
      twin.signalAddress(alice.address),
      distributionId,
      libsignalRecordOf(state),
    );
    for (const length of [0, 1, 15, 16, 17, 200]) {
      const plaintext = text('p'.repeat(length));
      const ours = await alice.encrypt(distributionId, plaintext);
      const theirs = await twin.encrypt(distributionId, plaintext);
      expect(ours.length, `length ${length}`).to.equal(theirs.length);
      const signed = ours.length - 64;
      expect(Buffer.from(ours.subarray(0, signed)).toString('hex')).to.equal(
        Buffer.from(theirs.subarray(0, signed)).toString('hex'),
      );
      const signingKey = Signal.PublicKey.deserialize(toBuffer(state.signingKey));
      for (const body of [ours, theirs]) {
        const message = Signal.SenderKeyMessage.deserialize(toBuffer(body));
        expect(message.verifySignature(signingKey)).to.equal(true);
      }
    }
  });

  it('a group of alice and carol on parley and bob and dave on libsignal: every member distributes to every other and every message reaches every other member (libsignal)', async () => {
    const members = (['parley', 'libsignal', 'parley', 'libsignal'] as const).map((kind) =>
      makeMember(kind),
    );
    const distributionId = randomUUID();
    for (const sender of members) {
      const distribution = await sender.distribute(distributionId);
      for (const member of members) {
        if (member !== sender) await member.accept(sender.address, distribution);
      }
    }
    for (let round = 0; round < 5; round++) {
      for (const sender of members) {
        const body = await sender.encrypt(distributionId, text(`${sender.kind} round ${round}`));
        for (const member of members) {
          if (member === sender) continue;
          const from: ProtocolAddress = sender.address;
          expect(untext(await member.decrypt(from, body))).to.equal(
            `${sender.kind} round ${round}`,
          );
        }
      }
    }
  });
});
