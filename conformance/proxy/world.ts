// The per-case world of a proxy case: the proxy under test, its clients as the suite plays them,
// and the upstream connections the proxy opened to the suite's provider endpoint during the case.
import WebSocket from 'ws';
import type { Rng } from '../runner/rng.ts';
import { HarnessError } from '../runner/signals.ts';
import type { ProxyTarget } from './target.ts';
import { UpstreamLink } from './upstream.ts';

/** A client's upgrade that the proxy refused: its status, Retry-After and body. */
export interface Refusal {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/** One of the suite's clients of the proxy: the same recording as an upstream link. */
export type ProxyClient = UpstreamLink & { readonly localAddress: string | undefined };

/** How many default waits a client's upgrade through the proxy may take. */
const CONNECT_WAITS = 3;

export class ProxyWorld {
  private readonly mark: number;
  private readonly clients: WebSocket[] = [];

  constructor(
    readonly target: ProxyTarget,
    readonly rng: Rng,
    readonly waitMs: number,
  ) {
    this.mark = target.upstream.links.length;
  }

  /** A test user's address on the platform. */
  address(label: string): string {
    return `${label}.${this.rng.word(8)}@${this.target.platform}`;
  }

  /** Connects a logged-in client of `address`: the open connection, or the proxy's refusal. */
  async tryConnect(address: string): Promise<ProxyClient | Refusal> {
    const headers = await this.target.login(address);
    const ws = new WebSocket(this.target.url, { headers, perMessageDeflate: false });
    this.clients.push(ws);
    // The proxy opens its upstream before it answers: two handshakes and its own signing.
    const wait = this.waitMs * CONNECT_WAITS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new HarnessError(`the proxy did not answer an upgrade within ${wait} ms`));
      }, wait);
      ws.once('open', () => {
        clearTimeout(timer);
        const link = new UpstreamLink(ws, {}, undefined) as ProxyClient;
        Object.assign(link, {
          localAddress: (ws as unknown as { _socket?: { localAddress?: string } })._socket
            ?.localAddress,
        });
        resolve(link);
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += String(d)));
        res.on('end', () => {
          clearTimeout(timer);
          const retry = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: retry === undefined ? undefined : String(retry),
            body,
          });
        });
      });
      ws.on('error', (e) => {
        if (e.message.includes('Unexpected server response')) return;
        clearTimeout(timer);
        reject(
          new HarnessError(`cannot connect to the proxy ${this.target.url}: ${e.message}`, {
            unreachable: true,
          }),
        );
      });
    });
  }

  /** Connects a logged-in client; a refusal is a harness error (the proxy was set up wrong). */
  async connect(address: string): Promise<ProxyClient> {
    const c = await this.tryConnect(address);
    if (!('ws' in c))
      throw new HarnessError(
        `the proxy refused a logged-in client: HTTP ${c.status} ${c.body.slice(0, 120)}`,
      );
    return c;
  }

  /** The upstream connections the proxy opened during this case. */
  get links(): UpstreamLink[] {
    return this.target.upstream.links.slice(this.mark);
  }

  /** Waits until at least `count` upstream connections were opened in this case. */
  awaitLinks(count: number, ms = this.waitMs): Promise<boolean> {
    return this.target.upstream.awaitLinks(this.mark, count, ms);
  }

  /**
   * Closes every client of the case, waits (a bounded while) for the proxy to close their upstream
   * links, so that none of this case's shows up in the next, and drops whatever is left.
   */
  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    const end = Date.now() + this.waitMs * CONNECT_WAITS;
    while (Date.now() < end && this.clients.some((ws) => ws.readyState !== WebSocket.CLOSED))
      await new Promise((r) => setTimeout(r, 20));
    await Promise.race([
      Promise.all(this.links.map((l) => l.closed)),
      new Promise((r) => setTimeout(r, this.waitMs)),
    ]);
    this.target.upstream.dropAll();
  }
}
