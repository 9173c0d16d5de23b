/**
 * A lean first-party device on the raw wire for load generation (spec/framing.md, spec/auth.md):
 * one WebSocket, requests matched to replies by `re`, pushes handed to a callback. It keeps no
 * store and publishes no keys, so one process can hold thousands of authenticated connections;
 * the SDK (reference-impl/client) is what applications use.
 */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { IdentityKeyPair } from '../../reference-impl/crypto/index.ts';
import { authInput } from '../../reference-impl/client/auth.ts';

/** A frame as it travels: one JSON object. */
export type WireFrame = Record<string, unknown>;

/** A registered test account the load generator can re-derive from a seed and an index. */
export interface BenchAccount {
  name: string;
  identity: IdentityKeyPair;
  /** Device 1's own device key, which signs auth (AUTH-033). */
  deviceKey: IdentityKeyPair;
  registrationId: number;
}

/** Registration ids are 14-bit and non-zero (spec/keys.md), so they cycle through 1..16380. */
const REGISTRATION_ID_SPAN = 16380;

/**
 * The account number `index` of a run: a name unique to `seed`, and an identity key derived from
 * `seed` and `index`, so every load process re-creates the same keys without passing them around.
 */
export function benchAccount(seed: string, index: number): BenchAccount {
  const privateKey = createHash('sha256').update(`parley-bench:${seed}:${index}`).digest();
  const deviceKey = createHash('sha256').update(`parley-bench-device:${seed}:${index}`).digest();
  return {
    name: `${seed}-${index}`,
    identity: IdentityKeyPair.fromPrivateKey(new Uint8Array(privateKey)),
    deviceKey: IdentityKeyPair.fromPrivateKey(new Uint8Array(deviceKey)),
    registrationId: 1 + (index % REGISTRATION_ID_SPAN),
  };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** Raised when the provider answers a request with an `error` frame, or not at all. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly frame?: WireFrame,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

/** Where and how a connection is opened. */
export interface WireOptions {
  /** The provider's `ws://…/parley/v1`. */
  url: string;
  /** A loopback source address (127.0.0.x), to spread connections over more ephemeral ports. */
  localAddress?: string;
  /** How long the opening handshake and each request may take. */
  timeoutMs: number;
}

/** One connection, before and after `auth`. */
export class WireClient {
  /** Called with every frame that is not a reply (message, queue.empty, keys.low, …). */
  onPush: (frame: WireFrame) => void = () => undefined;
  /** Set once the connection closed, with its close code. */
  closeCode: number | undefined;
  private readonly pending = new Map<string, (frame: WireFrame) => void>();
  private nextId = 0;
  private challenge: Buffer | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data) => this.receive(String(data)));
    ws.on('close', (code) => {
      this.closeCode = code;
      const gone = { v: 1, type: 'error', code: 'CLOSED', message: `closed with ${code}` };
      for (const settle of this.pending.values()) settle(gone);
      this.pending.clear();
    });
    ws.on('error', () => undefined);
  }

  /** Opens the WebSocket; rejects with WireError when it is refused or takes too long. */
  static open(options: WireOptions): Promise<WireClient> {
    const ws = new WebSocket(options.url, {
      perMessageDeflate: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new WireError(`no WebSocket handshake within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new WireClient(ws, options.timeoutMs));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(new WireError(`cannot connect: ${error.message}`));
      });
    });
  }

  private receive(text: string): void {
    let frame: WireFrame;
    try {
      frame = JSON.parse(text) as WireFrame;
    } catch {
      return;
    }
    const settle = typeof frame.re === 'string' ? this.pending.get(frame.re) : undefined;
    if (settle) {
      this.pending.delete(frame.re as string);
      settle(frame);
    } else this.onPush(frame);
  }

  /** Sends `{v:1, type, id, ...body}`; resolves the reply, rejects WireError on an `error` reply. */
  request(type: string, body: WireFrame = {}): Promise<WireFrame> {
    const id = `r${++this.nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WireError(`no reply to ${type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, (frame) => {
        clearTimeout(timer);
        if (frame.type === 'error')
          reject(new WireError(`${type}: ${String(frame.code)} ${String(frame.message)}`, frame));
        else resolve(frame);
      });
      this.ws.send(JSON.stringify({ v: 1, type, id, ...body }));
    });
  }

  /** `hello` → `welcome`, keeping the challenge for `auth` (PROTO-018, AUTH-001). */
  async hello(): Promise<WireFrame> {
    const welcome = await this.request('hello', { versions: [1] });
    this.challenge = Buffer.from(welcome.challenge as string, 'base64url');
    return welcome;
  }

  /** Registers `account` as a first-party test account (AUTH-023); resolves its address. */
  async register(account: BenchAccount, registrationToken: string): Promise<string> {
    const reply = await this.request('account.register', {
      registrationToken,
      name: account.name,
      identityKey: b64(account.identity.publicKey),
      registrationId: account.registrationId,
      deviceKey: b64(account.deviceKey.publicKey),
    });
    return reply.address as string;
  }

  /** Authenticates device 1 of `address` with a proof over this connection's challenge (AUTH-005). */
  async authenticate(account: BenchAccount, address: string): Promise<WireFrame> {
    if (!this.challenge) throw new WireError('auth needs the challenge of a welcome first');
    const signature = account.deviceKey.sign(authInput(this.challenge, address, 1));
    return this.request('auth', {
      method: 'device',
      address,
      deviceId: 1,
      signature: b64(signature),
    });
  }

  /** Sends a WebSocket close and resolves once the connection is closed. */
  close(): Promise<void> {
    if (this.closeCode !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}
