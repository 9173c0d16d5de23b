// The suite as the provider upstream of a proxy under test (spec/proxy.md "The proxy's side"): a
// WebSocket endpoint that records, per upstream connection, its upgrade headers, its source
// address and every message as bytes, and that can refuse the next upgrade or close a link.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/** One message as it crossed the wire: its bytes and whether it was binary. */
export interface WireMessage {
  readonly bytes: Buffer;
  readonly binary: boolean;
}

/** A WebSocket message's bytes and type, for equality checks by value. */
export const show = (m: WireMessage | undefined): string =>
  m === undefined
    ? 'nothing'
    : `${m.binary ? 'binary' : 'text'} ${m.bytes.toString('hex').slice(0, 80)}`;

/** One upstream connection the proxy opened. */
export class UpstreamLink {
  readonly received: WireMessage[] = [];
  /** The close code once closed. */
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string | undefined,
  ) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.received.push({ bytes: Buffer.from(data), binary });
      this.wake();
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `check` holds, or with false after `ms`. */
  async until(check: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return true;
  }

  send(bytes: Buffer, binary = false): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary });
  }
}

/** The suite's provider endpoint for a proxy under test. */
export class FakeUpstream {
  readonly links: UpstreamLink[] = [];
  private refusal: { status: number; body: string; retryAfter?: string } | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  /** Listens on `host:port` (port 0: a free one) at the provider's path `/parley/v1`. */
  static async start(host = '127.0.0.1', port = 0): Promise<FakeUpstream> {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such resource' }));
    });
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const actual = (server.address() as AddressInfo).port;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const upstream = new FakeUpstream(server, wss, `ws://${hostPart}:${actual}/parley/v1`);
    server.on('upgrade', (req, socket, head) => upstream.upgrade(req, socket, head));
    return upstream;
  }

  private upgrade(
    req: Parameters<WebSocketServer['handleUpgrade']>[0],
    socket: Parameters<WebSocketServer['handleUpgrade']>[1],
    head: Buffer,
  ): void {
    const refusal = this.refusal;
    if (refusal) {
      this.refusal = undefined;
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\ncontent-type: application/json\r\n` +
          (refusal.retryAfter ? `retry-after: ${refusal.retryAfter}\r\n` : '') +
          `connection: close\r\ncontent-length: ${Buffer.byteLength(refusal.body)}\r\n\r\n${refusal.body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.links.push(new UpstreamLink(ws, req.headers, req.socket.remoteAddress));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Refuses the next upgrade with this status, body and Retry-After. */
  refuseNext(status: number, body: string, retryAfter?: string): void {
    this.refusal = { status, body, ...(retryAfter ? { retryAfter } : {}) };
  }

  /** Resolves once `count` links are open since the mark `from`, or false after `ms`. */
  async awaitLinks(from: number, count: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (this.links.length - from < count) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return true;
  }

  /** Closes every link (between cases: nothing of one case reaches the next). */
  dropAll(): void {
    for (const l of this.links) l.ws.terminate();
    this.links.length = 0;
    this.refusal = undefined;
  }

  async close(): Promise<void> {
    this.dropAll();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
