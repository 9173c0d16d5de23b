/**
 * The provider under fuzzing: `parley serve` in its own process, on a throw-away database, with its
 * JSON log lines on stderr watched for unhandled errors and its resident memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LimitOverrides } from '../../reference-impl/server/index.ts';
import type { PeerTarget } from './peer.ts';

const BIN = new URL('../../bin/parley.js', import.meta.url).pathname;
/** Most time `parley serve` may take to listen (tsx compiles the sources on a loaded machine). */
const START_TIMEOUT_MS = 60_000;
/** Log lines kept per problem kind, so a flood of one failure does not fill the report. */
const MAX_PROBLEMS = 50;

/** The running provider process. */
export interface ServedProvider extends PeerTarget {
  readonly pid: number;
  /** Log lines that show an unhandled error, and how the process ended if it did. */
  readonly problems: string[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** Resident set size in bytes, or undefined where /proc is unavailable. */
  rssBytes(): number | undefined;
  /** Stops it (SIGTERM, PROTO-036) and deletes its database. */
  stop(): Promise<void>;
}

/**
 * The store is a SQLite file, as `parley serve` runs by default: in memory, the state a long run
 * legitimately creates (accounts, reports, slots, contacts: about half a kilobyte per frame) would
 * count as resident memory and hide or fake a leak.
 *
 * The fuzzed provider's limits. The smallest `maxFrameBytes` PROTO-006 allows keeps oversize frames
 * cheap; loopback is exempt from the per-address connection limits because every fuzzing
 * connection comes from 127.0.0.1 and reconnects after each close (those limits have their own
 * tests, test/reference-impl/server/abusive-peers.test.ts).
 */
export const FUZZ_LIMITS: LimitOverrides = {
  advertised: { maxFrameBytes: 262_144 },
  peers: {
    exemptLoopback: true,
    // The read budgets (PROTO-049) would pace the fuzzer's connections, which wait for every
    // answer; they delay frames and never change an answer, and have their own tests
    // (test/reference-impl/server/hostile-frames.test.ts).
    bytesPerConnection: { burst: 1024 * 1024 * 1024, perMinute: 1024 * 1024 * 1024 },
    readMsPerConnection: { burst: 60_000, perMinute: 60_000 },
    bytesBeforeAuth: { burst: 1024 * 1024 * 1024, perMinute: 1024 * 1024 * 1024 },
    // Workers stay unauthenticated for the whole run to fuzz the opened and greeted states.
    authWindowMs: 24 * 3600 * 1000,
  },
  // Fuzzed account.register frames carry wrong tokens by the thousand; the workers' own
  // registrations, with the right token, must not be refused for them (AUTH-030 has its tests).
  rates: {
    badRegistrationsPerConnection: { burst: 1e9, perMinute: 1e9 },
    badRegistrationsPerAddress: { burst: 1e9, perMinute: 1e9 },
  },
};

function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `parley serve` on a free loopback port, its store in a throw-away SQLite file. */
export async function serveProvider(): Promise<ServedProvider> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-fuzz-'));
  const registrationToken = randomBytes(18).toString('base64url');
  // The examples' domain, so that their addresses (alice@wa.example) are local accounts.
  const domain = 'wa.example';
  const config = join(dir, 'serve.json');
  writeFileSync(
    config,
    JSON.stringify({ limits: FUZZ_LIMITS, registrationTokens: [registrationToken] }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.PARLEY_FUZZ_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      BIN,
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, 'fuzz.db'),
      '--domain',
      domain,
      '--config',
      config,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const problems: string[] = [];
  let exited = false;
  const ended = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      if (!stopping) problems.push(`the provider exited (code ${code}, signal ${signal})`);
      resolve();
    }),
  );
  let stopping = false;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('parley serve did not listen')),
      START_TIMEOUT_MS,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let event: { level?: string; event?: string; port?: number };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        if (problems.length < MAX_PROBLEMS) problems.push(`stderr: ${line.slice(0, 2000)}`);
        return;
      }
      if (event.event === 'listening') {
        clearTimeout(timer);
        resolve(event.port!);
      }
      if (event.level === 'error' && problems.length < MAX_PROBLEMS)
        problems.push(`log: ${line.slice(0, 4000)}`);
    });
    child.on('exit', () => reject(new Error(`parley serve exited: ${problems.join('; ')}`)));
  });
  return {
    pid: child.pid!,
    wsUrl: `ws://127.0.0.1:${port}/parley/v1`,
    domain,
    registrationToken,
    problems,
    alive: () => !exited,
    rssBytes: () => readRss(child.pid!),
    stop: async () => {
      stopping = true;
      if (!exited) child.kill('SIGTERM');
      await ended;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
