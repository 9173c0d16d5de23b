// One WebSocket to a provider: JSON text frames, replies matched by `re`, every provider frame
// schema-checked, keep-alive pings (spec/framing.md PROTO-002, -012, -024, -029).
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { FRAME_TYPES, ClientFrameType, FrameOfType } from '../../schemas/frame-types.ts';
import type {
  ErrorFrame,
  GroupChangedFrame,
  GroupInvitedFrame,
  KeysLowFrame,
  MessageFrame,
  QueueEmptyFrame,
} from '../../schemas/frames/index.ts';
import { errorFromFrame, isErrorCode, ParleyError } from './errors.ts';
import { validator } from './validation.ts';

/** Send a `ping` after this long without sending any frame (PROTO-029). */
export const KEEPALIVE_IDLE_MS = 30_000;
/** How often the idle time is looked at: the ping leaves at most this late. */
const KEEPALIVE_CHECK_MS = 1_000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A client request without its envelope: the connection adds `v` and `id`. */
export type RequestBody<T extends ClientFrameType> = DistributiveOmit<FrameOfType<T>, 'v' | 'id'>;

/** The successful reply to a request of type T. */
export type ReplyTo<T extends ClientFrameType> = FrameOfType<
  Exclude<(typeof FRAME_TYPES)[T]['replies'][number], 'error'>
>;

/** A provider push. */
export type PushFrame =
  MessageFrame | KeysLowFrame | QueueEmptyFrame | GroupChangedFrame | GroupInvitedFrame;

interface Pending {
  resolve(frame: unknown): void;
  reject(error: ParleyError): void;
  timer: NodeJS.Timeout;
}

/** Events: 'push' (PushFrame), 'error' (ParleyError not tied to a request), 'close' (code, reason). */
export interface ConnectionEvents {
  push: [PushFrame];
  problem: [ParleyError];
  close: [number, string];
}

/** Options of one connection. */
export interface ConnectionOptions {
  /** How long a request waits for its reply. */
  requestTimeoutMs: number;
  /** The largest frame the provider accepts, once `welcome` said so (PROTO-024). */
  maxFrameBytes?: number;
  /** Headers of the upgrade: a platform's login for its proxy (spec/proxy.md). */
  headers?: Record<string, string>;
}

/** A live connection; construct with `Connection.open`. */
export class Connection extends EventEmitter<ConnectionEvents> {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private lastSent = Date.now();
  private readonly keepalive: NodeJS.Timeout;
  private closed = false;
  maxFrameBytes: number | undefined;

