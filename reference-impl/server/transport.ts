/**
 * Transport: one HTTP server carrying the WebSocket endpoint `/parley/v1` (upgrade) and a seam for
 * the attachment HTTP routes (spec/framing.md "Transport", PROTO-001/002/005; spec/attachments.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ERROR_CODES } from '../../schemas/errors.ts';
import { Connection } from './connection.ts';
import type { ProviderContext } from './context.ts';
import { errorFrame, ProviderError } from './errors.ts';
import type { PeerLimits } from './limits.ts';
import { PROXY_HEADER, PROXY_REFUSED_MESSAGE, type ProxyRegistry } from './proxies.ts';

/** The client endpoint's path. */
export const WS_PATH = '/parley/v1';

/**
 * An HTTP route handler (attachment upload and download live behind this seam). Resolves true when
 * it answered the request; the next handler, or a 404 JSON error, takes the rest.
 */
export type HttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ProviderContext,
) => boolean | Promise<boolean>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * ws closes an over-long message with 1009 on its own; PROTO-005 wants the FRAME_TOO_LARGE error
 * frame first. ws calls `close(1009)` while still OPEN, so the error goes out just before. ws would
 * then read (and drop) whatever the peer still sends until its close frame, for up to 30 s: a
 * hostile peer's megabytes. The socket stops being read instead, so the peer's sending stalls on
 * TCP flow control, and is destroyed after OVERSIZE_GRACE_MS: destroying it at once, with the
 * peer's bytes unread, would reset the connection and could lose the two frames on their way.
 */
/** How long a peer refused FRAME_TOO_LARGE has to read its error and close frames. */
const OVERSIZE_GRACE_MS = 2000;

function guardOversize(ws: WebSocket, conn: Connection, socket: Duplex): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => {
    if (code === 1009 && ws.readyState === ws.OPEN) {
      ws.send(
        JSON.stringify(
          errorFrame(
            new ProviderError(
              'FRAME_TOO_LARGE',
              conn.state === 'authenticated'
                ? 'the frame exceeds limits.maxFrameBytes'
                : 'the frame exceeds limits.maxUnauthenticatedFrameBytes, the limit before auth.ok',
            ),
            undefined,
          ),
        ),
      );
      conn.state = 'closed';
      close(code, reason);
      // ws resumes the socket on the next tick to drain it; stop reading after that.
      setImmediate(() => socket.pause());
      setTimeout(() => socket.destroy(), OVERSIZE_GRACE_MS).unref();
      return;
    }
    close(code, reason);
  };
}

/**
 * The key one client address is counted under: an IPv4 address as is, an IPv6 address by its /64
 * (one subscriber line holds a whole /64, so counting single addresses would not limit anything).
 */
