/**
 * The honest conversation that runs beside the fuzzer: two first-party users of the reference SDK
 * exchange numbered texts over real Signal sessions, and at the end every accepted message must
 * have arrived exactly once (spec/messages.md: delivery is at-least-once until acked, the SDK
 * de-duplicates by message id, so the application sees each text once).
 */
import { MemoryClientStore, ParleyClient } from '../../reference-impl/client/index.ts';
import type { PeerTarget } from './peer.ts';

/** What the conversation saw. */
export interface HonestVerdict {
  /** Messages accepted by the provider. */
  readonly accepted: number;
  /** Sends that failed (a fuzzer must not disturb an honest user at all). */
  readonly failedSends: readonly string[];
  /** Accepted texts that never arrived. */
  readonly lost: readonly string[];
  /** Texts that arrived more than once. */
  readonly duplicated: readonly string[];
}

/** How long the last messages get to arrive once the fuzzing stops. */
const SETTLE_TIMEOUT_MS = 15_000;

export class HonestConversation {
  private readonly received = new Map<string, number>();
  private readonly accepted: string[] = [];
  private readonly failedSends: string[] = [];
  private sent = 0;

  private constructor(
    private readonly alice: ParleyClient,
    private readonly bob: ParleyClient,
    private readonly aliceAddress: string,
    private readonly bobAddress: string,
    private readonly tag: string,
  ) {
    for (const client of [alice, bob])
      client.on('message', (m) => {
        if (m.content.kind !== 'text') return;
        const body = m.content.body;
        this.received.set(body, (this.received.get(body) ?? 0) + 1);
      });
  }

  /** Registers alice and bob (names tagged with the run) and connects both. */
  static async start(target: PeerTarget, tag: string): Promise<HonestConversation> {
    const client = (): ParleyClient =>
      new ParleyClient({
        url: target.wsUrl,
        store: new MemoryClientStore(),
        clientInfo: { name: 'parley-fuzz-honest', version: '1' },
        requestTimeoutMs: 30_000,
      });
    const alice = client();
    const bob = client();
    const a = await alice.connect({
      method: 'register',
      registrationToken: target.registrationToken,
      name: `honest-alice-${tag}`,
    });
    const b = await bob.connect({
      method: 'register',
      registrationToken: target.registrationToken,
      name: `honest-bob-${tag}`,
    });
    return new HonestConversation(alice, bob, a.address, b.address, tag);
  }

  /** Sends the next text, alternating alice → bob and bob → alice. */
  async say(): Promise<void> {
    const n = ++this.sent;
    const text = `honest ${this.tag} #${n}`;
    const [from, to] = n % 2 === 1 ? [this.alice, this.bobAddress] : [this.bob, this.aliceAddress];
    try {
      await from.sendText(to, text);
      this.accepted.push(text);
    } catch (error) {
      this.failedSends.push(`${text}: ${(error as Error).message}`);
    }
  }

  /** Waits for every accepted text to arrive (or the settle timeout), then judges. */
  async verdict(): Promise<HonestVerdict> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (Date.now() < deadline && this.accepted.some((t) => !this.received.has(t)))
      await new Promise((r) => setTimeout(r, 50));
    return {
      accepted: this.accepted.length,
      failedSends: [...this.failedSends],
      lost: this.accepted.filter((t) => !this.received.has(t)),
      duplicated: [...this.received].filter(([, count]) => count > 1).map(([t]) => t),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.alice.dispose(), this.bob.dispose()]);
  }
}
