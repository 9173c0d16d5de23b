// ENC cases of a client's handling of Content (spec/content.md): the suite's peer sends padded
// plaintexts the client must discard (bad padding, schema, version), ignore (unknown kinds, edits
// and deletes it must not apply) or show as plain text. What the user sees is only observable
// through the driver's `inbox` (conformance/CLIENT-DRIVER.md); those cases say so.
import { randomUUID } from 'node:crypto';
import type { Frame } from '../../assert/match.ts';
import { sameJson, that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import type { DisplayedMessage } from '../../client/protocol.ts';
import { defineClientCase } from '../../runner/case.ts';
import { ATTACHMENT_POINTER_EXAMPLE } from '../../../schemas/examples.ts';
import { mustNotReceive, mustStillReceive } from './client-support.ts';

/** The padding block of spec/content.md#plaintext. */
const PADDING_BLOCK = 160;

/** A Content of any kind with a fresh id. */
function content(kind: string, members: Frame): Frame {
  return { v: 1, id: randomUUID(), sentAt: Date.now(), kind, ...members };
}

/** Delivers `c` from `peer` and waits until the client acked it; returns whether it was received. */
async function deliverAndSettle(
  client: ClientWorld,
  peer: SuitePeer,
  c: Frame | Uint8Array,
): Promise<{ received: boolean; acked: boolean; messageId: string }> {
  const d = await client.deliver(peer, c);
  const { received, acked } = await client.outcome(d);
  return { received: received !== undefined, acked, messageId: d.messageId };
}

/** The message with Content id `id` in the client's chat with `peer`, as displayed. */
async function shown(
  client: ClientWorld,
  peer: SuitePeer,
  id: string,
): Promise<DisplayedMessage | undefined> {
  return (await client.chatWith(peer))?.messages.find((m) => m.contentId === id);
}

/** Padded bytes of `json` with the padding spoiled as `form` says. */
function badlyPadded(json: string, form: 'no-marker' | 'marker-not-last'): Uint8Array {
  const text = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(Math.ceil((text.length + 2) / PADDING_BLOCK) * PADDING_BLOCK);
  text.copy(out);
  if (form === 'marker-not-last') {
    out[text.length] = 0x80;
    out[out.length - 1] = 0x01;
  }
  return out;
}

export const clientContentCases = [
  defineClientCase({
    id: 'ENC-037-client-strict-unpadding',
    title:
      'the client discards a plaintext whose padding is not 0x80 followed by zeros, and keeps its session',
    requirements: ['ENC-037'],
    level: 'MUST',
    quote:
      'A receiver MUST remove the padding by dropping trailing 0x00 bytes and then exactly one 0x80 byte, and MUST discard a plaintext that does not end in that form.',
    sends:
      'suite: bob sends a valid text Content padded with zeros only, then one whose last byte is 0x01, then a valid text',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      for (const form of ['no-marker', 'marker-not-last'] as const) {
        const plain = badlyPadded(JSON.stringify(client.text(`padding ${form}`)), form);
        const d = await client.deliver(bob, plain);
        await mustNotReceive('ENC-037', client, d, `a plaintext with padding ${form}`);
      }
      await mustStillReceive('ENC-037', client, bob, 'after discarded plaintexts');
    },
  }),

  defineClientCase({
    id: 'ENC-038-client-discards-invalid-content',
    title:
      'the client acknowledges and discards a Content that fails its schema or whose v is not 1',
    requirements: ['ENC-038'],
    level: 'MUST',
    quote:
      'A receiver MUST discard a `Content` that fails its schema or whose `v` is not 1, after acknowledging the delivery.',
    sends:
      'suite: bob sends a text Content with v 2, one without body, one with a numeric body; then a valid text',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('hello')), 'a first text received', 'nothing'),
      );
      const bad: [string, Frame][] = [
        ['v 2', { ...client.text('from the future'), v: 2 }],
        ['no body', content('text', {})],
        ['a numeric body', content('text', { body: 42 })],
      ];
      for (const [what, c] of bad) {
        const r = await deliverAndSettle(client, bob, c);
        must('ENC-038', that(!r.received, `a Content with ${what} discarded`, 'received'));
        must(
          'ENC-038',
          that(r.acked, `the delivery of a Content with ${what} acknowledged`, 'no message.ack'),
        );
      }
      await mustStillReceive('ENC-038', client, bob, 'after discarded contents');
    },
  }),

  defineClientCase({
    id: 'ENC-041-client-ignores-unknown-kinds',
    title:
      'the client acknowledges and ignores a Content of a kind it does not know, without resetting the session',
    requirements: ['ENC-041'],
    level: 'MUST',
    quote:
      'A receiver MUST acknowledge and otherwise ignore a `Content` whose `kind` it does not know, without ending or resetting the session.',
    sends: 'suite: bob sends a text, a Content of kind "poll", then a text',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('hello')), 'a first text received', 'nothing'),
      );
      const r = await deliverAndSettle(client, bob, content('poll', { question: 'lunch?' }));
      must('ENC-041', that(!r.received, 'the poll not taken as a known Content', 'received'));
      must('ENC-041', that(r.acked, 'the poll acknowledged', 'no message.ack'));
      const session = client.mock.received.filter((f) => f.type === 'keys.claim').length;
      await mustStillReceive('ENC-041', client, bob, 'the session neither ended nor reset');
      must(
        'ENC-041',
        that(session === 0, 'no new session started (no keys.claim)', `${session} claims`),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-042-client-unknown-kind-placeholder',
    title:
      'the client shows a placeholder for a message of an unsupported kind (observed through the driver’s inbox)',
    requirements: ['ENC-042'],
    level: 'SHOULD',
    quote:
      'A receiver SHOULD show its user a placeholder saying that a message of an unsupported kind could not be displayed.',
    sends: 'suite: bob sends a Content of kind "poll"; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const r = await deliverAndSettle(client, bob, content('poll', { question: 'lunch?' }));
      must('ENC-041', that(r.acked, 'the poll acknowledged', 'no message.ack'));
      const chat = await client.chatWith(bob);
      must(
        'ENC-042',
        that(
          chat?.messages.some((m) => m.placeholder) === true,
          'a placeholder message in the chat with bob',
          chat ?? 'no chat',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-043-client-shows-plain-text',
    title:
      'the client displays a text body, a caption and a file name as plain text, markup included verbatim (observed through the driver’s inbox)',
    requirements: ['ENC-043'],
    level: 'MUST',
    quote:
      'A receiver MUST display a text `body`, a `caption` and a file name as plain text, never interpreting them as markup.',
    sends:
      'suite: bob sends a text and an attachment Content whose body, caption and file name hold HTML and Markdown; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const body = '<b>bold</b> **strong** [link](https://example.com) <script>x()</script>';
      const caption = '<i>caption</i> _em_';
      const fileName = '<img src=x onerror=y>.pdf';
      const text = client.text(body);
      const file = content('attachment', {
        attachments: [
          {
            ...ATTACHMENT_POINTER_EXAMPLE,
            voice: undefined,
            durationMs: undefined,
            fileName,
            mediaType: 'application/pdf',
          },
        ],
        caption,
      });
      for (const c of [text, file])
        must(
          'ENC-043',
          that(
            (await deliverAndSettle(client, bob, JSON.parse(JSON.stringify(c)) as Frame)).received,
            'the content received',
            'nothing',
          ),
        );
      const shownText = await shown(client, bob, String(text.id));
      must(
        'ENC-043',
        that(
          shownText?.text === body,
          `the body shown verbatim: ${body}`,
          shownText ?? 'not shown',
        ),
      );
      const shownFile = await shown(client, bob, String(file.id));
      must(
        'ENC-043',
        that(
          shownFile?.text === caption,
          `the caption shown verbatim: ${caption}`,
          shownFile ?? 'not shown',
        ),
      );
      must(
        'ENC-043',
        that(
          shownFile?.attachments[0]?.fileName === fileName,
          `the file name shown verbatim: ${fileName}`,
          shownFile ?? 'not shown',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-044-client-applies-own-edits-only',
    title:
      'the client applies an edit or delete only from the author of the target message (observed through the driver’s inbox)',
    requirements: ['ENC-044'],
    level: 'MUST',
    quote:
      'A receiver MUST apply an `edit` or `delete` only when its sender is the author of the target message.',
    sends:
      'suite: bob sends a text; carol sends an edit and a delete of it; bob sends an edit of it; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const original = client.text('original by bob');
      must(
        'ENC-010',
        that(
          (await deliverAndSettle(client, bob, original)).received,
          'bob’s text received',
          'nothing',
        ),
      );
      await deliverAndSettle(
        client,
        carol,
        content('edit', { targetId: original.id, body: 'edited by carol' }),
      );
      await deliverAndSettle(client, carol, content('delete', { targetId: original.id }));
      let now = await shown(client, bob, String(original.id));
      must(
        'ENC-044',
        that(
          now?.text === 'original by bob' && !now.deleted && !now.edited,
          'bob’s text unchanged by carol',
          now ?? 'gone',
        ),
      );
      await deliverAndSettle(
        client,
        bob,
        content('edit', { targetId: original.id, body: 'edited by bob' }),
      );
      now = await shown(client, bob, String(original.id));
      must('ENC-044', that(now?.text === 'edited by bob', 'bob’s own edit applied', now ?? 'gone'));
    },
  }),

  defineClientCase({
    id: 'ENC-045-client-ignores-unknown-targets',
    title:
      'the client ignores a reaction, edit or delete whose target it does not hold (observed through the driver’s inbox)',
    requirements: ['ENC-045'],
    level: 'MUST',
    quote: 'A receiver MUST ignore a `reaction`, `edit` or `delete` whose target it does not hold.',
    sends:
      'suite: bob sends a text, then a reaction, an edit and a delete of an id the client never got; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const text = client.text('the only message');
      must(
        'ENC-010',
        that(
          (await deliverAndSettle(client, bob, text)).received,
          'bob’s text received',
          'nothing',
        ),
      );
      const before = await client.chatWith(bob);
      const missing = randomUUID();
      for (const c of [
        content('reaction', { targetId: missing, targetAuthor: bob.address, emoji: '👍' }),
        content('edit', { targetId: missing, body: 'edit of nothing' }),
        content('delete', { targetId: missing }),
      ])
        await deliverAndSettle(client, bob, c);
      const after = await client.chatWith(bob);
      must('ENC-045', that(sameJson(after, before), 'the chat with bob unchanged', after));
      await mustStillReceive('ENC-045', client, bob, 'after the ignored contents');
    },
  }),

  defineClientCase({
    id: 'ENC-046-client-edits-text-only',
    title:
      'the client ignores an edit whose target is not a text content (observed through the driver’s inbox)',
    requirements: ['ENC-046'],
    level: 'MUST',
    quote: 'A receiver MUST ignore an `edit` whose target is not a `text` content.',
    sends:
      'suite: bob sends an attachment Content with a caption, then an edit of it; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const file = content('attachment', {
        attachments: [ATTACHMENT_POINTER_EXAMPLE],
        caption: 'the caption',
      });
      must(
        'ENC-010',
        that(
          (await deliverAndSettle(client, bob, file)).received,
          'the attachment received',
          'nothing',
        ),
      );
      await deliverAndSettle(
        client,
        bob,
        content('edit', { targetId: file.id, body: 'new caption' }),
      );
      const now = await shown(client, bob, String(file.id));
      must(
        'ENC-046',
        that(now?.text === 'the caption' && !now.edited, 'the caption unchanged', now ?? 'gone'),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-047-client-delete-removes-keys',
    title:
      'on a delete the client removes the target’s content and the keys of its attachments (observed through the driver’s inbox)',
    requirements: ['ENC-047'],
    level: 'MUST',
    quote:
      'On a `delete`, a receiver MUST remove the target’s content, including the keys of its attachments.',
    sends: 'suite: bob sends an attachment Content, then a delete of it; driver: inbox',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const file = content('attachment', {
        attachments: [ATTACHMENT_POINTER_EXAMPLE],
        caption: 'to be deleted',
      });
      must(
        'ENC-010',
        that(
          (await deliverAndSettle(client, bob, file)).received,
          'the attachment received',
          'nothing',
        ),
      );
      await deliverAndSettle(client, bob, content('delete', { targetId: file.id }));
      const now = await shown(client, bob, String(file.id));
      must('ENC-047', that(now === undefined || now.text === null, 'the caption removed', now));
      must(
        'ENC-047',
        that(
          now === undefined || now.attachments.every((a) => !a.keyHeld),
          'no attachment key kept',
          now,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'ENC-033-client-tells-identity-change',
    title: 'the client tells its user when the identity key of a peer address changes',
    requirements: ['ENC-033'],
    level: 'SHOULD',
    quote: 'A client SHOULD tell its user when the identity key of a peer address changes.',
    sends:
      'suite: bob sends a text; a new bob (same address, new identity key) starts a new session and sends; driver: identityChanged event',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      must(
        'ENC-010',
        that(await client.roundTrip(bob, client.text('hello')), 'bob’s text received', 'nothing'),
      );
      const newBob = client.peerAt('bob', bob.address);
      await client.deliver(newBob, client.text('new phone'));
      const told = await client.target.link.nextEvent(
        'identityChanged',
        (e) => e.address === bob.address,
        client.waitMs,
      );
      must(
        'ENC-033',
        that(told !== undefined, `an identityChanged event for ${bob.address}`, 'none'),
      );
    },
  }),
];
