// The attachment HTTP endpoints of client cases (spec/attachments.md "Slot", "Upload", "Download"):
// a loopback HTTP server the suite controls. It answers the mock provider's `attachment.slot`
// with slots on itself, takes uploads with the spec's PUT/HEAD resume semantics, serves blobs with
// byte ranges, and serves blobs the suite crafted (tampered, truncated, of the wrong length) to the
// client. Every request it gets is recorded, so a case can check what the client sent (ATT-008)
// and what it downloaded (CONSENT-018). The blob format comes from reference-impl/attachments.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  createDecryptStream,
  createEncryptStream,
  layoutFor,
  limits,
  paddedSize,
} from '../../reference-impl/attachments/index.ts';
import { chunkNonce } from '../../reference-impl/attachments/layout.ts';
import { DEFAULT_LIMITS } from '../../reference-impl/server/index.ts';
import type { ErrorCode } from '../../schemas/errors.ts';
import { ERROR_CODES } from '../../schemas/errors.ts';
import type { Frame } from '../assert/match.ts';
import type { MockProvider } from './mock-provider.ts';

/** Random bytes in an upload token and a download capability (ATT-017 asks at least 128 bits). */
const SECRET_BYTES = 24;
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** One HTTP request the server got. */
export interface HttpRecord {
  method: string;
  /** The request target (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Date.now() when it arrived. */
  at: number;
}

interface Slot {
  blobId: string;
  kind: string;
  /** The declared ciphertext size and digest (base64url). */
  size: number;
  digest: string;
  uploadToken: string | undefined;
  capability: string;
  stored: Buffer;
  complete: boolean;
}

/** An encrypted file: the blob and the pointer members that describe it. */
export interface SealedFile {
  blob: Buffer;
  pointer: {
    key: string;
    noncePrefix: string;
    digest: string;
    size: number;
    paddedSize: number;
  };
}

/** Encrypts `data` with the reference stream cipher under a fresh key (the normal, valid blob). */
export async function sealFile(data: Uint8Array, plaintextSize = data.length): Promise<SealedFile> {
  const encrypt = createEncryptStream({ plaintextSize });
  const parts: Buffer[] = [];
  encrypt.on('data', (part: Buffer) => parts.push(part));
  await new Promise<void>((resolve, reject) => {
    encrypt.once('end', resolve);
    encrypt.once('error', reject);
    encrypt.end(Buffer.from(data));
  });
  const blob = Buffer.concat(parts);
  return {
    blob,
    pointer: {
      key: b64(encrypt.key),
      noncePrefix: b64(encrypt.noncePrefix),
      digest: b64(sha256(blob)),
      size: data.length,
      paddedSize: paddedSize(data.length),
    },
  };
}

/**
 * Encrypts `data` chunk by chunk like the format does, except that the final chunk's nonce carries
 * the "more chunks follow" flag: a blob only a recipient that ignores the last-chunk flag accepts.
 */
export function sealWithoutLastFlag(data: Uint8Array): SealedFile {
  const layout = layoutFor(data.length);
  const key = randomBytes(limits.KEY_BYTES);
  const prefix = randomBytes(limits.NONCE_PREFIX_BYTES);
  const padded = Buffer.alloc(layout.paddedSize);
  padded.set(data);
  const parts: Buffer[] = [];
  for (let i = 0; i < layout.chunkCount; i += 1) {
    const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(prefix, i, false));
    const chunk = padded.subarray(i * limits.CHUNK_BYTES, (i + 1) * limits.CHUNK_BYTES);
    parts.push(cipher.update(chunk), cipher.final(), cipher.getAuthTag());
  }
  const blob = Buffer.concat(parts);
  return {
    blob,
    pointer: {
      key: b64(key),
      noncePrefix: b64(prefix),
      digest: b64(sha256(blob)),
      size: data.length,
      paddedSize: layout.paddedSize,
    },
  };
}

/** The base64url SHA-256 of `blob`, for a pointer to a crafted blob. */
export function digestOf(blob: Uint8Array): string {
  return b64(sha256(blob));
}

