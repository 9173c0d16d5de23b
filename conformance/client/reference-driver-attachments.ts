// Attachments in the reference driver: `sendAttachment` and `download` over the SDK's
// uploadAttachment and downloadAttachment, and the deliberately broken variants of both that the
// suite's self-test injects (CLIENT_FAULTS in reference-driver.ts; test/conformance/client-faults-g.test.ts).
// Each broken variant breaks exactly one rule of spec/attachments.md and keeps every other check.
import { createDecipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  layoutFor,
  limits,
  paddedSize,
} from '../../reference-impl/attachments/index.ts';
import { chunkNonce } from '../../reference-impl/attachments/layout.ts';
import {
  downloadAttachment,
  uploadAttachment,
  type AttachmentSlotter,
  type ParleyClient,
} from '../../reference-impl/client/index.ts';
import type { AttachmentPointer } from '../../schemas/content.ts';
import type { DriverMethods } from './protocol.ts';

/** The key and nonce prefix every blob gets under the fault `reuse-attachment-key`. */
const FIXED_KEY = Buffer.alloc(limits.KEY_BYTES, 0x4b);
const FIXED_NONCE_PREFIX = Buffer.alloc(limits.NONCE_PREFIX_BYTES, 0x4e);
/** The padding byte under the fault `nonzero-attachment-padding`. */
const NONZERO_PADDING = 0xa5;

/** The faults this module acts on. */
const UPLOAD_FAULTS = ['reuse-attachment-key', 'nonzero-attachment-padding', 'file-name-in-upload'];
const DOWNLOAD_FAULTS = [
  'ignore-blob-length',
  'skip-chunk-tags',
  'skip-attachment-digest',
  'trust-padded-size',
];

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

type SendParams = DriverMethods['sendAttachment']['params'];

/** Uploads the file of a `sendAttachment` and returns its pointer (with any sending fault applied). */
export async function sendFile(
  client: ParleyClient,
  p: SendParams,
  faults: ReadonlySet<string>,
): Promise<AttachmentPointer> {
  const bytes = Buffer.from(p.data, 'base64');
  if (UPLOAD_FAULTS.some((f) => faults.has(f))) return brokenUpload(client, bytes, p, faults);
  // ATT-009 broken: slot without looking at the provider's media type lists.
  const slotter: AttachmentSlotter = faults.has('ignore-media-type-lists')
    ? { slotAttachment: (kind, size, digest) => client.slotAttachment(kind, size, digest) }
    : client;
  const pointer = await uploadAttachment(slotter, Readable.from([bytes]), {
    kind: p.kind,
    mediaType: p.mediaType,
    size: bytes.length,
    ...(p.fileName === undefined ? {} : { fileName: p.fileName }),
    ...(p.voice === undefined ? {} : { voice: p.voice }),
    ...(p.durationMs === undefined ? {} : { durationMs: p.durationMs }),
    ...(p.thumbnail === undefined
      ? {}
      : {
          thumbnail: {
            data: Buffer.from(p.thumbnail.data, 'base64'),
            mediaType: p.thumbnail.mediaType,
            width: p.thumbnail.width,
            height: p.thumbnail.height,
          },
        }),
  });
  if (faults.has('padded-size-equals-size')) return { ...pointer, paddedSize: pointer.size };
  if (faults.has('voice-without-flag')) {
    const unmarked = { ...pointer };
    delete unmarked.voice;
    return unmarked;
  }
  return pointer;
}

/**
 * An upload that breaks ATT-001 (the same key and nonce prefix for every blob), ATT-002 (padding
 * of 0xa5 bytes) or ATT-008 (the media type and file name in the upload's HTTP headers); no
 * thumbnail.
 */
