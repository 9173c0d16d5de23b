// The per-case world of a client case (conformance/client/HOWTO-CASES.md): a fresh mock provider,
// the client under test reset and driven through its driver, the suite's peers, and helpers that
// read like the cases: connect the client, deliver a crafted message, see what the client sent.
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import type { Rng } from '../runner/rng.ts';
import { HarnessError, SkipCase } from '../runner/signals.ts';
import type { SchemaFault } from '../transport/peer.ts';
import { Transcript } from '../transport/transcript.ts';
import { padContent, textContent, unb64, unpadContent } from '../transport/users.ts';
import { DriverRefusal, handled } from './link.ts';
import { MockProvider, type Delivery } from './mock-provider.ts';
import { SuitePeer, type PeerOptions } from './peer.ts';
import type { Chat, DriverEvents, DriverMethod, DriverMethods } from './protocol.ts';
import type { ClientTarget } from './target.ts';

/** The mock provider's domain in client runs. */
export const MOCK_PROVIDER_DOMAIN = 'provider.mock.example';
/** The platform of third-party peers the suite plays. */
export const PEER_PLATFORM = 'peers.partner.example';

/** After an ack, a `received` event may still come within waitMs divided by this. */
const RECEIVED_GRACE_DIVISOR = 8;

/** How the client under test enrols. */
export interface ConnectOptions {
  /** A partner platform's device (default: what partners certify), or a first-party account. */
  as?: 'partner' | 'first-party';
}

/** A ciphertext the client sent to one device, decrypted by the suite. */
export interface OpenedCiphertext {
  deviceId: number;
  type: 'prekey' | 'whisper';
  body: string;
  /** The padded plaintext. */
  plaintext: Uint8Array;
}

/** What a case acts through. */
export class ClientWorld {
  readonly transcript = new Transcript();
  readonly faults: SchemaFault[] = [];
  mock!: MockProvider;
  /** The client's account once connected. */
  address = '';
  deviceId = 1;

  private constructor(
    readonly target: ClientTarget,
    readonly rng: Rng,
    readonly validator: FrameValidator,
    readonly waitMs: number,
  ) {
    this.transcript.addSecret(target.registrationToken);
  }

  /** Starts a mock provider and resets the client: what the runner does before each case body. */
  static async open(
    target: ClientTarget,
    rng: Rng,
    validator: FrameValidator,
    waitMs: number,
  ): Promise<ClientWorld> {
    const world = new ClientWorld(target, rng, validator, waitMs);
    target.link.observer = (dir, message) =>
      world.transcript.record('driver', dir === 'sent' ? 'sent' : 'received', message);
    world.mock = await MockProvider.start({
      validator,
      transcript: world.transcript,
      faults: world.faults,
      waitMs,
      domain: MOCK_PROVIDER_DOMAIN,
      partner: { domain: target.partner.domain, publicJwk: target.partner.publicJwk },
      registrationToken: target.registrationToken,
    });
    target.link.drainEvents();
    try {
      await world.drive('reset', {});
    } catch (error) {
      await world.mock.close();
      throw error;
    }
    return world;
  }

  /** The client's address and device, for the crypto calls. */
  get client(): { address: string; deviceId: number } {
    if (!this.address) throw new HarnessError('the case has not connected the client yet');
    return { address: this.address, deviceId: this.deviceId };
  }

  /** A fresh, seeded account name: `alice.k3x9q2`. */
  name(label: string): string {
    return `${label.toLowerCase().replace(/[^a-z0-9]/g, '')}.${this.rng.word(8)}`;
  }

  /**
   * Calls a driver method. A driver answer `UNSUPPORTED` skips the case (the requirement is not
   * shown either way); `FAILED` throws DriverRefusal, which a case may expect.
   */
  drive<M extends DriverMethod>(
    method: M,
    params: DriverMethods[M]['params'],
    waitMs = this.waitMs * 2,
  ): Promise<DriverMethods[M]['result']> {
    // Marked handled: a case may start a call, fail before awaiting it, and leave it behind.
    return handled(
      this.target.link.call(method, params, waitMs).catch((error: unknown) => {
        if (error instanceof DriverRefusal && error.code === 'UNSUPPORTED')
          throw new SkipCase(`the driver does not support ${method}: ${error.message}`);
        throw error;
      }),
    );
  }

