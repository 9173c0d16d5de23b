// The suite's end of the operator driver protocol (conformance/OPERATOR-DRIVER.md): spawns the
// `--operator-cmd` once per run, reads its `hello`, and turns it into the `Operator` hooks of a
// remote target (conformance/transport/operator.ts). A driver that dies, is silent, writes an
// invalid line or answers `ok: false` makes the hook throw a HarnessError: the case is an error.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { handled, wokenOrTimedOut } from '../client/link.ts';
import { HarnessError, HarnessTimeout } from '../runner/signals.ts';
import type { Operator } from '../transport/operator.ts';
import {
  OPERATOR_CALL_WAIT_MS,
  OPERATOR_EXIT_GRACE_MS,
  OPERATOR_HELLO_WAIT_MS,
  OPERATOR_PROTOCOL_VERSION,
  OperatorValidator,
  type OperatorHello,
  type OperatorHookName,
  type OperatorMethods,
} from './protocol.ts';

/** How many stderr lines of the driver are kept for the message when it dies. */
const STDERR_TAIL_LINES = 20;

interface Pending {
  method: OperatorHookName;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One operator driver process, for the whole run. */
export class OperatorLink {
  private readonly validator = new OperatorValidator();
  private readonly pending = new Map<number, Pending>();
  private readonly stderrTail: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private nextId = 0;
  private helloLine: OperatorHello | undefined;
  private helloWaiters: (() => void)[] = [];
  /** Why the driver can no longer be used: it exited, broke the framing, or the run ended. */
  dead: string | undefined;

