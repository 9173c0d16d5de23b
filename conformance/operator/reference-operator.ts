// The reference operator driver (conformance/OPERATOR-DRIVER.md) for the reference provider: runs
// `parley serve` as its child on a fixed port and database, and implements every operator hook by
// restarting that child (same store, same URL) with new settings. Runnable as
//   node --import tsx conformance/operator/reference-operator.ts --port P --db FILE \
//     --registration-token T --enlist partner.pub.json
// and given to `parley conform --target ws://127.0.0.1:P/parley/v1 --operator-cmd "…"`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packagePath } from '../../schemas/package-root.ts';
import { DEFAULT_LIMITS } from '../../reference-impl/server/index.ts';
import type { ServeConfig } from '../cli/serve.ts';
import { limitsWithBounds } from '../transport/embedded.ts';
import type { PeerBounds } from '../transport/operator.ts';
import {
  OPERATOR_HOOKS,
  OPERATOR_PROTOCOL_VERSION,
  OperatorValidator,
  type OperatorHello,
  type OperatorReply,
  type OperatorRequest,
} from './protocol.ts';

const BIN = packagePath('bin', 'parley.js');

/**
 * How often the child sweeps expired queue entries and blobs: short, so that after a clock move
 * the sweeps the suite expects have run by the time the hook answers (as the embedded target's).
 */
export const REFERENCE_OPERATOR_SWEEP_INTERVAL_MS = 50;

/** Sweeps awaited after a clock move before answering, so one full sweep ran at the new time. */
const SWEEPS_AFTER_CLOCK_MOVE = 3;

/** How long the child may take to listen, or to stop after SIGTERM, before it is given up on. */
const CHILD_WAIT_MS = 30_000;

/** The lines of the child's stderr kept for the message when it fails to start. */
const CHILD_STDERR_TAIL_LINES = 10;

/** The version of this package, which the driver states in its hello. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Whether a line of `parley serve`'s JSON log says it accepts connections. */
function isListening(line: string): boolean {
  try {
    return (JSON.parse(line) as { event?: unknown }).event === 'listening';
  } catch {
    return false;
  }
}

/** What the driver passes on to `parley serve`. */
export interface ServeArgs {
  port: number;
  host?: string;
  db: string;
  domain?: string;
  registrationTokens: string[];
  enlist: string[];
}

/** The `parley serve` child and the settings it runs with; each hook restarts it. */
class ServedProvider {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-operator-'));
  clockAheadMs = 0;
  peers: Partial<PeerBounds> | undefined;

  constructor(
    private readonly args: ServeArgs,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts `parley serve` with the current settings; resolves once it listens. */
  async start(): Promise<void> {
    const config: ServeConfig = {
      limits: limitsWithBounds(
        { sweepIntervalMs: REFERENCE_OPERATOR_SWEEP_INTERVAL_MS },
        this.peers ?? {},
      ),
      clockAheadMs: this.clockAheadMs,
    };
    const configFile = join(this.dir, 'serve.json');
    writeFileSync(configFile, JSON.stringify(config));
    const a = this.args;
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--port',
        String(a.port),
        '--db',
        a.db,
        '--config',
        configFile,
        ...(a.host ? ['--host', a.host] : []),
        ...(a.domain ? ['--domain', a.domain] : []),
        ...a.registrationTokens.flatMap((t) => ['--registration-token', t]),
        ...a.enlist.flatMap((f) => ['--enlist', f]),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    const tail: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`parley serve did not listen within ${CHILD_WAIT_MS} ms`)),
        CHILD_WAIT_MS,
      );
      createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
        this.log(line);
        tail.push(line);
        if (tail.length > CHILD_STDERR_TAIL_LINES) tail.shift();
        if (isListening(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `parley serve exited before listening (${signal ?? `code ${code}`}): ${tail.join(' | ')}`,
          ),
        );
      });
    });
  }

  /** Stops the child with SIGTERM (PROTO-036: UNAVAILABLE and 1012 on every connection). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_WAIT_MS);
      child.once('exit', () => (clearTimeout(timer), resolve()));
      child.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops the child and deletes the config it ran with. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Speaks the operator protocol on `input`/`output` for `provider`: says hello once it listens,
 * answers each request after its effect is in place (one at a time, in order), and stops the
 * provider when `input` ends.
 */
