// ENC cases of a client's sender keys (spec/crypto.md "Sender keys", ENC-080..088): the suite's
// peers take the client's distribution messages out of its 1:1 ciphertexts and decrypt its group
// bodies with the reference group cipher; as senders they craft group messages (bad signatures,
// iterations far ahead, replays, out-of-order, repeated distributions, rotated keys) and observe
// whether the client shows each one and still shows the next valid one.
import {
  rotateSenderKey,
  SENDER_KEY_VERSION_BYTE,
  SenderKeyRecord,
} from '../../../reference-impl/crypto/index.ts';
import { nextSenderChainKey } from '../../../reference-impl/crypto/group/state.ts';
import { that, type Frame } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import {
  deliverGroupCiphertext,
  deliverToGroup,
  distributionIdOf,
  encryptForGroup,
  openGroupSend,
  peerGroup,
  sendGroupText,
} from '../../client/group-steps.ts';
import type { Delivery } from '../../client/mock-provider.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { unb64 } from '../../transport/users.ts';

/** How far ahead of its chain a receiver follows a sender key (ENC-085, libsignal's limit). */
const MAX_FORWARD_JUMPS = 25_000;
/** Skipped message keys a receiver keeps per sender-key state (ENC-086). */
const MAX_SKIPPED_KEYS = 2_000;
/** The signature that closes every SenderKeyMessage (ENC-082). */
const SIGNATURE_BYTES = 64;

/** Whether the client showed the delivery (its `received` event for the message id). */
async function shown(client: ClientWorld, delivery: Delivery): Promise<boolean> {
  return (await client.outcome(delivery)).received !== undefined;
}

/** Delivers a text from `peer` to `group` and fails `requirement` unless the client shows it. */
async function mustShow(
  requirement: string,
  client: ClientWorld,
  peer: SuitePeer,
  group: string,
  why: string,
  distribute = false,
): Promise<void> {
  const content = client.text(`${why}?`);
  const d = await deliverToGroup(client, peer, group, content, { distribute });
  const got = await client.received(d.messageId);
  must(
    requirement,
    that(got?.content.id === content.id, `a valid group message shown (${why})`, got ?? 'nothing'),
  );
}

/** A group with bob in it that the client created, and the client's first group send. */
async function clientGroupWithBob(
  client: ClientWorld,
  devices = 1,
): Promise<{ bob: SuitePeer; group: string; send: Frame }> {
  await client.connect();
  const bob = client.peer('bob', { devices });
  const { group } = await client.drive('createGroup', { members: [bob.address] });
  return { bob, group, send: await sendGroupText(client, group, 'hello group') };
}