  /**
   * Spawns `command` through the shell in a process group of its own: the driver typically runs
   * the provider as its child, and ending the run must end both.
   */
  constructor(
    readonly command: string,
    private readonly factor: number,
    cwd = process.cwd(),
  ) {
    const child: ChildProcess = spawn(command, {
      shell: true,
      cwd,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) =>
      this.receive(line),
    );
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    });
    child.stdin!.on('error', (error) => this.die(`cannot write to it: ${error.message}`));
    child.on('error', (error) => this.die(`cannot start it: ${error.message}`));
    child.on('exit', (code, signal) =>
      this.die(`its process exited (${signal ?? `code ${code}`})`),
    );
    process.once('SIGINT', this.onInterrupt);
    process.once('exit', this.onExit);
  }

  /** Ctrl-C ends the driver's group too (it runs in a group of its own), then interrupts as usual. */
  private readonly onInterrupt = (): void => {
    this.kill();
    process.removeListener('exit', this.onExit);
    if (process.listenerCount('SIGINT') === 0) process.kill(process.pid, 'SIGINT');
  };

  private readonly onExit = (): void => this.kill();

  /** Marks the driver unusable and fails every pending request. */
  private die(reason: string): void {
    if (this.dead) return;
    const tail =
      this.stderrTail.length > 0 ? `; its stderr ended: ${this.stderrTail.join(' | ')}` : '';
    this.dead = `${reason}${tail}`;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new HarnessError(`the operator driver failed during ${p.method}: ${this.dead}`));
      this.pending.delete(id);
    }
    for (const w of this.helloWaiters.splice(0)) w();
  }

  private receive(line: string): void {
    if (line.trim() === '' || this.dead) return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return this.die(`it wrote a line that is not JSON: ${line.slice(0, 120)}`);
    }
    if (!this.helloLine) {
      const check = this.validator.checkHello(message);
      if (!check.ok) return this.die(`it wrote an invalid ${check.message}`);
      this.helloLine = message as OperatorHello;
      for (const w of this.helloWaiters.splice(0)) w();
      return;
    }
    const check = this.validator.checkReply(message);
    if (!check.ok) return this.die(`it wrote an invalid ${check.message}`);
    const reply = message as { id: number; ok: boolean; message?: string };
    const pending = this.pending.get(reply.id);
    if (!pending) return this.die(`it answered no pending request: ${line.slice(0, 120)}`);
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve();
    else
      pending.reject(
        new HarnessError(`the operator driver could not ${pending.method}: ${reply.message}`),
      );
  }

  /**
   * Waits for the driver's `hello` (OPERATOR_HELLO_WAIT_MS, scaled); throws HarnessError when it
   * does not come, is invalid, or names another protocol version.
   */
  async hello(): Promise<OperatorHello> {
    const waitMs = OPERATOR_HELLO_WAIT_MS * this.factor;
    if (!this.helloLine && !this.dead) await wokenOrTimedOut(this.helloWaiters, waitMs);
    if (!this.helloLine && this.dead)
      throw new HarnessError(`the operator driver did not say hello: ${this.dead}`);
    if (!this.helloLine)
      throw new HarnessTimeout(`the operator driver wrote no hello within ${waitMs} ms`);
    if (this.helloLine.protocol !== OPERATOR_PROTOCOL_VERSION)
      throw new HarnessError(
        `the operator driver speaks protocol ${this.helloLine.protocol}, the suite ${OPERATOR_PROTOCOL_VERSION}`,
      );
    return this.helloLine;
  }

  /**
   * Sends `method` and resolves once the driver answers `ok: true`. Rejects with HarnessError when
   * it answers `ok: false`, answers badly, dies, or is silent for OPERATOR_CALL_WAIT_MS (scaled).
   */
  call<M extends OperatorHookName>(method: M, params: OperatorMethods[M]): Promise<void> {
    if (this.dead)
      return handled(Promise.reject(new HarnessError(`the operator driver is gone: ${this.dead}`)));
    const id = ++this.nextId;
    const waitMs = OPERATOR_CALL_WAIT_MS * this.factor;
    return handled(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(
            new HarnessTimeout(`the operator driver did not answer ${method} within ${waitMs} ms`),
          );
        }, waitMs);
        this.pending.set(id, { method, resolve, reject, timer });
        this.child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
      }),
    );
  }

  /** The hooks the driver offered in its `hello`, for registerOperator. */
  operator(hello: OperatorHello): Operator {
    const offers = (hook: OperatorHookName): boolean => hello.hooks.includes(hook);
    return {
      ...(offers('restart') ? { restart: () => this.call('restart', {}) } : {}),
      ...(offers('setClockAhead')
        ? { setClockAhead: (ms: number) => this.call('setClockAhead', { ms: Math.round(ms) }) }
        : {}),
      ...(offers('setPeerBounds')
        ? { setPeerBounds: (bounds) => this.call('setPeerBounds', { bounds: bounds ?? null }) }
        : {}),
      ...(hello.clockAheadRestarts ? { clockAheadRestarts: true } : {}),
      ...(hello.attachmentQuotaBytes !== undefined
        ? { attachmentQuotaBytes: hello.attachmentQuotaBytes }
        : {}),
      ...(hello.firstPartyAttachmentLimits
        ? { firstPartyAttachmentLimits: hello.firstPartyAttachmentLimits }
        : {}),
      ...(hello.proxyMaxConnections !== undefined
        ? { proxyMaxConnections: hello.proxyMaxConnections }
        : {}),
    };
  }

  /**
   * Signals the driver's whole process group (its provider included) at once, as on SIGINT or
   * when the suite's process exits; never throws.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // the group is gone
    }
  }

  /**
   * Ends the run's driver: closes its stdin, so it stops its provider and exits, and kills what is
   * left of its process group after OPERATOR_EXIT_GRACE_MS (scaled). Never throws.
   */
  async close(): Promise<void> {
    process.removeListener('SIGINT', this.onInterrupt);
    process.removeListener('exit', this.onExit);
    this.die('the run ended');
    this.child.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, OPERATOR_EXIT_GRACE_MS * this.factor);
      }),
    ]);
    clearTimeout(timer);
    this.kill('SIGKILL');
  }
}