export function addressKey(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  const address = remote.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
    : front;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The client's address for the per-address limits: the socket's peer, unless that peer is one of
 * `trustedProxies` (say, the TLS-terminating proxy in front): then the nearest address in
 * `X-Forwarded-For` that is not a trusted proxy, read from the right, since a client can write
 * anything on the left of that header. Addresses compare as `addressKey` spells them.
 */
export function clientAddress(
  remote: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: readonly string[],
): string | undefined {
  if (trustedProxies.length === 0 || remote === undefined) return remote;
  const trusted = new Set(trustedProxies.map(addressKey));
  if (!trusted.has(addressKey(remote))) return remote;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
  let client = remote;
  for (let i = hops.length - 1; i >= 0 && trusted.has(addressKey(client)); i -= 1)
    client = hops[i]!;
  return client;
}

function isLoopback(remote: string | undefined): boolean {
  return remote !== undefined && /^(127\.|::ffff:127\.|::1$)/i.test(remote);
}

interface AddressState {
  open: number;
  tokens: number;
  at: number;
}

/** How often idle per-address entries are forgotten, so rotating addresses cannot grow the map. */
const ADDRESS_SWEEP_MS = 60_000;

/**
 * Per-address admission of connections (PROTO-046): a bound on open connections and a token bucket
 * on new ones. Returns undefined to admit, or the milliseconds to wait.
 */
class AddressGate {
  private readonly states = new Map<string, AddressState>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly limits: PeerLimits,
    private readonly now: () => number,
  ) {
    this.sweep = setInterval(() => this.forgetIdle(), ADDRESS_SWEEP_MS);
    this.sweep.unref();
  }

  private refill(state: AddressState): void {
    const { burst, perMinute } = this.limits.newConnectionsPerAddress;
    const t = this.now();
    state.tokens = Math.min(burst, state.tokens + ((t - state.at) * perMinute) / 60_000);
    state.at = t;
  }

  /** Admits (and counts) one connection of `key`, or says how long to wait. */
  admit(key: string): number | undefined {
    const state = this.states.get(key) ?? {
      open: 0,
      tokens: this.limits.newConnectionsPerAddress.burst,
      at: this.now(),
    };
    this.states.set(key, state);
    this.refill(state);
    // A full address waits for one of its connections to end; a second is a fair guess.
    if (state.open >= this.limits.maxConnectionsPerAddress) return 1000;
    if (state.tokens < 1)
      return Math.ceil(
        ((1 - state.tokens) * 60_000) / Math.max(this.limits.newConnectionsPerAddress.perMinute, 1),
      );
    state.tokens -= 1;
    state.open += 1;
    return undefined;
  }

  release(key: string): void {
    const state = this.states.get(key);
    if (state) state.open = Math.max(0, state.open - 1);
  }

  private forgetIdle(): void {
    const { burst } = this.limits.newConnectionsPerAddress;
    for (const [key, state] of this.states) {
      this.refill(state);
      if (state.open === 0 && state.tokens >= burst) this.states.delete(key);
    }
  }

  stop(): void {
    clearInterval(this.sweep);
  }
}

const REFUSAL_MESSAGE = 'too many connections from this address';

/**
 * Refuses an HTTP request with 429, `Retry-After` and an `HttpError` body (spec/openapi), closing
 * its connection.
 */
function refuseRequest(res: ServerResponse, retryAfterMs: number): void {
  res.writeHead(ERROR_CODES.RATE_LIMITED.httpStatus, {
    'content-type': 'application/json',
    'retry-after': String(Math.ceil(retryAfterMs / 1000)),
    connection: 'close',
  });
  res.end(JSON.stringify({ code: 'RATE_LIMITED', message: REFUSAL_MESSAGE }));
}

/** Refuses a request that is not from an enlisted proxy with 403 `PROXY_REFUSED` (PROXY-001..003). */
function refuseProxyRequest(res: ServerResponse): void {
  res.writeHead(ERROR_CODES.PROXY_REFUSED.httpStatus, {
    'content-type': 'application/json',
    connection: 'close',
  });
  res.end(JSON.stringify({ code: 'PROXY_REFUSED', message: PROXY_REFUSED_MESSAGE }));
}