  /** Connects the client to the mock provider and waits until it published prekeys. */
  async connect(options: ConnectOptions = {}): Promise<{ address: string; deviceId: number }> {
    const partner = (options.as ?? 'partner') === 'partner';
    const address = `${this.name('client')}@${partner ? this.target.partner.domain : this.mock.domain}`;
    const session = await this.drive('connect', {
      url: this.mock.url,
      address,
      deviceId: 1,
      auth: partner
        ? { method: 'partner', partnerKeyFile: this.target.partner.keyFile }
        : { method: 'register', registrationToken: this.target.registrationToken },
    });
    this.address = session.address;
    this.deviceId = session.deviceId;
    if (!this.mock.published)
      await this.mock.next((f) => f.type === 'keys.publish', 'keys.publish');
    return session;
  }

  /** Connects the client again, as the same account and device, after `disconnect`. */
  async reconnect(): Promise<void> {
    const { address, deviceId } = this.client;
    const partner = !address.endsWith(`@${this.mock.domain}`);
    await this.drive('connect', {
      url: this.mock.url,
      address,
      deviceId,
      auth: partner
        ? { method: 'partner', partnerKeyFile: this.target.partner.keyFile }
        : { method: 'register', registrationToken: this.target.registrationToken },
    });
  }

  /** A peer of another platform (third-party by default), known to the mock provider. */
  peer(label: string, options: Partial<PeerOptions> = {}): SuitePeer {
    const thirdParty = options.thirdParty ?? true;
    const platform = options.platform ?? (thirdParty ? PEER_PLATFORM : this.mock.domain);
    const peer = new SuitePeer(label, `${this.name(label)}@${platform}`, {
      ...options,
      platform,
      thirdParty,
    });
    this.mock.addPeer(peer);
    return peer;
  }

  /**
   * A peer at a given address, replacing any earlier one there (a peer that reinstalled: new
   * identity key, same address).
   */
  peerAt(label: string, address: string, options: Partial<PeerOptions> = {}): SuitePeer {
    const thirdParty = options.thirdParty ?? true;
    const platform = options.platform ?? (thirdParty ? PEER_PLATFORM : this.mock.domain);
    const peer = new SuitePeer(label, address, { ...options, platform, thirdParty });
    this.mock.addPeer(peer);
    return peer;
  }

  /**
   * Encrypts `content` (a Content object, padded; or raw plaintext bytes) from `peer`'s `device`
   * for the client and delivers it; starts the session from a claimed client bundle when there
   * is none. `tamper` may change the ciphertext bytes before delivery.
   */
  async deliver(
    peer: SuitePeer,
    content: Frame | Uint8Array,
    options: {
      device?: number;
      folder?: 'inbox' | 'third-party' | 'requests';
      tamper?: (body: Buffer) => Buffer;
    } = {},
  ): Promise<Delivery> {
    const device = options.device ?? 1;
    const c = await this.encrypt(peer, content, device);
    const body = options.tamper ? options.tamper(unb64(c.body)).toString('base64url') : c.body;
    return this.mock.deliver({
      from: peer,
      fromDevice: device,
      ciphertextType: c.type,
      body,
      ...(options.folder ? { folder: options.folder } : {}),
    });
  }

  /** Encrypts without delivering (to deliver later, twice, or out of order). */
  async encrypt(
    peer: SuitePeer,
    content: Frame | Uint8Array,
    device = 1,
  ): Promise<{ type: 'prekey' | 'whisper'; body: string }> {
    if (!(await peer.hasSession(this.client, device)))
      await peer.startSession(this.client, this.mock.claimClientBundle(), device);
    const plain = content instanceof Uint8Array ? content : padContent(content);
    return peer.encrypt(this.client, plain, device);
  }

