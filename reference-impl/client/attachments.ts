// Attachment transfer in the SDK: encrypt a file with the stream cipher, slot it, upload with resume,
// and download + decrypt a pointer or its thumbnail (spec/attachments.md "Encryption format",
// "Pointer", "Upload", "Download").
//
// Why the ciphertext goes to a temporary file before the upload: `attachment.slot` needs the blob's
// SHA-256 before the first byte is uploaded, and the digest exists only once the whole file was
// encrypted. A second encryption pass would need the source twice — impossible for a stream, and
// for a path a file that changed in between would end in DIGEST_MISMATCH after a full upload. The
// temporary file is written in one pass, gives the slot its exact size and digest, and lets a
// resumed upload re-read the ciphertext from any offset (ATT-024). It holds ciphertext only
// (mode 0600, in a fresh private directory) and is deleted when the upload ends, whatever the outcome.
import { createReadStream, createWriteStream, ReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipelineCb, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AttachmentPointer, AttachmentThumbnail } from '../../schemas/content.ts';
import type { AttachmentKind } from '../../schemas/common.ts';
import {
  AttachmentCipherError,
  createDecryptStream,
  createEncryptStream,
  layoutFor,
  paddedSize,
} from '../attachments/index.ts';
import { isErrorCode, ParleyError } from './errors.ts';

/** The media types a provider accepts per kind, as `welcome.mediaTypes` lists them. */
export type MediaTypeLists = { readonly [K in AttachmentKind]?: readonly string[] };

/**
 * What `uploadAttachment` needs of a client: `ParleyClient.slotAttachment`, and the connection's
 * `welcome` for its `mediaTypes` (ATT-009). A `ParleyClient` is one.
 */
export interface AttachmentSlotter {
  slotAttachment(
    kind: AttachmentKind,
    size: number,
    digest: string,
  ): Promise<{ blobId: string; uploadUrl: string; uploadToken: string; downloadUrl: string }>;
  readonly welcome?: { readonly mediaTypes?: MediaTypeLists } | undefined;
}

/** A thumbnail to upload beside the attachment: its bytes or a path, and what the pointer says. */
export interface ThumbnailSource {
  /** The thumbnail's bytes (give this or `path`). */
  readonly data?: Uint8Array;
  /** A file holding the thumbnail (give this or `data`). */
  readonly path?: string;
  readonly mediaType: string;
  readonly width: number;
  readonly height: number;
}

/**
 * A route for attachment requests through a partner proxy (spec/proxy.md#attachments): each
 * request goes to `origin` with the path and query of the provider's URL, and `headers` (the
 * proxy's login) added. Absent: straight to the provider's URL.
 */
export interface HttpVia {
  readonly origin: string;
  readonly headers?: () => Record<string, string> | Promise<Record<string, string>>;
}

/** What the pointer says about the file, and how to upload it. */
export interface UploadAttachmentOptions {
  /** Send the upload through a partner proxy instead of straight to the provider. */
  readonly via?: HttpVia;
  readonly kind: AttachmentKind;
  readonly mediaType: string;
  readonly fileName?: string;
  /** A voice message: needs kind `audio` and `durationMs` (ATT-010). */
  readonly voice?: boolean;
  readonly durationMs?: number;
  readonly width?: number;
  readonly height?: number;
  /** Plaintext bytes; required when `source` is a stream other than an `fs.ReadStream` of a path. */
  readonly size?: number;
  /** PUT attempts, the first included, before a dropped upload is given up (default 5). */
  readonly maxAttempts?: number;
  /** Where the temporary ciphertext goes (default the OS temp directory). */
  readonly tempDir?: string;
  /**
   * An image thumbnail, encrypted the same way as its own blob under a fresh key (ATT-001) and
   * pointed to by the pointer's `thumbnail`.
   */
  readonly thumbnail?: ThumbnailSource;
  /**
   * The recipient's provider's `welcome.mediaTypes`, when it is not the provider `client` is
   * connected to (default `client.welcome.mediaTypes`). See `attachmentKindFor` (ATT-009).
   */
  readonly mediaTypes?: MediaTypeLists;
}

