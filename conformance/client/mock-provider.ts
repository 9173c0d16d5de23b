// The mock provider of client cases: a real Parley WebSocket endpoint on a free loopback port that
// the suite scripts. It answers the client under test as a provider would (hello, register, auth,
// keys, sends, acks, consent), validates every frame the client sends against its schema (a
// violation fails the case's requirement), records them for the case, serves the suite's peers'
// bundles and delivers the ciphertexts the case crafts.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify, type JWK } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { verifySignature } from '../../reference-impl/crypto/index.ts';
import { DEFAULT_LIMITS } from '../../reference-impl/server/index.ts';
import { MEDIA_TYPES } from '../../reference-impl/server/handlers/session.ts';
import { ERROR_CODES, type ErrorCode } from '../../schemas/errors.ts';
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import { MockGroups } from './mock-groups.ts';
import { HarnessError, HarnessTimeout } from '../runner/signals.ts';
import type { SchemaFault } from '../transport/peer.ts';
import type { Transcript } from '../transport/transcript.ts';
import { authInput, unb64 } from '../transport/users.ts';
import { handled } from './link.ts';
import type { SuitePeer } from './peer.ts';

/** The label of the client under test in transcripts. */
export const CLIENT_LABEL = 'client';

/** What a scripted handler returns: the reply body (`type` and members, no `v`/`re`), or nothing to stay silent. */
export type Reply = Frame | undefined;

/** Answers one request type; `conn` is the connection it came on. */
export type Handler = (frame: Frame, conn: MockConnection) => Reply | Promise<Reply>;

/** The keys the client under test published (the last `keys.publish`). */
export interface PublishedKeys {
  identityKey: string;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
  /** One-time prekeys not yet handed out. */
  oneTimePreKeys: { keyId: number; publicKey: string }[];
  /** The last-resort Kyber prekey (PQXDH). */
  lastResortKyberPreKey: KyberKey;
  /** One-time Kyber prekeys not yet handed out. */
  oneTimeKyberPreKeys: KyberKey[];
}

/** A signed Kyber prekey as the client published it. */
export interface KyberKey {
  keyId: number;
  publicKey: string;
  signature: string;
}

/** One delivery pushed to the client. */
export interface Delivery {
  deliveryId: string;
  messageId: string;
  frame: Frame;
}

/** An attachment blob slotted by the client (or served by a case), held in memory. */
export interface MockBlob {
  blobId: string;
  kind: string;
  /** Declared ciphertext size and SHA-256 (base64url). */
  size: number;
  digest: string;
  uploadToken: string;
  capability: string;
  /** The bytes received so far (the whole ciphertext once complete). */
  bytes: Buffer;
  complete: boolean;
}

/** The path of attachment blobs on the mock's HTTP side: `/attachments/<blobId>`. */
export const MOCK_BLOB_PATH = '/attachments/';
/** How long slotted blobs are said to live. */
const BLOB_TTL_MS = 24 * 3600 * 1000;

/** One WebSocket connection of the client. */
export class MockConnection {
  challenge: Buffer = randomBytes(32);
  /** Set by a successful `auth`. */
  session: { address: string; deviceId: number } | undefined;
  private nextPush = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly provider: MockProvider,
  ) {}

  /** Sends a frame (a reply or a push) and records it. */
  send(frame: Frame): void {
    this.provider.recordSent(frame);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Pushes `body` with a fresh push id; returns the id. */
  push(body: Frame): string {
    const id = `p${++this.nextPush}.${randomBytes(3).toString('hex')}`;
    this.send({ v: 1, ...body, id });
    return id;
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }
}

/** Options of a mock provider. */
export interface MockOptions {
  validator: FrameValidator;
  transcript: Transcript;
  /** Where schema violations of the client's frames go (the runner fails the case on them). */
  faults: SchemaFault[];
  /** The default wait, already multiplied by the timeout factor. */
  waitMs: number;
  /** The provider's domain. */
  domain: string;
  /** The partner platform the client belongs to, with its public JWK, for partner auth. */
  partner?: { domain: string; publicJwk: JWK };
  /** The registration token a first-party client registers with. */
  registrationToken: string;
  /** The capabilities `welcome` claims. Default `attachments`, `consent`, `groups`. */
  capabilities?: string[];
}

