// ENC and KEYS cases of a client for PQXDH and the SPQR chain (spec/crypto.md#pqxdh,
// spec/crypto.md#spqr-chain, spec/keys.md#publishing): the Kyber prekeys it publishes, what it does
// with a used one, the SPQR data it sends, and the SPQR data and `addresses` field it accepts; and
// a session whose first message went unanswered for 30 days (spec/crypto.md#sessions, ENC-058).
import { verifySignature } from '../../../reference-impl/crypto/index.ts';
import {
  parseSpqrMessage,
  serializeSpqrMessage,
  SpqrMessageType,
} from '../../../reference-impl/crypto/spqr.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { encryptCrafted, type SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';
import { padContent, unb64 } from '../../transport/users.ts';
import {
  innerOf,
  mustNotReceive,
  openOrFail,
  mustStillReceive,
  parsedOrFail,
  sendAndOpen,
} from './client-support.ts';

/** The Kyber prekeys of every `keys.publish` the client sent, in order. */
function publishedKyberKeys(client: ClientWorld): { oneTime: Frame[]; lastResort: Frame[] } {
  const publishes = client.mock.received.filter((f) => f.type === 'keys.publish');
  return {
    oneTime: publishes.flatMap((f) => (f.oneTimeKyberPreKeys ?? []) as Frame[]),
    lastResort: publishes.map((f) => f.lastResortKyberPreKey as Frame).filter(Boolean),
  };
}

/** The client replies to `peer`, and `peer` decrypts it: their session is answered, no prekey pending. */
async function answered(client: ClientWorld, peer: SuitePeer): Promise<void> {
  await openOrFail('ENC-010', client, peer, await client.sendText(peer, 'reply'));
}

/** How far the ENC-058 case moves the client's clock: past the 30 days of an unanswered session. */
const UNANSWERED_CHECK_MS = 31 * 24 * 3600 * 1000;

/** A bundle of the client without one-time prekey, so that only the Kyber prekey is single-use. */
const kyberOnlyEntry = (client: ClientWorld): Frame => client.mock.claimClientBundle(false);

