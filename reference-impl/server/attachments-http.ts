/**
 * The attachment HTTP routes: resumable upload of encrypted blobs to disk, capability download with
 * byte ranges, and the expiry sweeper (spec/attachments.md "Upload", "Download", "Expiry";
 * spec/openapi/attachments.yaml; ATT-019..033).
 *
 * Blobs live one file per blob id in `blobDir`. A blob id is checked against a strict base64url
 * pattern before it is ever joined to a path, so no id reaches the filesystem outside that
 * directory. The file holds the bytes received so far; `attachment_blobs` marks it complete once
 * its SHA-256 matched the slot's digest, and only then can it be downloaded.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ERROR_CODES, type ErrorCode } from '../../schemas/errors.ts';
import type { AttachmentBlob } from '../store/types.ts';
import type { ProviderContext } from './context.ts';
import { BLOB_PATH, UPLOAD_PATH } from './handlers/attachments.ts';
import type { HttpHandler } from './transport.ts';

/** Blob ids and capabilities as this provider draws them: base64url (UUIDs fit). No dots, no slashes. */
const BLOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** spec/openapi/attachments.yaml `capability`. */
const CAPABILITY = /^[A-Za-z0-9_-]{22,128}$/;
/** A non-negative integer header; 15 digits stay below 2^53. */
const DIGITS = /^\d{1,15}$/;
/** RFC 6750 `Authorization: Bearer b64token`. */
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;
/** One byte range (spec/openapi/attachments.yaml `Range`). */
const RANGE = /^bytes=(\d{1,15})-(\d{0,15})$/;
const SUFFIX_RANGE = /^bytes=-(\d{1,15})$/;

/** How long a connection may send nothing before it is dropped (slowloris): 30 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Slowest upload kept open (see AttachmentHttpOptions.minUploadBytesPerSecond). */
export const DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND = 1024;
/** Expired slots deleted per sweep, so one sweep never holds the event loop long. */
const SWEEP_BATCH = 500;
/** After a 413 the response gets this long to reach the client before the socket is closed. */
const CLOSE_GRACE_MS = 100;

/** Where blobs go: `<db>.blobs/` beside a SQLite file, a fresh temporary directory for ':memory:'. */
export interface AttachmentHttpOptions {
  /** Overrides the blob directory. */
  blobDir?: string;
  /** How often expired blobs are deleted; default `limits.sweepIntervalMs`. */
  sweepIntervalMs?: number;
  /** Idle timeout of HTTP connections (slowloris); default 30 s. */
  idleTimeoutMs?: number;
  /**
   * Slowest upload kept open, in bytes per second averaged over each idle-timeout window: a
   * client that trickles a byte now and then never goes idle, yet holds a connection and a slot
   * lock. Default 1 KiB/s, below any mobile link; the stored bytes stay for a resume (ATT-024).
   */
  minUploadBytesPerSecond?: number;
}

/** The mounted attachment routes. */
export interface AttachmentHttp {
  readonly blobDir: string;
  readonly handler: HttpHandler;
  /** Deletes expired blobs (file, then row); resolves to how many (ATT-032, ATT-033). */
  sweep(): Promise<number>;
  /** Stops the sweeper. */
  stop(): void;
  /** Waits for running uploads to end; removes the blob directory when it was temporary. */
  close(): Promise<void>;
}

/** The blob directory for a store path and whether it is temporary. */
export function blobDirFor(dbPath: string, override?: string): { dir: string; temporary: boolean } {
  if (override !== undefined) return { dir: override, temporary: false };
  if (dbPath === ':memory:')
    return { dir: mkdtempSync(join(tmpdir(), 'parley-blobs-')), temporary: true };
  return { dir: `${dbPath}.blobs`, temporary: false };
}

type HttpErrorCode = Extract<
  ErrorCode,
  | 'NOT_FOUND'
  | 'ATTACHMENT_TOO_LARGE'
  | 'DIGEST_MISMATCH'
  | 'UPLOAD_TOKEN_INVALID'
  | 'UPLOAD_IN_PROGRESS'
  | 'UPLOAD_OFFSET_MISMATCH'
  | 'BAD_REQUEST'
>;

const MESSAGES: Record<HttpErrorCode, string> = {
  NOT_FOUND: 'No such blob.',
  ATTACHMENT_TOO_LARGE: 'The upload exceeds the size declared for its slot.',
  DIGEST_MISMATCH: 'The uploaded bytes do not match the declared digest.',
  UPLOAD_TOKEN_INVALID: 'The upload token is missing, unknown, expired or already used.',
  UPLOAD_IN_PROGRESS: 'Another upload to this slot is running.',
  UPLOAD_OFFSET_MISMATCH: 'A resumed upload does not start where the stored bytes end.',
  BAD_REQUEST: 'The HTTP request is malformed.',
};

