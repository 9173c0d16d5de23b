/**
 * The relay benchmark's load generator, run as its own process (`node --import tsx
 * bench/support/relay-load.ts`, driven over the IPC channel). It holds sender → recipient pairs on
 * raw WebSocket connections: against `parley serve` each connection says hello and authenticates
 * with the device proof (spec/auth.md AUTH-005), against the baseline it names itself in the URL.
 * Senders send pre-encrypted Signal ciphertexts as `message.send` frames built by string
 * concatenation; recipients acknowledge every push (spec/messages.md DELIV-024). Latency is send →
 * push at the recipient, per pair in order (DELIV-026 keeps one sender device's order).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { authInput } from '../../reference-impl/client/auth.ts';
import { IdentityKeyPair } from '../../reference-impl/crypto/index.ts';

/** One device the generator speaks for. */
export interface DeviceSpec {
  address: string;
  deviceId: number;
  /** base64url of the 32-byte device private key, to sign the auth challenge (AUTH-033). */
  devicePrivateKey: string;
}

/** A sender → recipient pair and the ciphertexts the sender cycles through. */
export interface PairSpec {
  sender: DeviceSpec;
  recipient: DeviceSpec;
  recipientRegistrationId: number;
  /** Real Signal ciphertexts for the recipient's device 1, as `message.send` carries them. */
  bodies: { type: 'prekey' | 'whisper'; body: string }[];
}

/** What the parent asks. */
export type LoadCommand =
  | { cmd: 'connect'; url: string; protocol: 'parley' | 'raw'; pairs: PairSpec[] }
  | { cmd: 'closed'; window: number; warmupMs: number; durationMs: number }
  | { cmd: 'open'; rate: number; warmupMs: number; durationMs: number }
  | { cmd: 'close' };

/** What a run measured in this process. */
export interface RunResult {
  /** Pushes received in the measured interval. */
  delivered: number;
  /** Pushes received during the whole command: warm-up, interval and drain. */
  deliveredInAll: number;
  /** Sends made in the measured interval. */
  sent: number;
  /** Seconds the measured interval lasted. */
  seconds: number;
  /** Send → push latencies (ms) of messages sent in the measured interval and delivered. */
  latencies: number[];
  /** Error frames received, and the first one's text. */
  errors: number;
  firstError?: string;
  /** Messages sent in the interval that had not arrived when it ended, after a grace period. */
  undelivered: number;
}

export type LoadReply = { ok: true; result?: RunResult } | { ok: false; error: string };

/** Most ids in one `message.ack` (schemas/frames/messages.ts DeliveryIdList maxItems). */
const MAX_ACK_IDS = 256;
/** How long a run waits after its interval for messages still in flight while none arrives... */
const DRAIN_STALL_MS = 5_000;
/** ...and at most in all (the next run should start with nothing in flight). */
const DRAIN_LIMIT_MS = 120_000;
/** How long a connection may take to open and authenticate. */
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * How often the open loop wakes to send what fell due. A timer, not a spin on setImmediate: a
 * spinning generator holds a whole core that the server under test then lacks on a small machine.
 * A send made up to a tick late still counts from its due time.
 */
const OPEN_LOOP_TICK_MS = 1;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** A frame as the generator reads it: only the members it looks at. */
interface Incoming {
  type: string;
  id?: string;
  re?: string;
  challenge?: string;
  message?: string;
}

