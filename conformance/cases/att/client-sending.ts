// ATT cases of a sending client (spec/attachments.md "Encryption format", "Padding", "Pointer"):
// the user sends files through the driver; the suite's attachment endpoints
// (conformance/client/attachments-mock.ts) take the upload and record every HTTP request, the
// suite's peer decrypts the Content with the pointer, and the reference stream cipher decrypts the
// uploaded blob under the pointer's key.
import { randomBytes } from 'node:crypto';
import { paddedSize } from '../../../reference-impl/attachments/index.ts';
import { MEDIA_TYPES } from '../../../reference-impl/server/handlers/session.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import {
  openBlob,
  withAttachmentServer,
  type AttachmentServer,
} from '../../client/attachments-mock.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { DriverMethods } from '../../client/protocol.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { HarnessError } from '../../runner/signals.ts';

type SendParams = Omit<DriverMethods['sendAttachment']['params'], 'to' | 'data'>;

/** A file a case sends: its bytes and what the pointer the peer got says about it. */
interface SentFile {
  data: Buffer;
  pointer: Frame;
  /** The `attachment.slot` frames the client sent for this file (the file's, then a thumbnail's). */
  slots: Frame[];
}

/**
 * The user sends `data` to `peer`; the peer decrypts the client's `message.send` and returns the
 * first pointer of its attachment Content. A Content that is not an attachment fails `requirement`.
 */
async function sendFile(
  requirement: string,
  client: ClientWorld,
  server: AttachmentServer,
  peer: SuitePeer,
  data: Buffer,
  params: SendParams,
): Promise<SentFile> {
  const slotsBefore = server.slotFrames.length;
  const reply = client.drive('sendAttachment', {
    to: peer.address,
    data: data.toString('base64'),
    ...params,
  });
  // The send comes after a slot, an upload and, for a new peer, a PQXDH set-up: it gets the time the
  // driver command gets (2 × waitMs), not the single wait that ran out under load in a CI run.
  const send = await client.mock.nextSend(peer.address, client.waitMs * 2);
  await reply;
  const [first] = await client.open(peer, send);
  const content = first ? client.contentOf(first.plaintext) : undefined;
  const pointers = content?.attachments as Frame[] | undefined;
  must(
    requirement,
    that(
      content?.kind === 'attachment' && Array.isArray(pointers) && pointers.length === 1,
      'an attachment Content with one pointer, inside the Signal ciphertext',
      content,
    ),
  );
  return { data, pointer: pointers![0]!, slots: server.slotFrames.slice(slotsBefore) };
}

/** The complete blob the client uploaded for `pointer`; fails `requirement` when there is none. */
function uploadedBlob(requirement: string, server: AttachmentServer, pointer: Frame): Buffer {
  const blob = server.uploaded(String(pointer.blobId));
  must(
    requirement,
    that(blob !== undefined, `a complete upload of blob ${String(pointer.blobId)}`, 'none'),
  );
  return blob!;
}

/** Decrypts `blob` under `pointer` as `plaintextSize` bytes; a blob not in the format fails `requirement`. */
async function decryptOrFail(
  requirement: string,
  blob: Buffer,
  pointer: Frame,
  plaintextSize: number,
): Promise<Buffer> {
  try {
    return await openBlob(
      blob,
      {
        key: String(pointer.key),
        noncePrefix: String(pointer.noncePrefix),
        digest: String(pointer.digest),
      },
      plaintextSize,
    );
  } catch (error) {
    must(
      requirement,
      that(
        false,
        "a blob in the format of spec/attachments.md under the pointer's key, nonce prefix and digest",
        (error as Error).message,
      ),
    );
    throw error;
  }
}

/** Every spelling of `bytes` a careless client might put on the wire: base64url, base64, hex. */
function spellings(b64url: string): string[] {
  const raw = Buffer.from(b64url, 'base64url');
  return [b64url, raw.toString('base64'), raw.toString('hex')];
}

/** These cases send several files through the driver; the default 5 s budget is tight on a loaded machine. */
const CASE_TIMEOUT_MS = 15_000;

/** Fails ATT-001 unless every pointer has its own key and its own nonce prefix. */
function mustBeDistinct(pointers: Frame[]): void {
  for (const member of ['key', 'noncePrefix'] as const) {
    const values = pointers.map((p) => String(p[member]));
    must(
      'ATT-001',
      that(
        new Set(values).size === values.length,
        `a different ${member} for each of the ${values.length} blobs`,
        values,
      ),
    );
  }
}

