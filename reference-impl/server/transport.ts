/**
 * Transport: one HTTP server carrying the WebSocket endpoint `/parley/v1` (upgrade) and a seam for
 * the attachment HTTP routes (spec/framing.md "Transport", PROTO-001/002/005; spec/attachments.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection } from './connection.ts';
import type { ProviderContext } from './context.ts';
import { errorFrame, ProviderError } from './errors.ts';

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
 * frame first. ws calls `close(1009)` while still OPEN, so the error goes out just before.
 */
function guardOversize(ws: WebSocket, conn: Connection): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => {
    if (code === 1009 && ws.readyState === ws.OPEN) {
      ws.send(
        JSON.stringify(
          errorFrame(
            new ProviderError('FRAME_TOO_LARGE', 'the frame exceeds limits.maxFrameBytes'),
            undefined,
          ),
        ),
      );
      conn.state = 'closed';
    }
    close(code, reason);
  };
}

/** The running HTTP + WebSocket server. */
export interface Transport {
  readonly server: Server;
  readonly connections: Set<Connection>;
  listen(port: number, host: string): Promise<number>;
  /** Sends UNAVAILABLE and close 1012 on every connection, then stops listening (PROTO-036). */
  close(): Promise<void>;
}

/** Most time a client may take to send a request's headers (slowloris on the header phase). */
const HEADERS_TIMEOUT_MS = 20_000;

/** A certificate chain and private key in PEM, for serving wss:// and https:// (PROTO-001). */
export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
}

export function createTransport(
  ctx: ProviderContext,
  httpHandlers: readonly HttpHandler[],
  idleTimeoutMs = 30_000,
  tls?: TlsCredentials,
): Transport {
  const connections = new Set<Connection>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.limits.advertised.maxFrameBytes,
    perMessageDeflate: false,
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
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
  const server: Server = tls ? createTlsServer(tls, handle) : createServer(handle);
  // Slowloris: a connection that sends nothing for idleTimeoutMs is dropped (an upload then keeps
  // its bytes, ATT-024). No whole-request limit: a large upload on a slow link may take long.
  // WebSocket sockets leave this timeout behind on upgrade (ws clears it).
  server.timeout = idleTimeoutMs;
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, Math.max(idleTimeoutMs, 1000));
  server.requestTimeout = 0;
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ctx, ws);
      connections.add(conn);
      guardOversize(ws, conn);
      ctx.logger.log('debug', 'connection.open', { connection: conn.id });
      ws.on('message', (data, isBinary) => conn.receive(data, isBinary));
      ws.on('error', (error) =>
        ctx.logger.log('debug', 'connection.error', { connection: conn.id, error: error.message }),
      );
      ws.on('close', () => {
        conn.state = 'closed';
        ctx.delivery.detach(conn);
        connections.delete(conn);
        ctx.logger.log('debug', 'connection.closed', { connection: conn.id });
      });
    });
  });
  return {
    server,
    connections,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: async () => {
      for (const conn of connections) conn.fail('UNAVAILABLE', 'the provider is shutting down');
      await new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