export const clientSenderKeyCases = [
  defineClientCase({
    id: 'ENC-080-client-fresh-sender-keys',
    title:
      'the client makes a fresh sender key, with its own chain key, signing key and chain id, for each group',
    requirements: ['ENC-080'],
    level: 'MUST',
    quote:
      'A sender MUST create each sender key with a chain key of 32 bytes and a Curve25519 signing key pair, both fresh from a cryptographically secure random source, and a random chain id.',
    sends:
      'driver: createGroup with bob, createGroup with carol, sendGroupText to each; suite: bob and carol open the distribution messages',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const keys = [];
      for (const peer of [bob, carol]) {
        const { group } = await client.drive('createGroup', { members: [peer.address] });
        const send = await sendGroupText(client, group, `hello ${peer.label}`);
        const [opened] = await openGroupSend(client, peer, send);
        must(
          'ENC-080',
          that(
            opened?.distribution !== undefined,
            `a distribution message for ${peer.label}`,
            opened,
          ),
        );
        keys.push(opened!.distribution!);
      }
      const [a, b] = keys as [(typeof keys)[0], (typeof keys)[0]];
      must('ENC-080', that(a.chainKey.length === 32, 'a chain key of 32 bytes', a.chainKey.length));
      must(
        'ENC-080',
        that(
          Buffer.compare(a.chainKey, b.chainKey) !== 0 &&
            Buffer.compare(a.signingKey, b.signingKey) !== 0 &&
            a.chainId !== b.chainId,
          'two groups, two sender keys with different chain keys, signing keys and chain ids',
          {
            chainIds: [a.chainId, b.chainId],
            sameChainKey: Buffer.compare(a.chainKey, b.chainKey) === 0,
          },
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-081-client-distributes-in-1to1',
    title: 'the client hands its sender key to each member device only inside a 1:1 Signal message',
    requirements: ['ENC-081'],
    level: 'MUST',
    quote:
      'A sender MUST send its sender key to another device only in a SenderKeyDistributionMessage encrypted in a 1:1 Signal message to that device, and a receiver MUST accept a distribution message only from a 1:1 Signal message it decrypted, as the sender key of the device that sent that message.',
    sends:
      'driver: createGroup with bob (one device), sendGroupText; suite: bob decrypts the 1:1 ciphertext addressed to him',
    async run({ client }) {
      const { bob, send } = await clientGroupWithBob(client);
      const [opened] = await openGroupSend(client, bob, send);
      must(
        'ENC-081',
        that(
          opened?.distribution !== undefined,
          'a 1:1 Signal ciphertext for bob that decrypts to a SenderKeyDistributionMessage',
          opened?.distributionError ?? 'no ciphertext for bob',
        ),
      );
      const raw = JSON.stringify(send);
      const plainKey = Buffer.from(opened!.distribution!.serialized).toString('base64url');
      must(
        'ENC-081',
        that(!raw.includes(plainKey), 'the distribution message never in clear', 'it is'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-081-client-keys-by-sending-device',
    title:
      'the client takes a distributed sender key as the key of the device that sent it, so a member cannot speak in another member’s name',
    requirements: ['ENC-081'],
    level: 'MUST',
    quote:
      'A sender MUST send its sender key to another device only in a SenderKeyDistributionMessage encrypted in a 1:1 Signal message to that device, and a receiver MUST accept a distribution message only from a 1:1 Signal message it decrypted, as the sender key of the device that sent that message.',
    sends:
      'suite: mallory, a member, distributes her sender key with a group message; then a group message under her key stamped as from bob, another member',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const mallory = client.peer('mallory');
      const group = await peerGroup(client, [bob, mallory]);
      await mustShow('ENC-081', client, mallory, group, 'mallory’s own message', true);
      // bob's own sender key uses another distribution id; mallory forges with hers under bob's name.
      const forged = await encryptForGroup(client, mallory, group, client.text('I am bob'), {
        distribute: false,
      });
      const d = deliverGroupCiphertext(client, bob, group, forged);
      must(
        'ENC-081',
        that(
          !(await shown(client, d)),
          'a message under mallory’s sender key stamped as bob’s not shown',
          'shown',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-082-client-sender-key-wire-format',
    title:
      'the client’s distribution and group messages carry version byte 0x33, libsignal’s fields and a valid signature',
    requirements: ['ENC-082'],
    level: 'MUST',
    quote:
      'A sender MUST encode every SenderKeyDistributionMessage and SenderKeyMessage with the version byte 0x33 and the field numbers and types of the table above, and MUST end every SenderKeyMessage with the XEdDSA signature of its signing key over the bytes before it.',
    sends:
      'driver: createGroup with bob, sendGroupText; suite: bob parses both messages and verifies the signature',
    async run({ client }) {
      const { bob, send } = await clientGroupWithBob(client);
      const body = unb64(String(send.body));
      must('ENC-082', that(body[0] === SENDER_KEY_VERSION_BYTE, 'version byte 0x33', body[0]));
      const [opened] = await openGroupSend(client, bob, send);
      must(
        'ENC-082',
        that(
          opened?.distribution?.serialized[0] === SENDER_KEY_VERSION_BYTE,
          'a distribution message with version byte 0x33 that parses',
          opened?.distributionError ?? opened?.distribution?.serialized[0],
        ),
      );
      must(
        'ENC-082',
        that(
          opened?.message !== undefined && body.length > SIGNATURE_BYTES,
          'a SenderKeyMessage that parses',
          opened?.error,
        ),
      );
      must(
        'ENC-082',
        that(
          opened?.plaintext !== undefined,
          'a signature that verifies under the distributed signing key',
          opened?.error,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-083-client-one-key-per-message',
    title:
      'the client encrypts consecutive group messages under consecutive iterations of its chain',
    requirements: ['ENC-083'],
    level: 'MUST',
    quote:
      'A sender MUST derive the message keys and chain keys of its sender key as above and MUST use each message key for exactly one message.',
    sends: 'driver: createGroup with bob, three sendGroupText; suite: bob decrypts each',
    async run({ client }) {
      const { bob, group, send } = await clientGroupWithBob(client);
      const sends = [
        send,
        await sendGroupText(client, group, 'two'),
        await sendGroupText(client, group, 'three'),
      ];
      const iterations: number[] = [];
      for (const s of sends) {
        const [opened] = await openGroupSend(client, bob, s);
        must(
          'ENC-083',
          that(
            opened?.plaintext !== undefined,
            'each message decrypts with the derived keys',
            opened?.error,
          ),
        );
        iterations.push(opened!.message!.iteration);
      }
      const [a, b, c] = iterations as [number, number, number];
      must(
        'ENC-083',
        that(b === a + 1 && c === b + 1, 'iterations that each move on by one', iterations),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-084-client-verifies-sender-key-signature',
    title:
      'the client does not show a group message whose signature does not verify, and shows the sender’s next valid one',
    requirements: ['ENC-084'],
    level: 'MUST',
    quote:
      'A receiver MUST verify the signature of a SenderKeyMessage with the signing key of the state that its distribution id and chain id name, before decrypting it, and MUST discard without changing any state a message whose signature does not verify or that names no state it holds.',
    sends:
      'suite: bob distributes his sender key with a first message, then one with a flipped signature bit, then a valid one',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      await mustShow('ENC-084', client, bob, group, 'bob’s first message', true);
      const d = await deliverToGroup(client, bob, group, client.text('forged'), {
        distribute: false,
        tamper: (body) => {
          body[body.length - 1]! ^= 0x01;
          return body;
        },
      });
      must(
        'ENC-084',
        that(!(await shown(client, d)), 'a message with a bad signature not shown', 'shown'),
      );
      await mustShow('ENC-084', client, bob, group, 'after the forged one');
    },
  }),

  defineClientCase({
    id: 'ENC-085-client-sender-key-bounds',
    title:
      'the client refuses a group message more than 25 000 iterations ahead and a repeated one, and still shows the next valid one',
    requirements: ['ENC-085'],
    level: 'MUST',
    quote:
      "A receiver MUST reject a SenderKeyMessage whose iteration lies more than 25 000 ahead of its state's chain, and MUST reject as a duplicate one whose iteration lies below the chain and whose message key it no longer holds.",
    sends:
      'suite: bob distributes his key with a first message; then a message 25 001 iterations ahead; then his first message again (new message id)',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      const first = await encryptForGroup(client, bob, group, client.text('first'));
      const d0 = deliverGroupCiphertext(client, bob, group, first);
      must('ENC-085', that(await shown(client, d0), 'bob’s first message shown', 'not shown'));
      // Move bob's chain 25 001 steps past the client's and send from there, then restore it.
      const me = { name: bob.address, deviceId: 1 };
      const id = distributionIdOf(bob, group);
      const store = bob.device(1).senderKeys;
      const saved = (await store.loadSenderKey(me, id))!;
      let chain = saved.current!.chainKey;
      for (let i = 0; i < MAX_FORWARD_JUMPS + 1; i++) chain = nextSenderChainKey(chain);
      await store.storeSenderKey(
        me,
        id,
        new SenderKeyRecord([{ ...saved.current!, chainKey: chain }]),
      );
      const far = await deliverToGroup(client, bob, group, client.text('far ahead'), {
        distribute: false,
      });
      await store.storeSenderKey(me, id, saved);
      must(
        'ENC-085',
        that(!(await shown(client, far)), 'a message 25 001 ahead not shown', 'shown'),
      );
      const replay = deliverGroupCiphertext(client, bob, group, { body: first.body });
      must(
        'ENC-085',
        that(!(await shown(client, replay)), 'a repeated message not shown', 'shown'),
      );
      await mustShow('ENC-085', client, bob, group, 'after the refused ones');
    },
  }),

  defineClientCase({
    id: 'ENC-086-client-deletes-used-skipped-keys',
    title:
      'the client shows a late group message once from a kept skipped key, and refuses it when it comes again',
    requirements: ['ENC-086'],
    level: 'MUST',
    quote:
      'A receiver MUST keep at most 2 000 skipped message keys per sender-key state, discarding the oldest first, and MUST delete a message key once its message has been decrypted.',
    sends:
      'suite: bob encrypts messages 0, 1, 2; delivers 0 (with his key), 2, then 1, then 1 again (new message id)',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      const m0 = await encryptForGroup(client, bob, group, client.text('zero'));
      const m1 = await encryptForGroup(client, bob, group, client.text('one'), {
        distribute: false,
      });
      const m2 = await encryptForGroup(client, bob, group, client.text('two'), {
        distribute: false,
      });
      for (const [c, what] of [
        [m0, 'message 0'],
        [m2, 'message 2, skipping 1'],
        [m1, 'the late message 1'],
      ] as const) {
        const d = deliverGroupCiphertext(client, bob, group, c);
        must('ENC-086', that(await shown(client, d), `${what} shown`, 'not shown'));
      }
      const again = deliverGroupCiphertext(client, bob, group, { body: m1.body });
      must(
        'ENC-086',
        that(!(await shown(client, again)), 'the late message not shown twice', 'shown again'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-086-client-bounds-skipped-keys',
    title:
      'after a jump past 2 001 iterations the client has dropped the oldest skipped key and still holds the next one',
    requirements: ['ENC-086'],
    level: 'MUST',
    quote:
      'A receiver MUST keep at most 2 000 skipped message keys per sender-key state, discarding the oldest first, and MUST delete a message key once its message has been decrypted.',
    sends:
      'suite: bob encrypts messages 0, 1 and 2, then one at iteration 2 002; delivers 0 (with his key), 2 002, then 1 (its key the oldest of 2 001 skipped) and 2',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      const m0 = await encryptForGroup(client, bob, group, client.text('zero'));
      const m1 = await encryptForGroup(client, bob, group, client.text('one'), {
        distribute: false,
      });
      const m2 = await encryptForGroup(client, bob, group, client.text('two'), {
        distribute: false,
      });
      // Move bob's chain from iteration 3 to 2 002, so that 1..2 001 lie skipped at the client.
      const me = { name: bob.address, deviceId: 1 };
      const id = distributionIdOf(bob, group);
      const store = bob.device(1).senderKeys;
      const saved = (await store.loadSenderKey(me, id))!;
      let chain = saved.current!.chainKey;
      while (chain.iteration < MAX_SKIPPED_KEYS + 2) chain = nextSenderChainKey(chain);
      await store.storeSenderKey(
        me,
        id,
        new SenderKeyRecord([{ ...saved.current!, chainKey: chain }]),
      );
      const far = await encryptForGroup(client, bob, group, client.text('far'), {
        distribute: false,
      });
      for (const [c, what] of [
        [m0, 'message 0'],
        [far, 'message 2 002'],
      ] as const) {
        const d = deliverGroupCiphertext(client, bob, group, c);
        must('ENC-086', that(await shown(client, d), `${what} shown`, 'not shown'));
      }
      const oldest = deliverGroupCiphertext(client, bob, group, m1);
      must(
        'ENC-086',
        that(
          !(await shown(client, oldest)),
          'message 1, whose key is the 2 001st skipped, not shown',
          'shown',
        ),
      );
      const kept = deliverGroupCiphertext(client, bob, group, m2);
      must(
        'ENC-086',
        that(await shown(client, kept), 'message 2, whose key is kept, shown', 'not shown'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-087-client-keeps-previous-sender-keys',
    title:
      'the client still shows a message under a sender’s previous key after the sender rotated',
    requirements: ['ENC-087'],
    level: 'SHOULD',
    quote:
      "A receiver SHOULD keep up to 5 sender-key states per sender device and distribution id, discarding the oldest first, so that messages under a sender's previous keys still decrypt.",
    sends:
      'suite: bob distributes key 1 with a message, holds back a second one, rotates, distributes key 2 with a message, then delivers the held-back one',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      await mustShow('ENC-087', client, bob, group, 'under key 1', true);
      const held = await encryptForGroup(client, bob, group, client.text('late under key 1'), {
        distribute: false,
      });
      await rotateSenderKey(
        { name: bob.address, deviceId: 1 },
        distributionIdOf(bob, group),
        bob.device(1).senderKeys,
      );
      await mustShow('ENC-087', client, bob, group, 'under key 2', true);
      const d = deliverGroupCiphertext(client, bob, group, held);
      must(
        'ENC-087',
        that(await shown(client, d), 'the late message under key 1 shown', 'not shown'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-088-client-repeated-distribution-keeps-chain',
    title:
      'a repeated distribution message does not rewind the client’s chain: an old message stays refused',
    requirements: ['ENC-088'],
    level: 'MUST',
    quote:
      'A receiver MUST NOT move back the chain of a state it holds when it processes again a distribution message of the same chain id and signing key.',
    sends:
      'suite: bob sends message 0 with his distribution message (iteration 0), message 1 with the same distribution message again, then message 0 again (new message id)',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const group = await peerGroup(client, [bob]);
      const m0 = await encryptForGroup(client, bob, group, client.text('zero'));
      const d0 = deliverGroupCiphertext(client, bob, group, m0);
      must('ENC-088', that(await shown(client, d0), 'message 0 shown', 'not shown'));
      const m1 = await encryptForGroup(client, bob, group, client.text('one'), {
        distribute: false,
      });
      // The 1:1 ciphertext of message 0's distribution message (iteration 0), encrypted afresh.
      const again = await client.encrypt(bob, m0.skdm!);
      const d1 = deliverGroupCiphertext(client, bob, group, {
        body: m1.body,
        distribution: { ciphertextType: again.type, body: again.body },
      });
      must('ENC-088', that(await shown(client, d1), 'message 1 shown', 'not shown'));
      const replay = deliverGroupCiphertext(client, bob, group, { body: m0.body });
      must(
        'ENC-088',
        that(!(await shown(client, replay)), 'message 0 not shown a second time', 'shown again'),
      );
    },
  }),
];