/**
 * Decrypts a blob with the reference stream cipher as `plaintextSize` bytes (pass the pointer's
 * `paddedSize` to see the padding too); rejects with AttachmentCipherError when it is not in the
 * format (a tag, the digest, the length).
 */
export async function openBlob(
  blob: Uint8Array,
  p: { key: string; noncePrefix: string; digest: string },
  plaintextSize: number,
): Promise<Buffer> {
  const decrypt = createDecryptStream({
    key: Buffer.from(p.key, 'base64url'),
    noncePrefix: Buffer.from(p.noncePrefix, 'base64url'),
    digest: Buffer.from(p.digest, 'base64url'),
    plaintextSize,
  });
  const parts: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    decrypt.on('data', (part: Buffer) => parts.push(part));
    decrypt.once('end', resolve);
    decrypt.once('error', reject);
    Readable.from([Buffer.from(blob)]).pipe(decrypt);
  });
  return Buffer.concat(parts);
}

/** The suite's attachment endpoints for one case. */
export class AttachmentServer {
  /** Every HTTP request, in order. */
  readonly requests: HttpRecord[] = [];
  /** Every `attachment.slot` the client sent, in order. */
  readonly slotFrames: Frame[] = [];
  private readonly slots = new Map<string, Slot>();
  private readonly served = new Map<string, Buffer>();

  private constructor(private readonly server: Server) {
    server.on('request', (req, res) => {
      void this.read(req).then(
        (body) => {
          const record: HttpRecord = {
            method: req.method ?? '',
            url: req.url ?? '',
            headers: req.headers,
            body,
            at: Date.now(),
          };
          this.requests.push(record);
          const answer = this.answer(record);
          res.writeHead(answer.status, answer.headers);
          res.end(req.method === 'HEAD' ? undefined : answer.body);
        },
        () => res.destroy(), // the client dropped the request mid-body
      );
    });
  }

  /** Starts the server on a free loopback port. */
  static async start(): Promise<AttachmentServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new AttachmentServer(server);
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Makes the mock provider answer `attachment.slot` with slots on this server. */
  install(mock: MockProvider): void {
    mock.handle('attachment.slot', (frame) => this.slot(frame));
  }

  /** The `attachment.slotted` body for a slot frame (refusals as the spec's errors). */
  slot(frame: Frame): Frame {
    this.slotFrames.push(frame);
    const kind = String(frame.kind);
    const size = Number(frame.size);
    const limit = (DEFAULT_LIMITS.advertised.attachments as unknown as Record<string, unknown>)[
      kind
    ];
    if (typeof limit === 'number' && size > limit)
      return this.frameError('ATTACHMENT_TOO_LARGE', `size ${size} exceeds the ${kind} limit`);
    const blobId = `b_${randomBytes(9).toString('hex')}`;
    const slot: Slot = {
      blobId,
      kind,
      size,
      digest: String(frame.digest),
      uploadToken: b64(randomBytes(SECRET_BYTES)),
      capability: b64(randomBytes(SECRET_BYTES)),
      stored: Buffer.alloc(0),
      complete: false,
    };
    this.slots.set(blobId, slot);
    return {
      type: 'attachment.slotted',
      blobId,
      uploadUrl: `${this.origin}/upload/${blobId}`,
      uploadToken: slot.uploadToken,
      downloadUrl: `${this.origin}/blob/${slot.capability}`,
      expiresAt: Date.now() + DEFAULT_LIMITS.advertised.attachments.ttlSeconds * 1000,
    };
  }

  /** The complete, digest-verified blob uploaded to `blobId`, if any. */
  uploaded(blobId: string): Buffer | undefined {
    const slot = this.slots.get(blobId);
    return slot?.complete ? slot.stored : undefined;
  }

  /** Serves `blob` as is (a crafted blob, valid or not) at a fresh capability URL; returns it. */
  serve(blob: Uint8Array): string {
    const capability = b64(randomBytes(SECRET_BYTES));
    this.served.set(capability, Buffer.from(blob));
    return `${this.origin}/blob/${capability}`;
  }

