/**
 * The reference partner proxy's public entry point: `startProxy(options)` listens for the
 * platform's clients and holds one upstream connection to the provider per client (spec/proxy.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer, request as httpsRequest } from 'node:https';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { answer, forwardRequest } from './http-forward.ts';
import type { LoginCheck } from './login.ts';
import type { ProxyFault } from './faults.ts';
import { relay, type RelayFaults } from './relay.ts';
import {
  clientAddressOf,
  loginAddress,
  PROXY_HEADER,
  signProxyToken,
  type ProxySigningKey,
} from './token.ts';

export { PROXY_FAULTS, proxyRequirementOf, type ProxyFault } from './faults.ts';
export { jwtLogin, LOGIN_HEADER, DEFAULT_LOGIN_AUDIENCE, type LoginCheck } from './login.ts';
export { importSigningKey, PROXY_HEADER, type ProxySigningKey } from './token.ts';

/** Interfaces where plain ws:// and http:// are allowed, for testing (as PROTO-001 for providers). */
const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

/**
 * The largest message the proxy takes from either side: above the provider's 4 MiB frames, so a
 * frame the provider would refuse with FRAME_TOO_LARGE reaches it and is refused there.
 */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** How long an upstream upgrade may take before the client is told 503. */
const UPSTREAM_HANDSHAKE_MS = 10_000;

/** How to start a proxy. */
export interface ProxyOptions {
  /** The provider's client endpoint, `wss://…/parley/v1` (`ws://` only on loopback). */
  upstream: string;
  /** The provider's domain, the `aud` of proxy tokens (the domain of `welcome.provider.domain`). */
  providerDomain: string;
  /** The partner platform's enlisted key, which signs the proxy tokens. */
  key: ProxySigningKey;
  /** How the platform's clients log in to the proxy. */
  login: LoginCheck;
  port?: number;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Serve wss:// and https:// to clients with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Extra CA certificates to trust upstream. */
  upstreamCa?: string | Buffer;
  /** One JSON line per event (the provider's logger shape). */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * Faults to inject (faults.ts), for the conformance suite's self-test only: each breaks one
   * PROXY requirement. Off unless given here; `parley proxy` never passes it.
   */
  faults?: readonly ProxyFault[];
}

/** How long the `buffer-after-close` variant keeps a left client's upstream open. */
const BUFFER_FAULT_GRACE_MS = 1000;
/** How often the `invent-frames` variant sends its own ping upstream. */
const INVENT_FAULT_EVERY_MS = 200;

/** A running proxy. */
export interface RunningProxy {
  /** The client endpoint: the provider's path on the proxy's origin. */
  readonly wsUrl: string;
  /** The proxy's origin, for attachment requests. */
  readonly httpUrl: string;
  readonly port: number;
  /** Open client connections (each with its own upstream). */
  readonly clients: number;
  /** Closes every client and upstream connection and stops listening. */
  close(): Promise<void>;
}

/** RFC 6455's GUID for Sec-WebSocket-Accept. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The Sec-WebSocket-Accept that answers `key` (RFC 6455 section 4.2.2). */
function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** Answers an upgrade that is not relayed, as an HTTP response on the raw socket. */
function refuse(socket: Duplex, status: number, body: string, type = 'application/json'): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 503 ? 'Service Unavailable' : 'Refused'}\r\n` +
      `content-type: ${type}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const LOGIN_REFUSED = JSON.stringify({
  code: 'AUTH_FAILED',
  message: 'log in to the platform first (Parley-Login)',
});