/** Opens a connection and, for parley, performs hello → welcome → auth → auth.ok → queue.empty. */
async function open(
  url: string,
  protocol: 'parley' | 'raw',
  device: DeviceSpec,
): Promise<WebSocket> {
  const target = protocol === 'raw' ? `${url}?as=${encodeURIComponent(device.address)}` : url;
  const ws = new WebSocket(target, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  if (protocol === 'raw') return ws;
  const frames: Incoming[] = [];
  let wake: (() => void) | undefined;
  const onMessage = (data: WebSocket.RawData): void => {
    frames.push(JSON.parse(String(data)) as Incoming);
    wake?.();
  };
  ws.on('message', onMessage);
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  const next = async (type: string): Promise<Incoming> => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === type || f.type === 'error');
      if (i >= 0) {
        const f = frames.splice(i, 1)[0]!;
        if (f.type === 'error') throw new Error(`${device.address}: ${f.message ?? 'error'}`);
        return f;
      }
      if (Date.now() > deadline) throw new Error(`${device.address}: no ${type} in time`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'h', versions: [1] }));
  const welcome = await next('welcome');
  const deviceKey = IdentityKeyPair.fromPrivateKey(
    new Uint8Array(Buffer.from(device.devicePrivateKey, 'base64url')),
  );
  const challenge = new Uint8Array(Buffer.from(welcome.challenge ?? '', 'base64url'));
  ws.send(
    JSON.stringify({
      v: 1,
      type: 'auth',
      id: 'a',
      method: 'device',
      address: device.address,
      deviceId: device.deviceId,
      signature: b64(deviceKey.sign(authInput(challenge, device.address, device.deviceId))),
    }),
  );
  await next('auth.ok');
  await next('queue.empty');
  ws.off('message', onMessage);
  return ws;
}

/** One pair's live state during a run. */
class Pair {
  sender!: WebSocket;
  recipient!: WebSocket;
  private sendCount = 0;
  /** Start times (ms) of sends not yet delivered, oldest first; -1 marks an unmeasured send. */
  private readonly inFlight: number[] = [];
  private inFlightHead = 0;
  private pendingAcks: string[] = [];
  private ackScheduled = false;
  private ackCount = 0;
  onDelivered: (startedAt: number) => void = () => {};
  onError: (text: string) => void = () => {};

  constructor(
    readonly spec: PairSpec,
    private readonly runTag: string,
  ) {}

  /** Keeps counting what is still in flight, but measures none of it. */
  forgetInFlight(): void {
    for (let i = this.inFlightHead; i < this.inFlight.length; i += 1) this.inFlight[i] = -1;
  }

  get outstanding(): number {
    return this.inFlight.length - this.inFlightHead;
  }

  wire(): void {
    this.sender.on('message', (data) => {
      const text = String(data);
      if (text.includes('"type":"error"')) this.onError(text);
    });
    this.recipient.on('message', (data) => {
      const f = JSON.parse(String(data)) as Incoming;
      if (f.type === 'message') {
        const startedAt = this.inFlight[this.inFlightHead++];
        if (this.inFlightHead > 1024 && this.inFlightHead * 2 > this.inFlight.length) {
          this.inFlight.splice(0, this.inFlightHead);
          this.inFlightHead = 0;
        }
        this.ack(f.id!);
        this.onDelivered(startedAt ?? -1);
      } else if (f.type === 'error') this.onError(JSON.stringify(f));
    });
  }

  /** Sends the next ciphertext; `startedAt` is the time latency counts from, -1 for not measured. */
  send(startedAt: number): void {
    const n = this.sendCount++;
    const { bodies, recipient, recipientRegistrationId } = this.spec;
    const b = bodies[n % bodies.length]!;
    this.inFlight.push(startedAt);
    this.sender.send(
      `{"v":1,"type":"message.send","id":"s${n}","to":"${recipient.address}","idempotencyKey":"${this.runTag}.${n}","messages":[{"deviceId":${recipient.deviceId},"registrationId":${recipientRegistrationId},"type":"${b.type}","body":"${b.body}"}]}`,
    );
  }

  private ack(id: string): void {
    this.pendingAcks.push(id);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const ids = this.pendingAcks;
      this.pendingAcks = [];
      for (let i = 0; i < ids.length; i += MAX_ACK_IDS)
        this.recipient.send(
          JSON.stringify({
            v: 1,
            type: 'message.ack',
            id: `k${++this.ackCount}`,
            deliveryIds: ids.slice(i, i + MAX_ACK_IDS),
          }),
        );
    });
  }
}

let pairs: Pair[] = [];
let runs = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Shared bookkeeping of one run: what counts and what is measured. */
function tracker(): {
  result: RunResult;
  measuring: { on: boolean };
  hook: (pair: Pair, onDelivered?: (pair: Pair) => void) => void;
} {
  const result: RunResult = {
    delivered: 0,
    deliveredInAll: 0,
    sent: 0,
    seconds: 0,
    latencies: [],
    errors: 0,
    undelivered: 0,
  };
  const measuring = { on: false };
  return {
    result,
    measuring,
    hook: (pair, onDelivered) => {
      pair.onError = (text) => {
        result.errors += 1;
        result.firstError ??= text.slice(0, 300);
      };
      pair.onDelivered = (startedAt) => {
        const now = performance.now();
        result.deliveredInAll += 1;
        if (measuring.on) result.delivered += 1;
        if (startedAt >= 0) result.latencies.push(now - startedAt);
        onDelivered?.(pair);
      };
    },
  };
}

