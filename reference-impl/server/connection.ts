/**
 * One client connection: the session state machine (opened → greeted → authenticated) and the
 * order of checks for every incoming frame (spec/framing.md PROTO-002..005, 020..034, PROTO-030).
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { FRAME_TYPES, type ClientFrameType } from '../../schemas/frame-types.ts';
import { SCHEMA_LIMITS } from '../../schemas/limits.ts';
import type {
  Challenge,
  ConnectionHandle,
  ProviderContext,
  ReplyBody,
  Session,
  SessionState,
} from './context.ts';
import { dispatch } from './dispatch.ts';
import { closeCodeOf, errorFrame, ProviderError } from './errors.ts';
import { FrameBudget } from './frame-budget.ts';
import { scanStructure } from './frame-scan.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Close code for a peer whose unsent backlog passed `limits.peers.maxSendBufferBytes` (PROTO-045). */
export const SLOW_PEER_CLOSE_CODE = 1008;
/** How long a dropped slow peer gets to read its close frame before its socket is destroyed. */
const SLOW_PEER_GRACE_MS = 2000;
/** How often a congested connection's buffer is looked at; ws has no public drain event. */
const DRAIN_POLL_MS = 50;
const PROTOCOL_VERSIONS: readonly unknown[] = [1];

/** Frames allowed before `auth.ok` besides `hello` (PROTO-026). */
const BEFORE_AUTH = new Set(['auth', 'account.register', 'ping']);

/**
 * Most requests of one connection whose durable writes may be waiting for the disk at once; the
 * next frame then waits for the oldest to finish. Bounds what one client holds in the provider.
 */
export const MAX_PIPELINED_WRITES = 32;

/** Longest echo of a client's value in a message or log line. */
const ECHO_CHARS = 100;