  /** The GET requests for `downloadUrl` so far. */
  downloadsOf(downloadUrl: string): HttpRecord[] {
    const path = new URL(downloadUrl).pathname;
    return this.requests.filter((r) => r.method === 'GET' && r.url === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async read(req: IncomingMessage): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  private frameError(code: ErrorCode, message: string): Frame {
    return { type: 'error', code, message };
  }

  private httpError(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    return {
      status: (ERROR_CODES[code] as { httpStatus?: number }).httpStatus ?? 500,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ code, message }),
    };
  }

  private answer(r: HttpRecord): {
    status: number;
    headers: Record<string, string | number>;
    body?: Buffer | string;
  } {
    const [, area, id] = r.url.split('?')[0]!.split('/');
    if (area === 'upload' && id !== undefined) return this.upload(r, id);
    if (area === 'blob' && id !== undefined && (r.method === 'GET' || r.method === 'HEAD'))
      return this.download(r, id);
    return this.httpError('NOT_FOUND', `nothing at ${r.url}`);
  }

  /** PUT appends from `Upload-Offset` (201 once complete, 204 before); HEAD reports the offset. */
  private upload(r: HttpRecord, blobId: string) {
    const slot = this.slots.get(blobId);
    const token = /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1];
    if (!slot || slot.uploadToken === undefined || token !== slot.uploadToken)
      return this.httpError('UPLOAD_TOKEN_INVALID', 'no live upload token for this blob');
    const offsetHeaders = { 'upload-offset': String(slot.stored.length) };
    if (r.method === 'HEAD') return { status: 200, headers: offsetHeaders };
    if (r.method !== 'PUT') return this.httpError('NOT_FOUND', `no ${r.method} on an upload URL`);
    const offset = Number(r.headers['upload-offset'] ?? 0);
    if (offset !== slot.stored.length)
      return this.httpError(
        'UPLOAD_OFFSET_MISMATCH',
        `Upload-Offset ${offset} is not the ${slot.stored.length} bytes stored`,
        offsetHeaders,
      );
    if (slot.stored.length + r.body.length > slot.size) {
      slot.stored = Buffer.alloc(0);
      return this.httpError('ATTACHMENT_TOO_LARGE', 'the upload exceeds the declared size');
    }
    slot.stored = Buffer.concat([slot.stored, r.body]);
    if (slot.stored.length < slot.size)
      return { status: 204, headers: { 'upload-offset': String(slot.stored.length) } };
    if (b64(sha256(slot.stored)) !== slot.digest) {
      this.slots.delete(blobId);
      return this.httpError('DIGEST_MISMATCH', "the blob's SHA-256 is not the slot's digest");
    }
    slot.complete = true;
    slot.uploadToken = undefined;
    return { status: 201, headers: { 'upload-offset': String(slot.stored.length) } };
  }

  /** GET/HEAD of a blob: 200 whole, 206 for one satisfiable range, 416 beyond the end. */
  private download(r: HttpRecord, capability: string) {
    const blob =
      this.served.get(capability) ??
      [...this.slots.values()].find((s) => s.complete && s.capability === capability)?.stored;
    if (!blob) return this.httpError('NOT_FOUND', 'no such blob');
    const base = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(r.headers.range ?? ''));
    if (!range)
      return { status: 200, headers: { ...base, 'content-length': blob.length }, body: blob };
    const start = Number(range[1]);
    if (start >= blob.length)
      return { status: 416, headers: { ...base, 'content-range': `bytes */${blob.length}` } };
    const end = Math.min(range[2] ? Number(range[2]) : blob.length - 1, blob.length - 1);
    const part = blob.subarray(start, end + 1);
    return {
      status: 206,
      headers: {
        ...base,
        'content-length': part.length,
        'content-range': `bytes ${start}-${end}/${blob.length}`,
      },
      body: part,
    };
  }
}

/** Runs `fn` with an attachment server installed on the case's mock provider, then closes it. */
export async function withAttachmentServer<T>(
  mock: MockProvider,
  fn: (server: AttachmentServer) => Promise<T>,
): Promise<T> {
  const server = await AttachmentServer.start();
  server.install(mock);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}