/**
 * Waits until every pair has nothing in flight, as long as deliveries keep arriving (a backlog from
 * an unsustainable offered load drains slowly) and at most DRAIN_LIMIT_MS; counts what is left,
 * and marks it unmeasured so that it cannot pollute the next run's latencies.
 */
async function drain(): Promise<number> {
  const start = Date.now();
  const left = (): number => pairs.reduce((n, p) => n + p.outstanding, 0);
  let last = left();
  let progressAt = start;
  while (
    last > 0 &&
    Date.now() - progressAt < DRAIN_STALL_MS &&
    Date.now() - start < DRAIN_LIMIT_MS
  ) {
    await sleep(50);
    const now = left();
    if (now < last) progressAt = Date.now();
    last = now;
  }
  for (const p of pairs) p.forgetInFlight();
  return last;
}

/** Closed loop: every pair keeps `window` messages in flight; the measured figure is delivered/s. */
async function closedLoop(
  window: number,
  warmupMs: number,
  durationMs: number,
): Promise<RunResult> {
  const { result, measuring, hook } = tracker();
  let stopping = false;
  for (const pair of pairs)
    hook(pair, (p) => {
      if (stopping) return;
      const measured = measuring.on;
      if (measured) result.sent += 1;
      p.send(measured ? performance.now() : -1);
    });
  for (const pair of pairs) for (let i = 0; i < window; i += 1) pair.send(-1);
  await sleep(warmupMs);
  measuring.on = true;
  const start = performance.now();
  await sleep(durationMs);
  measuring.on = false;
  result.seconds = (performance.now() - start) / 1000;
  stopping = true;
  result.undelivered = await drain();
  return result;
}

/**
 * Open loop at `rate` messages/s over all pairs, round robin; latency counts from each message's
 * scheduled time, so a stalled server is not excused by a late send (coordinated omission).
 */
async function openLoop(rate: number, warmupMs: number, durationMs: number): Promise<RunResult> {
  const { result, measuring, hook } = tracker();
  for (const pair of pairs) hook(pair);
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let scheduled = 0;
  let next = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor(((now - start) / 1000) * rate);
    for (; scheduled < due; scheduled += 1) {
      const at = start + (scheduled / rate) * 1000;
      const measured = at >= measureFrom;
      measuring.on = now >= measureFrom;
      if (measured) result.sent += 1;
      pairs[next]!.send(measured ? at : -1);
      next = (next + 1) % pairs.length;
    }
    measuring.on = now >= measureFrom;
    await sleep(OPEN_LOOP_TICK_MS);
  }
  measuring.on = false;
  result.seconds = durationMs / 1000;
  result.undelivered = await drain();
  return result;
}

async function handle(command: LoadCommand): Promise<RunResult | undefined> {
  switch (command.cmd) {
    case 'connect': {
      runs += 1;
      pairs = command.pairs.map((spec) => new Pair(spec, `r${process.pid}.${runs}`));
      for (const pair of pairs) {
        pair.sender = await open(command.url, command.protocol, pair.spec.sender);
        pair.recipient = await open(command.url, command.protocol, pair.spec.recipient);
        pair.wire();
      }
      return undefined;
    }
    case 'closed':
      return closedLoop(command.window, command.warmupMs, command.durationMs);
    case 'open':
      return openLoop(command.rate, command.warmupMs, command.durationMs);
    case 'close':
      for (const pair of pairs) {
        pair.sender.close();
        pair.recipient.close();
      }
      pairs = [];
      return undefined;
  }
}

if (process.send) {
  process.on('message', (command: LoadCommand) => {
    handle(command).then(
      (result) => process.send!({ ok: true, ...(result ? { result } : {}) } satisfies LoadReply),
      (error: unknown) =>
        process.send!({
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies LoadReply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
