/**
 * Durable traffic for the soak (bench/soak.ts): sender → recipient pairs of first-party devices on
 * the raw wire, each pair with a real Signal session built from the provider's key directory
 * (keys.publish, keys.claim, X3DH). Every message is freshly encrypted by the sender's ratchet,
 * accepted by the provider, pushed, decrypted and checked by the recipient, and acked
 * (spec/messages.md DELIV-008, -024, -026; spec/crypto.md). Each message is tracked by its content
 * id, so a loss or a duplicate delivery is counted exactly, not inferred from totals.
 */
import { performance } from 'node:perf_hooks';
import {
  decrypt,
  encrypt,
  generatePreKeys,
  generateKyberPreKey,
  generateSignedPreKey,
  InMemoryProtocolStore,
  processPreKeyBundle,
} from '../../reference-impl/crypto/index.ts';
import {
  decodePlaintext,
  encodePlaintext,
  textContent,
} from '../../reference-impl/client/index.ts';
import { benchAccount, WireClient, type BenchAccount, type WireFrame } from './wire-client.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** One-time prekeys a recipient publishes: the sender claims one to start its session. */
const ONE_TIME_PREKEYS = 10;
/** Most delivery ids in one `message.ack` (schemas/frames/messages.ts). */
const MAX_ACK_IDS = 256;

/** Where the pairs connect. */
export interface TrafficOptions {
  url: string;
  domain: string;
  registrationToken: string;
  /** Account names are unique to this seed. */
  seed: string;
  pairs: number;
  timeoutMs: number;
}

/** A message from being scheduled until its delivery. */
interface Tracked {
  /** performance.now() when the message was due: latency counts from here (no coordinated omission). */
  scheduledAt: number;
  accepted: boolean;
  delivered: boolean;
}

/** Counters of a run, cumulative. */
export interface TrafficCounts {
  sent: number;
  accepted: number;
  /** `message.send` answered with an error, by the first error seen. */
  refused: number;
  firstRefusal?: string;
  delivered: number;
  /** Pushes of a message already delivered (the same provider message id, or the same content). */
  duplicated: number;
  /** Pushes that did not decrypt to a message this run sent. */
  corrupt: number;
}

/** Called with each first delivery: when it was due and how long it took (ms). */
export type DeliveryListener = (scheduledAt: number, latencyMs: number) => void;

class Pair {
  sender!: WireClient;
  recipient!: WireClient;
  senderAddress = '';
  recipientAddress = '';
  recipientRegistrationId = 0;
  senderStore!: InMemoryProtocolStore;
  recipientStore!: InMemoryProtocolStore;
  /** Encryption must follow the ratchet one message at a time, as must decryption. */
  sending: Promise<void> = Promise.resolve();
  receiving: Promise<void> = Promise.resolve();
  pendingAcks: string[] = [];
  ackScheduled = false;
  inFlight = 0;
}

/** The pairs and the bookkeeping of every message they carry. */
export class SoakTraffic {
  readonly counts: TrafficCounts = {
    sent: 0,
    accepted: 0,
    refused: 0,
    delivered: 0,
    duplicated: 0,
    corrupt: 0,
  };
  onDelivery: DeliveryListener = () => undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly pushedIds = new Set<string>();
  private next = 0;
  private serial = 0;
  /** Sends whose `message.accepted` (or error) has not arrived yet. */
  private unanswered = 0;

  private constructor(
    private readonly pairs: Pair[],
    private readonly timeoutMs: number,
  ) {}

  /** Registers, connects and keys `options.pairs` pairs; each sender holds a session with its recipient. */
  static async open(options: TrafficOptions): Promise<SoakTraffic> {
    const { url, timeoutMs } = options;
    const registrar = await WireClient.open({ url, timeoutMs });
    await registrar.hello();
    const pairs: Pair[] = [];
    for (let p = 0; p < options.pairs; p += 1) {
      const pair = new Pair();
      const senderAccount = benchAccount(options.seed, 2 * p);
      const recipientAccount = benchAccount(options.seed, 2 * p + 1);
      pair.senderAddress = await registrar.register(senderAccount, options.registrationToken);
      pair.recipientAddress = await registrar.register(recipientAccount, options.registrationToken);
      pair.recipientRegistrationId = recipientAccount.registrationId;
      pair.sender = await connected(url, timeoutMs, senderAccount, pair.senderAddress);
      pair.recipient = await connected(url, timeoutMs, recipientAccount, pair.recipientAddress);
      pair.senderStore = new InMemoryProtocolStore(
        senderAccount.identity,
        senderAccount.registrationId,
      );
      pair.recipientStore = await publishKeys(pair.recipient, recipientAccount);
      const bundle = await pair.sender.request('keys.claim', { address: pair.recipientAddress });
      await adoptBundle(pair.senderStore, pair.recipientAddress, bundle);
      pairs.push(pair);
    }
    await registrar.close();
    const traffic = new SoakTraffic(pairs, timeoutMs);
    for (const pair of pairs) pair.recipient.onPush = (frame) => traffic.onPush(pair, frame);
    return traffic;
  }

