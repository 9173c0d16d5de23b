/**
 * Benchmark processes: `parley serve` (and baseline servers) started in their own process, the way
 * an operator runs them, with their resident memory and open-file limit read from /proc (Linux).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServeConfig } from '../../conformance/cli/serve.ts';

/** The repository root, where `bin/parley.js` lives. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Spawns `node <args>` with its soft open-file limit raised to the hard limit (`ulimit -n`), so that
 * a machine whose default soft limit is low can still hold many connections; the shell `exec`s
 * node, so the child's pid is node's. Where /bin/sh is missing, node is spawned directly.
 */
export function spawnNode(args: string[], options: SpawnOptions): ChildProcess {
  if (!existsSync('/bin/sh')) return spawn(process.execPath, args, options);
  return spawn(
    '/bin/sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
    options,
  );
}

/** How long a server may take from spawn to its `listening` log line. */
const START_TIMEOUT_MS = 30_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/** A server process that logged `{"event":"listening","port":…}` on stderr. */
export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Error-level log lines seen so far (at most a few are kept). */
  errors: string[];
}

/** Error lines a server process keeps for the report; the rest are counted, not stored. */
const KEPT_ERRORS = 5;

/**
 * Spawns `node <args>` in the repository root and resolves once it logs `listening` on stderr.
 * Its stderr is read for the whole life of the process, so a chatty log never blocks it.
 */
export function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawnNode(args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not listen within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before listening`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: { event?: unknown; port?: unknown; level?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        if (errors.length < KEPT_ERRORS) errors.push(line);
        return;
      }
      if (entry.level === 'error' && errors.length < KEPT_ERRORS) errors.push(line);
      if (entry.event === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, pid: child.pid!, port: entry.port, errors });
      }
    });
  });
}

/** What `parley serve` gets besides its database. */
export interface ServeOptions {
  /** A directory for the database and config file (the caller removes it). */
  dir: string;
  domain: string;
  registrationToken: string;
  /** Extra `--config` settings (limits, …). */
  config?: ServeConfig;
}

/** Starts `node bin/parley.js serve` on a free loopback port with a file database in `dir`. */
export function startParleyServe(options: ServeOptions): Promise<ServerProcess> {
  const config = join(options.dir, 'serve.json');
  writeFileSync(config, JSON.stringify(options.config ?? {}));
  return startServer([
    'bin/parley.js',
    'serve',
    '--port',
    '0',
    '--db',
    join(options.dir, 'parley.db'),
    '--domain',
    options.domain,
    '--registration-token',
    options.registrationToken,
    '--config',
    config,
  ]);
}

/** SIGTERM, then SIGKILL if the process has not exited within STOP_TIMEOUT_MS. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The resident set size of process `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * The limit on open files of process `pid` (/proc/<pid>/limits), or Infinity: the soft limit, or
 * with `hard` the hard one, which is what processes started by spawnNode get.
 */
export function openFileLimit(pid: number | 'self', hard = false): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = match?.[hard ? 2 : 1];
  if (value === undefined || value === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(value);
}

/** Clock ticks per second of /proc/<pid>/stat times: USER_HZ, fixed at 100 in Linux's ABI. */
const USER_HZ = 100;

/** CPU time (user + system) process `pid` has used so far, in milliseconds (/proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** The number of file descriptors process `pid` has open. */
export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The 1-, 5- and 15-minute load averages, for the report's context. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a!, b!, c!];
}