export const clientAttachmentSendingCases = [
  defineClientCase({
    id: 'ATT-001-client-encrypts-each-blob-fresh',
    title:
      'the client encrypts every attachment and thumbnail in the format, each under its own key and nonce prefix',
    requirements: ['ATT-001'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A sender MUST encrypt every attachment, and every thumbnail, in the format above, with a fresh `key` and `noncePrefix` from a cryptographically secure random source.',
    sends:
      'driver: sendAttachment of a 3 000-byte document, then of a 70 000-byte image with a thumbnail; suite: decrypts each uploaded blob under its pointer. Distinct keys and prefixes across blobs are checked; that they come from a CSPRNG is not provable from outside',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const doc = await sendFile('ATT-001', client, server, bob, randomBytes(3000), {
          kind: 'document',
          mediaType: 'application/pdf',
          fileName: 'minutes.pdf',
        });
        const image = await sendFile('ATT-001', client, server, bob, randomBytes(70_000), {
          kind: 'image',
          mediaType: 'image/png',
          fileName: 'harbour.png',
          thumbnail: {
            data: randomBytes(600).toString('base64'),
            mediaType: 'image/png',
            width: 32,
            height: 24,
          },
        });
        const files = [
          { what: 'the document', pointer: doc.pointer, data: doc.data },
          { what: 'the image', pointer: image.pointer, data: image.data },
        ];
        mustBeDistinct(files.map((b) => b.pointer));
        const thumbnail = image.pointer.thumbnail as Frame | undefined;
        must(
          'ATT-001',
          that(thumbnail !== undefined, 'the image pointer carries a thumbnail', image.pointer),
        );
        const blobs = [...files, { what: 'the thumbnail', pointer: thumbnail!, data: undefined }];
        mustBeDistinct(blobs.map((b) => b.pointer));
        for (const b of blobs) {
          const blob = uploadedBlob('ATT-001', server, b.pointer);
          const plain = await decryptOrFail('ATT-001', blob, b.pointer, Number(b.pointer.size));
          if (b.data)
            must(
              'ATT-001',
              that(
                plain.equals(b.data),
                `${b.what} decrypts to the file sent`,
                `${plain.length} other bytes`,
              ),
            );
        }
      });
    },
  }),

  defineClientCase({
    id: 'ATT-002-client-pads-with-zeros',
    title: 'the client fills the padding of every attachment with zero bytes',
    requirements: ['ATT-002'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote: 'A sender MUST fill the padding with zero bytes.',
    sends:
      'driver: sendAttachment of files of 1 500 and 70 000 bytes; suite: decrypts each uploaded blob up to its paddedSize and reads the bytes after size',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        for (const size of [1500, 70_000]) {
          const sent = await sendFile('ATT-002', client, server, bob, randomBytes(size), {
            kind: 'document',
            mediaType: 'application/octet-stream',
          });
          const padded = paddedSize(size);
          const blob = uploadedBlob('ATT-002', server, sent.pointer);
          const plain = await decryptOrFail('ATT-002', blob, sent.pointer, padded);
          const padding = plain.subarray(size);
          const nonZero = padding.findIndex((byte) => byte !== 0);
          must(
            'ATT-002',
            that(
              padding.length === padded - size && nonZero === -1,
              `${padded - size} zero bytes after the ${size} bytes of the file`,
              nonZero === -1
                ? `${padding.length} bytes`
                : `byte 0x${padding[nonZero]!.toString(16)} at offset ${size + nonZero}`,
            ),
          );
        }
      });
    },
  }),

  defineClientCase({
    id: 'ATT-007-client-sets-padded-size',
    title: "the client sets each pointer's paddedSize to padded(size)",
    requirements: ['ATT-007'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote: 'A sender MUST set `paddedSize` to `padded(size)` as defined above.',
    sends:
      'driver: sendAttachment of files of 1, 1 025 and 100 000 bytes; suite: reads size and paddedSize of the pointers the peer decrypts',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        for (const size of [1, 1025, 100_000]) {
          const { pointer } = await sendFile('ATT-007', client, server, bob, randomBytes(size), {
            kind: 'document',
            mediaType: 'application/octet-stream',
          });
          must(
            'ATT-007',
            that(
              pointer.size === size && pointer.paddedSize === paddedSize(size),
              `size ${size}, paddedSize ${paddedSize(size)}`,
              { size: pointer.size, paddedSize: pointer.paddedSize },
            ),
          );
        }
      });
    },
  }),

  defineClientCase({
    id: 'ATT-008-client-keeps-pointer-secrets-encrypted',
    title:
      "the client sends an attachment's key, nonce prefix, media type and file name only inside the Signal ciphertext",
    requirements: ['ATT-008'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      "A client MUST send an attachment's `key` and `noncePrefix`, its `mediaType` and its `fileName` only inside Signal-encrypted content, never in a frame or HTTP request to a provider.",
    sends:
      'driver: sendAttachment of a PDF with a distinctive file name; suite: searches every frame the client sent and every HTTP request (target, headers, body) for the key and nonce prefix (base64url, base64, hex), the media type and the file name',
    async run({ client, rng }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const fileName = `ledger-${rng.word(10)}.pdf`;
        const { pointer } = await sendFile('ATT-008', client, server, bob, randomBytes(5000), {
          kind: 'document',
          mediaType: 'application/pdf',
          fileName,
        });
        if (pointer.fileName !== fileName || pointer.mediaType !== 'application/pdf')
          throw new HarnessError('the pointer does not carry the file name and media type sent');
        const secrets = [
          ...spellings(String(pointer.key)).map((s) => ({ what: 'the key', s })),
          ...spellings(String(pointer.noncePrefix)).map((s) => ({ what: 'the nonce prefix', s })),
          { what: 'the media type', s: 'application/pdf' },
          { what: 'the file name', s: fileName },
        ];
        const rawSecrets = [
          { what: 'the raw key', bytes: Buffer.from(String(pointer.key), 'base64url') },
          { what: 'the file name', bytes: Buffer.from(fileName, 'utf8') },
          { what: 'the media type', bytes: Buffer.from('application/pdf', 'utf8') },
        ];
        for (const frame of client.mock.received) {
          const text = JSON.stringify(frame);
          for (const { what, s } of secrets)
            must(
              'ATT-008',
              that(!text.includes(s), `${what} absent from the ${String(frame.type)} frame`, frame),
            );
        }
        for (const r of server.requests) {
          const head = [
            r.url,
            ...Object.entries(r.headers).map(([k, v]) => `${k}: ${String(v)}`),
          ].join('\n');
          for (const { what, s } of secrets)
            must(
              'ATT-008',
              that(
                !head.toLowerCase().includes(s.toLowerCase()),
                `${what} absent from the ${r.method} request's target and headers`,
                head,
              ),
            );
          for (const { what, bytes } of rawSecrets)
            must(
              'ATT-008',
              that(
                !r.body.includes(bytes),
                `${what} absent from the ${r.method} request's body`,
                `found in ${r.body.length} bytes`,
              ),
            );
        }
      });
    },
  }),

  defineClientCase({
    id: 'ATT-009-client-sends-unlisted-media-as-document',
    title:
      'the client slots a file whose media type the provider does not list for its kind as a document',
    requirements: ['ATT-009'],
    level: 'SHOULD',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      "A sender SHOULD send a file whose media type the recipient's provider does not list for its kind in `welcome.mediaTypes` as kind `document`.",
    sends:
      'mock: welcome.mediaTypes without image/x-parley-sample; driver: sendAttachment kind image of that media type; suite: reads the kind of the attachment.slot',
    async run({ client }) {
      const mediaType = 'image/x-parley-sample';
      if (MEDIA_TYPES.image.includes(mediaType))
        throw new HarnessError(`the mock provider lists ${mediaType} for images`);
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const { slots } = await sendFile('ATT-009', client, server, bob, randomBytes(2000), {
          kind: 'image',
          mediaType,
          fileName: 'sample.img',
        });
        must(
          'ATT-009',
          that(slots[0]?.kind === 'document', 'attachment.slot with kind document', slots[0]),
        );
      });
    },
  }),

  defineClientCase({
    id: 'ATT-010-client-marks-voice-messages',
    title: 'the client sends a voice message as kind audio with voice true and durationMs set',
    requirements: ['ATT-010'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A sender MUST mark a voice message as kind `audio` with `voice` true and `durationMs` set.',
    sends:
      'driver: sendAttachment of a 4.2 s voice message (audio/ogg); suite: reads the kind of the attachment.slot and the pointer the peer decrypts',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const { pointer, slots } = await sendFile(
          'ATT-010',
          client,
          server,
          bob,
          randomBytes(6000),
          {
            kind: 'audio',
            mediaType: 'audio/ogg',
            voice: true,
            durationMs: 4200,
          },
        );
        must(
          'ATT-010',
          that(slots[0]?.kind === 'audio', 'attachment.slot with kind audio', slots[0]),
        );
        must(
          'ATT-010',
          that(
            pointer.voice === true && pointer.durationMs === 4200,
            'a pointer with voice true and durationMs 4200',
            { voice: pointer.voice, durationMs: pointer.durationMs },
          ),
        );
      });
    },
  }),
];