/** Starts a proxy; resolves once it listens. */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const host = options.host ?? '127.0.0.1';
  if (!options.tls && !LOOPBACK.includes(host))
    throw new Error(
      `refusing to serve plain ws:// and http:// on ${host}: give a TLS certificate and key`,
    );
  const upstreamUrl = new URL(options.upstream);
  if (
    upstreamUrl.protocol !== 'wss:' &&
    !LOOPBACK.includes(upstreamUrl.hostname.replace(/^\[|\]$/g, ''))
  )
    throw new Error(`refusing a plain ws:// upstream off loopback: ${options.upstream}`);
  const origin = `${upstreamUrl.protocol === 'wss:' ? 'https' : 'http'}://${upstreamUrl.host}`;
  const log = options.log ?? (() => undefined);
  const faults = new Set(options.faults ?? []);
  if (faults.size > 0)
    log('faults.injected', {
      faults: [...faults],
      note: 'THIS PROXY IS DELIBERATELY BROKEN (conformance self-test); never serve users with it',
    });
  /** The `pool-upstream` variant's one upstream, and its clients. */
  let pooled: { upstream: WebSocket; clients: Set<WebSocket> } | undefined;
  /** The `buffer-after-close` variant's messages kept per login. */
  const orphans = new Map<string, [Buffer, boolean][]>();
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  /** A correct proxy's clients: each socket piped into its own upstream socket. */
  const spliced = new Set<{ client: Duplex; upstream: Duplex }>();
  const pending = new Set<WebSocket>();
  // UTF-8 is not checked here: the proxy forwards bytes, and the provider refuses a text frame that
  // is not UTF-8 (close 1007), which reaches the client as the provider's close (PROXY-022).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    skipUTF8Validation: true,
  });
  /** The proxy token of one request; an upstream connection's names the client's login (`who`). */
  const token = (req: IncomingMessage, who?: string): Promise<string> =>
    signProxyToken(
      options.key,
      options.providerDomain,
      faults.has('drop-client-address') ? undefined : clientAddressOf(req.socket.remoteAddress),
      Date.now(),
      who === undefined || faults.has('drop-login-sub')
        ? undefined
        : loginAddress(who, options.key.domain),
    );

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      if ((await options.login(req)) === undefined) {
        answer(res, 401, 'AUTH_FAILED', 'log in to the platform first (Parley-Login)');
        return;
      }
      forwardRequest(
        { origin, ...(options.upstreamCa ? { ca: options.upstreamCa } : {}) },
        req,
        res,
        await token(req),
      );
    })().catch((error: unknown) => {
      log('http.failed', { error: String(error) });
      answer(res, 500, 'INTERNAL', 'the proxy failed');
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      if (path !== upstreamUrl.pathname) {
        refuse(socket, 404, '', 'text/plain');
        return;
      }
      const who = await options.login(req);
      if (who === undefined) {
        refuse(socket, 401, LOGIN_REFUSED);
        return;
      }
      if (socket.destroyed) return;
      // A correct proxy splices the two TCP streams once both handshakes are done; the broken
      // variants of the suite's self-test need the messages, and go through `ws` below.
      if (faults.size === 0) {
        await splice(req, socket, head, who);
        return;
      }
      if (faults.has('pool-upstream') && pooled?.upstream.readyState === WebSocket.OPEN) {
        const pool = pooled;
        wss.handleUpgrade(req, socket, head, (client) => {
          pool.clients.add(client);
          client.on('message', (d: Buffer, b: boolean) => pool.upstream.send(d, { binary: b }));
          client.on('close', () => pool.clients.delete(client));
        });
        return;
      }
      // One upstream per client, opened now and for this client only.
      const upstream = new WebSocket(options.upstream, {
        headers: { [PROXY_HEADER]: await token(req, who) },
        maxPayload: MAX_MESSAGE_BYTES,
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: UPSTREAM_HANDSHAKE_MS,
        ...(options.upstreamCa ? { ca: options.upstreamCa } : {}),
      });
      pending.add(upstream);
      // The client going before the upstream opened takes the upstream with it.
      const abandon = (): void => upstream.terminate();
      socket.once('close', abandon);
      upstream.once('unexpected-response', (_r, res) => {
        // A refusal of the provider (403, 429, 503 …) reaches the client as it was sent.
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          pending.delete(upstream);
          socket.off('close', abandon);
          const swallow = faults.has('swallow-refusal');
          const body = swallow
            ? JSON.stringify({ code: 'UNAVAILABLE', message: 'upstream refused' })
            : Buffer.concat(chunks).toString('utf8');
          const status = swallow ? 502 : (res.statusCode ?? 502);
          const type = String(res.headers['content-type'] ?? 'application/json');
          const retry = res.headers['retry-after'];
          if (socket.destroyed) return;
          socket.end(
            `HTTP/1.1 ${status} ${swallow ? 'Bad Gateway' : (res.statusMessage ?? '')}\r\n` +
              `content-type: ${type}\r\n${retry ? `retry-after: ${String(retry)}\r\n` : ''}` +
              `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        });
      });
      upstream.once('error', (error) => {
        if (!pending.delete(upstream)) return;
        socket.off('close', abandon);
        log('upstream.unreachable', { error: error.message });
        refuse(
          socket,
          503,
          JSON.stringify({ code: 'UNAVAILABLE', message: 'the provider cannot be reached' }),
        );
      });
      upstream.once('open', () => {
        pending.delete(upstream);
        socket.off('close', abandon);
        if (socket.destroyed) {
          upstream.terminate();
          return;
        }
        wss.handleUpgrade(req, socket, head, (client) => {
          const pair = { client, upstream };
          pairs.add(pair);
          relay(client, upstream, relayFaults(who, client, upstream));
          log('client.open', { client: who });
          client.once('close', () => pairs.delete(pair));
          upstream.once('close', () => pairs.delete(pair));
        });
      });
    })().catch((error: unknown) => {
      log('upgrade.failed', { error: String(error) });
      refuse(socket, 500, JSON.stringify({ code: 'INTERNAL', message: 'the proxy failed' }));
    });
  };

  /**
   * The client's upgrade answered by an upgrade of the proxy's own to the provider, then the two
   * sockets piped into each other: every frame passes byte for byte (the client's frames are masked,
   * as the provider requires; the provider's are not, as the client requires; neither hop negotiates
   * an extension), with TCP's own backpressure, and both sockets go when either does. A refusal of
   * the provider reaches the client as it was sent.
   */
  async function splice(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    who: string,
  ): Promise<void> {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') {
      refuse(
        socket,
        400,
        JSON.stringify({ code: 'BAD_REQUEST', message: 'not a WebSocket version 13 upgrade' }),
      );
      return;
    }
    const upstreamKey = randomBytes(16).toString('base64');
    const secure = upstreamUrl.protocol === 'wss:';
    const upstreamHost = upstreamUrl.hostname.replace(/^\[|\]$/g, '');
    const outgoing = (secure ? httpsRequest : httpRequest)({
      host: upstreamHost,
      port: upstreamUrl.port || (secure ? 443 : 80),
      path: `${upstreamUrl.pathname}${upstreamUrl.search}`,
      method: 'GET',
      headers: {
        host: upstreamUrl.host,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': upstreamKey,
        [PROXY_HEADER]: await token(req, who),
      },
      timeout: UPSTREAM_HANDSHAKE_MS,
      // SNI names a host, never an address (RFC 6066 §3; Node warns DEP0123 otherwise).
      ...(secure && isIP(upstreamHost) === 0 ? { servername: upstreamHost } : {}),
      ...(options.upstreamCa ? { ca: options.upstreamCa } : {}),
    });
    let settled = false;
    const unreachable = (why: string): void => {
      if (settled) return;
      settled = true;
      socket.off('close', abandon);
      log('upstream.unreachable', { error: why });
      refuse(
        socket,
        503,
        JSON.stringify({ code: 'UNAVAILABLE', message: 'the provider cannot be reached' }),
      );
    };
    // The client going before the upstream answered takes the upstream request with it.
    const abandon = (): void => {
      settled = true;
      outgoing.destroy();
    };
    socket.once('close', abandon);
    outgoing.once('timeout', () => {
      unreachable('upgrade timed out');
      outgoing.destroy();
    });
    outgoing.once('error', (error) => unreachable(error.message));
    outgoing.once('response', (res) => {
      // A refusal of the provider (403, 429, 503 …) reaches the client as it was sent.
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        socket.off('close', abandon);
        const body = Buffer.concat(chunks).toString('utf8');
        const type = String(res.headers['content-type'] ?? 'application/json');
        const retry = res.headers['retry-after'];
        if (socket.destroyed) return;
        socket.end(
          `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n` +
            `content-type: ${type}\r\n${retry ? `retry-after: ${String(retry)}\r\n` : ''}` +
            `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
    });
    outgoing.once('upgrade', (res, upSocket: Socket, upHead: Buffer) => {
      if (settled) {
        upSocket.destroy();
        return;
      }
      settled = true;
      socket.off('close', abandon);
      if (
        res.headers['sec-websocket-accept'] !== acceptFor(upstreamKey) ||
        res.headers['sec-websocket-extensions'] !== undefined
      ) {
        upSocket.destroy();
        log('upstream.bad-handshake', {});
        refuse(
          socket,
          502,
          JSON.stringify({ code: 'UNAVAILABLE', message: 'the provider answered a bad handshake' }),
        );
        return;
      }
      if (socket.destroyed) {
        upSocket.destroy();
        return;
      }
      upSocket.setTimeout(0);
      upSocket.setNoDelay(true);
      (socket as Socket).setNoDelay?.(true);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      );
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      const pair = { client: socket, upstream: upSocket as Duplex };
      spliced.add(pair);
      socket.pipe(upSocket);
      upSocket.pipe(socket);
      // Nothing outlives either side: when one goes, the other goes with it.
      const end = (): void => {
        spliced.delete(pair);
        socket.destroy();
        upSocket.destroy();
      };
      socket.once('close', end);
      upSocket.once('close', end);
      socket.on('error', () => undefined);
      upSocket.on('error', () => undefined);
      log('client.open', { client: who });
    });
    outgoing.end();
  }

  /** What the injected faults change for one pair (none: a correct proxy). */
  function relayFaults(who: string, client: WebSocket, upstream: WebSocket): RelayFaults {
    if (faults.size === 0) return {};
    if (faults.has('pool-upstream')) {
      const pool = { upstream, clients: new Set([client]) };
      pooled = pool;
      upstream.on('message', (d: Buffer, b: boolean) => {
        for (const c of pool.clients) if (c !== client) c.send(d, { binary: b });
      });
    }
    if (faults.has('invent-frames')) {
      let n = 0;
      const timer = setInterval(() => {
        if (upstream.readyState === WebSocket.OPEN)
          upstream.send(JSON.stringify({ v: 1, type: 'ping', id: `proxy.${(n += 1)}` }));
      }, INVENT_FAULT_EVERY_MS);
      upstream.once('close', () => clearInterval(timer));
    }
    const buffer = faults.has('buffer-after-close');
    if (buffer) {
      for (const [d, b] of orphans.get(who) ?? []) client.send(d, { binary: b });
      orphans.delete(who);
      client.once('close', () =>
        setTimeout(() => upstream.close(1000), BUFFER_FAULT_GRACE_MS).unref(),
      );
    }
    return {
      ...(faults.has('rewrite-ciphertext')
        ? {
            rewrite: (data: Buffer, isBinary: boolean) => {
              if (isBinary) return data;
              try {
                return Buffer.from(JSON.stringify(JSON.parse(data.toString('utf8'))));
              } catch {
                return data;
              }
            },
          }
        : {}),
      ...(buffer
        ? {
            orphan: (d: Buffer, b: boolean) =>
              orphans.set(who, [...(orphans.get(who) ?? []), [d, b]]),
            keepUpstream: true,
          }
        : {}),
      ...(faults.has('keep-upstream-open') ? { keepUpstream: true } : {}),
    };
  }

  const server: Server = options.tls
    ? createTlsServer({ ...options.tls }, onRequest)
    : createServer(onRequest);
  server.on('upgrade', onUpgrade);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve((server.address() as AddressInfo).port));
  });
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const secure = options.tls !== undefined;
  const httpUrl = `${secure ? 'https' : 'http'}://${hostPart}:${port}`;
  log('listening', { port, httpUrl, upstream: options.upstream, platform: options.key.domain });
  let closing: Promise<void> | undefined;
  return {
    wsUrl: `${secure ? 'wss' : 'ws'}://${hostPart}:${port}${upstreamUrl.pathname}`,
    httpUrl,
    port,
    get clients() {
      return pairs.size + spliced.size;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const u of pending) u.terminate();
        // A spliced pair cannot take a close frame between two of its frames: both sockets go.
        for (const { client, upstream } of spliced) {
          client.destroy();
          upstream.destroy();
        }
        for (const { client, upstream } of pairs) {
          client.close(1001, 'the proxy is stopping');
          upstream.close(1001, 'the proxy is stopping');
        }
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
        setTimeout(() => {
          for (const { client, upstream } of pairs) {
            client.terminate();
            upstream.terminate();
          }
        }, 500).unref();
      })),
  };
}