async function brokenUpload(
  client: ParleyClient,
  bytes: Buffer,
  p: SendParams,
  faults: ReadonlySet<string>,
): Promise<AttachmentPointer> {
  const padded = paddedSize(bytes.length);
  const plain = Buffer.alloc(
    padded,
    faults.has('nonzero-attachment-padding') ? NONZERO_PADDING : 0,
  );
  bytes.copy(plain);
  // The padded size is its own padded size, so the blob has the layout of `bytes`.
  const encrypt = createEncryptStream({
    plaintextSize: padded,
    ...(faults.has('reuse-attachment-key')
      ? { key: FIXED_KEY, noncePrefix: FIXED_NONCE_PREFIX }
      : {}),
  });
  const blob = await collect(Readable.from([plain]).pipe(encrypt));
  const digest = b64(createHash('sha256').update(blob).digest());
  const slot = await client.slotAttachment(p.kind, blob.length, digest);
  const leak = faults.has('file-name-in-upload');
  const res = await fetch(slot.uploadUrl, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${slot.uploadToken}`,
      'content-type': leak ? p.mediaType : 'application/octet-stream',
      ...(leak && p.fileName
        ? { 'content-disposition': `attachment; filename="${p.fileName}"` }
        : {}),
    },
    body: blob,
  });
  if (res.status !== 201) throw new Error(`the upload was answered ${res.status}`);
  return {
    blobId: slot.blobId,
    downloadUrl: slot.downloadUrl,
    key: b64(encrypt.key),
    noncePrefix: b64(encrypt.noncePrefix),
    digest,
    size: bytes.length,
    paddedSize: padded,
    mediaType: p.mediaType,
    ...(p.fileName === undefined ? {} : { fileName: p.fileName }),
    ...(p.voice === undefined ? {} : { voice: p.voice }),
    ...(p.durationMs === undefined ? {} : { durationMs: p.durationMs }),
  };
}

/** Downloads and decrypts the blob of `pointer` (with any receiving fault applied). */
export async function openFile(
  pointer: AttachmentPointer,
  faults: ReadonlySet<string>,
): Promise<Buffer> {
  if (DOWNLOAD_FAULTS.some((f) => faults.has(f))) return brokenDownload(pointer, faults);
  return collect(await downloadAttachment(pointer));
}

/**
 * A download that breaks ATT-003 (decrypts the first blob-length bytes it got, whatever the
 * length), ATT-004 (releases chunks without checking their tags), ATT-005 (never compares the
 * digest) or ATT-006 (takes `paddedSize` as given and does not truncate to `size`).
 */
async function brokenDownload(
  pointer: AttachmentPointer,
  faults: ReadonlySet<string>,
): Promise<Buffer> {
  const res = await fetch(pointer.downloadUrl);
  if (res.status !== 200) throw new Error(`the download was answered ${res.status}`);
  let blob = Buffer.from(await res.arrayBuffer());
  const trustPadded = faults.has('trust-padded-size');
  if (!trustPadded && pointer.paddedSize !== paddedSize(pointer.size))
    throw new Error('paddedSize is not the padded size of size');
  const plaintextSize = trustPadded ? pointer.paddedSize : pointer.size;
  const layout = layoutFor(plaintextSize);
  if (faults.has('ignore-blob-length')) blob = blob.subarray(0, layout.ciphertextSize);
  else if (blob.length !== layout.ciphertextSize)
    throw new Error(`the blob is ${blob.length} bytes, not ${layout.ciphertextSize}`);
  const key = Buffer.from(pointer.key, 'base64url');
  const noncePrefix = Buffer.from(pointer.noncePrefix, 'base64url');
  const digest = Buffer.from(pointer.digest, 'base64url');
  let plain: Buffer;
  if (faults.has('skip-chunk-tags')) {
    if (!createHash('sha256').update(blob).digest().equals(digest))
      throw new Error('the digest does not match');
    const parts: Buffer[] = [];
    for (let i = 0; i < layout.chunkCount; i += 1) {
      const chunk = blob.subarray(i * limits.CHUNK_WIRE_BYTES, (i + 1) * limits.CHUNK_WIRE_BYTES);
      const nonce = chunkNonce(noncePrefix, i, i === layout.chunkCount - 1);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      parts.push(decipher.update(chunk.subarray(0, chunk.length - limits.TAG_BYTES)));
    }
    plain = Buffer.concat(parts);
  } else if (faults.has('skip-attachment-digest')) {
    plain = await collect(
      Readable.from([blob]).pipe(
        createRangeDecryptStream({ key, noncePrefix, plaintextSize, start: 0, end: plaintextSize }),
      ),
    );
  } else {
    plain = await collect(
      Readable.from([blob]).pipe(createDecryptStream({ key, noncePrefix, plaintextSize, digest })),
    );
  }
  return trustPadded ? plain.subarray(0, pointer.size) : plain;
}