  /** Messages sent and not yet delivered, refused or given up. */
  get outstanding(): number {
    return this.pairs.reduce((n, p) => n + p.inFlight, 0);
  }

  /** Messages sent on `pair` and not yet delivered. */
  inFlightOn(pair: number): number {
    return this.pairs[pair]!.inFlight;
  }

  get pairCount(): number {
    return this.pairs.length;
  }

  /**
   * Encrypts and sends one message on the next pair (round robin) or on `pair`; `scheduledAt` is
   * when it was due. Resolves once the provider answered the send.
   */
  send(scheduledAt: number, pair?: number): Promise<void> {
    const index = pair ?? this.next++ % this.pairs.length;
    const p = this.pairs[index]!;
    const content = textContent(`soak message ${++this.serial}`);
    const tracked: Tracked = { scheduledAt, accepted: false, delivered: false };
    this.tracked.set(content.id, tracked);
    this.counts.sent += 1;
    this.unanswered += 1;
    p.inFlight += 1;
    // Only encryption waits for the previous message (the ratchet's order); the sends pipeline,
    // and each leaves as soon as it is encrypted, so the provider sees them in ratchet order.
    let reply: Promise<WireFrame> | undefined;
    const encrypted = p.sending.then(async () => {
      const address = { name: p.recipientAddress, deviceId: 1 };
      const ciphertext = await encrypt(encodePlaintext(content), address, p.senderStore);
      reply = p.sender.request('message.send', {
        to: p.recipientAddress,
        idempotencyKey: content.id,
        messages: [
          {
            deviceId: 1,
            registrationId: p.recipientRegistrationId,
            type: ciphertext.type,
            body: b64(ciphertext.body),
          },
        ],
      });
    });
    p.sending = encrypted.catch(() => undefined);
    return encrypted
      .then(() => reply!)
      .then(
        () => {
          this.unanswered -= 1;
          tracked.accepted = true;
          this.counts.accepted += 1;
        },
        (error: unknown) => {
          this.unanswered -= 1;
          this.counts.refused += 1;
          this.counts.firstRefusal ??= (error as Error).message;
          if (!tracked.delivered) p.inFlight -= 1;
          this.tracked.delete(content.id);
        },
      );
  }

  private onPush(pair: Pair, frame: WireFrame): void {
    if (frame.type !== 'message') return;
    const receivedAt = performance.now();
    const deliveryId = frame.id as string;
    this.ack(pair, deliveryId);
    const messageId = frame.messageId as string;
    if (this.pushedIds.has(messageId)) {
      this.counts.duplicated += 1;
      return;
    }
    this.pushedIds.add(messageId);
    pair.receiving = pair.receiving.then(async () => {
      let contentId: string | undefined;
      try {
        const plain = await decrypt(
          { type: frame.ciphertextType as 'whisper', body: unb64(frame.body as string) },
          { name: pair.senderAddress, deviceId: 1 },
          pair.recipientStore,
        );
        const decoded = decodePlaintext(plain);
        if (decoded.ok) contentId = decoded.content.id;
      } catch {
        contentId = undefined;
      }
      const tracked = contentId === undefined ? undefined : this.tracked.get(contentId);
      if (!tracked) {
        this.counts.corrupt += 1;
        return;
      }
      if (tracked.delivered) {
        this.counts.duplicated += 1;
        return;
      }
      tracked.delivered = true;
      pair.inFlight -= 1;
      this.counts.delivered += 1;
      this.onDelivery(tracked.scheduledAt, receivedAt - tracked.scheduledAt);
    });
  }

