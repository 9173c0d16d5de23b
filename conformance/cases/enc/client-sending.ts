// ENC cases of a client as a sender (spec/crypto.md, spec/content.md): the user sends through the
// driver, the mock provider takes the client's `message.send`, and the suite's peer decrypts every
// body with the reference crypto core and inspects the Signal wire format and the padded Content.
import { randomBytes } from 'node:crypto';
import { parseCiphertext } from '../../../reference-impl/crypto/index.ts';
import { sameJson, that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineClientCase } from '../../runner/case.ts';
import { unb64 } from '../../transport/users.ts';
import { innerOf, openOrFail, parsedOrFail, sendAndOpen } from './client-support.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** The padding block of spec/content.md#plaintext. */
const PADDING_BLOCK = 160;
/** The AES block: CBC with PKCS#7 adds 1..16 bytes. */
const AES_BLOCK = 16;
/** The version byte of a PQXDH session, on the outer and the inner message (ENC-022). */
const VERSION_BYTES = [0x44];

/** Every string value inside a frame, however deep. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

/** A string read as base64 or base64url, as latin1 text (empty when it is neither). */
function decoded(text: string): string {
  return /^[A-Za-z0-9+/_=-]+$/.test(text) ? Buffer.from(text, 'base64').toString('latin1') : '';
}