/** Sends `{code, message}` with the registry's status; a HEAD response has no body. */
function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  code: HttpErrorCode,
  options: { message?: string; headers?: Record<string, string>; close?: boolean } = {},
): void {
  const status = ERROR_CODES[code].httpStatus!;
  const body =
    req.method === 'HEAD'
      ? ''
      : JSON.stringify({ code, message: options.message ?? MESSAGES[code] });
  const headers: Record<string, string | number> = {
    'cache-control': 'no-store',
    ...options.headers,
    'content-length': Buffer.byteLength(body),
  };
  if (req.method !== 'HEAD') headers['content-type'] = 'application/json';
  // A refused PUT's body is not read: close instead of draining it.
  if (options.close ?? (req.method === 'PUT' && !req.complete)) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/** Compares two secrets in time independent of where they differ (hashes equalise lengths). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Creates the routes and starts the sweeper (interval timer, unref'd). */
export function createAttachmentHttp(
  ctx: ProviderContext,
  dir: { dir: string; temporary: boolean },
  options: AttachmentHttpOptions = {},
): AttachmentHttp {
  const blobDir = dir.dir;
  mkdirSync(blobDir, { recursive: true, mode: 0o700 });
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const minUploadRate = options.minUploadBytesPerSecond ?? DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND;
  /** Blob ids with an upload streaming now (ATT-022). */
  const active = new Set<string>();
  const running = new Set<Promise<unknown>>();

  /** The one place a blob id becomes a path; ids that fail the pattern never do. */
  function pathFor(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw new Error('invalid blob id');
    return join(blobDir, blobId);
  }

  async function storedBytes(path: string): Promise<number> {
    try {
      return (await stat(path)).size;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  // Files without a slot row are left from a crash between deleting a file's row and its bytes.
  for (const name of readdirSync(blobDir)) {
    if (!BLOB_ID.test(name) || ctx.store.getSlot(name) === undefined)
      rmSync(join(blobDir, name), { force: true, recursive: true });
  }

  /** ATT-019, ATT-025: a live token names an existing, incomplete, unexpired slot. */
  function liveSlot(req: IncomingMessage, blobId: string): AttachmentBlob | undefined {
    const blob = ctx.store.getBlob(blobId);
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (!blob || !match || blob.completedAt !== null || blob.expiresAt <= ctx.now())
      return undefined;
    return sameSecret(match[1]!, blob.uploadToken) ? blob : undefined;
  }

  function uploadStatus(req: IncomingMessage, res: ServerResponse, blobId: string): Promise<void> {
    if (!liveSlot(req, blobId)) {
      sendError(req, res, 'UPLOAD_TOKEN_INVALID');
      return Promise.resolve();
    }
    return storedBytes(pathFor(blobId)).then((n) => {
      res.writeHead(200, { 'upload-offset': n, 'cache-control': 'no-store', 'content-length': 0 });
      res.end();
    });
  }

  async function upload(req: IncomingMessage, res: ServerResponse, blobId: string): Promise<void> {
    const blob = liveSlot(req, blobId);
    if (!blob) return sendError(req, res, 'UPLOAD_TOKEN_INVALID');
    const offsetHeader = req.headers['upload-offset'];
    if (offsetHeader !== undefined && !DIGITS.test(offsetHeader as string))
      return sendError(req, res, 'BAD_REQUEST', { message: 'Upload-Offset is not an integer.' });
    const lengthHeader = req.headers['content-length'];
    const chunked = /(^|,)\s*chunked\s*$/i.test(req.headers['transfer-encoding'] ?? '');
    if (lengthHeader === undefined ? !chunked : !DIGITS.test(lengthHeader))
      return sendError(req, res, 'BAD_REQUEST', {
        message: 'Content-Length is missing or invalid.',
      });
    // ATT-022: checked and taken before the first await, so two requests cannot both pass.
    if (active.has(blobId)) return sendError(req, res, 'UPLOAD_IN_PROGRESS');
    active.add(blobId);
    try {
      const path = pathFor(blobId);
      const stored = await storedBytes(path);
      const offset = offsetHeader === undefined ? 0 : Number(offsetHeader);
      if (offset !== stored)
        return sendError(req, res, 'UPLOAD_OFFSET_MISMATCH', {
          headers: { 'upload-offset': String(stored) },
        }); // ATT-023
      if (lengthHeader !== undefined && offset + Number(lengthHeader) > blob.size) {
        await rm(path, { force: true }); // ATT-020: refused before a byte is stored; nothing left.
        return sendError(req, res, 'ATTACHMENT_TOO_LARGE', { close: true });
      }
      let received = stored;
      let exceeded = false;
      let interrupted = false;
      // ATT-021: the digest is computed as the bytes are written; a resumed upload first hashes
      // the bytes an earlier request stored, so the file is never read twice.
      const hash = createHash('sha256');
      if (stored > 0) {
        const reader = await open(path, 'r');
        try {
          for await (const piece of reader.createReadStream({ autoClose: false, end: stored - 1 }))
            hash.update(piece as Buffer);
        } finally {
          await reader.close();
        }
      }
      const file = await open(path, 'a', 0o600);
      let windowStart = Date.now();
      let windowBytes = 0;
      try {
        for await (const piece of req.iterator({
          destroyOnReturn: false,
        }) as AsyncIterable<Buffer>) {
          if (received + piece.length > blob.size) {
            exceeded = true; // ATT-020: stop at once; the piece that crosses is never written.
            break;
          }
          // Slowloris by trickle: each idle-timeout window must bring the minimum rate.
          windowBytes += piece.length;
          const elapsed = Date.now() - windowStart;
          if (elapsed >= idleTimeoutMs) {
            if (windowBytes < (minUploadRate * elapsed) / 1000) {
              ctx.logger.log('info', 'attachment.too_slow', {
                blobId,
                bytesPerWindow: windowBytes,
              });
              req.socket.destroy();
              interrupted = true;
              break;
            }
            windowStart = Date.now();
            windowBytes = 0;
          }
          await file.write(piece);
          hash.update(piece);
          received += piece.length;
        }
      } catch {
        interrupted = true; // ATT-024: the connection dropped or went idle; the bytes stay.
      } finally {
        if (!exceeded) await file.sync().catch(() => undefined);
        await file.close();
      }
      if (exceeded) {
        await rm(path, { force: true });
        ctx.logger.log('info', 'attachment.too_large', { blobId });
        sendError(req, res, 'ATTACHMENT_TOO_LARGE', { close: true });
        res.once('finish', () => setTimeout(() => req.socket.destroy(), CLOSE_GRACE_MS).unref());
        return;
      }
      if (interrupted || !req.complete) {
        ctx.logger.log('debug', 'attachment.interrupted', { blobId, stored: received });
        if (!res.headersSent && !res.destroyed) res.destroy();
        return;
      }
      if (received < blob.size) {
        res.writeHead(204, { 'upload-offset': received, 'cache-control': 'no-store' });
        res.end();
        return;
      }
      // ATT-021: the whole blob is stored; only a matching digest makes it downloadable.
      const expected = Buffer.from(blob.digest, 'base64url');
      const actual = hash.digest();
      const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
      if (!matches && !ctx.faults.has('skip-digest-check')) {
        await rm(path, { force: true });
        ctx.store.deleteSlot(blobId);
        ctx.logger.log('info', 'attachment.digest_mismatch', { blobId });
        return sendError(req, res, 'DIGEST_MISMATCH');
      }
      if (!ctx.store.completeBlob(blobId, ctx.now())) {
        await rm(path, { force: true }); // swept while streaming: the slot expired
        return sendError(req, res, 'UPLOAD_TOKEN_INVALID');
      }
      ctx.logger.log('info', 'attachment.stored', { blobId, size: blob.size });
      res.writeHead(201, { 'upload-offset': received, 'cache-control': 'no-store' }); // ATT-025
      res.end();
    } finally {
      active.delete(blobId);
    }
  }

  /** GET and HEAD of `downloadUrl` (ATT-026..031). */
  async function download(
    req: IncomingMessage,
    res: ServerResponse,
    blobId: string,
    capability: string,
  ): Promise<void> {
    const blob = ctx.store.getBlob(blobId);
    // ATT-027: unknown, incomplete, expired and wrong capability all end in the same 404.
    const visible =
      blob !== undefined &&
      sameSecret(capability, blob.capability) &&
      blob.completedAt !== null &&
      (blob.expiresAt > ctx.now() || ctx.faults.has('serve-expired-blob'));
    if (!visible) return sendError(req, res, 'NOT_FOUND');
    let file;
    try {
      file = await open(pathFor(blobId), 'r');
    } catch (error) {
      if (isMissing(error)) return sendError(req, res, 'NOT_FOUND');
      throw error;
    }
    try {
      const length = (await file.stat()).size;
      const headers: Record<string, string | number> = {
        'content-type': 'application/octet-stream', // ATT-031
        'accept-ranges': 'bytes',
        'x-content-type-options': 'nosniff',
        'cache-control': 'private, no-store',
      };
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...headers, 'content-length': length });
        res.end();
        return;
      }
      let start = 0;
      let end = length - 1;
      let status = 200; // ATT-029
      const range = req.headers.range;
      if (range !== undefined) {
        const full = RANGE.exec(range);
        const suffix = SUFFIX_RANGE.exec(range);
        if (!full && !suffix)
          return sendError(req, res, 'BAD_REQUEST', { message: 'Range is not one byte range.' });
        if (full) {
          start = Number(full[1]);
          end = full[2] === '' ? Math.max(start, length - 1) : Number(full[2]);
          if (end < start)
            return sendError(req, res, 'BAD_REQUEST', { message: 'Range ends before it starts.' });
        } else {
          start = Math.max(0, length - Number(suffix![1]));
          if (Number(suffix![1]) === 0) start = length;
        }
        if (start >= length) {
          // ATT-030: no body, the length in Content-Range.
          res.writeHead(416, { 'content-range': `bytes */${length}`, 'content-length': 0 });
          res.end();
          return;
        }
        end = Math.min(end, length - 1);
        status = 206; // ATT-028
        headers['content-range'] = `bytes ${start}-${end}/${length}`;
      }
      res.writeHead(status, { ...headers, 'content-length': end - start + 1 });
      await pipeline(file.createReadStream({ start, end, autoClose: false }), res);
    } finally {
      await file.close();
    }
  }

  const handler: HttpHandler = (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    let work: Promise<void>;
    if (path.startsWith(UPLOAD_PATH)) {
      const blobId = path.slice(UPLOAD_PATH.length);
      if (req.method !== 'PUT' && req.method !== 'HEAD') return false;
      // `..`, `%2F` and anything else outside the pattern name no blob and touch no file.
      if (!BLOB_ID.test(blobId)) {
        sendError(req, res, 'NOT_FOUND');
        return true;
      }
      work = req.method === 'PUT' ? upload(req, res, blobId) : uploadStatus(req, res, blobId);
    } else if (path.startsWith(BLOB_PATH)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const parts = path.slice(BLOB_PATH.length).split('/');
      if (parts.length !== 2 || !BLOB_ID.test(parts[0]!) || !CAPABILITY.test(parts[1]!)) {
        sendError(req, res, 'NOT_FOUND');
        return true;
      }
      work = download(req, res, parts[0]!, parts[1]!);
    } else {
      return false;
    }
    running.add(work);
    return work.then(() => true).finally(() => running.delete(work));
  };

  let sweeping: Promise<number> | undefined;
  async function sweepOnce(): Promise<number> {
    let deleted = 0;
    if (ctx.faults.has('serve-expired-blob') || ctx.faults.has('count-expired-quota')) return 0;
    for (;;) {
      const ids = ctx.store.expiredSlots(ctx.now(), SWEEP_BATCH);
      for (const id of ids) {
        // File first: a crash in between leaves an expired row, swept next time, never a lost file.
        if (BLOB_ID.test(id)) await rm(pathFor(id), { force: true });
        ctx.store.deleteSlot(id); // ATT-033: the row's size leaves the owner's quota with it.
        deleted += 1;
      }
      if (ids.length < SWEEP_BATCH) break;
    }
    if (deleted > 0) ctx.logger.log('info', 'attachment.expired', { blobs: deleted });
    return deleted;
  }
  const sweep = (): Promise<number> =>
    (sweeping ??= sweepOnce().finally(() => {
      sweeping = undefined;
    }));
  const timer = setInterval(() => {
    sweep().catch((error: unknown) =>
      ctx.logger.log('error', 'attachment.sweep_failed', { error: String(error) }),
    );
  }, options.sweepIntervalMs ?? ctx.limits.sweepIntervalMs);
  timer.unref();

  return {
    blobDir,
    handler,
    sweep,
    stop: () => clearInterval(timer),
    close: async () => {
      clearInterval(timer);
      await Promise.allSettled([...running, sweeping]);
      if (dir.temporary) rmSync(blobDir, { recursive: true, force: true });
    },
  };
}
