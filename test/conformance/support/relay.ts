// A WebSocket relay between the suite and a provider, for the suite's self-tests (issue 14): it
// forwards every frame both ways, close codes included, and lets a test rewrite, drop, repeat or
// delay what the provider sends. Provider variants built on it (relay-faults.ts) stay outside the
// reference provider's production paths: a decorator on the wire, as "parley serve behind a
// misbehaving relay" was run when the issue was found.
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WireFrame = Record<string, any>;

/** What a relay connection knows while it rewrites the provider's frames. */
export interface RelayConnection {
  /** The request frames the client sent on this connection, in order. */
  readonly requests: WireFrame[];
  /** The request frames every client of the relay sent, in order. */
  readonly allRequests: WireFrame[];
  /** Free per-connection state for a variant. */
  readonly state: Record<string, unknown>;
}

/**
 * Rewrites one JSON object frame from the provider into the texts to send to the client instead
 * (none: dropped), optionally held back `delayMs` more. Frames that are not JSON objects pass
 * unchanged.
 */
export type Rewrite = (
  frame: WireFrame,
  connection: RelayConnection,
) => string[] | { texts: string[]; delayMs: number };

export interface RelayOptions {
  /** The provider's WebSocket URL. */
  upstream: string;
  /** Rewrites provider → client frames; default: forward as received. */
  rewrite?: Rewrite;
  /** Added one-way latency, in each direction, in ms. */
  latencyMs?: number;
}

export interface Relay {
  /** The URL the suite connects to instead of the provider's. */
  url: string;
  close(): Promise<void>;
}

/** A close code that may be sent in a close frame (1005 and 1006 are only ever observed). */
const sendable = (code: number): boolean => code !== 1005 && code !== 1006;

/** Starts a relay on a free loopback port. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const path = new URL(options.upstream).pathname;
  const latency = options.latencyMs ?? 0;
  const later = (fn: () => void): void => {
    if (latency > 0) setTimeout(fn, latency);
    else fn();
  };
  const sockets = new Set<WebSocket>();
  const allRequests: WireFrame[] = [];

  server.on('connection', (client) => {
    const upstream = new WebSocket(options.upstream, { maxPayload: 64 * 1024 * 1024 });
    sockets.add(client).add(upstream);
    const connection: RelayConnection = { requests: [], allRequests, state: {} };
    const pending: [WebSocket.RawData, boolean][] = [];
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    upstream.on('open', () => {
      for (const [data, binary] of pending.splice(0)) upstream.send(data, { binary });
    });
    client.on('message', (data, binary) => {
      if (!binary)
        try {
          const frame = JSON.parse(String(data)) as unknown;
          if (typeof frame === 'object' && frame !== null) {
            connection.requests.push(frame as WireFrame);
            allRequests.push(frame as WireFrame);
          }
        } catch {
          // not JSON: forwarded as is, the provider judges it
        }
      later(() => {
        if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary });
        else if (upstream.readyState === WebSocket.CONNECTING) pending.push([data, binary]);
      });
    });
    upstream.on('message', (data, binary) => {
      let out: (string | WebSocket.RawData)[] = [data];
      let held = 0;
      if (!binary && options.rewrite) {
        let frame: unknown;
        try {
          frame = JSON.parse(String(data));
        } catch {
          frame = undefined;
        }
        if (typeof frame === 'object' && frame !== null && !Array.isArray(frame)) {
          const rewritten = options.rewrite(frame as WireFrame, connection);
          out = Array.isArray(rewritten) ? rewritten : rewritten.texts;
          held = Array.isArray(rewritten) ? 0 : rewritten.delayMs;
        }
      }
      const deliver = (): void => {
        if (client.readyState !== WebSocket.OPEN) return;
        for (const item of out) client.send(item, { binary });
      };
      later(() => (held > 0 ? setTimeout(deliver, held) : deliver()));
    });
    upstream.on('close', (code, reason) =>
      later(() => {
        if (sendable(code)) client.close(code, reason);
        else client.terminate();
      }),
    );
    client.on('close', (code, reason) =>
      later(() => {
        if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
        else if (sendable(code)) upstream.close(code, reason);
        else upstream.terminate();
      }),
    );
    upstream.on('unexpected-response', () => client.terminate());
  });

  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}${path}`,
    close: async () => {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