export async function serveReferenceOperator(
  args: ServeArgs,
  input: Readable,
  output: Writable,
  log: (line: string) => void,
  stop?: AbortSignal,
): Promise<void> {
  const provider = new ServedProvider(args, log);
  const write = (line: OperatorHello | OperatorReply): void =>
    void output.write(`${JSON.stringify(line)}\n`);
  try {
    await provider.start();
  } catch (error) {
    await provider.close();
    throw error;
  }
  if (stop?.aborted) return provider.close();
  const attachments = DEFAULT_LIMITS.advertised.attachments;
  write({
    event: 'hello',
    protocol: OPERATOR_PROTOCOL_VERSION,
    driver: { name: 'parley reference operator', version: packageVersion() },
    hooks: [...OPERATOR_HOOKS],
    // Its clock is a setting of the child: every move is a restart.
    clockAheadRestarts: true,
    attachmentQuotaBytes: DEFAULT_LIMITS.attachmentQuotaBytes,
    // The reference provider has no first-party clients outside Parley: they get what it advertises.
    firstPartyAttachmentLimits: {
      image: attachments.image,
      video: attachments.video,
      audio: attachments.audio,
      document: attachments.document,
    },
  });
  const validator = new OperatorValidator();
  const handle = async (request: OperatorRequest): Promise<void> => {
    switch (request.method) {
      case 'restart':
        return provider.restart();
      case 'setClockAhead': {
        provider.clockAheadMs = (request as OperatorRequest<'setClockAhead'>).params.ms;
        await provider.restart();
        await new Promise((r) =>
          setTimeout(r, SWEEPS_AFTER_CLOCK_MOVE * REFERENCE_OPERATOR_SWEEP_INTERVAL_MS),
        );
        return;
      }
      case 'setPeerBounds':
        provider.peers = (request as OperatorRequest<'setPeerBounds'>).params.bounds ?? undefined;
        return provider.restart();
    }
  };
  let queue = Promise.resolve();
  await new Promise<void>((resolve) => {
    const lines = createInterface({ input, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      queue = queue.then(async () => {
        let request: Record<string, unknown>;
        try {
          request = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return write({ id: 0, ok: false, message: 'request: not JSON' });
        }
        const id = typeof request.id === 'number' ? request.id : 0;
        const check = validator.checkRequest(request);
        if (!check.ok) return write({ id, ok: false, message: check.message });
        try {
          await handle(request as unknown as OperatorRequest);
          write({ id, ok: true });
        } catch (error) {
          write({ id, ok: false, message: (error as Error).message });
        }
      });
    });
    lines.on('close', resolve);
    stop?.addEventListener('abort', () => lines.close());
  });
  await queue;
  await provider.close();
}

function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      domain: { type: 'string' },
      'registration-token': { type: 'string', multiple: true, default: [] },
      enlist: { type: 'string', multiple: true, default: [] },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error('--port must be an integer from 1 to 65535 (the URL the suite targets)');
  if (!values.db) throw new Error('--db is required (the store kept across restarts)');
  for (const file of values.enlist) readFileSync(file); // fail now, not at every restart
  const args: ServeArgs = {
    port,
    db: values.db,
    registrationTokens: values['registration-token'],
    enlist: values.enlist,
    ...(values.host ? { host: values.host } : {}),
    ...(values.domain ? { domain: values.domain } : {}),
  };
  // SIGTERM or SIGINT end the driver as a closed stdin does: the provider stops first.
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
  return serveReferenceOperator(
    args,
    process.stdin,
    process.stdout,
    (line) => void process.stderr.write(`${line}\n`),
    stop.signal,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`reference-operator: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
