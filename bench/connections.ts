/**
 * Connection scale benchmark (`npm run bench:connections`): `parley serve` holding many concurrent
 * authenticated idle connections (spec/auth.md device authentication), beside a bare `ws` server
 * holding as many, both in their own process and measured in the same run.
 *
 * Load processes (bench/support/idle-load.ts) register the accounts with real `account.register`
 * frames, then open, greet and authenticate one connection per account (XEdDSA device proof over
 * the challenge) and hold them. Reported: authentications per second, server RSS idle and with all
 * connected, RSS per connection beside the bare server's, and the latency of deliveries to randomly
 * chosen idle connections (a real PreKeySignalMessage from a sender connection, timed from
 * `message.send` to the recipient's push). Each load process binds its own loopback source address
 * (127.0.0.2, 127.0.0.3, …) so that the connections never run short of ephemeral ports.
 *
 * Every process has an open-file limit (`ulimit -n`): servers and load processes start with their
 * soft limit raised to the hard one. The server needs one descriptor per connection plus a few of
 * its own, so the run holds at most the hard limit minus SERVER_FD_RESERVE and says so, projecting
 * the memory target to the requested count from the per-connection figure.
 *
 * Run: `npm run bench:connections [-- --connections N --probes N --load-processes N]`; writes
 * reports/bench/connections.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ServeConfig } from '../conformance/cli/serve.ts';
import { printFigures, round, type Figure } from './support/figures.ts';
import type { ConnectResult, ProbeResult } from './support/idle-load.ts';
import { LoadProcess } from './support/load-process.ts';
import {
  loadAverage,
  openFileLimit,
  openFiles,
  ROOT,
  rssBytes,
  startParleyServe,
  startServer,
  stopProcess,
  type ServerProcess,
} from './support/processes.ts';
import { summarize, type LatencySummary } from './support/stats.ts';

export type { Figure } from './support/figures.ts';

const MiB = 2 ** 20;
const KiB = 2 ** 10;
/** The issue's scale: 20 000 concurrent authenticated idle connections. */
export const TARGET_CONNECTIONS = 20_000;
/** The issue's memory target: total server RSS with all of them connected. */
export const RSS_TARGET_BYTES = 1.5 * 1024 * MiB;
/** The issue's latency target: delivery to any one idle connection, p99. */
export const DELIVERY_P99_TARGET_MS = 50;
/** Proposed (no target is set): a full protocol connection costs at most 4× a bare ws one. */
export const PER_CONNECTION_RATIO_TARGET = 4;
/**
 * Descriptors the server keeps besides its client connections: stdio, the listening socket, the
 * SQLite database with its WAL and shared-memory files, epoll and libuv's pipes, the probes'
 * sender connections, with room to spare.
 */
export const SERVER_FD_RESERVE = 64;

const DOMAIN = 'bench.example';
const REGISTRATION_TOKEN = 'bench-registration-token';
/** Per handshake, registration and probe: generous, since 2 shared cores are busy with the load. */
const REQUEST_TIMEOUT_MS = 60_000;
/** A probe whose push has not arrived within this long counts as lost. */
const PROBE_TIMEOUT_MS = 10_000;
/** Time for the server to settle (sockets, GC) before its RSS is read. */
const SETTLE_MS = 3_000;

export interface ConnectionsOptions {
  /** Connections to hold (default TARGET_CONNECTIONS); capped by the open-file limit. */
  connections?: number;
  /** Load processes sharing them (default 2; each has its own open-file limit). */
  loadProcesses?: number;
  /** Delivery latency samples (default 200). */
  probes?: number;
  /** Handshakes in flight per load process (default 64). */
  concurrency?: number;
  /** Milliseconds to let the server settle before reading its RSS (default SETTLE_MS). */
  settleMs?: number;
  /**
   * `parley serve --config` settings; by default peerLimitsFor(held): every load process comes
   * from one address, so the per-address limits are raised above the run's count.
   */
  serveConfig?: ServeConfig;
}

/** Headroom above the held connections: the probes' senders and registration connections. */
const PEER_LIMIT_HEADROOM = 1024;

/**
 * Serve settings that let one loopback address open `held` connections at full speed: the
 * per-address limits (PROTO-046) stay in force and counted, at a bound this run never reaches.
 */
