// Integration test support: a reference provider with chat.example enlisted, SDK clients, a frame-
// dropping WebSocket proxy, and waits with timeouts.
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  silentLogger,
  startProvider,
  type LimitOverrides,
  type RunningProvider,
} from '../../../reference-impl/server/index.ts';
import {
  generatePartnerKey,
  MemoryClientStore,
  ParleyClient,
  type ClientStore,
  type IncomingMessage,
  type ParleyClientOptions,
  type PartnerKey,
} from '../../../reference-impl/client/index.ts';

export const REGISTRATION_TOKEN = 'test-registration-token';

/** A provider for wa.example with chat.example enlisted, and helpers to make clients. */
export interface World {
  provider: RunningProvider;
  partnerKey: PartnerKey;
  /** A first-party user registered on wa.example, connected. */
  firstParty(name: string, options?: Partial<ParleyClientOptions>): Promise<ParleyClient>;
  /** A chat.example user connected in direct-client mode with a partner token. */
  thirdParty(
    name: string,
    options?: Partial<ParleyClientOptions> & { deviceId?: number },
  ): Promise<ParleyClient>;
  /** A client that is not connected yet. */
  client(options?: Partial<ParleyClientOptions>): ParleyClient;
  close(): Promise<void>;
}

export async function startWorld(limits?: LimitOverrides): Promise<World> {
  const { key, publicJwk } = await generatePartnerKey('chat.example');
  const provider = await startProvider({
    port: 0,
    dbPath: ':memory:',
    domain: 'wa.example',
    registrationTokens: [REGISTRATION_TOKEN],
    partners: [{ ...publicJwk, domain: 'chat.example', kid: key.kid }],
    logger: silentLogger,
    ...(limits ? { limits } : {}),
  });
  const clients: ParleyClient[] = [];
  const client = (options: Partial<ParleyClientOptions> = {}): ParleyClient => {
    const c = new ParleyClient({
      url: provider.wsUrl,
      store: new MemoryClientStore(),
      partner: key,
      reconnect: { initialMs: 20, maxMs: 200 },
      requestTimeoutMs: 5000,
      ...options,
    });
    c.on('problem', () => undefined);
    clients.push(c);
    return c;
  };
  return {
    provider,
    partnerKey: key,
    client,
    async firstParty(name, options) {
      const c = client(options);
      await c.connect({ method: 'register', registrationToken: REGISTRATION_TOKEN, name });
      return c;
    },
    async thirdParty(name, options = {}) {
      const c = client(options);
      await c.connect({
        method: 'partner',
        address: `${name}@chat.example`,
        deviceId: options.deviceId ?? 1,
      });
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await provider.close();
    },
  };
}

/** Opts a first-party user in to third-party chats in a separate inbox. */
export async function optIn(client: ParleyClient): Promise<void> {
  await client.setConsent({ enabled: true, platforms: 'all', inbox: 'separate' });
}

/** Resolves with the first event `name` whose argument matches, or rejects after `timeoutMs`. */
export function waitFor<T>(
  emitter: EventEmitter,
  name: string,
  match: (value: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (value: T): void => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}

/** The next message whose text body (or kind) matches. */
export function nextMessage(
  client: ParleyClient,
  match: (m: IncomingMessage) => boolean = () => true,
  timeoutMs = 5000,
): Promise<IncomingMessage> {
  return waitFor<IncomingMessage>(client, 'message', match, timeoutMs);
}

/** Every message a client receives, in order. */
export function collect(client: ParleyClient): IncomingMessage[] {
  const all: IncomingMessage[] = [];
  client.on('message', (m) => all.push(m));
  return all;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

/** A frame crossing the proxy, parsed. */
export type ProxiedFrame = Record<string, unknown> & { type: string };

/**
 * A WebSocket proxy in front of the provider. `dropToClient` / `dropToProvider` decide per frame
 * whether to swallow it; `onFrame` sees every frame; `dropConnections` kills every proxied socket.
 */
export class FrameProxy extends EventEmitter {
  private readonly server: WebSocketServer;
  private readonly pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  dropToClient: (frame: ProxiedFrame) => boolean = () => false;
  dropToProvider: (frame: ProxiedFrame) => boolean = () => false;
  /** Rewrites a frame on its way to the client, as a provider that relays it falsely would. */
  rewriteToClient: (frame: ProxiedFrame) => ProxiedFrame = (frame) => frame;

  private constructor(
    server: WebSocketServer,
    private readonly target: string,
  ) {
    super();
    this.server = server;
    server.on('connection', (client) => this.accept(client));
  }

  static async start(target: string): Promise<FrameProxy> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    return new FrameProxy(server, target);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private accept(client: WebSocket): void {
    const upstream = new WebSocket(this.target);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const queued: string[] = [];
    upstream.on('open', () => queued.splice(0).forEach((t) => upstream.send(t)));
    const forward = (from: 'client' | 'provider', text: string): void => {
      const frame = JSON.parse(text) as ProxiedFrame;
      this.emit('frame', from, frame);
      if (from === 'client') {
        if (this.dropToProvider(frame)) return;
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else queued.push(text);
      } else if (!this.dropToClient(frame) && client.readyState === WebSocket.OPEN) {
        const rewritten = this.rewriteToClient(frame);
        client.send(rewritten === frame ? text : JSON.stringify(rewritten));
      }
    };
    client.on('message', (data) => forward('client', data.toString()));
    upstream.on('message', (data) => forward('provider', data.toString()));
    const end = (): void => {
      this.pairs.delete(pair);
      client.terminate();
      upstream.terminate();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /** Sends `frame` to every proxied client, as a provider that makes up a delivery would. */
  toClients(frame: ProxiedFrame): void {
    for (const { client } of this.pairs)
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(frame));
  }

  /** Drops every proxied connection at once, as a provider crash or network cut would. */
  dropConnections(): void {
    for (const { client, upstream } of [...this.pairs]) {
      client.terminate();
      upstream.terminate();
    }
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export type { ClientStore };