export const clientPqCases = [
  defineClientCase({
    id: 'KEYS-026-client-publishes-kyber-prekeys',
    title:
      'the client publishes a last-resort and one-time Kyber prekeys: 0x08 ‖ 1568 bytes, signed by its identity key, under ids never used twice, and decapsulates to them',
    requirements: ['KEYS-026', 'ENC-048'],
    level: 'MUST',
    quote:
      'A client MUST publish Kyber prekeys whose public keys are round-3 Kyber-1024 keys it generated, each signed by its identity key, and MUST NOT publish a one-time Kyber prekey under a `keyId` it published before.',
    sends:
      'driver: connect; mock: keys.low (0 left); suite: checks every published Kyber prekey; bob starts a session on the client’s one-time Kyber prekey and sends a text',
    async run({ client }) {
      await client.connect();
      client.mock.live.push({
        type: 'keys.low',
        oneTimePreKeyCount: 0,
        oneTimeKyberPreKeyCount: 0,
        threshold: 10,
      });
      await client.mock.poll(
        (f) =>
          f.type === 'keys.publish' &&
          client.mock.received.filter((x) => x.type === 'keys.publish').length > 1,
        client.waitMs,
      );
      const identity = unb64(client.mock.published!.identityKey);
      const { oneTime, lastResort } = publishedKyberKeys(client);
      must(
        'KEYS-026',
        that(oneTime.length > 0, 'one-time Kyber prekeys published', oneTime.length),
      );
      for (const key of [...lastResort, ...oneTime]) {
        const publicKey = unb64(key.publicKey as string);
        must(
          'ENC-048',
          that(
            publicKey.length === 1569 && publicKey[0] === 0x08,
            `Kyber prekey ${key.keyId}: 0x08 ‖ 1568 bytes`,
            `${publicKey.length} bytes, type ${publicKey[0]}`,
          ),
        );
        must(
          'KEYS-026',
          that(
            verifySignature(identity, publicKey, unb64(key.signature as string)),
            `Kyber prekey ${key.keyId} signed by the identity key over its encoding`,
            key.signature,
          ),
        );
      }
      const lastResortIds = new Set(lastResort.map((k) => k.keyId as number));
      const ids = oneTime.map((k) => k.keyId as number);
      must(
        'KEYS-026',
        that(new Set(ids).size === ids.length, 'no one-time Kyber prekey id twice', ids),
      );
      must(
        'KEYS-026',
        that(
          ids.every((id) => !lastResortIds.has(id)),
          'no one-time Kyber prekey under a last-resort Kyber prekey’s id',
          { oneTime: ids, lastResort: [...lastResortIds] },
        ),
      );
      const bob = client.peer('bob');
      await bob.startSession(client.client, kyberOnlyEntry(client));
      const d = await client.deliver(bob, client.text('over your Kyber prekey'));
      must(
        'KEYS-026',
        that(
          (await client.received(d.messageId)) !== undefined,
          'the client decrypts a PreKeySignalMessage encapsulated to its one-time Kyber prekey',
          'nothing received',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-049-client-deletes-used-kyber-prekey',
    title:
      'the client refuses a second session built on a one-time Kyber prekey an earlier message used, and accepts two sessions on its last-resort one',
    requirements: ['ENC-049'],
    level: 'MUST',
    quote:
      'The responder MUST delete the private key of a one-time Kyber prekey once a PreKeySignalMessage that used it has been decrypted, and MUST keep the private key of its last-resort Kyber prekey until the prekey is replaced.',
    sends:
      'suite: bob and carol build sessions from one client entry (no one-time prekey, a one-time Kyber prekey); bob’s message, then carol’s; then dave and erin from an entry with the last-resort Kyber prekey',
    async run({ client }) {
      await client.connect();
      const entry = kyberOnlyEntry(client);
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      await bob.startSession(client.client, entry);
      await carol.startSession(client.client, entry);
      const first = client.text('first use of the Kyber prekey');
      const d1 = await client.deliver(bob, first);
      must(
        'ENC-049',
        that(
          (await client.received(d1.messageId))?.content.id === first.id,
          'bob’s message received',
          'nothing',
        ),
      );
      const d2 = await client.deliver(carol, client.text('second use of the same Kyber prekey'));
      await mustNotReceive(
        'ENC-049',
        client,
        d2,
        'a message on an already used one-time Kyber prekey',
      );
      client.mock.published!.oneTimeKyberPreKeys.length = 0;
      const lastResort = kyberOnlyEntry(client);
      for (const name of ['dave', 'erin']) {
        const peer = client.peer(name);
        await peer.startSession(client.client, lastResort);
        const content = client.text(`${name} on the last-resort Kyber prekey`);
        const d = await client.deliver(peer, content);
        must(
          'ENC-049',
          that(
            (await client.received(d.messageId))?.content.id === content.id,
            `${name}’s message on the last-resort Kyber prekey received`,
            'nothing',
          ),
        );
      }
    },
  }),

  defineClientCase({
    id: 'ENC-052-client-sends-spqr-data',
    title:
      'every SignalMessage the client sends carries V1 SPQR data in field 5 that parses and names a fresh key index of its sending chain',
    requirements: ['ENC-052'],
    level: 'MUST',
    quote:
      'A sender MUST put in SignalMessage field 5 of every message the SPQR data of the key that salted its message keys, with the braid message its SPQR state gives for that message, encoded as above.',
    sends: 'driver: sendText ×3 to bob; suite: parses field 5 of each and decrypts each',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const indexes: number[] = [];
      for (const text of ['one', 'two', 'three']) {
        const { opened } = await sendAndOpen('ENC-052', client, bob, text);
        const inner = innerOf(parsedOrFail('ENC-052', opened));
        let spqr;
        try {
          spqr = parseSpqrMessage(inner.pqRatchet);
        } catch (error) {
          must('ENC-052', that(false, 'field 5: SPQR V1 data', (error as Error).message));
          throw error;
        }
        indexes.push(spqr.index);
      }
      must(
        'ENC-052',
        that(
          indexes.every((i, k) => k === 0 || i > indexes[k - 1]!),
          'key indexes rising from message to message',
          indexes,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-053-client-salts-with-spqr',
    title:
      'the client decrypts messages whose keys are salted with SPQR keys of rising indexes, one delivered out of order',
    requirements: ['ENC-053', 'ENC-013'],
    level: 'MUST',
    quote:
      'A receiver MUST derive the SPQR key named by the epoch and index of field 5 as above and MUST use it as the salt of the message keys.',
    sends: 'suite: bob sends m1; encrypts m2 and m3; delivers m3, then m2',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-053',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      const m2 = client.text('m2');
      const c2 = await client.encrypt(bob, m2);
      const m3 = client.text('m3');
      const c3 = await client.encrypt(bob, m3);
      for (const [c, m] of [
        [c3, m3],
        [c2, m2],
      ] as const) {
        const d = client.redeliver(bob, c);
        must(
          'ENC-053',
          that(
            (await client.received(d.messageId))?.content.id === m.id,
            `${String(m.body)} received`,
            'nothing',
          ),
        );
      }
    },
  }),

  defineClientCase({
    id: 'ENC-054-client-accepts-spqr-chunks',
    title:
      'the client, on the ciphertext side of the braid, accepts messages whose SPQR data carries ciphertext chunks (Ct1, Ct2) it has no use for, and stays in the conversation',
    requirements: ['ENC-054'],
    level: 'MUST',
    quote:
      'A receiver MUST accept a message whose SPQR data carries a chunk its braid state has no use for, and MUST ignore that chunk.',
    sends:
      'suite: bob (the initiator, so the client sends ciphertexts) sends m1 and the client replies; bob sends m2 with field 5 of type Ct1 (chunk 0), m3 of type Ct2 (chunk 1), each 32 chunk bytes',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-054',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      await answered(client, bob);
      for (const [type, chunk] of [
        [SpqrMessageType.Ct1, 0],
        [SpqrMessageType.Ct2, 1],
      ] as const) {
        const content = client.text(`chunk type ${type}`);
        const c = await encryptCrafted(bob, client.client, padContent(content), {
          pqRatchet: (honest) => withChunk(honest, type, chunk),
        });
        const d = client.redeliver(bob, c);
        must(
          'ENC-054',
          that(
            (await client.received(d.messageId))?.content.id === content.id,
            `a message with an SPQR chunk of type ${type} received`,
            'nothing',
          ),
        );
      }
      await mustStillReceive('ENC-054', client, bob, 'after the chunks');
    },
  }),

  defineClientCase({
    id: 'ENC-055-client-rejects-bad-spqr-data',
    title:
      'the client refuses messages whose field 5 is empty, of SPQR version 0, of an unknown type, or names an already used key index, all under a valid MAC',
    requirements: ['ENC-055'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a message whose field 5 does not parse as SPQR data, or names a key index it has already used or discarded.',
    sends:
      'suite: bob sends m1 and the client replies; bob sends four crafted messages with field 5 changed, then a valid one',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-055',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      await answered(client, bob);
      const variants: [string, (honest: Uint8Array) => Uint8Array][] = [
        ['an empty field 5', () => new Uint8Array(0)],
        ['SPQR version 0', (h) => Uint8Array.from([0, ...h.subarray(1)])],
        ['message type 7', (h) => withType(h, 7)],
        [
          'key index 1, already used by m1',
          () => Uint8Array.from([0x01, 0x01, 0x01, SpqrMessageType.None]),
        ],
      ];
      for (const [label, change] of variants) {
        const c = await encryptCrafted(bob, client.client, padContent(client.text(label)), {
          pqRatchet: change,
        });
        await mustNotReceive('ENC-055', client, client.redeliver(bob, c), label);
      }
      await mustStillReceive('ENC-055', client, bob, 'after the refused SPQR data');
    },
  }),

  defineClientCase({
    id: 'ENC-056-client-checks-addresses',
    title:
      'the client refuses a message whose addresses field names other parties than the session’s, under a valid MAC',
    requirements: ['ENC-056'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a message whose `addresses` field is present and does not name the sender and the recipient of the session, as libsignal does.',
    sends:
      'suite: bob sends m1 and the client replies; bob sends a message with a 36-byte addresses field of two other service ids, then a valid one',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-056',
        that(await client.roundTrip(bob, client.text('m1')), 'm1 received', 'nothing'),
      );
      await answered(client, bob);
      const foreign = new Uint8Array(36).fill(0x5a); // two made-up service ids with device 0x5a5a
      const c = await encryptCrafted(
        bob,
        client.client,
        padContent(client.text('foreign addresses')),
        {
          addresses: foreign,
        },
      );
      await mustNotReceive(
        'ENC-056',
        client,
        client.redeliver(bob, c),
        'a message addressed to others',
      );
      await mustStillReceive('ENC-056', client, bob, 'after the refused message');
    },
  }),

  defineClientCase({
    id: 'ENC-058-client-renews-unanswered-session',
    title:
      'a session whose first message bob never answered is not used again after 31 days: the client claims bob’s keys again and starts a new session (client clock moved on through the driver: advanceClock)',
    requirements: ['ENC-058'],
    level: 'SHOULD',
    quote:
      'A client SHOULD stop encrypting with a session that it started when the session’s first message has had no answer for 30 days, and start a new session from a fresh bundle instead, as libsignal does.',
    sends:
      'driver: sendText to bob (a PreKeySignalMessage), never answered; disconnect, advanceClock 31 days, connect; sendText to bob; suite: compares keys.claim counts and the two base keys, and bob decrypts both',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const claims = (): number =>
        client.mock.received.filter((f) => f.type === 'keys.claim' && f.address === bob.address)
          .length;
      const first = await sendAndOpen('ENC-058', client, bob, 'before the month');
      const firstParsed = parsedOrFail('ENC-058', first.opened);
      if (firstParsed.type !== 'prekey')
        throw new SkipCase('the client’s first message to bob is not a PreKeySignalMessage');
      const claimedBefore = claims();
      await client.drive('disconnect', {});
      await client.drive('advanceClock', { ms: UNANSWERED_CHECK_MS });
      await client.reconnect();
      const second = await sendAndOpen('ENC-058', client, bob, 'a month later');
      const parsed = parsedOrFail('ENC-058', second.opened);
      must(
        'ENC-058',
        that(claims() > claimedBefore, 'a new keys.claim for bob', {
          before: claimedBefore,
          after: claims(),
        }),
      );
      must(
        'ENC-058',
        that(
          parsed.type === 'prekey' &&
            !Buffer.from(parsed.message.baseKey).equals(Buffer.from(firstParsed.message.baseKey)),
          'a PreKeySignalMessage with a new base key (a new session)',
          parsed.type,
        ),
      );
    },
  }),
];

/** `honest` SPQR data with its braid payload replaced by a chunk of `type` (32 bytes of 0xC5). */
function withChunk(honest: Uint8Array, type: SpqrMessageType, chunkIndex: number): Uint8Array {
  const { epoch, index } = parseSpqrMessage(honest);
  const data = new Uint8Array(32).fill(0xc5);
  return serializeSpqrMessage({ epoch, index, type, chunk: { index: chunkIndex, data } });
}

/** `honest` SPQR data cut after its epoch and index, then the type byte `type` (no chunk). */
function withType(honest: Uint8Array, type: number): Uint8Array {
  const { epoch, index } = parseSpqrMessage(honest);
  const head = serializeSpqrMessage({ epoch, index, type: SpqrMessageType.None, chunk: null });
  return Uint8Array.from([...head.subarray(0, head.length - 1), type]);
}
