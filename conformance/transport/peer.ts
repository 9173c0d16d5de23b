// A Peer: one WebSocket connection to the target as the suite sees it (spec/framing.md). It sends
// frames, matches replies by `re`, waits for pushes with timeouts, records the transcript and
// validates every frame the target sends against its schema, recording faults for the runner.
import WebSocket from 'ws';
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import { show } from '../assert/match.ts';
import { HarnessError, TargetSilence } from '../runner/signals.ts';
import type { Transcript } from './transcript.ts';

/** A frame the target sent that fails its schema, or is not a JSON object. */
export interface SchemaFault {
  peer: string;
  type: string;
  pointer: string;
  message: string;
  /** The requirement the frame breaks when it is not its schema's (PROTO-051: a stray `re`). */
  requirement?: string;
}

/** What every peer of a case shares. */
/** What a peer may add to its upgrade: headers (a proxy's `Parley-Proxy`) and its source address. */
export interface UpgradeOptions {
  headers?: Record<string, string>;
  localAddress?: string;
}

export interface PeerEnv {
  url: string;
  transcript: Transcript;
  validator: FrameValidator;
  faults: SchemaFault[];
  /** The default wait for a reply or push, already multiplied by the timeout factor. */
  waitMs: number;
  /** Every peer opened for the case, closed by the runner when the case ends. */
  peers: Set<Peer>;
}

/** One connection to the target. */
export class Peer {
  private readonly inbox: Frame[] = [];
  /** The order in which frames arrived on this connection (1, 2, …), by frame. */
  private readonly arrivals = new WeakMap<Frame, number>();
  private received = 0;
  /** The ids of every request sent on this connection: a reply's `re` must be one (PROTO-051). */
  private readonly sentIds = new Set<string>();
  private waiters: (() => void)[] = [];
  private nextId = 0;
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(
    readonly label: string,
    readonly ws: WebSocket,
    readonly env: PeerEnv,
  ) {
    ws.on('message', (data, isBinary) => this.receive(String(data), isBinary));
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        env.transcript.record(label, 'event', `closed with code ${code}`);
        this.wake();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
  }

  /** Opens a connection; throws HarnessError (unreachable) when the target refuses it. */
  static async open(label: string, env: PeerEnv, upgrade: UpgradeOptions = {}): Promise<Peer> {
    const ws = new WebSocket(env.url, { maxPayload: 64 * 1024 * 1024, ...upgrade });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('connect timed out')), env.waitMs);
        ws.once('open', () => (clearTimeout(timer), resolve()));
        ws.once('error', (e) => (clearTimeout(timer), reject(e)));
      });
    } catch (cause) {
      ws.terminate();
      throw new HarnessError(`cannot connect to ${env.url}: ${(cause as Error).message}`, {
        unreachable: true,
        cause,
      });
    }
    const peer = new Peer(label, ws, env);
    env.peers.add(peer);
    env.transcript.record(label, 'event', 'connected');
    return peer;
  }

  private receive(text: string, isBinary: boolean): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = undefined;
    }
    if (isBinary || typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.env.transcript.record(this.label, 'received', text);
      this.env.faults.push({
        peer: this.label,
        type: '?',
        pointer: '',
        message: isBinary ? 'a binary frame' : `not a JSON object: ${show(text, 100)}`,
      });
      return;
    }
    const f = frame as Frame;
    this.env.transcript.record(this.label, 'received', f);
    const valid = this.env.validator.validate(f);
    if (!valid.ok)
      this.env.faults.push({
        peer: this.label,
        type: String(f.type),
        pointer: valid.pointer,
        message: valid.message,
      });
    this.arrivals.set(f, ++this.received);
    if (f.re !== undefined && !(typeof f.re === 'string' && this.sentIds.has(f.re)))
      this.env.faults.push({
        peer: this.label,
        type: String(f.type),
        pointer: '/re',
        message: `re ${show(f.re, 80)} names no request sent on this connection`,
        requirement: 'PROTO-051',
      });
    this.inbox.push(f);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** A fresh request id, deterministic per peer. */
  newId(): string {
    return `${this.label}.${++this.nextId}`;
  }

  /** Sends a frame as JSON text. */
  send(frame: Frame): void {
    if (typeof frame.id === 'string') this.sentIds.add(frame.id);
    this.env.transcript.record(this.label, 'sent', frame);
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends raw text or bytes (hostile wire cases); `note` replaces the bytes in the transcript. */
  raw(data: string | Buffer, note?: string): void {
    if (typeof data === 'string') this.noteRawId(data);
    this.env.transcript.record(
      this.label,
      'sent',
      note ?? (typeof data === 'string' ? data : `binary ${data.length} bytes`),
    );
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  /** Remembers the `id` of raw JSON text sent, so that the reply to it is no stray `re`. */
  private noteRawId(text: string): void {
    try {
      const parsed = JSON.parse(text) as unknown;
      const id = (parsed as Frame | null)?.id;
      if (typeof id === 'string') this.sentIds.add(id);
    } catch {
      // not JSON: the provider answers it without re
    }
  }

  /**
   * Sends a request `{v:1, type, id, ...body}` and resolves the frame whose `re` is its id. A reply
   * that never comes is the target's failure on PROTO-010 (every request is answered).
   */
  async request(type: string, body: Frame = {}, waitMs?: number): Promise<Frame> {
    const id = this.newId();
    this.send({ v: 1, type, id, ...body });
    return this.next((f) => f.re === id, waitMs, `a reply to ${type} ${id}`, 'PROTO-010');
  }

  /**
   * Waits for (and removes) the first received frame matching `predicate`. When none arrives
   * within `waitMs`, or the connection closes first, throws TargetSilence: a FAIL on
   * `requirement`, the requirement that promised the frame (else the case's first requirement).
   */
  async next(
    predicate: (f: Frame) => boolean,
    waitMs?: number,
    what = 'a frame',
    requirement?: string,
  ): Promise<Frame> {
    const deadline = Date.now() + (waitMs ?? this.env.waitMs);
    for (;;) {
      const i = this.inbox.findIndex(predicate);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (this.closeCode !== undefined)
        throw new TargetSilence(
          requirement,
          `${what} on ${this.label}'s connection`,
          waitMs ?? this.env.waitMs,
          `the target closed the connection (${this.closeCode}) first`,
        );
      if (left <= 0)
        throw new TargetSilence(
          requirement,
          `${what} on ${this.label}'s connection`,
          waitMs ?? this.env.waitMs,
          'nothing arrived',
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** When `frame` arrived on this connection: 1 for the first frame, 2 for the next, … */
  arrivalOf(frame: Frame): number {
    return this.arrivals.get(frame) ?? 0;
  }

  /** The first received frame matching `predicate`, without waiting or removing it. */
  peek(predicate: (f: Frame) => boolean): Frame | undefined {
    return this.inbox.find(predicate);
  }

  /** Resolves the close code, or undefined when the connection is still open after `waitMs`. */
  async closedWithin(waitMs?: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs ?? this.env.waitMs);
    });
    const code = await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
    return code;
  }

  /** Whether the connection is still open: a ping is answered by pong. */
  async alive(): Promise<boolean> {
    if (this.closeCode !== undefined) return false;
    try {
      return (await this.request('ping')).type === 'pong';
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close();
    this.env.peers.delete(this);
  }
}