const DEFAULT_ATTEMPTS = 5;
/** Pause before resuming, so the provider notices the dropped connection (else UPLOAD_IN_PROGRESS). */
const RESUME_DELAY_MS = 200;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

async function send(
  target: string,
  method: string,
  given: Record<string, string | number>,
  body?: Readable,
  via?: HttpVia,
): Promise<IncomingMessage> {
  let url = target;
  let headers = given;
  if (via) {
    const u = new URL(target);
    url = `${via.origin.replace(/\/$/, '')}${u.pathname}${u.search}`;
    headers = { ...(await via.headers?.()), ...given };
  }
  const request = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers });
    req.once('response', (res) => {
      body?.unpipe(req);
      body?.destroy();
      resolve(res);
    });
    req.on('error', (error) => {
      body?.destroy();
      reject(error);
    });
    if (body) {
      body.once('error', (error) => req.destroy(error));
      body.pipe(req);
    } else req.end();
  });
}

async function collect(res: IncomingMessage): Promise<HttpResult> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) };
}

/** The ParleyError for an HTTP error response `{code, message}` (spec/openapi/attachments.yaml). */
function httpError(result: HttpResult): ParleyError {
  let parsed: { code?: unknown; message?: unknown } = {};
  try {
    parsed = JSON.parse(result.body.toString('utf8')) as typeof parsed;
  } catch {
    // HEAD and 416 answers have no body; the status tells.
  }
  const byStatus =
    result.status === 401
      ? 'UPLOAD_TOKEN_INVALID'
      : result.status === 404
        ? 'NOT_FOUND'
        : 'INTERNAL';
  const code = isErrorCode(parsed.code) ? parsed.code : byStatus;
  const message =
    typeof parsed.message === 'string' ? parsed.message : `HTTP ${result.status} from the provider`;
  return new ParleyError(code, message, { source: 'provider', details: { status: result.status } });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `HEAD {uploadUrl}`: how many bytes the provider holds (ATT-024). */
async function storedOffset(url: string, token: string, via?: HttpVia): Promise<number> {
  const result = await collect(
    await send(url, 'HEAD', { authorization: `Bearer ${token}` }, undefined, via),
  );
  const offset = Number(result.headers['upload-offset']);
  if (result.status !== 200 || !Number.isSafeInteger(offset)) throw httpError(result);
  return offset;
}

/** PUTs `file` (`total` bytes) to the slot, resuming from the stored offset after a drop. */
async function putBlob(
  url: string,
  token: string,
  file: string,
  total: number,
  maxAttempts: number,
  via?: HttpVia,
): Promise<void> {
  let offset = 0;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (attempt > 1) {
      await sleep(RESUME_DELAY_MS * (attempt - 1));
      try {
        offset = await storedOffset(url, token, via);
      } catch (error) {
        if (error instanceof ParleyError) throw error;
        lastError = error;
        continue;
      }
    }
    let result: HttpResult;
    try {
      const body = createReadStream(file, { start: offset });
      result = await collect(
        await send(
          url,
          'PUT',
          {
            authorization: `Bearer ${token}`,
            'content-type': 'application/octet-stream',
            'content-length': total - offset,
            ...(offset > 0 ? { 'upload-offset': offset } : {}),
          },
          body,
          via,
        ),
      );
    } catch (error) {
      lastError = error; // dropped connection: resume from what the provider stored
      continue;
    }
    if (result.status === 201) return;
    const error = httpError(result);
    const retry =
      result.status === 204 ||
      error.code === 'UPLOAD_IN_PROGRESS' ||
      error.code === 'UPLOAD_OFFSET_MISMATCH';
    if (!retry) throw error;
    lastError = error;
  }
  if (lastError instanceof ParleyError) throw lastError;
  throw new ParleyError('UNAVAILABLE', `the upload failed after ${maxAttempts} attempts`, {
    cause: lastError,
  });
}

async function plaintextSize(source: Readable | string, given: number | undefined) {
  if (given !== undefined) return given;
  if (typeof source === 'string') return (await stat(source)).size;
  if (source instanceof ReadStream && typeof source.path === 'string')
    return (await stat(source.path)).size;
  throw new TypeError('uploadAttachment needs options.size for a stream of unknown length');
}