export const clientSendingCases = [
  defineClientCase({
    id: 'ENC-001-client-encrypts-with-signal',
    title:
      'the client encrypts a text with the Signal Protocol (AES-256-CBC under the message key, 8-byte MAC) so that the recipient decrypts the exact Content',
    requirements: ['ENC-001', 'ENC-019', 'ENC-020'],
    level: 'MUST',
    quote:
      'A client MUST encrypt every `body` of a `message.send` with the Signal Protocol exactly as this section specifies.',
    sends:
      'driver: connect, sendText to bob; mock: keys.bundle of bob; suite: decrypts the message.send with reference crypto (MAC checked first)',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const { opened, content } = await sendAndOpen('ENC-001', client, bob, 'hello bob');
      must(
        'ENC-001',
        that(content?.body === 'hello bob', 'the decrypted text "hello bob"', content),
      );
      const inner = innerOf(parsedOrFail('ENC-024', opened));
      must(
        'ENC-019',
        that(
          inner.ciphertext.length === opened.plaintext.length + AES_BLOCK,
          `an AES-256-CBC ciphertext of the padded plaintext plus one PKCS#7 block (${opened.plaintext.length + AES_BLOCK} bytes)`,
          `${inner.ciphertext.length} bytes`,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-002-client-sends-no-plaintext',
    title:
      'the client sends no plaintext of a message it sends or receives in any frame or HTTP upload to the provider',
    requirements: ['ENC-002'],
    level: 'MUST',
    quote:
      'A client MUST NOT send a private key, a root, chain or message key, or a plaintext message in any frame or HTTP request to a provider.',
    sends:
      'suite: bob sends a text with a random marker; driver: sendText and sendAttachment with other markers; suite: searches every frame and upload for the markers (UTF-8, base64, base64url, hex)',
    timeoutMs: 8000,
    async run({ client, rng }) {
      await client.connect();
      const bob = client.peer('bob');
      const marker = (label: string): string => `${label}-${rng.word(12)}`;
      const incoming = marker('incoming');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text(incoming)), 'bob’s text received', 'nothing'),
      );
      const outgoing = marker('outgoing');
      await client.sendText(bob, outgoing);
      const file = marker('file');
      const attached = await client
        .drive('sendAttachment', {
          to: bob.address,
          kind: 'document',
          data: Buffer.from(file).toString('base64'),
          mediaType: 'text/plain',
          fileName: 'note.txt',
        })
        .then(
          () => true,
          () => false,
        );
      // Every string of every frame, also decoded from base64/base64url, and every uploaded blob.
      const wire = [
        ...client.mock.received.flatMap((f) => stringsOf(f)).flatMap((t) => [t, decoded(t)]),
        ...[...client.mock.blobs.values()].map((b) => b.bytes.toString('latin1')),
      ].join('\n');
      for (const text of [incoming, outgoing, ...(attached ? [file] : [])]) {
        const hex = Buffer.from(text, 'utf8').toString('hex');
        const seen = [text, hex].find((form) => wire.includes(form));
        must(
          'ENC-002',
          that(seen === undefined, `no trace of the plaintext "${text}" on the wire`, seen),
        );
      }
    },
  }),

  defineClientCase({
    id: 'ENC-006-client-fresh-signature-nonce',
    title:
      'the client signs the same auth input twice with two different XEdDSA signatures that both verify (fresh random Z)',
    requirements: ['ENC-006'],
    level: 'MUST',
    quote:
      'A signer MUST produce XEdDSA signatures as in the signing steps above, with fresh random `Z` for every signature.',
    sends:
      'mock: the same welcome challenge on two connections; driver: connect, disconnect, connect; suite: compares the two device proofs',
    async run({ client }) {
      client.mock.fixedChallenge = randomBytes(32);
      await client.connect();
      await client.drive('disconnect', {});
      await client.reconnect();
      const proofs = client.mock.received
        .filter((f) => f.type === 'auth')
        .map((f) => String(f.signature));
      must('ENC-006', that(proofs.length === 2, 'two auth frames', proofs.length));
      must(
        'ENC-006',
        that(
          client.mock.authFailures.length === 0,
          'both signatures verify',
          client.mock.authFailures,
        ),
      );
      must(
        'ENC-006',
        that(proofs[0] !== proofs[1], 'two different signatures of the same input', proofs),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-009-client-initiator-x3dh',
    title:
      'the client derives its X3DH keys with DH4 exactly when the bundle carried a one-time prekey, and names that prekey',
    requirements: ['ENC-009'],
    level: 'MUST',
    quote:
      'The initiator MUST derive `RK0` and `CK0` exactly as above, appending `DH4` exactly when the bundle entry carried a one-time prekey.',
    sends:
      'mock: keys.bundle of bob with a one-time prekey, of carol without; driver: sendText to each; suite: decrypts both as responder',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      carol.bundleFaults = { noOneTimePreKey: true };
      for (const peer of [bob, carol]) {
        const { opened, content } = await sendAndOpen('ENC-009', client, peer, `hi ${peer.label}`);
        const parsed = parsedOrFail('ENC-009', opened);
        const served = peer.claimed[0]?.oneTimePreKey?.keyId ?? null;
        const named = parsed.type === 'prekey' ? parsed.message.preKeyId : 'a whisper message';
        must(
          'ENC-009',
          that(named === served, `pre_key_id ${served} (what the bundle carried)`, named),
        );
        must('ENC-009', that(content?.body === `hi ${peer.label}`, 'the decrypted text', content));
      }
    },
  }),

  defineClientCase({
    id: 'ENC-012-client-conversation-wire',
    title:
      'the client sends PreKeySignalMessages until it decrypted a reply, then SignalMessages under a new ratchet key, each with its own counter, in libsignal wire format',
    requirements: ['ENC-012', 'ENC-013', 'ENC-014', 'ENC-015', 'ENC-022', 'ENC-024', 'ENC-027'],
    level: 'MUST',
    quote:
      'The initiator MUST send every message of a new session as a PreKeySignalMessage until it has decrypted a message from the responder in that session.',
    sends:
      'driver: sendText ×2 to bob; suite: bob replies; driver: sendText; suite: parses and decrypts all three',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const first = await sendAndOpen('ENC-001', client, bob, 'one');
      const second = await sendAndOpen('ENC-015', client, bob, 'two');
      for (const { opened } of [first, second]) {
        must(
          'ENC-012',
          that(opened.type === 'prekey', 'type prekey before any reply', opened.type),
        );
        const body = unb64(opened.body);
        must('ENC-022', that(VERSION_BYTES.includes(body[0]!), 'version byte 0x44', body[0]));
        const parsed = parsedOrFail('ENC-024', opened);
        must(
          'ENC-022',
          that(
            VERSION_BYTES.includes(innerOf(parsed).serialized[0]!),
            'inner SignalMessage version byte 0x44',
            innerOf(parsed).serialized[0],
          ),
        );
        let asOther = true;
        try {
          parseCiphertext('whisper', body);
        } catch {
          asOther = false;
        }
        must(
          'ENC-027',
          that(!asOther, 'a body that is not also a valid whisper message', 'it parses as both'),
        );
      }
      const c1 = innerOf(parsedOrFail('ENC-024', first.opened)).counter;
      const c2 = innerOf(parsedOrFail('ENC-024', second.opened)).counter;
      must('ENC-015', that(c2 > c1, `a second counter above the first (${c1})`, c2));
      must(
        'ENC-015',
        that(first.content?.id !== second.content?.id, 'two contents', second.content),
      );

      const reply = await client.roundTrip(bob, client.text('reply from bob'));
      must('ENC-014', that(reply, 'the client to receive bob’s reply', 'no received event'));
      // Decrypting it takes the client's root and chain steps to match the reference core's.
      const third = await sendAndOpen('ENC-013', client, bob, 'three');
      must(
        'ENC-012',
        that(third.opened.type === 'whisper', 'type whisper after the reply', third.opened.type),
      );
      const parsed = parsedOrFail('ENC-024', third.opened);
      let asPrekey = true;
      try {
        parseCiphertext('prekey', unb64(third.opened.body));
      } catch {
        asPrekey = false;
      }
      must(
        'ENC-027',
        that(!asPrekey, 'a whisper body that is not a prekey message', 'it parses as both'),
      );
      const before = Buffer.from(innerOf(parsedOrFail('ENC-024', first.opened)).ratchetKey);
      must(
        'ENC-014',
        that(
          !before.equals(Buffer.from(innerOf(parsed).ratchetKey)),
          'a fresh ratchet key after receiving bob’s new one',
          'the ratchet key of the first message',
        ),
      );
      must(
        'ENC-014',
        that(third.content?.body === 'three', 'the decrypted text "three"', third.content),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-017-client-previous-counter',
    title:
      'the client sets previous_counter as libsignal does: the last counter of its previous sending chain',
    requirements: ['ENC-017'],
    level: 'SHOULD',
    quote:
      'A sender SHOULD set `previous_counter` as libsignal does: `max(n, 1) − 1`, where `n` is the counter its previous sending chain had reached.',
    sends: 'driver: sendText ×3 to bob; suite: bob replies; driver: sendText; suite: parses it',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const sent = 3;
      for (let i = 0; i < sent; i++) await sendAndOpen('ENC-001', client, bob, `message ${i}`);
      must(
        'ENC-014',
        that(await client.roundTrip(bob, client.text('reply')), 'bob’s reply received', 'none'),
      );
      const { opened } = await sendAndOpen('ENC-001', client, bob, 'after the reply');
      const previous = innerOf(parsedOrFail('ENC-024', opened)).previousCounter;
      must('ENC-017', that(previous === sent - 1, `previous_counter ${sent - 1}`, previous));
    },
  }),

  defineClientCase({
    id: 'ENC-032-client-one-session-per-device',
    title:
      'the client keeps one session per device of the recipient and encrypts the same Content separately for each',
    requirements: ['ENC-032', 'ENC-040'],
    level: 'MUST',
    quote:
      'A client MUST keep one active session per pair of address and device id, and MUST encrypt a separate ciphertext for every device of a recipient.',
    sends:
      'mock: keys.bundle of bob with devices 1 and 2; driver: sendText ×2 to bob; suite: decrypts per device',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob', { devices: 2 });
      const baseKeys = new Map<number, string>();
      for (const text of ['to both devices', 'again to both']) {
        const send = await client.sendText(bob, text);
        const devices = (send.messages as { deviceId: number }[]).map((m) => m.deviceId).sort();
        must(
          'ENC-032',
          that(
            sameJson(devices, [1, 2]),
            'one ciphertext for device 1 and one for device 2',
            devices,
          ),
        );
        const opened = await openOrFail('ENC-032', client, bob, send);
        must(
          'ENC-032',
          that(
            opened[0]!.body !== opened[1]!.body,
            'two different ciphertexts',
            'the same body twice',
          ),
        );
        const contents = opened.map((o) => client.contentOf(o.plaintext));
        must(
          'ENC-040',
          that(
            contents[0]?.id === contents[1]?.id && sameJson(contents[0], contents[1]),
            'the same Content, with the same id, for both devices',
            contents,
          ),
        );
        for (const o of opened) {
          const parsed = parsedOrFail('ENC-024', o);
          if (parsed.type !== 'prekey') continue;
          const base = Buffer.from(parsed.message.baseKey).toString('hex');
          const earlier = baseKeys.get(o.deviceId);
          must(
            'ENC-032',
            that(
              earlier === undefined || earlier === base,
              `the session of device ${o.deviceId} kept (same X3DH base key)`,
              'a new base key',
            ),
          );
          baseKeys.set(o.deviceId, base);
        }
      }
      const claims = client.mock.received.filter(
        (f) => f.type === 'keys.claim' && f.address === bob.address,
      );
      must(
        'ENC-032',
        that(
          claims.length === 1,
          'one keys.claim for bob: sessions kept',
          `${claims.length} claims`,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-036-client-pads-content',
    title:
      'the client encodes its plaintext as the UTF-8 JSON of one schema-valid Content followed by 0x80 and zeros to a multiple of 160 bytes',
    requirements: ['ENC-036'],
    level: 'MUST',
    quote:
      'A client MUST encode the plaintext of every Signal message as the UTF-8 JSON text of one `Content` object followed by the padding defined above.',
    sends: 'driver: sendText with non-ASCII text; suite: decrypts and inspects the plaintext bytes',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const text = 'grüße, 你好 👋';
      const { opened } = await sendAndOpen('ENC-036', client, bob, text);
      const plain = Buffer.from(opened.plaintext);
      must(
        'ENC-036',
        that(
          plain.length % PADDING_BLOCK === 0,
          `a plaintext length that is a multiple of ${PADDING_BLOCK}`,
          plain.length,
        ),
      );
      let end = plain.length;
      while (end > 0 && plain[end - 1] === 0) end--;
      must(
        'ENC-036',
        that(
          end > 0 && plain[end - 1] === 0x80,
          'the JSON followed by 0x80 and zero bytes',
          plain.subarray(Math.max(0, end - 4), end),
        ),
      );
      const json = plain.subarray(0, end - 1);
      must(
        'ENC-036',
        that(
          plain.length - json.length <= PADDING_BLOCK,
          'the shortest padding: at most 160 bytes of 0x80 and zeros',
          `${plain.length - json.length} padding bytes`,
        ),
      );
      let content: unknown;
      try {
        content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
      } catch (error) {
        must(
          'ENC-036',
          that(false, 'UTF-8 JSON text before the padding', (error as Error).message),
        );
      }
      const valid = client.validator.validateAs('Content', content);
      must(
        'ENC-036',
        that(valid.ok, 'one schema-valid Content object', valid.ok ? content : valid),
      );
      must(
        'ENC-036',
        that(
          (content as { body?: string }).body === text,
          `the text ${JSON.stringify(text)}`,
          content,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-039-client-fresh-content-ids',
    title: 'the client gives every new Content a fresh random UUID as its id',
    requirements: ['ENC-039'],
    level: 'MUST',
    quote: 'A sender MUST give every new `Content` a fresh random UUID as its `id`.',
    sends: 'driver: sendText twice to bob; suite: decrypts both and compares the Content ids',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const ids: string[] = [];
      for (const text of ['one', 'two']) {
        const { content } = await sendAndOpen('ENC-039', client, bob, text);
        ids.push(String(content?.id));
      }
      must(
        'ENC-039',
        that(
          ids.every((id) => UUID_V4.test(id)),
          'random (version 4) UUIDs as Content ids',
          ids,
        ),
      );
      must('ENC-039', that(ids[0] !== ids[1], 'two different Content ids', ids));
    },
  }),
];
