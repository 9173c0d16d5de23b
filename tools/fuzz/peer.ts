/**
 * One fuzzing connection: it holds a session in a chosen state (opened, greeted after `hello`, or
 * authenticated as its own first-party account), sends one input at a time, and collects the
 * answer, the close, and the pushes in between (spec/framing.md "Session state", spec/auth.md).
 */
import WebSocket from 'ws';
import { generateRegistrationId, IdentityKeyPair } from '../../reference-impl/crypto/index.ts';
import { authInput } from '../../reference-impl/server/auth.ts';
import { ERROR_CODES, type ErrorCode } from '../../schemas/errors.ts';
import type { FuzzInput } from './mutators.ts';
import { FUZZ_DEVICE_ID, type FuzzState, type Observation } from './oracle.ts';

/** Most time an answer may take; generous, because the machines fuzzing are shared and loaded. */
export const ANSWER_TIMEOUT_MS = 15_000;
/** Most time between a non-surviving error and its close (PROTO-039 says "at once"). */
const CLOSE_TIMEOUT_MS = 5_000;
/** Delivery ids per message.ack. */
const ACK_BATCH = 100;
const PUSHES = new Set(['message', 'keys.low', 'queue.empty']);

/** A first-party account of the fuzzer, so that post-authentication handlers are reached too. */
export interface FuzzAccount {
  readonly address: string;
  readonly identity: IdentityKeyPair;
  /** Device 1's own device key, which signs auth (AUTH-033). */
  readonly deviceKey: IdentityKeyPair;
}

/** Where the fuzzer connects, and the token its accounts register with. */
export interface PeerTarget {
  readonly wsUrl: string;
  readonly domain: string;
  readonly registrationToken: string;
}

type Frame = Record<string, unknown>;

/** A frame-level failure of the set-up itself (not a finding of an input). */
export class SetupError extends Error {
  override name = 'SetupError';
}

export class FuzzPeer {
  state: FuzzState = 'opened';
  closeCode: number | undefined;
  /** Pushes received, with the schema faults of any (checked by the driver). */
  readonly pushes: Frame[] = [];
  private waiter: ((event: { frame?: Frame; close?: number }) => void) | undefined;
  private backlog: { frame?: Frame; close?: number }[] = [];
  private setupIds = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
      } catch {
        frame = { type: '(not JSON)', isBinary, text: String(data).slice(0, 200) };
      }
      if (typeof frame.type === 'string' && PUSHES.has(frame.type) && !('re' in frame)) {
        this.pushes.push(frame);
        return;
      }
      this.emit({ frame });
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.emit({ close: code });
    });
    ws.on('error', () => undefined);
  }

  private emit(event: { frame?: Frame; close?: number }): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(event);
    } else this.backlog.push(event);
  }

  private next(timeoutMs: number): Promise<{ frame?: Frame; close?: number } | undefined> {
    const queued = this.backlog.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  }

  get open(): boolean {
    return this.closeCode === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  static async connect(url: string): Promise<FuzzPeer> {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new FuzzPeer(ws);
  }

  private async request(body: Frame): Promise<Frame> {
    const id = `setup.${++this.setupIds}`;
    this.ws.send(JSON.stringify({ v: 1, id, ...body }));
    const event = await this.next(ANSWER_TIMEOUT_MS);
    if (!event?.frame || event.frame.re !== id)
      throw new SetupError(`${String(body.type)} was answered by ${JSON.stringify(event)}`);
    return event.frame;
  }

  /** Says hello; resolves the welcome. */
  async greet(): Promise<Frame> {
    const welcome = await this.request({ type: 'hello', versions: [1] });
    if (welcome.type !== 'welcome') throw new SetupError(`hello: ${JSON.stringify(welcome)}`);
    this.state = 'greeted';
    return welcome;
  }

  /** Registers a fresh first-party account on a greeted connection. */
  async register(
    target: PeerTarget,
    name: string,
    registrationId = generateRegistrationId(),
  ): Promise<FuzzAccount> {
    const identity = IdentityKeyPair.generate();
    const deviceKey = IdentityKeyPair.generate();
    const reply = await this.request({
      type: 'account.register',
      registrationToken: target.registrationToken,
      name,
      identityKey: Buffer.from(identity.publicKey).toString('base64url'),
      registrationId,
      deviceKey: Buffer.from(deviceKey.publicKey).toString('base64url'),
    });
    if (reply.type !== 'account.registered')
      throw new SetupError(`account.register: ${JSON.stringify(reply)}`);
    return { address: `${name}@${target.domain}`, identity, deviceKey };
  }

  /** Authenticates a greeted connection as `account`'s device 1 (AUTH-005). */
  async authenticate(account: FuzzAccount, welcome: Frame): Promise<boolean> {
    const challenge = Buffer.from(String(welcome.challenge), 'base64url');
    const signature = account.deviceKey.sign(authInput(challenge, account.address, FUZZ_DEVICE_ID));
    const reply = await this.request({
      type: 'auth',
      method: 'device',
      address: account.address,
      deviceId: FUZZ_DEVICE_ID,
      signature: Buffer.from(signature).toString('base64url'),
    });
    if (reply.type !== 'auth.ok') return false;
    this.state = 'authenticated';
    return true;
  }

  /** Acknowledges the message pushes received so far (DELIV-025), so that their queue empties. */
  async ackPushes(): Promise<void> {
    const ids = this.pushes.splice(0).flatMap((f) => (f.type === 'message' ? [String(f.id)] : []));
    for (let i = 0; i < ids.length; i += ACK_BATCH)
      await this.request({ type: 'message.ack', deliveryIds: ids.slice(i, i + ACK_BATCH) });
  }

  /** Sends one input, fragmented as it says, and waits for its answer (and close, if one is due). */
  async exchange(input: FuzzInput): Promise<Observation> {
    const options = { binary: input.binary };
    if (input.fragments <= 1) this.ws.send(input.payload, options);
    else {
      const size = Math.ceil(input.payload.length / input.fragments);
      for (let i = 0; i < input.fragments; i++) {
        const chunk = input.payload.subarray(i * size, (i + 1) * size);
        this.ws.send(chunk, { ...options, fin: i === input.fragments - 1 });
      }
    }
    const first = await this.next(ANSWER_TIMEOUT_MS);
    if (!first) return { timedOut: true };
    if (first.close !== undefined) return { closeCode: first.close, timedOut: false };
    const reply = first.frame!;
    if (reply.type === 'welcome') this.state = 'greeted';
    if (reply.type === 'auth.ok') this.state = 'authenticated';
    const code = reply.code as ErrorCode;
    const survives =
      reply.type !== 'error' ||
      !Object.hasOwn(ERROR_CODES, code) ||
      ERROR_CODES[code].connectionSurvives;
    if (survives) return { reply, timedOut: false };
    const after = await this.next(CLOSE_TIMEOUT_MS);
    if (after?.frame) this.backlog.unshift(after);
    return {
      reply,
      timedOut: false,
      ...(after?.close !== undefined ? { closeCode: after.close } : {}),
    };
  }

  close(): void {
    this.ws.terminate();
  }
}