/** `type/subtype` of a media type, lower case, without parameters (RFC 9110 §8.3.1). */
function essence(mediaType: string): string {
  return mediaType.split(';')[0]!.trim().toLowerCase();
}

/**
 * The kind to slot a file as (spec/attachments.md "Pointer"): `kind` when `mediaTypes` (the
 * recipient's provider's `welcome.mediaTypes`) lists `mediaType` for it, else `document` (ATT-009,
 * a SHOULD). Media types compare by `type/subtype`, parameters and case ignored. Without
 * `mediaTypes`, or for a voice message, the kind stays: ATT-010 (a MUST) keeps a voice message kind
 * `audio` even when its media type is not listed.
 */
export function attachmentKindFor(
  kind: AttachmentKind,
  mediaType: string,
  mediaTypes: MediaTypeLists | undefined,
  voice = false,
): AttachmentKind {
  if (mediaTypes === undefined || kind === 'document' || voice) return kind;
  const wanted = essence(mediaType);
  return (mediaTypes[kind] ?? []).some((listed) => essence(listed) === wanted) ? kind : 'document';
}

/** Encrypts and uploads one blob; the pointer members that describe the ciphertext. */
async function uploadBlob(
  client: AttachmentSlotter,
  source: Readable | string,
  kind: AttachmentKind,
  size: number,
  options: UploadAttachmentOptions,
): Promise<Pick<AttachmentPointer, 'blobId' | 'downloadUrl' | 'key' | 'noncePrefix' | 'digest'>> {
  const encrypt = createEncryptStream({ plaintextSize: size });
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'parley-upload-'));
  try {
    const file = join(dir, 'blob');
    const input = typeof source === 'string' ? createReadStream(source) : source;
    await pipeline(input, encrypt, createWriteStream(file, { mode: 0o600 }));
    const digest = b64(encrypt.digest!);
    const slot = await client.slotAttachment(kind, encrypt.ciphertextSize, digest);
    await putBlob(
      slot.uploadUrl,
      slot.uploadToken,
      file,
      encrypt.ciphertextSize,
      options.maxAttempts ?? DEFAULT_ATTEMPTS,
      options.via,
    );
    return {
      blobId: slot.blobId,
      downloadUrl: slot.downloadUrl,
      key: b64(encrypt.key),
      noncePrefix: b64(encrypt.noncePrefix),
      digest,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Uploads the thumbnail as its own image blob under a fresh key (ATT-001). */
async function uploadThumbnail(
  client: AttachmentSlotter,
  thumbnail: ThumbnailSource,
  options: UploadAttachmentOptions,
  mediaTypes: MediaTypeLists | undefined,
): Promise<AttachmentThumbnail> {
  const { data, path } = thumbnail;
  const size = data !== undefined ? data.byteLength : (await stat(path!)).size;
  if (size === 0) throw new TypeError('a thumbnail must not be empty');
  const source = data !== undefined ? Readable.from([Buffer.from(data)]) : path!;
  const kind = attachmentKindFor('image', thumbnail.mediaType, mediaTypes);
  const blob = await uploadBlob(client, source, kind, size, options);
  return {
    ...blob,
    size,
    mediaType: thumbnail.mediaType,
    width: thumbnail.width,
    height: thumbnail.height,
  };
}

/**
 * Encrypts `source` (a path or a plaintext stream) under a fresh key and nonce prefix (ATT-001,
 * ATT-002, ATT-007), slots it, uploads it with resume, and returns the pointer to send inside
 * Signal-encrypted content (ATT-008: key, digest, media type and file name never leave in a frame
 * or HTTP request). The slot's kind is `attachmentKindFor(kind, mediaType, …)`: `document` when the
 * provider does not list the media type for the kind (ATT-009). A `thumbnail` is uploaded as its
 * own blob under a fresh key and lands in the pointer's `thumbnail`. Throws ParleyError (ATTACHMENT_TOO_LARGE, QUOTA_EXCEEDED, DIGEST_MISMATCH,
 * UPLOAD_TOKEN_INVALID, UNAVAILABLE …), AttachmentCipherError SIZE_MISMATCH when the source
 * delivers other than `size` bytes, or TypeError for a voice message that is not audio with a
 * duration (ATT-010) or a thumbnail without exactly one of `data` and `path`.
 */
export async function uploadAttachment(
  client: AttachmentSlotter,
  source: Readable | string,
  options: UploadAttachmentOptions,
): Promise<AttachmentPointer> {
  if (options.voice && (options.kind !== 'audio' || options.durationMs === undefined))
    throw new TypeError('a voice message is kind audio with durationMs set (ATT-010)');
  if (
    options.thumbnail &&
    (options.thumbnail.data === undefined) === (options.thumbnail.path === undefined)
  )
    throw new TypeError('a thumbnail needs exactly one of data and path');
  const size = await plaintextSize(source, options.size);
  const mediaTypes = options.mediaTypes ?? client.welcome?.mediaTypes;
  const kind = attachmentKindFor(options.kind, options.mediaType, mediaTypes, options.voice);
  const blob = await uploadBlob(client, source, kind, size, options);
  const thumbnail =
    options.thumbnail === undefined
      ? undefined
      : await uploadThumbnail(client, options.thumbnail, options, mediaTypes);
  return {
    ...blob,
    size,
    paddedSize: paddedSize(size),
    mediaType: options.mediaType,
    ...(options.fileName === undefined ? {} : { fileName: options.fileName }),
    ...(options.voice === undefined ? {} : { voice: options.voice }),
    ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    ...(thumbnail === undefined ? {} : { thumbnail }),
  };
}

/**
 * Downloads the blob a pointer names and resolves to a stream of its plaintext. The pointer's
 * sizes are checked first (ATT-006) and the blob length against them (ATT-003); the stream then
 * releases a chunk only after its tag verified (ATT-004) and the file's end only after the blob's
 * SHA-256 matched `digest` (ATT-005). Tampering makes the stream fail with AttachmentCipherError
 * (CHUNK_AUTH_FAILED, TRUNCATED, TRAILING_DATA, DIGEST_MISMATCH, BAD_PADDING) having released no
 * plaintext beyond the last authenticated chunk. Rejects with ParleyError NOT_FOUND (unknown,
 * incomplete or expired blob) and AttachmentCipherError for a malformed pointer.
 */
export async function downloadAttachment(
  pointer: AttachmentPointer,
  via?: HttpVia,
): Promise<Readable> {
  if (pointer.paddedSize !== paddedSize(pointer.size))
    throw new AttachmentCipherError('BAD_SIZE', 'paddedSize is not the padded size of size');
  const decrypt = createDecryptStream({
    key: Buffer.from(pointer.key, 'base64url'),
    noncePrefix: Buffer.from(pointer.noncePrefix, 'base64url'),
    plaintextSize: pointer.size,
    digest: Buffer.from(pointer.digest, 'base64url'),
  });
  const res = await send(pointer.downloadUrl, 'GET', {}, undefined, via);
  if (res.statusCode !== 200) throw httpError(await collect(res));
  const expected = layoutFor(pointer.size).ciphertextSize;
  const length = Number(res.headers['content-length']);
  if (res.headers['content-length'] !== undefined && length !== expected) {
    res.destroy();
    throw new AttachmentCipherError(
      length < expected ? 'TRUNCATED' : 'TRAILING_DATA',
      `the blob is ${length} bytes, the pointer's layout says ${expected}`,
    );
  }
  pipelineCb(res, decrypt, () => undefined); // errors reach the caller through `decrypt`
  return decrypt;
}

/**
 * Downloads and decrypts the thumbnail a pointer carries, with every check of `downloadAttachment`
 * (ATT-003..006); the thumbnail's `paddedSize` is the padded size of its `size` (ATT-007). Throws
 * TypeError for a pointer without a thumbnail.
 */
export async function downloadThumbnail(
  pointer: AttachmentPointer,
  via?: HttpVia,
): Promise<Readable> {
  const thumbnail = pointer.thumbnail;
  if (thumbnail === undefined) throw new TypeError('the pointer carries no thumbnail');
  return downloadAttachment({ ...thumbnail, paddedSize: paddedSize(thumbnail.size) }, via);
}
