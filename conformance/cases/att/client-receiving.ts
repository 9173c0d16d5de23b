// ATT cases of a receiving client (spec/attachments.md "Encryption format"): the suite's peer sends
// an attachment Content whose pointer names a blob the suite serves from its attachment endpoints
// (conformance/client/attachments-mock.ts): valid, of the wrong length, with a spoiled chunk, under
// the wrong digest, or with sizes that do not fit. The user opens it through the driver
// (`download`); whether the client released the file is only observable through the driver.
import { randomBytes, randomUUID } from 'node:crypto';
import { limits } from '../../../reference-impl/attachments/index.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import {
  digestOf,
  sealFile,
  sealWithoutLastFlag,
  withAttachmentServer,
  type AttachmentServer,
  type SealedFile,
} from '../../client/attachments-mock.ts';
import { DriverRefusal } from '../../client/link.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';

/** A file of two chunks (100 000 bytes pad to 100 352: 65 536 + 34 816). */
const TWO_CHUNK_FILE_BYTES = 100_000;
/** A file of three chunks (150 000 bytes pad to 151 552). */
const THREE_CHUNK_FILE_BYTES = 150_000;

/** What the user got when opening an attachment: its bytes, or a refusal. */
type Opened = { released: Buffer } | { refused: string };

/**
 * The peer sends an attachment Content pointing at `blob` (served as is) with `pointer`'s members;
 * the user opens it. A message the client does not accept at all counts as a refusal.
 */
async function offerAndOpen(
  client: ClientWorld,
  server: AttachmentServer,
  peer: SuitePeer,
  blob: Buffer,
  pointer: SealedFile['pointer'],
): Promise<Opened> {
  const content: Frame = {
    v: 1,
    id: randomUUID(),
    sentAt: Date.now(),
    kind: 'attachment',
    attachments: [
      {
        blobId: `b_${randomBytes(8).toString('hex')}`,
        downloadUrl: server.serve(blob),
        mediaType: 'application/octet-stream',
        ...pointer,
      },
    ],
  };
  const d = await client.deliver(peer, content);
  const received = await client.received(d.messageId);
  if (!received) return { refused: 'the message was not accepted' };
  return client
    .drive('download', { from: peer.address, contentId: String(content.id), index: 0 })
    .then(
      (r) => ({ released: Buffer.from(r.data, 'base64') }),
      (error: unknown) => {
        if (error instanceof DriverRefusal && error.code === 'FAILED')
          return { refused: error.message };
        throw error;
      },
    );
}

/** Fails `requirement` unless the user was refused the attachment `what`. */
function mustRefuse(requirement: string, what: string, opened: Opened): void {
  must(
    requirement,
    that(
      'refused' in opened,
      `the download of ${what} FAILED`,
      'released' in opened ? `${opened.released.length} bytes released` : opened,
    ),
  );
}

/** Fails `requirement` unless a valid blob opens to exactly `data` (else the refusals prove nothing). */
function mustRelease(requirement: string, data: Buffer, opened: Opened): void {
  must(
    requirement,
    that(
      'released' in opened && opened.released.equals(data),
      `a valid blob opens to the ${data.length} bytes of the file`,
      'released' in opened ? `${opened.released.length} other bytes` : opened,
    ),
  );
}

/** `blob` with one bit flipped at `offset`. */
function flipped(blob: Buffer, offset: number): Buffer {
  const out = Buffer.from(blob);
  out[offset] = out[offset]! ^ 0x01;
  return out;
}

/** These cases deliver and open several blobs; the default 5 s budget is tight on a loaded machine. */
const CASE_TIMEOUT_MS = 15_000;