  /** Acks pushes in batches, once per turn of the event loop (DELIV-024). */
  private ack(pair: Pair, deliveryId: string): void {
    pair.pendingAcks.push(deliveryId);
    if (pair.ackScheduled) return;
    pair.ackScheduled = true;
    setImmediate(() => {
      pair.ackScheduled = false;
      const ids = pair.pendingAcks;
      pair.pendingAcks = [];
      for (let i = 0; i < ids.length; i += MAX_ACK_IDS)
        pair.recipient
          .request('message.ack', { deliveryIds: ids.slice(i, i + MAX_ACK_IDS) })
          .catch(() => undefined);
    });
  }

  /**
   * Waits until every send is answered and every accepted message delivered, or `waitMs` passed;
   * resolves what is still outstanding.
   */
  async drain(waitMs = this.timeoutMs): Promise<number> {
    const until = performance.now() + waitMs;
    while ((this.outstanding > 0 || this.unanswered > 0) && performance.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await Promise.all(this.pairs.map((p) => p.receiving));
    return this.outstanding;
  }

  /** Accepted messages that never arrived (call after drain). */
  lost(): number {
    let n = 0;
    for (const t of this.tracked.values()) if (t.accepted && !t.delivered) n += 1;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all(this.pairs.flatMap((p) => [p.sender.close(), p.recipient.close()]));
  }
}

async function connected(
  url: string,
  timeoutMs: number,
  account: BenchAccount,
  address: string,
): Promise<WireClient> {
  const client = await WireClient.open({ url, timeoutMs });
  await client.hello();
  await client.authenticate(account, address);
  return client;
}

/**
 * Publishes a signed prekey, one-time prekeys and a last-resort Kyber prekey (KEYS-001, KEYS-002);
 * resolves the store holding their private halves. Every claim of the soak gets the last-resort
 * Kyber prekey, which keeps the set-up cost of the soak's accounts down.
 */
async function publishKeys(
  client: WireClient,
  account: BenchAccount,
): Promise<InMemoryProtocolStore> {
  const store = new InMemoryProtocolStore(account.identity, account.registrationId);
  const signed = generateSignedPreKey(account.identity, 1);
  await store.saveSignedPreKey(signed.keyId, signed);
  const preKeys = generatePreKeys(2, ONE_TIME_PREKEYS);
  for (const k of preKeys) await store.savePreKey(k.keyId, k);
  const kyber = generateKyberPreKey(account.identity, 1);
  await store.saveKyberPreKey(kyber.keyId, kyber, { lastResort: true });
  await client.request('keys.publish', {
    identityKey: b64(account.identity.publicKey),
    signedPreKey: {
      keyId: signed.keyId,
      publicKey: b64(signed.keyPair.publicKey),
      signature: b64(signed.signature),
    },
    oneTimePreKeys: preKeys.map((k) => ({ keyId: k.keyId, publicKey: b64(k.keyPair.publicKey) })),
    lastResortKyberPreKey: {
      keyId: kyber.keyId,
      publicKey: b64(kyber.keyPair.publicKey),
      signature: b64(kyber.signature),
    },
    oneTimeKyberPreKeys: [],
  });
  return store;
}

interface BundleDevice {
  deviceId: number;
  registrationId: number;
  identityKey: string;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
  oneTimePreKey?: { keyId: number; publicKey: string };
  kyberPreKey: { keyId: number; publicKey: string; signature: string };
}

/** Builds the sender's session from a claimed `keys.bundle` (PQXDH, spec/crypto.md). */
async function adoptBundle(
  store: InMemoryProtocolStore,
  address: string,
  bundle: WireFrame,
): Promise<void> {
  for (const d of bundle.devices as BundleDevice[])
    await processPreKeyBundle(
      {
        registrationId: d.registrationId,
        deviceId: d.deviceId,
        identityKey: unb64(d.identityKey),
        signedPreKeyId: d.signedPreKey.keyId,
        signedPreKey: unb64(d.signedPreKey.publicKey),
        signedPreKeySignature: unb64(d.signedPreKey.signature),
        kyberPreKeyId: d.kyberPreKey.keyId,
        kyberPreKey: unb64(d.kyberPreKey.publicKey),
        kyberPreKeySignature: unb64(d.kyberPreKey.signature),
        ...(d.oneTimePreKey
          ? { preKeyId: d.oneTimePreKey.keyId, preKey: unb64(d.oneTimePreKey.publicKey) }
          : {}),
      },
      { name: address, deviceId: d.deviceId },
      store,
    );
}
