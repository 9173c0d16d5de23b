// ENC cases of a client as a receiver (spec/crypto.md): the suite's peers craft ciphertexts with
// the reference core (first messages with and without one-time prekeys, tampered MACs, replays,
// reordered and skipped messages, counters far ahead, many ratchet turns), the mock provider
// delivers them, and the case observes whether the client reports each as received and whether
// its session still accepts the next valid message.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { adjustSession, skipSendingKeys } from '../../client/peer.ts';
import { defineClientCase } from '../../runner/case.ts';
import { flipBit, mustNotReceive, mustStillReceive, openOrFail } from './client-support.ts';

/** How far ahead of the next counter a receiver still accepts (ENC-028). */
const MAX_FORWARD_JUMPS = 25_000;
/** Skipped message keys a receiver keeps per chain (ENC-029). */
const MAX_SKIPPED_KEYS = 2_000;
/** Receiving chains a receiver keeps per session (ENC-030). */
const MAX_RECEIVING_CHAINS = 5;

export const clientReceivingCases = [
  defineClientCase({
    id: 'ENC-010-client-responder-x3dh',
    title:
      'the client decrypts first messages that used its one-time prekey and that used none, deriving keys from the prekeys they name',
    requirements: ['ENC-010'],
    level: 'MUST',
    quote:
      'The responder MUST derive `RK0` and `CK0` from its own private keys as above, using the one-time prekey named by `pre_key_id` and the signed prekey named by `signed_pre_key_id`.',
    sends:
      'suite: bob claims a client bundle with a one-time prekey, carol one without; each sends a PreKeySignalMessage',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      await carol.startSession(client.client, client.mock.claimClientBundle(false));
      for (const peer of [bob, carol]) {
        const content = client.text(`first message from ${peer.label}`);
        const delivery = await client.deliver(peer, content);
        must(
          'ENC-010',
          that(delivery.frame.ciphertextType === 'prekey', 'a prekey message', delivery.frame),
        );
        const got = await client.received(delivery.messageId);
        must(
          'ENC-010',
          that(
            got?.content.id === content.id,
            `${peer.label}’s first message received`,
            got ?? 'nothing',
          ),
        );
      }
    },
  }),

  defineClientCase({
    id: 'ENC-011-client-deletes-used-prekey',
    title:
      'the client refuses a second session built on a one-time prekey that an earlier message already used',
    requirements: ['ENC-011'],
    level: 'MUST',
    quote:
      'The responder MUST delete the private key of a one-time prekey once a PreKeySignalMessage that used it has been decrypted.',
    sends:
      'suite: bob and carol both build sessions from the same client bundle entry (its one-time prekey, the last-resort Kyber prekey); bob’s message first, then carol’s',
    async run({ client }) {
      await client.connect();
      // The entry carries the last-resort Kyber prekey, which serves twice (ENC-049), so that only
      // the one-time prekey can make the client refuse the second session.
      client.mock.published!.oneTimeKyberPreKeys.length = 0;
      const entry = client.mock.claimClientBundle(true);
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      await bob.startSession(client.client, entry);
      await carol.startSession(client.client, entry);
      const first = client.text('first use of the prekey');
      const d1 = await client.deliver(bob, first);
      must(
        'ENC-010',
        that(
          (await client.received(d1.messageId))?.content.id === first.id,
          'bob’s message received',
          'nothing',
        ),
      );
      const d2 = await client.deliver(carol, client.text('second use of the same prekey'));
      await mustNotReceive('ENC-011', client, d2, 'a message on an already used one-time prekey');
    },
  }),

  defineClientCase({
    id: 'ENC-016-client-deletes-skipped-keys-after-use',
    title:
      'the client decrypts reordered messages with kept keys and then refuses a replay of the late one',
    requirements: ['ENC-016'],
    level: 'MUST',
    quote:
      'A receiver MUST delete a message key once the message it belongs to has been decrypted.',
    sends:
      'suite: bob sends m1; encrypts m2, m3; delivers m3, m2, m2 again (new message id), then m4',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      const m2 = client.text('m2');
      const c2 = await client.encrypt(bob, m2);
      const m3 = client.text('m3');
      const c3 = await client.encrypt(bob, m3);
      const d3 = client.redeliver(bob, c3);
      must(
        'ENC-016',
        that(
          (await client.received(d3.messageId))?.content.id === m3.id,
          'm3 received before m2',
          'nothing',
        ),
      );
      const d2 = client.redeliver(bob, c2);
      must(
        'ENC-016',
        that(
          (await client.received(d2.messageId))?.content.id === m2.id,
          'm2 received late with its kept key',
          'nothing',
        ),
      );
      const replay = client.redeliver(bob, c2);
      await mustNotReceive('ENC-016', client, replay, 'a replay of m2');
      await mustStillReceive('ENC-016', client, bob, 'after the refused replay');
    },
  }),

  defineClientCase({
    id: 'ENC-018-client-ignores-previous-counter',
    title: 'the client decrypts a message whose previous_counter is false',
    requirements: ['ENC-018'],
    level: 'MUST',
    quote: 'A receiver MUST NOT depend on `previous_counter` to decrypt.',
    sends:
      'suite: bob sends m1; driver: the client replies; suite: bob sends m2 on a new ratchet key with previous_counter 4242',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      await openOrFail('ENC-001', client, bob, await client.sendText(bob, 'reply'));
      await adjustSession(bob, client.client, (state) => {
        state.previousCounter = 4242;
      });
      const m2 = client.text('m2 with a false previous_counter');
      const d2 = await client.deliver(bob, m2);
      must(
        'ENC-018',
        that((await client.received(d2.messageId))?.content.id === m2.id, 'm2 received', 'nothing'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-021-client-checks-mac-first',
    title:
      'the client discards a message whose MAC or ciphertext was altered and then decrypts the unaltered message: its session did not change',
    requirements: ['ENC-021', 'ENC-020'],
    level: 'MUST',
    quote:
      'A receiver MUST verify the MAC, in constant time, before decrypting, and MUST discard a message whose MAC does not verify without changing any session state.',
    sends:
      'suite: bob sends m1; encrypts m2; delivers m2 with a flipped MAC bit, m2 with a flipped ciphertext bit, then m2 intact',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      const m2 = client.text('m2');
      const c2 = await client.encrypt(bob, m2);
      for (const where of ['mac', 'ciphertext'] as const) {
        const d = client.redeliver(bob, flipBit(c2, where));
        await mustNotReceive('ENC-021', client, d, `m2 with a flipped ${where} bit`);
      }
      const intact = client.redeliver(bob, c2);
      const got = await client.received(intact.messageId);
      must(
        'ENC-021',
        that(
          got?.content.id === m2.id,
          'the intact m2 received: no session state changed',
          got ?? 'nothing',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-028-client-counter-limit',
    title: `the client accepts a counter ${MAX_FORWARD_JUMPS} ahead and refuses one more than ${MAX_FORWARD_JUMPS} ahead`,
    requirements: ['ENC-028'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a message whose `counter` lies more than 25 000 ahead of the next counter of its receiving chain.',
    sends: `suite: bob sends m1, then m2 at ${MAX_FORWARD_JUMPS} ahead, then m3 at ${MAX_FORWARD_JUMPS + 1} ahead`,
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      await adjustSession(bob, client.client, (s) => skipSendingKeys(s, MAX_FORWARD_JUMPS));
      must(
        'ENC-028',
        that(
          await client.roundTrip(bob, client.text('m2')),
          `m2 (${MAX_FORWARD_JUMPS} ahead) received`,
          'nothing',
        ),
      );
      await adjustSession(bob, client.client, (s) => skipSendingKeys(s, MAX_FORWARD_JUMPS + 1));
      const d3 = await client.deliver(bob, client.text('m3'));
      await mustNotReceive('ENC-028', client, d3, `m3 (${MAX_FORWARD_JUMPS + 1} ahead)`);
    },
  }),

  defineClientCase({
    id: 'ENC-029-client-skipped-key-limit',
    title: `the client keeps at most ${MAX_SKIPPED_KEYS} skipped message keys per chain, dropping the oldest`,
    requirements: ['ENC-029'],
    level: 'MUST',
    quote:
      'A receiver MUST keep at most 2 000 skipped message keys per receiving chain, discarding the oldest first.',
    sends: `suite: bob sends m0; encrypts m1, m2; skips ahead; delivers m at counter ${MAX_SKIPPED_KEYS + 2}, then m1, then m2`,
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m0')), 'm0 received', 'nothing'),
      );
      const c1 = await client.encrypt(bob, client.text('m1'));
      const m2 = client.text('m2');
      const c2 = await client.encrypt(bob, m2);
      await adjustSession(bob, client.client, (s) => skipSendingKeys(s, MAX_SKIPPED_KEYS - 1));
      // Counter 2002: counters 1..2001 are skipped, one more than a receiver keeps.
      must(
        'ENC-029',
        that(
          await client.roundTrip(bob, client.text('far')),
          'the far message received',
          'nothing',
        ),
      );
      const d1 = client.redeliver(bob, c1);
      await mustNotReceive('ENC-029', client, d1, 'm1, whose key is the oldest of 2001 skipped');
      const d2 = client.redeliver(bob, c2);
      must(
        'ENC-029',
        that(
          (await client.received(d2.messageId))?.content.id === m2.id,
          'm2 received with a kept key',
          'nothing',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-030-client-receiving-chain-limit',
    title: `the client keeps at most ${MAX_RECEIVING_CHAINS} receiving chains, dropping the oldest`,
    requirements: ['ENC-030', 'ENC-014'],
    level: 'MUST',
    quote:
      'A receiver MUST keep at most 5 receiving chains per session, discarding the oldest first.',
    sends: `suite: ${MAX_RECEIVING_CHAINS + 1} turns of bob (one late message held back per turn) and client replies; then the late messages of the first two turns`,
    timeoutMs: 20_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const late: { type: 'prekey' | 'whisper'; body: string; id: string }[] = [];
      for (let turn = 0; turn <= MAX_RECEIVING_CHAINS; turn++) {
        const held = client.text(`late message of turn ${turn}`);
        late.push({ ...(await client.encrypt(bob, held)), id: String(held.id) });
        must(
          'ENC-014',
          that(
            await client.roundTrip(bob, client.text(`turn ${turn}`)),
            `bob’s turn ${turn} received`,
            'nothing',
          ),
        );
        await openOrFail('ENC-014', client, bob, await client.sendText(bob, `reply ${turn}`));
      }
      const oldest = client.redeliver(bob, late[0]!);
      await mustNotReceive(
        'ENC-030',
        client,
        oldest,
        'a late message of the oldest (sixth) receiving chain',
      );
      const kept = client.redeliver(bob, late[1]!);
      must(
        'ENC-030',
        that(
          (await client.received(kept.messageId))?.content.id === late[1]!.id,
          'a late message of the second chain received',
          'nothing',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-031-client-refuses-duplicates',
    title: 'the client refuses a replayed message as a duplicate and keeps its session',
    requirements: ['ENC-031', 'ENC-016'],
    level: 'MUST',
    quote:
      'A receiver MUST reject, as a duplicate, a message whose `counter` lies below the next counter of its receiving chain and whose message key it no longer holds.',
    sends: 'suite: bob sends m1 and m2; delivers m1 again under a new provider message id; then m3',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      const m2 = client.text('m2');
      const c2 = await client.encrypt(bob, m2);
      const d2 = client.redeliver(bob, c2);
      must(
        'ENC-031',
        that((await client.received(d2.messageId))?.content.id === m2.id, 'm2 received', 'nothing'),
      );
      const replay = client.redeliver(bob, c2);
      await mustNotReceive('ENC-031', client, replay, 'a replay of m2 under a new message id');
      await mustStillReceive('ENC-031', client, bob, 'after the refused duplicate');
    },
  }),
];
