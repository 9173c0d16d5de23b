/**
 * Soak (`npm run soak -- --minutes M`, default 10): `parley serve` in its own process carries durable
 * traffic at half its measured maximum for M minutes (spec/messages.md: send → accepted → push →
 * ack). Each message is a fresh Double Ratchet ciphertext, decrypted and checked by its recipient
 * (bench/support/soak-traffic.ts). The provider's RSS and the delivery latency p99 are sampled per
 * minute; the report compares the first minute with the last and counts every message sent,
 * accepted, delivered, lost and duplicated. Exits non-zero when a message is lost, duplicated or
 * arrives corrupt.
 *
 * The maximum is measured first, with the same pairs and the same crypto, in a closed loop (each
 * pair keeps WINDOW sends outstanding); `--rate` skips that and holds the given rate instead.
 * Writes reports/bench/soak.json. Options: `--rate N` (msg/s), `--pairs N` (default 16),
 * `--sample-seconds N` (default 60), `--out FILE`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { printFigures, round, type Figure } from './support/figures.ts';
import {
  cpuMs,
  loadAverage,
  ROOT,
  rssBytes,
  startParleyServe,
  stopProcess,
  type ServerProcess,
} from './support/processes.ts';
import { SoakTraffic, type TrafficCounts } from './support/soak-traffic.ts';
import { drift, summarize, type LatencySummary } from './support/stats.ts';

export type { Figure } from './support/figures.ts';

const MiB = 2 ** 20;
/** The issue's targets over 10 minutes. */
export const RSS_DRIFT_TARGET = 0.1;
export const P99_DRIFT_TARGET = 0.2;
/** Sends each pair keeps outstanding while the maximum is measured. */
const WINDOW = 8;
/** How often the scheduler of the held rate wakes. */
const TICK_MS = 5;
/** How long, after the last send, messages in flight may take to arrive before they count as lost. */
const DRAIN_MS = 30_000;
const DOMAIN = 'soak.example';
const REGISTRATION_TOKEN = 'soak-registration-token';
const REQUEST_TIMEOUT_MS = 30_000;

export interface SoakOptions {
  /** Minutes to hold the rate (default 10; fractions allowed for short runs). */
  minutes?: number;
  /** The sampling interval in ms (default one minute). */
  sampleMs?: number;
  /** Sender → recipient pairs (default 16). */
  pairs?: number;
  /** Messages per second to hold; measured (half the maximum) when absent. */
  rate?: number;
  /** Seconds of the closed-loop maximum measurement, after as long again of warm-up (default 10). */
  probeSeconds?: number;
}

/** One sampling interval: the RSS at its end, and the latencies of messages due in it. */
export interface SoakSample {
  /** Seconds from the start of the held rate to the end of this interval. */
  atSeconds: number;
  rssMiB: number;
  delivered: number;
  latency: LatencySummary | null;
  /** The provider's CPU time over the interval per message delivered in it (ms): its own cost. */
  serverCpuMsPerMessage: number | null;
  /** The machine's 1-minute load average at the interval's end: others' work shows up here. */
  load1: number;
}