/** Refuses an upgrade with 403 `PROXY_REFUSED`, without upgrading (PROXY-001..003). */
function refuseProxyUpgrade(socket: Duplex): void {
  const body = JSON.stringify({ code: 'PROXY_REFUSED', message: PROXY_REFUSED_MESSAGE });
  socket.end(
    `HTTP/1.1 ${ERROR_CODES.PROXY_REFUSED.httpStatus} Forbidden\r\n` +
      `content-type: application/json\r\nconnection: close\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Refuses an upgrade with 429 and a registry-coded JSON body (PROTO-041, PROTO-046). */
function refuseUpgrade(socket: Duplex, retryAfterMs: number): void {
  const body = JSON.stringify({ code: 'RATE_LIMITED', message: REFUSAL_MESSAGE, retryAfterMs });
  socket.end(
    `HTTP/1.1 ${ERROR_CODES.RATE_LIMITED.httpStatus} Too Many Requests\r\n` +
      `content-type: application/json\r\nretry-after: ${Math.ceil(retryAfterMs / 1000)}\r\n` +
      `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The running HTTP + WebSocket server. */
export interface Transport {
  readonly server: Server;
  readonly connections: Set<Connection>;
  listen(port: number, host: string): Promise<number>;
  /** Sends UNAVAILABLE and close 1012 on every connection, then stops listening (PROTO-036). */
  close(): Promise<void>;
}

/** The idle period of the `idle-close-early` fault: far below PROTO-028's 60 s. */
const IDLE_CLOSE_EARLY_MS = 1000;
/** Most time between two looks for idle connections (`limits.peers.idleCloseMs`). */
const MAX_IDLE_SWEEP_MS = 15_000;

/** Most time a client may take to send a request's headers (slowloris on the header phase). */
const HEADERS_TIMEOUT_MS = 20_000;
/** Most time between Node's checks of `headersTimeout` (its default, 30 s, would let it run late). */
const MAX_CHECK_INTERVAL_MS = 5_000;
/**
 * How long a connection refused under the per-address limits stays open to hear its 429 on its
 * first request; one that sends none is dropped then. Clients send theirs at once.
 */
export const REFUSED_SOCKET_MS = 2_000;

/** A socket by its peer's address and port: the same for a TLS socket and the TCP one it wraps. */
const peerOf = (s: { remoteAddress?: string; remotePort?: number }): string =>
  `${s.remoteAddress}|${s.remotePort}`;

/** A certificate chain and private key in PEM, for serving wss:// and https:// (PROTO-001). */
export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
}

/** A request admitted through an enlisted proxy: its platform, its client, and the release of both counts. */
interface Proxied {
  readonly domain: string;
  readonly clientAddress: string;
  readonly user?: unknown;
  readonly release: () => void;
}

export function createTransport(
  ctx: ProviderContext,
  httpHandlers: readonly HttpHandler[],
  idleTimeoutMs = 30_000,
  tls?: TlsCredentials,
  proxies?: ProxyRegistry,
): Transport {
  const connections = new Set<Connection>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.limits.advertised.maxFrameBytes,
    perMessageDeflate: false,
  });
  // Real time, not ctx.now: a test's clock must not make connections refill or starve.
  const gate = new AddressGate(ctx.limits.peers, Date.now);
  const { trustedProxies } = ctx.limits.peers;
  const proxyKeys = new Set(trustedProxies.map(addressKey));
  /** Whether the socket's peer is a trusted proxy, whose `X-Forwarded-For` is believed. */
  const viaProxy = (peer: string | undefined): boolean =>
    (peer !== undefined && proxyKeys.size > 0 && proxyKeys.has(addressKey(peer))) ||
    (proxies?.isProxySource(peer) ?? false);
  const limited = (address: string | undefined): boolean =>
    !(ctx.limits.peers.exemptLoopback && isLoopback(address)) &&
    !ctx.faults.has('no-connection-limit');
  /** Sockets refused when they connected, with the wait they are told (by `peerOf`). */
  const refusedSockets = new Map<string, number>();
  /**
   * Behind a trusted proxy the socket is the proxy's, so a request or upgrade counts for the
   * forwarded client while it lasts. Returns the release, or the wait when refused.
   */
  const admitForwarded = (req: IncomingMessage): (() => void) | number => {
    const client = clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      trustedProxies,
    );
    if (!limited(client)) return () => {};
    const key = addressKey(client);
    const wait = gate.admit(key);
    if (wait !== undefined) {
      ctx.logger.log('debug', 'connection.refused', { address: key, retryAfterMs: wait });
      return wait;
    }
    let released = false;
    return () => {
      if (!released) gate.release(key);
      released = true;
    };
  };
  /**
   * A request with a `Parley-Proxy` header (spec/proxy.md): admitted under its proxy's count
   * (PROXY-005) and its forwarded client's address, apart for each proxy (PROXY-004); 403 when the
   * token fails (PROXY-001..003), else the wait of a 429.
   */
  const admitProxied = async (req: IncomingMessage): Promise<Proxied | 'refused' | number> => {
    const admission = proxies ? await proxies.verify(ctx, req) : ('no-enlisted-proxy' as const);
    if (typeof admission === 'string') {
      ctx.logger.log('info', 'proxy.refused', {
        address: req.socket.remoteAddress,
        reason: admission,
      });
      return 'refused';
    }
    const releaseProxy = proxies!.hold(admission.domain);
    if (!releaseProxy) {
      ctx.logger.log('debug', 'proxy.full', { proxy: admission.domain });
      return 1000;
    }
    let releaseClient = (): void => {};
    if (limited(admission.clientAddress)) {
      const key = ctx.faults.has('proxy-counted-at-proxy')
        ? addressKey(req.socket.remoteAddress) // fault injection: breaks PROXY-004
        : `${admission.domain}|${addressKey(admission.clientAddress)}`;
      const wait = gate.admit(key);
      if (wait !== undefined) {
        releaseProxy();
        ctx.logger.log('debug', 'connection.refused', { address: key, retryAfterMs: wait });
        return wait;
      }
      let released = false;
      releaseClient = () => {
        if (!released) gate.release(key);
        released = true;
      };
    }
    return {
      ...admission,
      release: () => {
        releaseClient();
        releaseProxy();
      },
    };
  };
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        for (const h of httpHandlers) if (await h(req, res, ctx)) return;
        sendJson(res, 404, { code: 'NOT_FOUND', message: 'no such resource' });
      } catch (error) {
        ctx.logger.log('error', 'http.failed', { error: String(error) });
        if (!res.headersSent) sendJson(res, 500, { code: 'INTERNAL', message: 'internal error' });
        else res.destroy();
      }
    })();
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const refused = refusedSockets.get(peerOf(req.socket));
    if (refused !== undefined) {
      refuseRequest(res, refused);
      return;
    }
    if (req.headers[PROXY_HEADER] !== undefined) {
      admitProxied(req).then(
        (admitted) => {
          if (admitted === 'refused') refuseProxyRequest(res);
          else if (typeof admitted === 'number') refuseRequest(res, admitted);
          else {
            res.once('close', admitted.release);
            serve(req, res);
          }
        },
        (error: unknown) => {
          ctx.logger.log('error', 'proxy.check.failed', { error: String(error) });
          sendJson(res, 503, { code: 'UNAVAILABLE', message: 'the provider cannot serve now' });
        },
      );
      return;
    }
    if (viaProxy(req.socket.remoteAddress)) {
      const admitted = admitForwarded(req);
      if (typeof admitted === 'number') {
        refuseRequest(res, admitted);
        return;
      }
      res.once('close', admitted);
    }
    serve(req, res);
  };
  // Slowloris: a connection that sends nothing for idleTimeoutMs is dropped (an upload then keeps
  // its bytes, ATT-024). No whole-request limit: a large upload on a slow link may take long.
  // WebSocket sockets leave this timeout behind on upgrade (ws clears it).
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, Math.max(idleTimeoutMs, 1000));
  const httpOptions = {
    headersTimeout,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, Math.ceil(headersTimeout / 4)),
  };
  const server: Server = tls
    ? createTlsServer({ ...tls, ...httpOptions }, handle)
    : createServer(httpOptions, handle);
  server.timeout = idleTimeoutMs;
  // PROTO-046: every TCP connection, HTTP or WebSocket, counts for its peer's address while it is
  // open. One past the limits hears 429 on its first request or upgrade and is then closed.
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (!limited(peer) || viaProxy(peer)) return;
    const key = addressKey(peer);
    const wait = gate.admit(key);
    if (wait === undefined) {
      socket.once('close', () => gate.release(key));
      return;
    }
    ctx.logger.log('debug', 'connection.refused', { address: key, retryAfterMs: wait });
    const id = peerOf(socket);
    refusedSockets.set(id, wait);
    const drop = setTimeout(() => socket.destroy(), REFUSED_SOCKET_MS);
    drop.unref();
    socket.once('close', () => {
      clearTimeout(drop);
      refusedSockets.delete(id);
    });
  });
  // PROTO-028: only a connection silent for longer than idleCloseMs (≥ 60 s) is closed.
  const idleCloseMs = ctx.faults.has('idle-close-early')
    ? IDLE_CLOSE_EARLY_MS // fault injection: breaks PROTO-028
    : ctx.limits.peers.idleCloseMs;
  // AUTH-031: a connection not authenticated within the advertised window is closed with 1008.
  const authWindowMs = ctx.faults.has('auth-window-ignored')
    ? Number.POSITIVE_INFINITY // fault injection: breaks AUTH-031
    : ctx.limits.advertised.authWindowSeconds * 1000;
  const idleSweep = setInterval(
    () => {
      const before = Date.now() - idleCloseMs;
      const unauthenticatedSince = Date.now() - authWindowMs;
      for (const conn of connections)
        if (conn.lastFrameAt < before) {
          ctx.logger.log('debug', 'connection.idle', { connection: conn.id });
          conn.close(1000, `no frame for ${Math.round(idleCloseMs / 1000)} s`);
        } else if (conn.state !== 'authenticated' && conn.openedAt < unauthenticatedSince) {
          ctx.logger.log('debug', 'connection.unauthenticated', { connection: conn.id });
          conn.close(1008, 'no authentication in time');
        }
    },
    Math.min(MAX_IDLE_SWEEP_MS, Math.max(10, Math.min(idleCloseMs, authWindowMs) / 4)),
  );
  idleSweep.unref();
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const refused = refusedSockets.get(peerOf(req.socket));
    if (refused !== undefined) {
      refuseUpgrade(socket, refused);
      return;
    }
    if (req.headers[PROXY_HEADER] !== undefined) {
      admitProxied(req).then(
        (admitted) => {
          if (admitted === 'refused') refuseProxyUpgrade(socket);
          else if (typeof admitted === 'number') refuseUpgrade(socket, admitted);
          else if (socket.destroyed) admitted.release();
          else
            upgrade(req, socket, head, admitted.release, addressKey(admitted.clientAddress), {
              domain: admitted.domain,
              user: admitted.user,
            });
        },
        (error: unknown) => {
          ctx.logger.log('error', 'proxy.check.failed', { error: String(error) });
          socket.destroy();
        },
      );
      return;
    }
    // A direct peer's socket was counted when it connected; a proxied client is counted now.
    let release = (): void => {};
    if (viaProxy(req.socket.remoteAddress)) {
      const admitted = admitForwarded(req);
      if (typeof admitted === 'number') {
        refuseUpgrade(socket, admitted);
        return;
      }
      release = admitted;
    }
    upgrade(
      req,
      socket,
      head,
      release,
      addressKey(
        clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies),
      ),
    );
  });
  function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    release: () => void,
    peerAddress: string,
    proxied?: { domain: string; user?: unknown },
  ): void {
    // A handshake that fails (bad headers, a dropped socket) never reaches the callback.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ctx, ws, socket, peerAddress, proxied?.domain, proxied?.user);
      connections.add(conn);
      guardOversize(ws, conn, socket);
      ctx.logger.log('debug', 'connection.open', { connection: conn.id });
      ws.on('message', (data, isBinary) => conn.receive(data, isBinary));
      ws.on('ping', () => (conn.lastFrameAt = Date.now()));
      ws.on('pong', () => (conn.lastFrameAt = Date.now()));
      ws.on('error', (error) =>
        ctx.logger.log('debug', 'connection.error', { connection: conn.id, error: error.message }),
      );
      ws.on('close', () => {
        release();
        conn.state = 'closed';
        ctx.delivery.detach(conn);
        connections.delete(conn);
        ctx.logger.log('debug', 'connection.closed', { connection: conn.id });
      });
    });
  }
  return {
    server,
    connections,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: async () => {
      gate.stop();
      clearInterval(idleSweep);
      for (const conn of connections) conn.fail('UNAVAILABLE', 'the provider is shutting down');
      await new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