export function peerLimitsFor(held: number): ServeConfig {
  const bound = held + PEER_LIMIT_HEADROOM;
  return {
    limits: {
      peers: {
        maxConnectionsPerAddress: bound,
        newConnectionsPerAddress: { burst: bound, perMinute: bound * 60 },
      },
    },
  };
}

/** Everything measured, beside the figures built from it. */
export interface ConnectionsMeasurement {
  requested: number;
  held: number;
  fdLimit: number;
  loadProcesses: number;
  bare: { idleRss: number; fullRss: number; opened: number; failed: number; seconds: number };
  parley: {
    registered: number;
    registerSeconds: number;
    idleRss: number;
    fullRss: number;
    opened: number;
    failed: number;
    firstError?: string;
    authSeconds: number;
    serverOpenFiles: number;
    delivery: LatencySummary | null;
    accept: LatencySummary | null;
    lost: number;
    serverErrors: string[];
  };
  load: { before: [number, number, number]; after: [number, number, number] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits `total` into `parts` contiguous ranges [from, to) that differ by at most one. */
export function slices(total: number, parts: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let from = 0;
  for (let k = 0; k < parts; k += 1) {
    const size = Math.floor(total / parts) + (k < total % parts ? 1 : 0);
    out.push({ from, to: from + size });
    from += size;
  }
  return out;
}

/** Connections a process with `fdLimit` descriptors may hold for this run. */
export function connectionsWithin(requested: number, fdLimit: number): number {
  return Math.max(0, Math.min(requested, fdLimit - SERVER_FD_RESERVE));
}

/** The loopback source address of load process `k` (the server listens on 127.0.0.1). */
const sourceAddress = (k: number): string => `127.0.0.${2 + k}`;

async function withLoads<T>(count: number, run: (loads: LoadProcess[]) => Promise<T>): Promise<T> {
  const loads: LoadProcess[] = [];
  try {
    for (let k = 0; k < count; k += 1) loads.push(await LoadProcess.start());
    return await run(loads);
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
  }
}

async function measureBare(
  held: number,
  loadProcesses: number,
  concurrency: number,
  settleMs: number,
): Promise<ConnectionsMeasurement['bare']> {
  const server = await startServer(['--import', 'tsx', 'bench/support/bare-ws-server.ts']);
  try {
    await sleep(settleMs);
    const idleRss = rssBytes(server.pid);
    return await withLoads(loadProcesses, async (loads) => {
      const parts = slices(held, loads.length);
      const start = performance.now();
      const results = await Promise.all(
        loads.map((l, k) =>
          l.command<ConnectResult>({
            op: 'bare',
            url: `ws://127.0.0.1:${server.port}/`,
            count: parts[k]!.to - parts[k]!.from,
            localAddress: sourceAddress(k),
            concurrency,
            timeoutMs: REQUEST_TIMEOUT_MS,
          }),
        ),
      );
      const seconds = (performance.now() - start) / 1000;
      await sleep(settleMs);
      return {
        idleRss,
        fullRss: rssBytes(server.pid),
        opened: results.reduce((n, r) => n + r.opened, 0),
        failed: results.reduce((n, r) => n + r.failed, 0),
        seconds,
      };
    });
  } finally {
    await stopProcess(server.child);
  }
}

async function measureParley(
  held: number,
  loadProcesses: number,
  concurrency: number,
  probes: number,
  settleMs: number,
  serveConfig: ServeConfig,
): Promise<ConnectionsMeasurement['parley']> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-connections-'));
  let server: ServerProcess | undefined;
  try {
    server = await startParleyServe({
      dir,
      domain: DOMAIN,
      registrationToken: REGISTRATION_TOKEN,
      config: serveConfig,
    });
    const url = `ws://127.0.0.1:${server.port}/parley/v1`;
    const pid = server.pid;
    const seed = `c${Date.now().toString(36)}`;
    return await withLoads(loadProcesses, async (loads) => {
      // Accounts 0 … held-1 are held idle; held + k is load process k's probe sender.
      const total = held + loads.length;
      const registering = slices(total, loads.length);
      const registerStart = performance.now();
      const registered = await Promise.all(
        loads.map((l, k) =>
          l.command<{ registered: number }>({
            op: 'register',
            url,
            registrationToken: REGISTRATION_TOKEN,
            seed,
            ...registering[k]!,
            timeoutMs: REQUEST_TIMEOUT_MS,
          }),
        ),
      );
      const registerSeconds = (performance.now() - registerStart) / 1000;
      await sleep(settleMs);
      const idleRss = rssBytes(pid);

      const parts = slices(held, loads.length);
      const authStart = performance.now();
      const connected = await Promise.all(
        loads.map((l, k) =>
          l.command<ConnectResult>({
            op: 'connect',
            url,
            domain: DOMAIN,
            seed,
            ...parts[k]!,
            sender: held + k,
            localAddress: sourceAddress(k),
            concurrency,
            timeoutMs: REQUEST_TIMEOUT_MS,
          }),
        ),
      );
      const authSeconds = (performance.now() - authStart) / 1000;
      await sleep(settleMs);
      const fullRss = rssBytes(pid);
      const serverOpenFiles = openFiles(pid);

      const latencies: number[] = [];
      const accepts: number[] = [];
      let lost = 0;
      const perLoad = slices(probes, loads.length);
      for (const [k, l] of loads.entries()) {
        const samples = perLoad[k]!.to - perLoad[k]!.from;
        if (samples === 0) continue;
        const r = await l.command<ProbeResult>({
          op: 'probe',
          samples,
          timeoutMs: PROBE_TIMEOUT_MS,
        });
        latencies.push(...r.latenciesMs);
        accepts.push(...r.acceptMs);
        lost += r.lost;
      }
      const firstError = connected.find((r) => r.firstError)?.firstError;
      return {
        registered: registered.reduce((n, r) => n + r.registered, 0),
        registerSeconds,
        idleRss,
        fullRss,
        opened: connected.reduce((n, r) => n + r.opened, 0),
        failed: connected.reduce((n, r) => n + r.failed, 0),
        ...(firstError ? { firstError } : {}),
        authSeconds,
        serverOpenFiles,
        delivery: latencies.length > 0 ? summarize(latencies) : null,
        accept: accepts.length > 0 ? summarize(accepts) : null,
        lost,
        serverErrors: server!.errors,
      };
    });
  } finally {
    if (server) await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the bare baseline, then `parley serve`, and resolves everything measured. */
export async function measureConnections(
  opts: ConnectionsOptions = {},
): Promise<ConnectionsMeasurement> {
  const requested = opts.connections ?? TARGET_CONNECTIONS;
  const loadProcesses = opts.loadProcesses ?? 2;
  const concurrency = opts.concurrency ?? 64;
  const probes = opts.probes ?? 200;
  const settleMs = opts.settleMs ?? SETTLE_MS;
  // Servers and load processes start with their soft limit raised to this hard one (spawnNode).
  const fdLimit = openFileLimit('self', true);
  const held = connectionsWithin(requested, fdLimit);
  const perLoad = Math.ceil(held / loadProcesses) + SERVER_FD_RESERVE;
  if (perLoad > fdLimit)
    throw new RangeError(
      `loadProcesses: ${loadProcesses} load processes cannot hold ${held} connections under an open-file limit of ${fdLimit}; use more`,
    );
  const before = loadAverage();
  const bare = await measureBare(held, loadProcesses, concurrency, settleMs);
  const parley = await measureParley(
    held,
    loadProcesses,
    concurrency,
    probes,
    settleMs,
    opts.serveConfig ?? peerLimitsFor(held),
  );
  return {
    requested,
    held,
    fdLimit,
    loadProcesses,
    bare,
    parley,
    load: { before, after: loadAverage() },
  };
}

/** The report's figures from a measurement. */
export function connectionFigures(m: ConnectionsMeasurement): Figure[] {
  const { parley, bare } = m;
  const perConn = (parley.fullRss - parley.idleRss) / Math.max(parley.opened, 1);
  const barePerConn = (bare.fullRss - bare.idleRss) / Math.max(bare.opened, 1);
  const projected = parley.idleRss + perConn * TARGET_CONNECTIONS;
  const atTarget = m.held >= TARGET_CONNECTIONS && parley.opened >= TARGET_CONNECTIONS;
  const authPerSecond = parley.opened / parley.authSeconds;
  const barePerSecond = bare.opened / bare.seconds;
  const heldNote = `${parley.opened} of ${m.held} connections authenticated (${parley.failed} failed${parley.firstError ? `, first: ${parley.firstError}` : ''}); requested ${m.requested}, open-file limit ${m.fdLimit} per process`;
  const perRatio = perConn / barePerConn;
  const d = parley.delivery;
  return [
    {
      name: `server RSS with ${parley.opened} authenticated idle connections`,
      ours: round(parley.fullRss / MiB),
      baseline: round(bare.fullRss / MiB),
      baselineName: `bare ws server holding ${bare.opened} connections, own process`,
      unit: 'MiB',
      ratio: round(parley.fullRss / bare.fullRss, 3),
      target: `≤ ${RSS_TARGET_BYTES / MiB} MiB with ${TARGET_CONNECTIONS} connected`,
      met: parley.failed === 0 && projected <= RSS_TARGET_BYTES,
      note: `${heldNote}; idle after registration ${round(parley.idleRss / MiB)} MiB${atTarget ? '' : `; at ${TARGET_CONNECTIONS}: ${round(parley.idleRss / MiB)} MiB + ${TARGET_CONNECTIONS} × ${round(perConn / KiB)} KiB = ${round(projected / MiB)} MiB, projected from the measured per-connection cost (met is judged on the projection)${m.held < m.requested ? `; the open-file limit of ${m.fdLimit} leaves room for ${m.held} connections` : ''}`}`,
    },
    {
      name: 'server RSS per idle authenticated connection',
      ours: round(perConn / KiB),
      baseline: round(barePerConn / KiB),
      baselineName: 'bare ws server (node:http + ws, no protocol), own process',
      unit: 'KiB',
      ratio: round(perRatio, 3),
      target: `ratio ≤ ${PER_CONNECTION_RATIO_TARGET} (proposed)`,
      met: perRatio <= PER_CONNECTION_RATIO_TARGET,
      note: `(RSS with all connected − RSS idle) / connections; ours ${round(parley.idleRss / MiB)} → ${round(parley.fullRss / MiB)} MiB, bare ${round(bare.idleRss / MiB)} → ${round(bare.fullRss / MiB)} MiB`,
    },
    {
      name: 'authentications per second (open + hello + device auth)',
      ours: round(authPerSecond),
      baseline: round(barePerSecond),
      baselineName: 'bare ws connections opened per second, same load processes',
      unit: 'per s',
      ratio: round(authPerSecond / barePerSecond, 3),
      target: 'reported (no target set)',
      met: null,
      note: `${parley.opened} connections in ${round(parley.authSeconds, 2)} s from ${m.loadProcesses} load processes; each: WebSocket upgrade, hello → welcome with challenge, auth with an XEdDSA proof → auth.ok, keys.low, queue.empty; registration of ${parley.registered} accounts took ${round(parley.registerSeconds, 1)} s (${round(parley.registered / parley.registerSeconds)} per s)`,
    },
    {
      name: `delivery latency p99 to a random idle connection among ${parley.opened}`,
      ours: d ? round(d.p99, 2) : null,
      baseline: null,
      baselineName: null,
      unit: 'ms',
      ratio: null,
      target: `< ${DELIVERY_P99_TARGET_MS} ms, none lost`,
      met: d !== null && d.p99 < DELIVERY_P99_TARGET_MS && parley.lost === 0,
      note: d
        ? `${d.count} samples, p50 ${round(d.p50, 2)} ms, max ${round(d.max, 2)} ms, ${parley.lost} lost; message.send → push of a real PreKeySignalMessage (fresh X3DH per sample), recipient decrypts and acks${parley.accept ? `; send → message.accepted p50 ${round(parley.accept.p50, 2)} ms, p99 ${round(parley.accept.p99, 2)} ms` : ''}`
        : `no sample arrived (${parley.lost} lost)`,
    },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string' },
      probes: { type: 'string' },
      'load-processes': { type: 'string' },
      concurrency: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const int = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
    return n;
  };
  const connections = int('connections', values.connections);
  const probes = int('probes', values.probes);
  const loadProcesses = int('load-processes', values['load-processes']);
  const concurrency = int('concurrency', values.concurrency);
  const m = await measureConnections({
    ...(connections ? { connections } : {}),
    ...(probes ? { probes } : {}),
    ...(loadProcesses ? { loadProcesses } : {}),
    ...(concurrency ? { concurrency } : {}),
  });
  const figures = connectionFigures(m);
  const report = {
    benchmark: 'connections',
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: m.load,
    measurement: m,
    figures,
  };
  const out = values.out ?? join(ROOT, 'reports/bench/connections.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  printFigures(figures);
  console.log(`wrote ${out}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