export interface SoakMeasurement {
  minutes: number;
  pairs: number;
  /** Delivered per second in the closed loop, or null when `rate` was given. */
  maxThroughput: number | null;
  rate: number;
  /** Delivered per second over the held interval. */
  achievedRate: number;
  /** Messages sent, and delivered, while the rate was held (counts also cover the maximum's run). */
  heldSent: number;
  heldDelivered: number;
  samples: SoakSample[];
  counts: TrafficCounts;
  lost: number;
  /** Still in flight when the drain gave up (these are also counted as lost when accepted). */
  outstanding: number;
  serverErrors: string[];
  load: { before: [number, number, number]; after: [number, number, number] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Closed loop: WINDOW lanes per pair, each sending its next message once the last was accepted. */
async function measureMax(traffic: SoakTraffic, seconds: number): Promise<number> {
  let stop = false;
  const lanes: Promise<void>[] = [];
  for (let p = 0; p < traffic.pairCount; p += 1)
    for (let w = 0; w < WINDOW; w += 1)
      lanes.push(
        (async () => {
          while (!stop) await traffic.send(performance.now(), p);
        })(),
      );
  await sleep(seconds * 1000);
  const from = traffic.counts.delivered;
  const start = performance.now();
  await sleep(seconds * 1000);
  const rate = ((traffic.counts.delivered - from) * 1000) / (performance.now() - start);
  stop = true;
  await Promise.all(lanes);
  await traffic.drain();
  return rate;
}

/** Open loop at `rate`, round robin over the pairs, for `durationMs`, sampling every `sampleMs`. */
async function hold(
  traffic: SoakTraffic,
  server: ServerProcess,
  rate: number,
  durationMs: number,
  sampleMs: number,
): Promise<{ samples: SoakSample[]; achievedRate: number; sent: number; delivered: number }> {
  const windows: number[][] = [];
  const start = performance.now();
  traffic.onDelivery = (scheduledAt, latencyMs) => {
    const w = Math.floor((scheduledAt - start) / sampleMs);
    (windows[w] ??= []).push(latencyMs);
  };
  const rss: { atSeconds: number; rssMiB: number; cpuMs: number; load1: number }[] = [];
  const sample = (): void => {
    rss.push({
      atSeconds: (performance.now() - start) / 1000,
      rssMiB: rssBytes(server.pid) / MiB,
      cpuMs: cpuMs(server.pid),
      load1: loadAverage()[0],
    });
  };
  const cpuAtStart = cpuMs(server.pid);
  const sampler = setInterval(sample, sampleMs);
  const deliveredBefore = traffic.counts.delivered;
  // Message k is due at start + k / rate; those due by now (k ≤ elapsed × rate) go out.
  const total = Math.floor((durationMs / 1000) * rate);
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      for (; scheduled < due; scheduled += 1) void traffic.send(start + (scheduled / rate) * 1000);
      if (now >= start + durationMs) {
        clearInterval(ticker);
        resolve();
      }
    }, TICK_MS);
  });
  clearInterval(sampler);
  if (rss.length < Math.round(durationMs / sampleMs)) sample();
  await traffic.drain(DRAIN_MS);
  const delivered = traffic.counts.delivered - deliveredBefore;
  const achievedRate = (delivered * 1000) / durationMs;
  const samples = rss.map((r, i) => {
    const count = windows[i]?.length ?? 0;
    const cpu = r.cpuMs - (i === 0 ? cpuAtStart : rss[i - 1]!.cpuMs);
    return {
      atSeconds: round(r.atSeconds, 1),
      rssMiB: round(r.rssMiB),
      delivered: count,
      latency: count > 0 ? summarize(windows[i]!) : null,
      serverCpuMsPerMessage: count > 0 ? round(cpu / count, 3) : null,
      load1: r.load1,
    };
  });
  return { samples, achievedRate, sent: scheduled, delivered };
}

