/**
 * `npm run bench`: runs every `bench:<name>` script of package.json, one at a time, each as its own
 * process group with a wall-clock limit (a stalled benchmark is stopped and reported, the others
 * still run), then writes reports/bench/summary.md from every reports/bench/*.json with `figures`.
 *
 * Options: `--only relay,crypto` runs those benchmarks only; `--timeout-minutes N` sets each one's
 * limit (default BENCH_TIMEOUT_MINUTES). Exits 1 when a benchmark failed or stalled; a missed
 * target is a figure in the summary, not a failure of the run.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Figure } from './support/figures.ts';
import { ROOT } from './support/processes.ts';
import { renderSummary, type BenchReport, type BenchRun } from './support/summary.ts';

/** Per-benchmark wall-clock limit: one benchmark once stalled for 17 minutes. */
const BENCH_TIMEOUT_MINUTES = 15;
/** How long a stopped benchmark gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 10_000;
const REPORT_DIR = join(ROOT, 'reports/bench');
const SCRIPT_PREFIX = 'bench:';

/** The benchmark names of package.json's `bench:<name>` scripts, in file order. */
export function benchScripts(packageJson: { scripts?: Record<string, string> }): string[] {
  return Object.keys(packageJson.scripts ?? {})
    .filter((s) => s.startsWith(SCRIPT_PREFIX))
    .map((s) => s.slice(SCRIPT_PREFIX.length));
}

/** Runs `npm run bench:<name>` in its own process group; stops the group at `timeoutMs`. */
function runBench(name: string, timeoutMs: number): Promise<BenchRun> {
  const start = Date.now();
  const child = spawn('npm', ['run', '--silent', `${SCRIPT_PREFIX}${name}`], {
    cwd: ROOT,
    stdio: 'inherit',
    detached: true,
  });
  let stalled = false;
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is already gone
    }
  };
  const timer = setTimeout(() => {
    stalled = true;
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS).unref();
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ name, status: 'failed', seconds: 0, detail: error.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the benchmark left behind in its group goes with it.
      kill('SIGKILL');
      const seconds = Math.round((Date.now() - start) / 100) / 10;
      if (stalled)
        resolve({
          name,
          status: 'stalled',
          seconds,
          detail: `stopped after ${timeoutMs / 60_000} min`,
        });
      else if (code === 0) resolve({ name, status: 'ok', seconds });
      else resolve({ name, status: 'failed', seconds, detail: signal ?? `exit ${code}` });
    });
  });
}

/** Every report of `dir` that carries a `figures` array; `since` marks older files stale. */
export function readReports(dir: string, since: number): BenchReport[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file): BenchReport[] => {
      const path = join(dir, file);
      let json: { figures?: unknown; date?: unknown };
      try {
        json = JSON.parse(readFileSync(path, 'utf8')) as typeof json;
      } catch {
        return [];
      }
      if (!Array.isArray(json.figures)) return [];
      const mtime = statSync(path).mtimeMs;
      return [
        {
          name: file.slice(0, -'.json'.length),
          figures: json.figures as Figure[],
          date: typeof json.date === 'string' ? json.date : new Date(mtime).toISOString(),
          ...(mtime < since ? { stale: true } : {}),
        },
      ];
    });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      'timeout-minutes': { type: 'string', default: String(BENCH_TIMEOUT_MINUTES) },
    },
  });
  const minutes = Number(values['timeout-minutes']);
  if (!(minutes > 0)) throw new Error('--timeout-minutes must be a positive number');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const all = benchScripts(pkg);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !all.includes(n)) ?? [];
  if (unknown.length > 0)
    throw new Error(`--only names no bench script: ${unknown.join(', ')} (have ${all.join(', ')})`);
  const started = Date.now();
  const load = loadavg().map((l) => l.toFixed(2));
  const runs: BenchRun[] = [];
  for (const name of all) {
    if (only && !only.includes(name)) {
      runs.push({ name, status: 'skipped', seconds: 0 });
      continue;
    }
    console.error(`\n== bench:${name}`);
    const run = await runBench(name, minutes * 60_000);
    console.error(
      `== bench:${name}: ${run.status}${run.detail ? ` (${run.detail})` : ''}, ${run.seconds} s`,
    );
    runs.push(run);
  }
  const summary = renderSummary({
    date: new Date(started).toISOString(),
    machine: `${cpus().length} cores; load average ${load.join(', ')} at the start, ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} at the end.`,
    runs,
    reports: readReports(REPORT_DIR, started),
  });
  writeFileSync(join(REPORT_DIR, 'summary.md'), `${summary}\n`);
  console.error(`\nwrote ${join(REPORT_DIR, 'summary.md')}`);
  if (runs.some((r) => r.status === 'failed' || r.status === 'stalled')) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  });
}