/**
 * A short, safe rendering of a client's value for a message or log line: JSON.stringify of a value
 * nested a hundred thousand deep overflows the stack, and a 4 MiB string has no place in a log.
 */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > ECHO_CHARS ? `${value.slice(0, ECHO_CHARS)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/**
 * Sets the largest message `ws` accepts from its peer from now on (PROTO-005, PROTO-047): ws checks
 * each frame header against its receiver's bound before buffering the payload, so a peer that
 * announces more is refused after a few bytes. ws has no public setter per connection; the shape
 * is checked so that a change of ws fails loudly instead of silently lifting the bound.
 */
export function setFrameLimit(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver === undefined || typeof receiver._maxPayload !== 'number')
    throw new Error('ws changed: its receiver has no _maxPayload to bound frames per connection');
  receiver._maxPayload = bytes;
}

function isClientType(type: unknown): type is ClientFrameType {
  return (
    typeof type === 'string' &&
    Object.hasOwn(FRAME_TYPES, type) &&
    FRAME_TYPES[type as keyof typeof FRAME_TYPES].direction === 'client'
  );
}

export class Connection implements ConnectionHandle {
  readonly id = randomUUID();
  private current: SessionState = 'opened';
  challenge: Challenge | undefined;
  session: Session | undefined;
  /**
   * Frames are handled one at a time so that a connection's sends keep their order (DELIV-026); a
   * frame whose write has its place in the group commit lets the next one start (`release`).
   */
  private queue: Promise<void> = Promise.resolve();
  /** Starts the next frame; set while a frame is being handled. */
  private next: (() => void) | undefined;
  /** Requests released early whose handling has not finished. */
  private pipelined = 0;
  /** Polls a congested connection's buffer until it drains or stalls too long (PROTO-045). */
  private drainWatch: NodeJS.Timeout | undefined;

  /** When the last frame arrived (`Date.now()`), for the idle close (`limits.peers.idleCloseMs`). */
  lastFrameAt = Date.now();
  /** Whether the socket is corked until the end of the current tick (`coalesce`). */
  private corked = false;
  /** Bytes and main-thread time this peer may cost (PROTO-049). */
  private readonly budget: FrameBudget;
  /** Resumes reading once the budget refilled; set while the peer is not read from. */
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Ends a partner session when its token expires (AUTH-038); cleared on close. */
  private expiryTimer: NodeJS.Timeout | undefined;

  /** `socket` is the upgraded socket under `ws`: frames sent in one tick share one write to it. */
  /** When the connection opened, for the authentication window (`limits.advertised.authWindowSeconds`, AUTH-031). */
  readonly openedAt = Date.now();

  constructor(
    private readonly ctx: ProviderContext,
    private readonly ws: WebSocket,
    private readonly socket?: Writable,
    readonly peerAddress?: string,
    /** The partner platform whose enlisted proxy this connection came through (spec/proxy.md). */
    readonly proxy?: string,
    /** The user that proxy logged the client in as, its token's `sub` (PROXY-007). */
    readonly proxyUser?: unknown,
  ) {
    this.budget = new FrameBudget(ctx.limits.peers);
    // PROTO-047: until auth.ok, the small frame limit (the fault keeps the full one).
    if (!ctx.faults.has('full-frame-limit-before-auth'))
      setFrameLimit(ws, ctx.limits.advertised.maxUnauthenticatedFrameBytes);
  }

  get state(): SessionState {
    return this.current;
  }

  /** Authentication lifts the frame limit to `maxFrameBytes` (PROTO-047) and the read budget (PROTO-049). */
  set state(next: SessionState) {
    if (next === 'authenticated' && this.current !== 'authenticated' && this.current !== 'closed') {
      setFrameLimit(this.ws, this.ctx.limits.advertised.maxFrameBytes);
      this.budget.authenticated();
    }
    this.current = next;
  }

  /**
   * Stops reading from the peer for `ms` (PROTO-049): its frames wait in its own TCP buffers, and
   * a flood from it no longer takes the main thread from other connections.
   */
  private throttle(ms: number): void {
    if (ms <= 0 || this.state === 'closed' || this.resumeTimer !== undefined) return;
    this.ws.pause();
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      if (this.state !== 'closed') this.ws.resume();
    }, ms);
    this.resumeTimer.unref();
  }

  send(frame: Record<string, unknown>): void {
    if (this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return;
    const text = JSON.stringify(frame);
    // PROTO-045: a peer that does not read may not grow the provider's memory. Deliveries are
    // deleted only on message.ack, so whatever is dropped here is pushed again on its next
    // connection. (text.length counts UTF-16 units: a lower bound of the bytes, close enough.)
    if (
      this.ws.bufferedAmount + text.length > this.ctx.limits.peers.maxSendBufferBytes &&
      !this.ctx.faults.has('no-send-buffer-bound')
    ) {
      this.dropSlowPeer();
      return;
    }
    this.coalesce();
    this.ws.send(text);
    this.congested();
  }

  /**
   * Holds the socket's writes until the current tick ends, so that the replies and pushes one
   * group commit releases for this connection leave in one system call instead of one each.
   */
  private coalesce(): void {
    if (this.corked || this.socket === undefined) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket!.uncork();
    });
  }

  /** Whether pushes should wait for the client to read (PROTO-045); watches the drain if so. */
  congested(): boolean {
    const over = this.ws.bufferedAmount > this.ctx.limits.peers.maxSendBufferBytes / 2;
    if (over && this.drainWatch === undefined && this.state !== 'closed') {
      const since = Date.now();
      this.drainWatch = setInterval(() => {
        if (this.state === 'closed') return this.stopDrainWatch();
        if (this.ws.bufferedAmount <= this.ctx.limits.peers.maxSendBufferBytes / 4) {
          this.stopDrainWatch();
          this.flush();
        } else if (Date.now() - since > this.ctx.limits.peers.maxSendStallMs) {
          this.stopDrainWatch();
          this.dropSlowPeer();
        }
      }, DRAIN_POLL_MS);
      this.drainWatch.unref();
    }
    return over;
  }

  private stopDrainWatch(): void {
    clearInterval(this.drainWatch);
    this.drainWatch = undefined;
  }

  /** Closes a connection whose unsent backlog passed the limit, and frees it soon after. */
  private dropSlowPeer(): void {
    if (this.ctx.faults.has('no-send-buffer-bound')) return;
    this.ctx.logger.log('warn', 'connection.slow', {
      connection: this.id,
      bufferedBytes: this.ws.bufferedAmount,
    });
    this.close(SLOW_PEER_CLOSE_CODE, 'the client does not read the frames sent to it');
    // The close frame waits behind the backlog; a peer that reads again sees it, one that does
    // not is cut off so that its backlog is freed.
    setTimeout(() => this.ws.terminate(), SLOW_PEER_GRACE_MS).unref();
  }

  flush(): void {
    this.ctx.delivery.flush(this);
  }

  /** Sends the error of a non-surviving code and closes with its close code (PROTO-039). */
  fail(
    code:
      'AUTH_FAILED' | 'DEVICE_REMOVED' | 'SESSION_EXPIRED' | 'UNAVAILABLE' | 'UNSUPPORTED_VERSION',
    message: string,
    re?: string,
  ): void {
    if (this.state === 'closed') return;
    this.send(
      errorFrame(new ProviderError(code, message), re) as unknown as Record<string, unknown>,
    );
    this.close(closeCodeOf(code)!, message);
  }

  expireSessionAfter(afterMs: number): void {
    clearTimeout(this.expiryTimer);
    // setTimeout fires at once for more than 2^31-1 ms; a token lives at most an hour (AUTH-016).
    this.expiryTimer = setTimeout(
      () => this.fail('SESSION_EXPIRED', 'the partner token of this session expired'),
      Math.min(Math.max(0, afterMs), 2 ** 31 - 1),
    );
    this.expiryTimer.unref();
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.expiryTimer);
    this.stopDrainWatch();
    if (this.resumeTimer !== undefined) {
      // The closing handshake needs the peer's close frame read; what precedes it is dropped.
      clearTimeout(this.resumeTimer);
      this.resumeTimer = undefined;
      this.ws.resume();
    }
    this.ctx.delivery.detach(this);
    this.ws.close(code, reason.slice(0, 120));
  }

  /** The transport calls this for every WebSocket message. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    this.lastFrameAt = Date.now();
    const bytes = Array.isArray(data)
      ? data.reduce((n, b) => n + b.length, 0)
      : Buffer.isBuffer(data)
        ? data.length
        : data.byteLength;
    this.throttle(this.budget.chargeBytes(bytes));
    this.queue = this.queue.then(
      () =>
        new Promise<void>((next) => {
          let released = false;
          this.next = () => {
            released = true;
            this.pipelined += 1;
            next();
          };
          // A failure here must never reject the chain: an unhandled rejection ends the process.
          this.handle(data, isBinary)
            .catch((error: unknown) => {
              this.ctx.logger.log('error', 'connection.failed', {
                connection: this.id,
                error:
                  error instanceof Error
                    ? (error.stack ?? error.message)
                    : 'a non-Error was thrown',
              });
              this.close(1011, 'internal error');
            })
            .finally(() => {
              if (released) this.pipelined -= 1;
              else next();
            });
        }),
    );
  }

  /**
   * Called by a handler once its durable write is queued for the group commit, whose order keeps
   * the connection's order (DELIV-026): the next frame may start while this one waits for the
   * disk. Its reply may then follow a later frame's, which PROTO-012 allows.
   */
  release(): void {
    const next = this.next;
    if (next === undefined || this.pipelined >= MAX_PIPELINED_WRITES) return;
    this.next = undefined;
    next();
  }

  private reject(error: ProviderError, re: string | undefined): void {
    const close = closeCodeOf(error.code);
    this.send(errorFrame(error, re) as unknown as Record<string, unknown>);
    if (close !== undefined) this.close(close, error.message);
  }

  private async handle(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Promise<void> {
    if (this.state === 'closed') return;
    const started = performance.now();
    let charged = false;
    /** Charges the time spent reading the frame to the peer's budget, once (PROTO-049). */
    const charge = (): void => {
      if (charged) return;
      charged = true;
      this.throttle(this.budget.chargeTime(performance.now() - started));
    };
    try {
      const parsed = this.read(data, isBinary);
      if (parsed === undefined) return;
      await this.answer(parsed, charge);
    } finally {
      charge();
    }
  }

  /**
   * PROTO-030's first checks: binary, size (ws maxPayload, see setFrameLimit), structure
   * (PROTO-048), JSON. Answers a frame that fails one and returns undefined; else the object.
   */
  private read(
    data: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
  ): Record<string, unknown> | undefined {
    if (isBinary) {
      this.reject(
        new ProviderError('BINARY_NOT_SUPPORTED', 'binary frames are not supported'),
        undefined,
      );
      return undefined;
    }
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data); // an ArrayBuffer: a view, not a copy
    // PROTO-048: a parser bomb is refused before JSON.parse sees it.
    const fault = this.ctx.faults.has('parse-before-scan')
      ? undefined
      : scanStructure(bytes, SCHEMA_LIMITS.maxFrameDepth, SCHEMA_LIMITS.maxFrameElements);
    if (fault !== undefined) {
      this.reject(
        new ProviderError(
          'FRAME_TOO_COMPLEX',
          fault === 'depth'
            ? `the frame nests deeper than ${SCHEMA_LIMITS.maxFrameDepth} levels (maxFrameDepth)`
            : `the frame holds more than ${SCHEMA_LIMITS.maxFrameElements} array elements and object members (maxFrameElements)`,
        ),
        undefined,
      );
      return undefined;
    }
    const text = bytes.toString('utf8');
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = undefined;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.reject(new ProviderError('BAD_JSON', 'a frame must be one JSON object'), undefined);
      return undefined;
    }
    return frame as Record<string, unknown>;
  }

  /** Checks the rest of the envelope, dispatches, and sends the reply or error. */
  private async answer(f: Record<string, unknown>, charge: () => void): Promise<void> {
    const re = typeof f.id === 'string' && REQUEST_ID.test(f.id) ? f.id : undefined;
    try {
      const reply = await this.check(f, charge);
      if (reply) {
        this.send({ v: 1, ...reply.reply, ...(re !== undefined ? { re } : {}) });
        reply.after?.();
      }
    } catch (error) {
      if (error instanceof ProviderError) {
        this.reject(error, re);
      } else {
        this.ctx.logger.log('error', 'handler.failed', {
          connection: this.id,
          type: describe(f.type),
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        this.reject(new ProviderError('INTERNAL', 'the provider failed to handle the request'), re);
      }
    }
  }

  private async check(
    f: Record<string, unknown>,
    charge: () => void,
  ): Promise<{ reply: ReplyBody; after?: () => void } | undefined> {
    // PROTO-030 checks `v` before `type` and session state; a missing `v` is PROTO-044's fault.
    const skipMissingV = this.ctx.faults.has('type-before-v');
    if (!('v' in f) && !skipMissingV)
      throw new ProviderError('SCHEMA_VIOLATION', 'the frame lacks v', { pointer: '/v' });
    if ('v' in f && !PROTOCOL_VERSIONS.includes(f.v))
      throw new ProviderError('UNSUPPORTED_VERSION', `version ${describe(f.v)} is not spoken here`);
    if (!isClientType(f.type))
      throw new ProviderError('UNKNOWN_TYPE', `unknown frame type ${describe(f.type)}`, {
        pointer: '/type',
      });
    const type = f.type;
    if (this.state === 'opened' && type !== 'hello')
      throw new ProviderError('OUT_OF_ORDER', 'the first frame must be hello');
    if (this.state !== 'opened' && type === 'hello')
      throw new ProviderError('OUT_OF_ORDER', 'hello was already answered');
    if (this.state === 'authenticated' && type === 'auth')
      throw new ProviderError('OUT_OF_ORDER', 'the session is already authenticated');
    if (this.state === 'greeted' && !BEFORE_AUTH.has(type))
      throw new ProviderError('NOT_AUTHENTICATED', `${type} needs an authenticated session`);
    const valid = this.ctx.validator.validate(f);
    if (!valid.ok)
      throw new ProviderError('SCHEMA_VIOLATION', valid.message.slice(0, 1024), {
        pointer: valid.pointer,
      });
    // The frame is read: what it costs from here is its handler's, bounded by its own limits.
    charge();
    return dispatch(this.ctx, this, type, f);
  }
}