export const clientAttachmentReceivingCases = [
  defineClientCase({
    id: 'ATT-003-client-checks-blob-length',
    title: "the client refuses a blob longer or shorter than the pointer's layout",
    requirements: ['ATT-003'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A recipient MUST check that the blob length equals `paddedSize + 16 × ceil(paddedSize / 65536)` before decrypting.',
    sends:
      "suite: bob sends pointers to a valid 2-chunk blob with 16 bytes appended (the pointer's digest that of the valid blob) and to one missing its last 16 bytes; driver: download each, then a valid blob. Only the refusal is observable through the driver, not that the check came before decrypting",
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const data = randomBytes(TWO_CHUNK_FILE_BYTES);
        const sealed = await sealFile(data);
        const longer = Buffer.concat([sealed.blob, Buffer.alloc(limits.TAG_BYTES)]);
        mustRefuse(
          'ATT-003',
          'a blob 16 bytes too long',
          await offerAndOpen(client, server, bob, longer, sealed.pointer),
        );
        const shorter = sealed.blob.subarray(0, sealed.blob.length - limits.TAG_BYTES);
        mustRefuse(
          'ATT-003',
          'a blob 16 bytes too short',
          await offerAndOpen(client, server, bob, shorter, {
            ...sealed.pointer,
            digest: digestOf(shorter),
          }),
        );
        mustRelease(
          'ATT-003',
          data,
          await offerAndOpen(client, server, bob, sealed.blob, sealed.pointer),
        );
      });
    },
  }),

  defineClientCase({
    id: 'ATT-004-client-verifies-every-chunk',
    title:
      'the client refuses a blob with a spoiled chunk, chunks out of order, or a last chunk sealed as not last',
    requirements: ['ATT-004'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      "A recipient MUST verify the tag of every chunk before releasing any of its plaintext, with the nonce computed from the chunk's position and whether it is the last chunk.",
    sends:
      "suite: bob sends pointers to 3-chunk blobs (each pointer's digest that of the blob served): one bit flipped in chunk 1, chunks 0 and 1 swapped, the final chunk sealed with the not-last flag; driver: download each, then a valid blob",
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const data = randomBytes(THREE_CHUNK_FILE_BYTES);
        const sealed = await sealFile(data);
        const chunk = limits.CHUNK_WIRE_BYTES;
        const spoiled = flipped(sealed.blob, chunk + 100);
        const swapped = Buffer.concat([
          sealed.blob.subarray(chunk, 2 * chunk),
          sealed.blob.subarray(0, chunk),
          sealed.blob.subarray(2 * chunk),
        ]);
        for (const [what, blob] of [
          ['a blob with a bit flipped in chunk 1', spoiled],
          ['a blob with chunks 0 and 1 swapped', swapped],
        ] as const)
          mustRefuse(
            'ATT-004',
            what,
            await offerAndOpen(client, server, bob, blob, {
              ...sealed.pointer,
              digest: digestOf(blob),
            }),
          );
        const unflagged = sealWithoutLastFlag(data);
        mustRefuse(
          'ATT-004',
          'a blob whose final chunk was sealed with the not-last flag',
          await offerAndOpen(client, server, bob, unflagged.blob, unflagged.pointer),
        );
        mustRelease(
          'ATT-004',
          data,
          await offerAndOpen(client, server, bob, sealed.blob, sealed.pointer),
        );
      });
    },
  }),

  defineClientCase({
    id: 'ATT-005-client-verifies-digest',
    title: "the client refuses a blob whose SHA-256 is not the pointer's digest",
    requirements: ['ATT-005'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      "A recipient MUST verify that the SHA-256 of the whole blob equals the pointer's `digest` before it treats the attachment as complete.",
    sends:
      'suite: bob sends a pointer to a valid 2-chunk blob whose digest has one bit flipped; driver: download it, then the same blob under its true digest',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const data = randomBytes(TWO_CHUNK_FILE_BYTES);
        const sealed = await sealFile(data);
        const wrong = flipped(Buffer.from(sealed.pointer.digest, 'base64url'), 0).toString(
          'base64url',
        );
        mustRefuse(
          'ATT-005',
          'a valid blob under another digest',
          await offerAndOpen(client, server, bob, sealed.blob, {
            ...sealed.pointer,
            digest: wrong,
          }),
        );
        mustRelease(
          'ATT-005',
          data,
          await offerAndOpen(client, server, bob, sealed.blob, sealed.pointer),
        );
      });
    },
  }),

  defineClientCase({
    id: 'ATT-006-client-checks-sizes-and-truncates',
    title:
      'the client refuses a pointer whose paddedSize is not padded(size) or is below size, and releases exactly size bytes',
    requirements: ['ATT-006'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A recipient MUST reject an attachment whose `size` exceeds its `paddedSize`, or whose `paddedSize` is not the padded size of `size`, and MUST truncate the decrypted bytes to `size`.',
    sends:
      'suite: bob sends a 1 000-byte file as size 1 000 with paddedSize 2 048 (the blob sealed at 2 048 bytes), a pointer with size 3 000 and paddedSize 2 048 (a 2 048-byte blob), then a valid pointer; driver: download each',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      await withAttachmentServer(client.mock, async (server) => {
        const size = 1000;
        const bucket = 2048;
        const data = randomBytes(size);
        const oversized = await sealFile(Buffer.concat([data, Buffer.alloc(bucket - size)]));
        mustRefuse(
          'ATT-006',
          `size ${size} with paddedSize ${bucket}`,
          await offerAndOpen(client, server, bob, oversized.blob, {
            ...oversized.pointer,
            size,
            paddedSize: bucket,
          }),
        );
        const short = await sealFile(randomBytes(bucket));
        mustRefuse(
          'ATT-006',
          `size 3000 with paddedSize ${bucket}`,
          await offerAndOpen(client, server, bob, short.blob, {
            ...short.pointer,
            size: 3000,
            paddedSize: bucket,
          }),
        );
        const valid = await sealFile(data);
        mustRelease(
          'ATT-006',
          data,
          await offerAndOpen(client, server, bob, valid.blob, valid.pointer),
        );
      });
    },
  }),
];