  /** Delivers an already encrypted ciphertext (a replay, a reordered one). */
  redeliver(
    peer: SuitePeer,
    c: { type: 'prekey' | 'whisper'; body: string },
    device = 1,
  ): Delivery {
    return this.mock.deliver({
      from: peer,
      fromDevice: device,
      ciphertextType: c.type,
      body: c.body,
    });
  }

  /** A text Content with a fresh id. */
  text(body: string): Frame {
    return textContent(body);
  }

  /**
   * The `received` event of the delivery with `messageId`; undefined when the client reports none
   * within `waitMs` (it refused, discarded, or did not show the message).
   */
  async received(
    messageId: string,
    waitMs = this.waitMs,
  ): Promise<DriverEvents['received'] | undefined> {
    return this.target.link.nextEvent('received', (e) => e.messageId === messageId, waitMs);
  }

  /**
   * How the client dealt with a delivery: whether it acked it (within `waitMs`) and its `received`
   * event if any. A driver writes `received` before the client acks (CLIENT-DRIVER.md); the short
   * grace after an ack covers only the race of its stdout with the WebSocket. A client that does
   * not ack is given `waitMs` in all.
   */
  async outcome(
    delivery: Delivery,
    waitMs = this.waitMs,
  ): Promise<{ acked: boolean; received: DriverEvents['received'] | undefined }> {
    const acked = await this.mock.ackedWithin(delivery.deliveryId, waitMs);
    const received = await this.target.link.nextEvent(
      'received',
      (e) => e.messageId === delivery.messageId,
      acked ? Math.round(waitMs / RECEIVED_GRACE_DIVISOR) : 0,
    );
    return { acked, received };
  }

  /** Whether the client acked the delivery within `waitMs`. */
  acked(delivery: Delivery, waitMs = this.waitMs): Promise<boolean> {
    return this.mock.ackedWithin(delivery.deliveryId, waitMs);
  }

  /** Delivers `content` and reports whether the client received it (its `received` event). */
  async roundTrip(peer: SuitePeer, content: Frame, device = 1): Promise<boolean> {
    const d = await this.deliver(peer, content, { device });
    const event = await this.received(d.messageId);
    return event !== undefined && event.content.id === content.id;
  }

  /** Has the user send `text` to `to` and returns the client's `message.send`. */
  async sendText(to: SuitePeer, text: string): Promise<Frame> {
    const reply = this.drive('sendText', { to: to.address, text });
    const frame = await this.mock.nextSend(to.address);
    await reply;
    return frame;
  }

  /** Decrypts every device ciphertext of a client's `message.send` to `peer`, in order. */
  async open(peer: SuitePeer, send: Frame): Promise<OpenedCiphertext[]> {
    const out: OpenedCiphertext[] = [];
    for (const m of send.messages as Frame[]) {
      const plaintext = await peer.decrypt(this.client, { type: m.type, body: m.body }, m.deviceId);
      out.push({ deviceId: m.deviceId, type: m.type, body: m.body, plaintext });
    }
    return out;
  }

  /** The Content of a padded plaintext; undefined when its padding or JSON is malformed. */
  contentOf(plaintext: Uint8Array): Frame | undefined {
    try {
      return unpadContent(plaintext);
    } catch {
      return undefined;
    }
  }

  /** The client's chat list as it would display it. */
  async inbox(): Promise<Chat[]> {
    return (await this.drive('inbox', {})).chats;
  }

  /** The chat with `peer`, if the client lists one. */
  async chatWith(peer: SuitePeer): Promise<Chat | undefined> {
    return (await this.inbox()).find((c) => c.address === peer.address);
  }

  /** Waits `ms` (scaled by the caller), for "nothing happens" checks. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Ends the case: protocol faults of the driver and invalid frames of the mock are a harness error; the mock stops. */
  async close(): Promise<string | undefined> {
    const faults = [...this.target.link.faults.splice(0), ...this.mock.selfFaults];
    await this.mock.close();
    return faults.length > 0 ? faults.join('; ') : undefined;
  }
}