/** Runs the soak and resolves everything measured. */
export async function measureSoak(opts: SoakOptions = {}): Promise<SoakMeasurement> {
  const minutes = opts.minutes ?? 10;
  const sampleMs = opts.sampleMs ?? 60_000;
  const pairs = opts.pairs ?? 16;
  if (!(minutes > 0)) throw new RangeError('minutes: must be positive');
  if (minutes * 60_000 < 2 * sampleMs)
    throw new RangeError('minutes: the run must span at least two sampling intervals');
  const before = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'parley-soak-'));
  let server: ServerProcess | undefined;
  let traffic: SoakTraffic | undefined;
  try {
    server = await startParleyServe({ dir, domain: DOMAIN, registrationToken: REGISTRATION_TOKEN });
    traffic = await SoakTraffic.open({
      url: `ws://127.0.0.1:${server.port}/parley/v1`,
      domain: DOMAIN,
      registrationToken: REGISTRATION_TOKEN,
      seed: `s${Date.now().toString(36)}`,
      pairs,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const maxThroughput =
      opts.rate === undefined ? await measureMax(traffic, opts.probeSeconds ?? 10) : null;
    const rate = opts.rate ?? maxThroughput! / 2;
    const held = await hold(traffic, server, rate, minutes * 60_000, sampleMs);
    return {
      minutes,
      pairs,
      maxThroughput: maxThroughput === null ? null : round(maxThroughput),
      rate: round(rate),
      achievedRate: round(held.achievedRate),
      heldSent: held.sent,
      heldDelivered: held.delivered,
      samples: held.samples,
      counts: { ...traffic.counts },
      lost: traffic.lost(),
      outstanding: traffic.outstanding,
      serverErrors: server.errors,
      load: { before, after: loadAverage() },
    };
  } finally {
    await traffic?.close();
    if (server) await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the soak lost, duplicated or garbled a message: the run then fails. */
export function soakFailed(m: SoakMeasurement): boolean {
  return m.lost > 0 || m.counts.duplicated > 0 || m.counts.corrupt > 0;
}

/** The report's figures: RSS and p99 drift (first interval → last), and message accounting. */
export function soakFigures(m: SoakMeasurement): Figure[] {
  const first = m.samples[0]!;
  const last = m.samples[m.samples.length - 1]!;
  const rssDrift = drift(first.rssMiB, last.rssMiB);
  const p99First = first.latency?.p99 ?? null;
  const p99Last = last.latency?.p99 ?? null;
  const p99Drift = p99First !== null && p99Last !== null ? drift(p99First, p99Last) : null;
  const interval = `${round(first.atSeconds)} s`;
  const { counts } = m;
  return [
    {
      name: `provider RSS over ${m.minutes} min at ${m.rate} msg/s`,
      ours: last.rssMiB,
      baseline: first.rssMiB,
      baselineName: `the same provider after the first ${interval} of the run`,
      unit: 'MiB',
      ratio: round(last.rssMiB / first.rssMiB, 3),
      target: `drift ≤ ${RSS_DRIFT_TARGET * 100} %`,
      met: rssDrift <= RSS_DRIFT_TARGET,
      note: `drift ${round(rssDrift * 100, 1)} %; per interval: ${m.samples.map((s) => s.rssMiB).join(', ')} MiB`,
    },
    {
      name: `delivery latency p99 over ${m.minutes} min at ${m.rate} msg/s`,
      ours: p99Last === null ? null : round(p99Last, 2),
      baseline: p99First === null ? null : round(p99First, 2),
      baselineName: `the same run's first ${interval}`,
      unit: 'ms',
      ratio: p99First && p99Last !== null ? round(p99Last / p99First, 3) : null,
      target: `drift ≤ ${P99_DRIFT_TARGET * 100} %`,
      met: p99Drift === null ? null : p99Drift <= P99_DRIFT_TARGET,
      note: `${p99Drift === null ? 'no deliveries in an interval' : `drift ${round(p99Drift * 100, 1)} %`}; scheduled send → push, per interval p99: ${m.samples.map((s) => (s.latency ? round(s.latency.p99, 1) : '—')).join(', ')} ms; p50 ${first.latency ? round(first.latency.p50, 2) : '—'} → ${last.latency ? round(last.latency.p50, 2) : '—'} ms; provider CPU per message ${first.serverCpuMsPerMessage ?? '—'} → ${last.serverCpuMsPerMessage ?? '—'} ms; machine load (1 min) per interval: ${m.samples.map((s) => s.load1).join(', ')}`,
    },
    {
      name: 'messages lost or duplicated',
      ours: m.lost + counts.duplicated + counts.corrupt,
      baseline: null,
      baselineName: null,
      unit: 'messages',
      ratio: null,
      target: '= 0',
      met: !soakFailed(m),
      note: `while the rate was held: sent ${m.heldSent}, delivered ${m.heldDelivered}; whole run including the maximum's: sent ${counts.sent}, accepted ${counts.accepted}, refused ${counts.refused}${counts.firstRefusal ? ` (first: ${counts.firstRefusal})` : ''}, delivered ${counts.delivered}, lost ${m.lost}, duplicated ${counts.duplicated}, undecryptable ${counts.corrupt}`,
    },
    {
      name: 'held rate (delivered per second)',
      ours: m.achievedRate,
      baseline: m.maxThroughput,
      baselineName: m.maxThroughput === null ? null : 'closed-loop maximum, same pairs, same run',
      unit: 'msg/s',
      ratio: m.maxThroughput === null ? null : round(m.achievedRate / m.maxThroughput, 3),
      target: m.maxThroughput === null ? `the given ${m.rate} msg/s` : 'half the maximum',
      met: null,
      note: `${m.pairs} sender → recipient pairs, one process; the open loop's latency counts from each message's scheduled time`,
    },
    {
      name: `provider CPU time per delivered message over ${m.minutes} min`,
      ours: last.serverCpuMsPerMessage,
      baseline: first.serverCpuMsPerMessage,
      baselineName: `the same run's first ${interval}`,
      unit: 'ms',
      ratio:
        first.serverCpuMsPerMessage && last.serverCpuMsPerMessage !== null
          ? round(last.serverCpuMsPerMessage / first.serverCpuMsPerMessage, 3)
          : null,
      target: 'reported (no target set)',
      met: null,
      note: `the provider's own cost per message (user + system CPU over the interval / messages delivered in it), unaffected by how much CPU other processes leave it; per interval: ${m.samples.map((s) => s.serverCpuMsPerMessage ?? '—').join(', ')} ms`,
    },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string' },
      pairs: { type: 'string' },
      'sample-seconds': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new RangeError('--minutes must be a positive number');
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw new RangeError('--rate must be a positive number');
  const pairs = values.pairs === undefined ? undefined : Number(values.pairs);
  if (pairs !== undefined && !(Number.isInteger(pairs) && pairs > 0))
    throw new RangeError('--pairs must be a positive integer');
  const sampleSeconds =
    values['sample-seconds'] === undefined ? undefined : Number(values['sample-seconds']);
  if (sampleSeconds !== undefined && !(sampleSeconds > 0))
    throw new RangeError('--sample-seconds must be a positive number');
  const m = await measureSoak({
    minutes,
    ...(sampleSeconds !== undefined ? { sampleMs: sampleSeconds * 1000 } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(pairs !== undefined ? { pairs } : {}),
  });
  const figures = soakFigures(m);
  const out = values.out ?? join(ROOT, 'reports/bench/soak.json');
  writeFileSync(
    out,
    `${JSON.stringify({ benchmark: 'soak', node: process.version, date: new Date().toISOString(), loadAverage: m.load, measurement: m, figures }, null, 2)}\n`,
  );
  printFigures(figures);
  console.log(`wrote ${out}`);
  if (soakFailed(m)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  });
}
