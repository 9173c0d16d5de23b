// ENC cases of a client for SPQR's braid (spec/crypto.md#spqr-braid): its epochs advance in a
// conversation with the suite's peer, which runs the braid, and it rebuilds a payload from parity
// chunks when the chunks that carry the payload itself were lost.
import { parseCiphertext } from '../../../reference-impl/crypto/index.ts';
import { parseSpqrMessage, SpqrMessageType } from '../../../reference-impl/crypto/spqr.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { unb64 } from '../../transport/users.ts';
import { innerOf, mustStillReceive, parsedOrFail, sendAndOpen } from './client-support.ts';

/** Round trips the ENC-060 case allows for the client to reach epoch 2 (about 40 are needed). */
const ROUNDS_FOR_AN_EPOCH = 80;

/** The client sends `text` to `peer`; the SPQR data of its message (field 5). */
async function clientSpqr(requirement: string, client: ClientWorld, peer: SuitePeer, text: string) {
  const { opened } = await sendAndOpen(requirement, client, peer, text);
  return parseSpqrMessage(innerOf(parsedOrFail(requirement, opened)).pqRatchet);
}

/** The SPQR data of a ciphertext the suite's peer encrypted. */
function peerSpqr(c: { type: 'prekey' | 'whisper'; body: string }) {
  return parseSpqrMessage(innerOf(parseCiphertext(c.type, unb64(c.body))).pqRatchet);
}

export const clientBraidCases = [
  defineClientCase({
    id: 'ENC-060-client-braid-advances',
    title:
      'in a conversation with a peer that runs the braid, the client’s SPQR epoch moves past 1 and so does the peer’s',
    requirements: ['ENC-060'],
    level: 'MUST',
    quote:
      "A client MUST run the SPQR braid, sending the braid messages its state gives, taking in the chunks its peer sends, and moving to the next epoch when a round completes, so that with a peer that runs the braid both sides' epochs advance.",
    sends: `suite: bob (the initiator, running the braid) and the client alternate messages, up to ${ROUNDS_FOR_AN_EPOCH} rounds, until field 5 of the client's messages names epoch 2`,
    timeoutMs: 60_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      let clientEpoch = 1;
      let bobEpoch = 1;
      let rounds = 0;
      while (rounds < ROUNDS_FOR_AN_EPOCH && (clientEpoch < 2 || bobEpoch < 2)) {
        rounds++;
        const c = await client.encrypt(bob, client.text(`bob ${rounds}`));
        bobEpoch = Math.max(bobEpoch, peerSpqr(c).epoch);
        const d = client.redeliver(bob, c);
        must(
          'ENC-060',
          that(
            (await client.received(d.messageId)) !== undefined,
            `bob's message ${rounds} received`,
            'nothing',
          ),
        );
        const spqr = await clientSpqr('ENC-060', client, bob, `client ${rounds}`);
        clientEpoch = Math.max(clientEpoch, spqr.epoch);
      }
      must(
        'ENC-060',
        that(
          clientEpoch >= 2 && bobEpoch >= 2,
          `both sides in SPQR epoch 2 or later within ${ROUNDS_FOR_AN_EPOCH} round trips`,
          { rounds, clientEpoch, bobEpoch },
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-061-client-decodes-parity-chunks',
    title:
      'the client rebuilds the peer’s braid header from chunk 0 and two parity chunks when the messages with chunks 1 and 2 are lost, and answers with its first ciphertext chunk',
    requirements: ['ENC-061'],
    level: 'MUST',
    quote:
      'A receiver MUST rebuild a braid payload from any n distinct chunks of it, parity chunks (index n or more) included, where n is the payload length divided by 32.',
    sends:
      'suite: bob (the initiator) encrypts five messages carrying header chunks 0 to 4, delivers those with chunks 0, 3 and 4 only; the client replies; suite: parses field 5 of the reply',
    timeoutMs: 20_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await client.encrypt(bob, client.text(`header ${i}`)));
      const chunks = sent.map((c) => peerSpqr(c));
      if (!chunks.every((s, i) => s.type === SpqrMessageType.Hdr && s.chunk?.index === i)) {
        throw new Error(
          `the suite's peer did not send header chunks 0 to 4: ${JSON.stringify(chunks.map((s) => [s.type, s.chunk?.index]))}`,
        );
      }
      for (const i of [0, 3, 4]) {
        const d = client.redeliver(bob, sent[i]!);
        must(
          'ENC-061',
          that(
            (await client.received(d.messageId)) !== undefined,
            `message with header chunk ${i} received`,
            'nothing',
          ),
        );
      }
      const reply = await clientSpqr('ENC-061', client, bob, 'reply');
      must(
        'ENC-061',
        that(
          reply.type === SpqrMessageType.Ct1 && reply.chunk?.index === 0,
          'the reply carries ciphertext-1 chunk 0: the header was rebuilt and its MAC verified',
          { type: reply.type, chunk: reply.chunk?.index ?? null },
        ),
      );
      await mustStillReceive('ENC-061', client, bob, 'after the rebuilt header');
    },
  }),
];
