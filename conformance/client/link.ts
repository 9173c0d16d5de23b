// The suite's end of the driver protocol (conformance/CLIENT-DRIVER.md): newline-delimited JSON
// over a driver's stdout (in) and stdin (out). Every line the driver writes is validated; a bad
// line, a late or missing answer, or a driver that exits is a harness error, never a pass.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { HarnessError, HarnessTimeout } from '../runner/signals.ts';
import {
  DRIVER_PROTOCOL_VERSION,
  DriverValidator,
  type DriverEvent,
  type DriverEventName,
  type DriverEvents,
  type DriverMethod,
  type DriverMethods,
} from './protocol.ts';

/** The client said it cannot do this (`UNSUPPORTED`) or tried and failed (`FAILED`). */
export class DriverRefusal extends Error {
  override readonly name = 'DriverRefusal';
  constructor(
    readonly method: DriverMethod,
    readonly code: string,
    message: string,
  ) {
    super(`${method}: ${code}: ${message}`);
  }
}

/** Sees every line both ways, for the case transcript. */
export type LineObserver = (dir: 'sent' | 'received', message: unknown) => void;

interface Pending {
  method: DriverMethod;
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** How many stderr lines of a spawned driver are kept for the message when it dies. */
const STDERR_TAIL_LINES = 20;

/** One driver, for the whole run. */
export class DriverLink {
  private readonly validator = new DriverValidator();
  private readonly pending = new Map<number, Pending>();
  private readonly events: DriverEvent[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 0;
  private readyEvent: DriverEvents['ready'] | undefined;
  private readyWaiters: (() => void)[] = [];
  /** Why the driver can no longer be used; set when it exits or breaks the protocol's framing. */
  dead: string | undefined;
  /** Protocol faults not tied to a call (bad event lines), drained by the case that sees them. */
  readonly faults: string[] = [];
  observer: LineObserver | undefined;
  private readonly stderrTail: string[] = [];

  constructor(
    input: Readable,
    private readonly output: Writable,
    readonly label: string,
    private readonly onClose?: () => void,
  ) {
    const lines = createInterface({ input, crlfDelay: Infinity });
    lines.on('line', (line) => this.receive(line));
    lines.on('close', () => this.die('the driver closed its output'));
    output.on('error', (error) => this.die(`cannot write to the driver: ${error.message}`));
  }

  /** Keeps the tail of a spawned driver's stderr for the message when it dies. */
  noteStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }

  /** Marks the driver dead and fails every pending call. */
  die(reason: string): void {
    if (this.dead) return;
    const tail =
      this.stderrTail.length > 0 ? `; its stderr ended: ${this.stderrTail.join(' | ')}` : '';
    this.dead = `${reason}${tail}`;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new HarnessError(`the driver died during ${p.method}: ${this.dead}`));
      this.pending.delete(id);
    }
    this.wake();
    for (const w of this.readyWaiters.splice(0)) w();
  }

  private receive(line: string): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.protocolFault(`a line that is not JSON: ${line.slice(0, 120)}`);
      return;
    }
    this.observer?.('received', message);
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.protocolFault(`a line that is not a JSON object: ${line.slice(0, 120)}`);
      return;
    }
    const m = message as Record<string, unknown>;
    if ('event' in m) {
      const check = this.validator.checkEvent(m);
      if (!check.ok) return this.protocolFault(`an invalid ${check.message}`);
      const event = m as DriverEvent;
      if (event.event === 'ready') {
        this.readyEvent = event;
        for (const w of this.readyWaiters.splice(0)) w();
        return;
      }
      this.events.push(event);
      this.wake();
      return;
    }
    const check = this.validator.checkResponse(m);
    const pending = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!pending) {
      this.protocolFault(`an answer to no pending request: ${line.slice(0, 120)}`);
      return;
    }
    this.pending.delete(m.id as number);
    clearTimeout(pending.timer);
    if (!check.ok) {
      pending.reject(
        new HarnessError(`the driver answered ${pending.method} with an invalid ${check.message}`),
      );
      return;
    }
    if ('error' in m) {
      const e = m.error as { code: string; message: string };
      pending.reject(new DriverRefusal(pending.method, e.code, e.message));
      return;
    }
    const result = m.result as Record<string, unknown>;
    const valid = this.validator.checkResult(pending.method, result);
    if (!valid.ok) {
      pending.reject(new HarnessError(`the driver answered with an invalid ${valid.message}`));
      return;
    }
    pending.resolve(result);
  }

  private protocolFault(message: string): void {
    this.faults.push(`the driver wrote ${message}`);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for the driver's `ready` event; throws HarnessError when it does not come or names another protocol. */
  async ready(waitMs: number): Promise<DriverEvents['ready']> {
    if (!this.readyEvent && !this.dead) await wokenOrTimedOut(this.readyWaiters, waitMs);
    if (this.dead) throw new HarnessError(`the driver did not start: ${this.dead}`);
    if (!this.readyEvent)
      throw new HarnessTimeout(
        `the driver wrote no ready event within ${waitMs} ms${this.faults.length ? ` (${this.faults.join('; ')})` : ''}`,
      );
    if (this.readyEvent.protocol !== DRIVER_PROTOCOL_VERSION)
      throw new HarnessError(
        `the driver speaks protocol ${this.readyEvent.protocol}, the suite ${DRIVER_PROTOCOL_VERSION}`,
      );
    return this.readyEvent;
  }

  /**
   * Calls `method` and resolves its validated result. Rejects with DriverRefusal when the driver
   * answers with an error, HarnessError when it answers badly, dies, or is silent for `waitMs`.
   * A call a case started but never awaited (its body failed first) never rejects unhandled.
   */
  call<M extends DriverMethod>(
    method: M,
    params: DriverMethods[M]['params'],
    waitMs: number,
  ): Promise<DriverMethods[M]['result']> {
    if (this.dead)
      return handled(Promise.reject(new HarnessError(`the driver is gone: ${this.dead}`)));
    const id = ++this.nextId;
    const request = { id, method, params };
    return handled(
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new HarnessTimeout(`the driver did not answer ${method} within ${waitMs} ms`));
        }, waitMs);
        this.pending.set(id, {
          method,
          resolve: resolve as (value: Record<string, unknown>) => void,
          reject,
          timer,
        });
        this.observer?.('sent', request);
        this.output.write(`${JSON.stringify(request)}\n`);
      }),
    );
  }

  /**
   * Waits for (and removes) the first event matching `predicate`; undefined when none comes within
   * `waitMs`. Throws HarnessError when the driver dies first.
   */
  async nextEvent<E extends DriverEventName>(
    name: E,
    predicate: (event: { event: E } & DriverEvents[E]) => boolean,
    waitMs: number,
  ): Promise<({ event: E } & DriverEvents[E]) | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const i = this.events.findIndex(
        (e) => e.event === name && predicate(e as unknown as { event: E } & DriverEvents[E]),
      );
      if (i >= 0) return this.events.splice(i, 1)[0] as unknown as { event: E } & DriverEvents[E];
      if (this.dead) throw new HarnessError(`the driver is gone: ${this.dead}`);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Every buffered event, removed (what a case had not consumed). */
  drainEvents(): DriverEvent[] {
    return this.events.splice(0);
  }

  /** Asks the driver to end and closes the link; never throws. */
  async close(waitMs: number): Promise<void> {
    if (!this.dead) await this.call('shutdown', {}, waitMs).catch(() => undefined);
    this.output.end();
    this.die('closed by the suite');
    this.onClose?.();
  }
}

/**
 * Resolves when one of `waiters` is called (the caller pushes, the event's source calls them all)
 * or after `waitMs`, whichever comes first; the caller then looks at what happened.
 */
export async function wokenOrTimedOut(waiters: (() => void)[], waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
    waiters.push(resolve);
  });
  clearTimeout(timer);
}

/** `promise`, marked handled: awaiting it still throws, abandoning it does not crash the run. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Spawns `command` through the shell as a driver process and links to its stdio. */
export function spawnDriver(command: string, cwd = process.cwd()): DriverLink {
  const child: ChildProcess = spawn(command, {
    shell: true,
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const link = new DriverLink(child.stdout!, child.stdin!, command, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) =>
    link.noteStderr(line),
  );
  child.on('error', (error) => link.die(`cannot start the driver: ${error.message}`));
  child.on('exit', (code, signal) =>
    link.die(`the driver process exited (${signal ?? `code ${code}`})`),
  );
  return link;
}
