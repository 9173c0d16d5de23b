// ENC cases of spec/crypto.md and spec/content.md, seen from the wire: a full X3DH + Double Ratchet
// conversation between a first-party and a third-party test user through the target, with every
// ciphertext relayed byte for byte and every plaintext a schema-valid Content.
import { equals, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { textContent } from '../../transport/users.ts';

export const conversationCases = [
  defineCase({
    id: 'ENC-003-conversation-byte-exact',
    title:
      'alice (first-party) and bob (third-party) hold an X3DH + Double Ratchet conversation and every body arrives byte for byte',
    requirements: ['ENC-003', 'DELIV-015', 'DELIV-016', 'DELIV-018', 'KEYS-014'],
    level: 'MUST',
    quote:
      'The provider MUST deliver every ciphertext body byte for byte as the sender submitted it.',
    sends:
      'bob: keys.claim, message.send (prekey); alice: ack, message.send (whisper); bob: message.send (whisper)',
    timeoutMs: 8000,
    async run({ world, world: { validator } }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      // Turn 1: bob opens the session with a PreKeySignalMessage.
      const bundle = await bob.startSessions(alice.address);
      mustMatch('KEYS-014', bundle, isType('keys.bundle'));
      const first = await bob.encryptFor(alice.address, textContent('hello alice'));
      const accepted = await bob.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: `k.${world.rng.word(12)}`,
        messages: first,
      });
      mustMatch('DELIV-015', accepted, isType('message.accepted'));
      const got = await alice.nextMessage();
      must('ENC-003', equals(first[0]!.body, 'body')(got.body));
      must(
        'DELIV-016',
        that(got.from === bob.address && got.fromDevice === 1, `from ${bob.address} device 1`, got),
      );
      must(
        'DELIV-015',
        that(
          got.messageId === accepted.messageId,
          `messageId ${accepted.messageId}`,
          got.messageId,
        ),
      );
      must(
        'DELIV-015',
        that(
          got.serverTimestamp === accepted.serverTimestamp,
          `the serverTimestamp ${accepted.serverTimestamp} of message.accepted`,
          got.serverTimestamp,
        ),
      );
      const content = await alice.open(got);
      must(
        'ENC-003',
        that(content.body === 'hello alice', 'the decrypted text "hello alice"', content),
      );
      must(
        'ENC-003',
        that(validator.validateAs('Content', content).ok, 'a schema-valid Content', content),
      );
      await alice.ack(got);
      // Turn 2: alice answers with a SignalMessage on the ratchet.
      await alice.startSessionsIfNone(bob.address);
      const reply = await alice.encryptFor(bob.address, textContent('hi bob'));
      mustMatch(
        'ENC-003',
        await alice.peer.request('message.send', {
          to: bob.address,
          idempotencyKey: `k.${world.rng.word(12)}`,
          messages: reply,
        }),
        isType('message.accepted'),
      );
      const back = await bob.nextMessage();
      must('ENC-003', equals(reply[0]!.body, 'body')(back.body));
      must(
        'ENC-003',
        that((await bob.open(back)).body === 'hi bob', 'the decrypted text "hi bob"', back),
      );
      await bob.ack(back);
      // Turn 3: bob, having decrypted alice's reply, sends a SignalMessage of the new chain.
      const third = await bob.encryptFor(alice.address, textContent('how are you?'));
      must(
        'ENC-003',
        that(third[0]!.type === 'whisper', 'a whisper after the reply', third[0]!.type),
      );
      await bob.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: `k.${world.rng.word(12)}`,
        messages: third,
      });
      const last = await alice.nextMessage();
      must('ENC-003', equals(third[0]!.body, 'body')(last.body));
      must(
        'ENC-003',
        that((await alice.open(last)).body === 'how are you?', 'the decrypted text', last),
      );
    },
  }),
];
