// The HTTP side of spec/attachments.md as the ATT cases use it: slots over the WebSocket, uploads and
// downloads with Node's http/https client, and every JSON error body checked against the registry.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ERROR_CODES } from '../../../schemas/errors.ts';
import type { Frame } from '../../assert/match.ts';
import { HarnessError, HarnessTimeout } from '../../runner/signals.ts';
import type { Peer } from '../../transport/peer.ts';
import type { World } from '../../transport/world.ts';

/** One HTTP answer of the target. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The parsed body when it is JSON. */
  json?: Frame;
}

/** What an HTTP request sends. */
export interface HttpSend {
  headers?: Record<string, string>;
  body?: Buffer;
}

/** The attachment kinds of `attachment.slot`. */
export type Kind = 'image' | 'video' | 'audio' | 'document';

/** SHA-256 of `bytes` in base64url, as `attachment.slot` declares the digest. */
export function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** `n` random bytes standing for a blob's ciphertext (the provider cannot tell the difference). */
export function blobBytes(n: number): Buffer {
  return randomBytes(n);
}

/** Asks for a slot; returns the reply (`attachment.slotted` or `error`). */
export function slot(
  peer: Peer,
  size: number,
  digest: string,
  kind: Kind = 'document',
): Promise<Frame> {
  return peer.request('attachment.slot', { kind, size, digest });
}

/** A slot for `bytes`; a harness error when the target does not grant it. */
export async function slotFor(
  peer: Peer,
  bytes: Uint8Array,
  digest = digestOf(bytes),
  kind: Kind = 'document',
): Promise<Frame> {
  const slotted = await slot(peer, bytes.length, digest, kind);
  if (slotted.type !== 'attachment.slotted')
    throw new HarnessError(`attachment.slot was answered with ${JSON.stringify(slotted)}`);
  return slotted;
}

/** The bearer header of a slot's upload token. */
export function bearer(slotted: Frame, token = slotted.uploadToken as string): HttpSend['headers'] {
  return { authorization: `Bearer ${token}` };
}

/**
 * Checks an HTTP error body against the registry (spec/errors.md): `{code, message}` only, the code
 * carried over HTTP with exactly this status. A fault is recorded for the runner, like a frame that
 * fails its schema.
 */
function checkErrorBody(world: World, what: string, reply: HttpReply): void {
  const json = reply.json;
  if (json === undefined) return;
  const fault = (pointer: string, message: string): void => {
    world.faults.push({ peer: 'http', type: `${what} ${reply.status}`, pointer, message });
  };
  const extra = Object.keys(json).filter((k) => k !== 'code' && k !== 'message');
  if (extra.length > 0) fault('', `unexpected members ${extra.join(', ')}`);
  if (typeof json.message !== 'string' || json.message.length === 0)
    fault('/message', 'a non-empty message is required');
  const info = (ERROR_CODES as Record<string, (typeof ERROR_CODES)[keyof typeof ERROR_CODES]>)[
    json.code as string
  ];
  if (!info) return fault('/code', `${JSON.stringify(json.code)} is not in the error registry`);
  if (!(info.carriers as readonly string[]).includes('http'))
    return fault('/code', `${json.code as string} is not an HTTP error code`);
  const status = 'httpStatus' in info ? info.httpStatus : undefined;
  if (status !== reply.status)
    fault('/code', `${json.code as string} goes with HTTP ${status}, not ${reply.status}`);
}

function parseJson(reply: HttpReply): void {
  const type = String(reply.headers['content-type'] ?? '');
  if (!type.includes('json') || reply.body.length === 0) return;
  try {
    const value = JSON.parse(reply.body.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      reply.json = value as Frame;
  } catch {
    // Not JSON after all: left to the case's own checks.
  }
}

/** An HTTP request in flight: the body may be written piece by piece before `end`. */
export class HttpExchange {
  readonly reply: Promise<HttpReply>;
  private readonly req: ReturnType<typeof httpRequest>;
  private answered = false;

  constructor(
    private readonly world: World,
    readonly method: string,
    url: string,
    headers: Record<string, string> = {},
  ) {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    world.transcript.record('http', 'sent', `${method} ${target.pathname}`);
    this.req = send(target, { method, headers, agent: false });
    this.reply = new Promise<HttpReply>((resolve, reject) => {
      this.req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const reply: HttpReply = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          };
          parseJson(reply);
          this.answered = true;
          world.transcript.record(
            'http',
            'received',
            `${reply.status} ${method} ${target.pathname}` +
              (reply.json ? ` ${JSON.stringify(reply.json)}` : ` (${reply.body.length} bytes)`),
          );
          checkErrorBody(world, `${method} ${target.pathname}`, reply);
          resolve(reply);
        });
      });
      // A target that answers early (413) may reset the connection under the rest of the body.
      this.req.on('error', (error) => {
        if (!this.answered)
          reject(new HarnessError(`${method} ${url}: ${error.message}`, { cause: error }));
      });
    });
    this.reply.catch(() => undefined);
  }

  /** Sends part of the body. */
  write(bytes: Buffer): void {
    this.req.write(bytes);
  }

  /** Ends the request body. */
  end(bytes?: Buffer): void {
    this.req.end(bytes);
  }

  /** Drops the connection mid-request (an interrupted upload). */
  abort(): void {
    this.answered = true;
    this.req.destroy();
  }

  /** The reply, or undefined when none came within `ms`. */
  async within(ms: number): Promise<HttpReply | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([this.reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One whole HTTP request; a harness timeout when no answer comes within the world's wait. */
export async function http(
  world: World,
  method: string,
  url: string,
  send: HttpSend = {},
): Promise<HttpReply> {
  const headers = { ...(send.headers ?? {}) };
  if (send.body !== undefined) {
    headers['content-type'] ??= 'application/octet-stream';
    headers['content-length'] ??= String(send.body.length);
  }
  const exchange = new HttpExchange(world, method, url, headers);
  exchange.end(send.body);
  const reply = await exchange.within(world.env.waitMs);
  if (!reply)
    throw new HarnessTimeout(`no answer to ${method} ${url} within ${world.env.waitMs} ms`);
  return reply;
}

/** Uploads `bytes` to a slot in one PUT. */
export function upload(world: World, slotted: Frame, bytes: Buffer): Promise<HttpReply> {
  return http(world, 'PUT', slotted.uploadUrl as string, { headers: bearer(slotted), body: bytes });
}

/** A short description of a reply for `actual`. */
export function describe(reply: HttpReply): string {
  const json = reply.json ? ` ${JSON.stringify(reply.json)}` : ` (${reply.body.length} bytes)`;
  return `HTTP ${reply.status}${json}`;
}

/** The reply has `status` and, when given, the JSON error `code`. */
export function isHttp(status: number, code?: string) {
  return (reply: HttpReply) => {
    const expected = `HTTP ${status}${code ? ` with code ${code}` : ''}`;
    if (reply.status !== status) return { expected, actual: describe(reply) };
    if (code !== undefined && reply.json?.code !== code)
      return { expected, actual: describe(reply) };
    return undefined;
  };
}

/** The reply is 200 with exactly `bytes` as its body. */
export function isBody(bytes: Buffer, status = 200) {
  return (reply: HttpReply) =>
    reply.status === status && reply.body.equals(bytes)
      ? undefined
      : {
          expected: `HTTP ${status} with the ${bytes.length} uploaded bytes`,
          actual: `${describe(reply)}${reply.body.length === bytes.length ? ', bytes differ' : ''}`,
        };
}