  private constructor(
    private readonly socket: WebSocket,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.maxFrameBytes = options.maxFrameBytes;
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', (code, reason) => this.onClose(code, reason.toString()));
    socket.on('error', () => {
      // 'close' follows and rejects every pending request.
    });
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastSent >= KEEPALIVE_IDLE_MS) {
        this.request('ping', { type: 'ping' }).catch(() => undefined);
      }
    }, KEEPALIVE_CHECK_MS);
    this.keepalive.unref();
  }

  /** Opens a WebSocket to `url`. Throws ParleyError UNAVAILABLE when it cannot connect. */
  static open(url: string, options: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        handshakeTimeout: options.requestTimeoutMs,
        ...(options.headers ? { headers: options.headers } : {}),
      });
      const fail = (error: Error): void =>
        reject(
          new ParleyError('UNAVAILABLE', `cannot connect to ${url}: ${error.message}`, {
            cause: error,
          }),
        );
      socket.once('error', fail);
      socket.once('unexpected-response', (_req, res) =>
        fail(new Error(`HTTP ${res.statusCode ?? '?'} instead of a WebSocket upgrade`)),
      );
      socket.once('open', () => {
        socket.off('error', fail);
        resolve(new Connection(socket, options));
      });
    });
  }

  /** Whether the socket is still open. */
  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request and resolves with its reply, matched by `re` (PROTO-012). Rejects with the
   * provider's error as ParleyError, with UNAVAILABLE when the connection closes first or the reply
   * does not come within the timeout, and with FRAME_TOO_LARGE before sending an oversized frame.
   */
  request<T extends ClientFrameType>(type: T, body: RequestBody<T>): Promise<ReplyTo<T>> {
    if (!this.isOpen) {
      return Promise.reject(new ParleyError('UNAVAILABLE', 'the connection is closed'));
    }
    const id = `c${this.nextId++}`;
    const text = JSON.stringify({ v: 1, id, ...body, type });
    if (this.maxFrameBytes !== undefined && Buffer.byteLength(text) > this.maxFrameBytes) {
      return Promise.reject(
        new ParleyError(
          'FRAME_TOO_LARGE',
          `a ${type} frame would exceed maxFrameBytes (${this.maxFrameBytes})`,
        ),
      );
    }
    return new Promise<ReplyTo<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new ParleyError(
            'UNAVAILABLE',
            `no reply to ${type} within ${this.options.requestTimeoutMs} ms`,
          ),
        );
      }, this.options.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (f: unknown) => void, reject, timer });
      this.lastSent = Date.now();
      this.socket.send(text, (error) => {
        if (error) this.settle(id, new ParleyError('UNAVAILABLE', `send failed: ${error.message}`));
      });
    });
  }

  /** Resolves once the socket has closed (or after `timeoutMs`). */
  whenClosed(timeoutMs = 1000): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes the socket (1000) and rejects every pending request with UNAVAILABLE. */
  close(code = 1000, reason = 'client closing'): void {
    if (
      this.socket.readyState === WebSocket.OPEN ||
      this.socket.readyState === WebSocket.CONNECTING
    ) {
      this.socket.close(code, reason);
    }
    this.onClose(code, reason);
  }

  /** Drops the TCP connection without a close handshake (tests and fault handling). */
  terminate(): void {
    this.socket.terminate();
  }

  private settle(id: string, outcome: ParleyError | { frame: unknown }): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof ParleyError) entry.reject(outcome);
    else entry.resolve(outcome.frame);
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.emit(
        'problem',
        new ParleyError('BINARY_NOT_SUPPORTED', 'the provider sent a binary frame'),
      );
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      this.emit(
        'problem',
        new ParleyError('BAD_JSON', 'the provider sent a frame that is not JSON'),
      );
      return;
    }
    const f = (typeof frame === 'object' && frame !== null ? frame : {}) as Record<string, unknown>;
    const re = typeof f.re === 'string' ? f.re : undefined;
    if (f.type === 'error' && !isErrorCode(f.code)) {
      // PROTO-043: a code this version does not know fails the schema but is handled as INTERNAL.
      const error = errorFromFrame(f);
      if (re !== undefined && this.pending.has(re)) this.settle(re, error);
      else this.emit('problem', error);
      return;
    }
    const check = validator().validate(frame);
    if (!check.ok) {
      const error = new ParleyError(
        'SCHEMA_VIOLATION',
        `the provider sent a frame that violates its schema: ${check.message}`,
        { pointer: check.pointer, details: { frameType: f.type, schema: check.schema } },
      );
      if (re !== undefined && this.pending.has(re)) this.settle(re, error);
      else this.emit('problem', error);
      return;
    }
    if (f.type === 'error') {
      const error = errorFromFrame(frame as ErrorFrame);
      if (re !== undefined && this.pending.has(re)) this.settle(re, error);
      else this.emit('problem', error);
      return;
    }
    if (re !== undefined) {
      if (this.pending.has(re)) this.settle(re, { frame });
      return;
    }
    this.emit('push', frame as PushFrame);
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    for (const id of [...this.pending.keys()]) {
      this.settle(
        id,
        new ParleyError('UNAVAILABLE', `the connection closed (${code}) before the reply`),
      );
    }
    this.emit('close', code, reason);
  }
}