/** A provider the suite scripts, for one case. */
export class MockProvider {
  /** Every frame the client sent, in order (the ones a case already took included). */
  readonly received: Frame[] = [];
  private readonly unread: Frame[] = [];
  private waiters: (() => void)[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly peers = new Map<string, SuitePeer>();
  private readonly acked = new Set<string>();
  private readonly idempotency = new Map<string, Frame>();
  readonly connections = new Set<MockConnection>();
  /** The client's account, once registered or authenticated. */
  account:
    { address: string; deviceId: number; identityKey: string; deviceKey: string } | undefined;
  /** The keys the client published last. */
  published: PublishedKeys | undefined;
  /** The interop settings the client set (`consent.set`), as the provider holds them. */
  interop: Frame = { enabled: false, platforms: 'all', inbox: 'separate' };
  /** Every `auth` that did not verify, with why (an AUTH case reads these). */
  readonly authFailures: string[] = [];
  /** When set, every `welcome` carries this challenge instead of a fresh one (signature-nonce cases). */
  fixedChallenge: Buffer | undefined;
  /** Advertised limits that replace the reference ones in every `welcome` (PROTO-024 cases). */
  limits: Partial<typeof DEFAULT_LIMITS.advertised> = {};
  /**
   * Frames the mock itself sent that fail their schema: a bug of the mock or of a case's script,
   * reported as a harness error (never as the client's fault), unless a case sends them on purpose
   * and clears this list.
   */
  readonly selfFaults: string[] = [];
  /** Attachment blobs by id: what the client uploaded, and what cases serve for download. */
  readonly blobs = new Map<string, MockBlob>();
  /** The groups the mock hosts (spec/groups.md). */
  readonly groups = new MockGroups({
    clientAddress: () => this.account?.address,
    push: (body) => this.live.push(body),
  });

  private constructor(
    private readonly http: Server,
    private readonly server: WebSocketServer,
    readonly options: MockOptions,
  ) {
    server.on('connection', (ws) => this.accept(ws));
    http.on('request', (req, res) => void this.serveHttp(req, res));
  }

  /** Starts a mock provider on a free loopback port: WebSocket and attachment HTTP on one server. */
  static async start(options: MockOptions): Promise<MockProvider> {
    const http = createServer();
    const server = new WebSocketServer({ server: http });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', resolve);
    });
    return new MockProvider(http, server, options);
  }

  /** The client endpoint, `ws://127.0.0.1:<port>/`. */
  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/`;
  }

  /** The base of the attachment URLs, `http://127.0.0.1:<port>`. */
  get httpBase(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Slots a blob as `attachment.slot` does; the default handler and cases that serve blobs use it. */
  slotBlob(kind: string, size: number, digest: string): MockBlob {
    const blob: MockBlob = {
      blobId: `b_${randomBytes(12).toString('base64url')}`,
      kind,
      size,
      digest,
      uploadToken: `upl_${randomBytes(24).toString('base64url')}`,
      capability: randomBytes(24).toString('base64url'),
      bytes: Buffer.alloc(0),
      complete: false,
    };
    this.blobs.set(blob.blobId, blob);
    return blob;
  }

  /** Where `blob` is uploaded and downloaded. */
  blobUrls(blob: MockBlob): { uploadUrl: string; downloadUrl: string } {
    const uploadUrl = `${this.httpBase}${MOCK_BLOB_PATH}${blob.blobId}`;
    return { uploadUrl, downloadUrl: `${uploadUrl}?cap=${blob.capability}` };
  }

  /** Serves `bytes` (a ciphertext a case crafted) as a complete blob; returns its download URL. */
  serveBlob(bytes: Buffer, kind = 'document'): { blob: MockBlob; downloadUrl: string } {
    const digest = createHash('sha256').update(bytes).digest('base64url');
    const blob = this.slotBlob(kind, bytes.length, digest);
    blob.bytes = Buffer.from(bytes);
    blob.complete = true;
    return { blob, downloadUrl: this.blobUrls(blob).downloadUrl };
  }

  /** The attachment HTTP routes (spec/openapi/attachments.yaml): PUT and HEAD to upload, GET to download. */
  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.httpBase);
    const fail = (code: ErrorCode, message: string): void => {
      const status = (ERROR_CODES[code] as { httpStatus?: number }).httpStatus ?? 400;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code, message }));
    };
    this.options.transcript.record(CLIENT_LABEL, 'sent', `HTTP ${req.method} ${url.pathname}`);
    const blob = url.pathname.startsWith(MOCK_BLOB_PATH)
      ? this.blobs.get(url.pathname.slice(MOCK_BLOB_PATH.length))
      : undefined;
    if (!blob) return fail('NOT_FOUND', 'no such blob');
    if (req.method === 'GET') {
      if (url.searchParams.get('cap') !== blob.capability || !blob.complete)
        return fail('NOT_FOUND', 'no such blob');
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (!range) {
        res.writeHead(200, { 'content-length': blob.bytes.length });
        res.end(blob.bytes);
        return;
      }
      const start = Number(range[1]);
      const end = range[2]
        ? Math.min(Number(range[2]), blob.bytes.length - 1)
        : blob.bytes.length - 1;
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${blob.bytes.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${blob.bytes.length}`,
      });
      res.end(blob.bytes.subarray(start, end + 1));
      return;
    }
    if (req.headers.authorization !== `Bearer ${blob.uploadToken}`)
      return fail('UPLOAD_TOKEN_INVALID', 'no live upload token for this blob');
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'upload-offset': blob.bytes.length });
      res.end();
      return;
    }
    if (req.method !== 'PUT') return fail('BAD_REQUEST', `method ${req.method} not allowed`);
    const offset = Number(req.headers['upload-offset'] ?? 0);
    if (offset !== blob.bytes.length)
      return fail('UPLOAD_OFFSET_MISMATCH', `Upload-Offset ${offset}, stored ${blob.bytes.length}`);
    const parts: Buffer[] = [blob.bytes];
    for await (const part of req) parts.push(part as Buffer);
    blob.bytes = Buffer.concat(parts);
    if (blob.bytes.length > blob.size)
      return fail('ATTACHMENT_TOO_LARGE', 'more bytes than the slot declared');
    if (blob.bytes.length < blob.size) {
      res.writeHead(204, { 'upload-offset': blob.bytes.length });
      res.end();
      return;
    }
    if (createHash('sha256').update(blob.bytes).digest('base64url') !== blob.digest) {
      blob.bytes = Buffer.alloc(0);
      return fail('DIGEST_MISMATCH', 'the bytes do not match the slot digest');
    }
    blob.complete = true;
    res.writeHead(201);
    res.end();
  }

  get domain(): string {
    return this.options.domain;
  }

  /** Replaces the answer to `type` (see HOWTO-CASES.md); the default handlers stay for the others. */
  handle(type: string, handler: Handler): void {
    this.handlers.set(type, handler);
  }

  /** Makes `peer` known: `keys.claim` of its address is answered with its bundle. */
  addPeer(peer: SuitePeer): void {
    this.peers.set(peer.address, peer);
  }

  /** The authenticated connection of the client; throws HarnessError when there is none. */
  get live(): MockConnection {
    for (const c of this.connections) if (c.session && c.open) return c;
    throw new HarnessError('the client has no authenticated connection to the mock provider');
  }

  // ---- what the client sent ----------------------------------------------------------------

  /**
   * Waits for (and takes) the first frame the client sent that `predicate` accepts and no earlier
   * call took. Throws HarnessTimeout when none comes within `waitMs`. A case may start the wait
   * before the action that triggers the frame; if it fails first, the abandoned wait is harmless.
   */
  next(predicate: (f: Frame) => boolean, what: string, waitMs?: number): Promise<Frame> {
    const wait = waitMs ?? this.options.waitMs;
    return handled(
      this.poll(predicate, wait).then((found) => {
        if (!found) throw new HarnessTimeout(`the client sent no ${what} within ${wait} ms`);
        return found;
      }),
    );
  }

  /** Like `next`, but resolves undefined when none comes within `waitMs`. */
  async poll(predicate: (f: Frame) => boolean, waitMs: number): Promise<Frame | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const i = this.unread.findIndex(predicate);
      if (i >= 0) return this.unread.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** The next `message.send` of the client (to `to`, when given). */
  nextSend(to?: string, waitMs?: number): Promise<Frame> {
    return this.next(
      (f) => f.type === 'message.send' && (to === undefined || f.to === to),
      `message.send${to ? ` to ${to}` : ''}`,
      waitMs,
    );
  }

  // ---- delivering to the client ------------------------------------------------------------

  /**
   * Pushes a `message` to the client's live connection. `body` is base64url ciphertext; `from`,
   * `fromDevice`, `origin` and `folder` default to the peer's. Returns the delivery and message ids.
   */
  deliver(message: {
    from: SuitePeer;
    fromDevice?: number;
    ciphertextType: 'prekey' | 'whisper' | 'senderkey';
    body: string;
    folder?: 'inbox' | 'third-party' | 'requests';
    messageId?: string;
    /** For a group message: the group, and the 1:1 distribution ciphertext for the client. */
    group?: string;
    distribution?: { ciphertextType: 'prekey' | 'whisper'; body: string };
    /** The provider's stamp; now when absent. */
    serverTimestamp?: number;
  }): Delivery {
    const frame: Frame = {
      type: 'message',
      messageId: message.messageId ?? `m_${randomUUID()}`,
      from: message.from.address,
      fromDevice: message.fromDevice ?? 1,
      origin: message.from.origin,
      folder: message.folder ?? message.from.folder,
      ciphertextType: message.ciphertextType,
      body: message.body,
      ...(message.group === undefined ? {} : { group: message.group }),
      ...(message.distribution === undefined ? {} : { distribution: message.distribution }),
      serverTimestamp: message.serverTimestamp ?? Date.now(),
    };
    const deliveryId = this.live.push(frame);
    return {
      deliveryId,
      messageId: frame.messageId as string,
      frame: { ...frame, id: deliveryId },
    };
  }

  /** Whether the client acked `deliveryId` within `waitMs`. */
  async ackedWithin(deliveryId: string, waitMs?: number): Promise<boolean> {
    if (this.acked.has(deliveryId)) return true;
    await this.poll(
      (f) =>
        f.type === 'message.ack' &&
        Array.isArray(f.deliveryIds) &&
        f.deliveryIds.includes(deliveryId),
      waitMs ?? this.options.waitMs,
    );
    return this.acked.has(deliveryId);
  }

  /** Whether `deliveryId` was acked so far. */
  isAcked(deliveryId: string): boolean {
    return this.acked.has(deliveryId);
  }

  /**
   * Hands out a bundle of the client's device as `keys.claim` would (a one-time prekey removed
   * from the pool, or none when `withOneTimePreKey` is false or the pool is empty; a one-time Kyber
   * prekey while there is one, else the last-resort one).
   */
  claimClientBundle(withOneTimePreKey = true): Frame {
    const keys = this.published;
    const account = this.account;
    if (!keys || !account) throw new HarnessError('the client has published no prekeys');
    const oneTime = withOneTimePreKey ? keys.oneTimePreKeys.shift() : undefined;
    return {
      deviceId: account.deviceId,
      registrationId: keys.registrationId,
      identityKey: keys.identityKey,
      signedPreKey: keys.signedPreKey,
      oneTimePreKey: oneTime ?? null,
      kyberPreKey: keys.oneTimeKyberPreKeys.shift() ?? keys.lastResortKyberPreKey,
    };
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- the wire ----------------------------------------------------------------------------

  /** Records a frame the mock sends and checks it against its schema (a mock bug is a harness error). */
  recordSent(frame: Frame): void {
    this.options.transcript.record('mock', 'sent', frame);
    const valid = this.options.validator.validate(frame);
    if (!valid.ok)
      this.selfFaults.push(
        `the mock provider sent an invalid ${String(frame.type)} frame (${valid.pointer || '/'}: ${valid.message})`,
      );
  }

  private accept(ws: WebSocket): void {
    const conn = new MockConnection(ws, this);
    this.connections.add(conn);
    this.options.transcript.record(CLIENT_LABEL, 'event', 'connected');
    ws.on('message', (data, isBinary) => void this.receive(conn, String(data), isBinary));
    ws.on('close', (code) => {
      this.connections.delete(conn);
      this.options.transcript.record(CLIENT_LABEL, 'event', `closed with code ${code}`);
    });
    ws.on('error', () => undefined);
  }

  private async receive(conn: MockConnection, text: string, isBinary: boolean): Promise<void> {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = undefined;
    }
    if (isBinary || typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.options.transcript.record(CLIENT_LABEL, 'sent', text);
      this.options.faults.push({
        peer: CLIENT_LABEL,
        type: '?',
        pointer: '',
        message: isBinary
          ? 'a binary frame (PROTO-002)'
          : 'a frame that is not a JSON object (PROTO-002)',
      });
      return;
    }
    const f = frame as Frame;
    this.options.transcript.record(CLIENT_LABEL, 'sent', f);
    const valid = this.options.validator.validate(f);
    if (!valid.ok)
      this.options.faults.push({
        peer: CLIENT_LABEL,
        type: String(f.type),
        pointer: valid.pointer,
        message: valid.message,
      });
    this.received.push(f);
    if (f.type === 'message.ack' && Array.isArray(f.deliveryIds))
      for (const id of f.deliveryIds) this.acked.add(String(id));
    this.unread.push(f);
    for (const w of this.waiters.splice(0)) w();
    if (typeof f.id !== 'string') return;
    let reply: Reply;
    try {
      const handler = this.handlers.get(String(f.type)) ?? this.defaults[String(f.type)];
      reply = handler
        ? await handler(f, conn)
        : { type: 'error', code: 'UNKNOWN_TYPE', message: `unknown frame type ${String(f.type)}` };
    } catch (error) {
      reply = { type: 'error', code: 'INTERNAL', message: (error as Error).message };
    }
    if (reply) conn.send({ v: 1, ...reply, re: f.id });
    if (reply?.type === 'auth.ok') conn.push({ type: 'queue.empty' });
  }

  private readonly defaults: Record<string, Handler> = {
    hello: (f, conn) => {
      if (!Array.isArray(f.versions) || !f.versions.includes(1))
        return {
          type: 'error',
          code: 'UNSUPPORTED_VERSION',
          message: 'no protocol version in common',
        };
      conn.challenge = this.fixedChallenge ?? randomBytes(32);
      return {
        type: 'welcome',
        version: 1,
        provider: { domain: this.domain },
        challenge: conn.challenge.toString('base64url'),
        limits: { ...DEFAULT_LIMITS.advertised, ...this.limits },
        capabilities: this.options.capabilities ?? ['attachments', 'consent', 'groups'],
        mediaTypes: MEDIA_TYPES,
        serverTime: Date.now(),
      };
    },
    'account.register': (f) => {
      if (f.registrationToken !== this.options.registrationToken)
        return {
          type: 'error',
          code: 'REGISTRATION_REFUSED',
          message: 'registrationToken is not valid',
        };
      const address = `${String(f.name)}@${this.domain}`;
      this.account = {
        address,
        deviceId: 1,
        identityKey: String(f.identityKey),
        deviceKey: String(f.deviceKey),
      };
      return { type: 'account.registered', address, deviceId: 1 };
    },
    auth: (f, conn) => this.auth(f, conn),
    ping: () => ({ type: 'pong' }),
    'keys.publish': (f) => {
      const prior = this.published?.oneTimePreKeys ?? [];
      const priorKyber = this.published?.oneTimeKyberPreKeys ?? [];
      this.published = {
        identityKey: String(f.identityKey),
        registrationId: this.published?.registrationId ?? this.registrationIdOf(),
        signedPreKey: f.signedPreKey as PublishedKeys['signedPreKey'],
        oneTimePreKeys: [
          ...prior,
          ...((f.oneTimePreKeys ?? []) as PublishedKeys['oneTimePreKeys']),
        ],
        lastResortKyberPreKey: f.lastResortKyberPreKey as KyberKey,
        oneTimeKyberPreKeys: [...priorKyber, ...((f.oneTimeKyberPreKeys ?? []) as KyberKey[])],
      };
      return {
        type: 'keys.published',
        oneTimePreKeyCount: this.published.oneTimePreKeys.length,
        oneTimeKyberPreKeyCount: this.published.oneTimeKyberPreKeys.length,
      };
    },
    'keys.claim': (f) => {
      const peer = this.peers.get(String(f.address));
      if (!peer)
        return { type: 'error', code: 'NOT_FOUND', message: `no account ${String(f.address)}` };
      return { type: 'keys.bundle', ...peer.claim(f.deviceIds as number[] | undefined) };
    },
    'message.send': (f) => {
      const refused = f.group === undefined ? undefined : this.groups.refuseSend(f);
      if (refused) return refused;
      const key = String(f.idempotencyKey);
      const earlier = this.idempotency.get(key);
      if (earlier) return { ...earlier, duplicate: true };
      const accepted = {
        type: 'message.accepted',
        messageId: `m_${randomUUID()}`,
        serverTimestamp: Date.now(),
        duplicate: false,
      };
      this.idempotency.set(key, accepted);
      return accepted;
    },
    ...this.groups.handlers,
    'message.ack': (f) => ({
      type: 'message.acked',
      count: Array.isArray(f.deliveryIds) ? f.deliveryIds.length : 0,
    }),
    'consent.get': () => ({ type: 'consent.state', interop: this.interop }),
    'consent.set': (f) => {
      this.interop = f.interop as Frame;
      return { type: 'consent.state', interop: this.interop };
    },
    'requests.list': () => ({ type: 'requests', pending: [] }),
    'request.respond': (f) => ({ type: 'request.responded', from: f.from, action: f.action }),
    'block.set': (f) => ({ type: 'block.state', address: f.address, blocked: f.blocked }),
    report: () => ({ type: 'report.received', reportId: `rep_${randomBytes(6).toString('hex')}` }),
    'attachment.slot': (f) => {
      const kind = String(f.kind) as keyof typeof DEFAULT_LIMITS.advertised.attachments;
      const limit = DEFAULT_LIMITS.advertised.attachments[kind];
      if (typeof limit === 'number' && Number(f.size) > limit)
        return {
          type: 'error',
          code: 'ATTACHMENT_TOO_LARGE',
          message: `size over the ${kind} limit`,
        };
      const blob = this.slotBlob(kind, Number(f.size), String(f.digest));
      return {
        type: 'attachment.slotted',
        blobId: blob.blobId,
        uploadToken: blob.uploadToken,
        ...this.blobUrls(blob),
        expiresAt: Date.now() + BLOB_TTL_MS,
      };
    },
  };

  /** The registration id the client gave in partner `auth` (first-party: from `account.register`). */
  private registrationIdOf(): number {
    const reg = this.received.find(
      (f) => f.type === 'account.register' || (f.type === 'auth' && f.method === 'partner'),
    );
    return typeof reg?.registrationId === 'number' ? reg.registrationId : 1;
  }

  private async auth(f: Frame, conn: MockConnection): Promise<Reply> {
    const refuse = (why: string): Reply => {
      this.authFailures.push(why);
      return { type: 'error', code: 'AUTH_FAILED', message: 'authentication failed' };
    };
    let address: string;
    let identityKey: string;
    /** The key the proof must verify under: the identity key (partner), the device key (AUTH-033). */
    let proofKey: string;
    let origin: Frame;
    const deviceId = Number(f.deviceId);
    if (f.method === 'partner') {
      const partner = this.options.partner;
      if (!partner) return refuse('partner auth, but this mock enlisted no partner');
      try {
        const key = await importJWK({ ...partner.publicJwk, alg: 'EdDSA' }, 'EdDSA');
        const { payload } = await jwtVerify(String(f.token), key, {
          issuer: partner.domain,
          audience: this.domain,
        });
        address = String(payload.sub);
      } catch (error) {
        return refuse(`partner token: ${(error as Error).message}`);
      }
      identityKey = String(f.identityKey);
      proofKey = identityKey;
      origin = { platform: partner.domain, thirdParty: true };
    } else {
      if (!this.account || this.account.address !== f.address)
        return refuse(`device auth for ${String(f.address)}, which is not registered`);
      address = this.account.address;
      identityKey = this.account.identityKey;
      proofKey = this.account.deviceKey;
      origin = { platform: this.domain, thirdParty: false };
    }
    let proofOk: boolean;
    try {
      proofOk = verifySignature(
        unb64(proofKey),
        authInput(conn.challenge, address, deviceId),
        unb64(String(f.signature)),
      );
    } catch {
      proofOk = false;
    }
    if (!proofOk)
      return refuse(
        `the device proof does not verify under the ${f.method === 'partner' ? 'identity' : 'device'} key`,
      );
    conn.session = { address, deviceId };
    this.account = { address, deviceId, identityKey, deviceKey: proofKey };
    return { type: 'auth.ok', address, deviceId, origin };
  }
}
