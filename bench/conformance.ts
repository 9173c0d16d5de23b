// Benchmark: the whole conformance suite against the embedded reference provider (conformance/README.md),
// run as `node bin/parley.js conform` child processes. Prints a table and writes
// reports/bench/conformance.json (median wall time of 5 runs; target under 10 s).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Figure } from './support/figures.ts';

const RUNS = 5;
const TARGET_SECONDS = 10;
const root = fileURLToPath(new URL('..', import.meta.url));

const median = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** What one run's report.json says about itself. */
interface ReportSummary {
  seed: number;
  durationMs: number;
  exitCode: number;
  summary: { total: number; pass: number; fail: number; warn: number; skip: number; error: number };
  coverage: { requirements: number; covered: number };
}

interface Run {
  run: number;
  seconds: number;
  suiteSeconds: number;
  seed: number;
  exitCode: number;
  cases: number;
  pass: number;
  fail: number;
  error: number;
}

const runs: Run[] = [];
let cases = 0;
let covered = 0;
let catalogue = 0;
for (let i = 1; i <= RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-conform-'));
  try {
    // Wall time of the whole command: tsx load, embedded provider start, every case, the reports.
    const start = performance.now();
    const child = spawnSync(process.execPath, ['bin/parley.js', 'conform', '--report-dir', dir], {
      cwd: root,
      encoding: 'utf8',
    });
    const seconds = (performance.now() - start) / 1000;
    if (child.error) throw child.error;
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportSummary;
    cases = report.summary.total;
    covered = report.coverage.covered;
    catalogue = report.coverage.requirements;
    runs.push({
      run: i,
      seconds: Number(seconds.toFixed(3)),
      suiteSeconds: Number((report.durationMs / 1000).toFixed(3)),
      seed: report.seed,
      exitCode: child.status ?? -1,
      cases: report.summary.total,
      pass: report.summary.pass,
      fail: report.summary.fail,
      error: report.summary.error,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const medianSeconds = Number(median(runs.map((r) => r.seconds)).toFixed(3));
const met = medianSeconds < TARGET_SECONDS;

console.table(
  runs.map((r) => ({
    run: r.run,
    'wall (s)': r.seconds,
    'suite (s)': r.suiteSeconds,
    seed: r.seed,
    cases: r.cases,
    pass: r.pass,
    fail: r.fail,
    error: r.error,
    exit: r.exitCode,
  })),
);
console.log(
  `${cases} cases, ${covered}/${catalogue} requirements; median ${medianSeconds} s of ${RUNS} runs; target < ${TARGET_SECONDS} s: ${met ? 'met' : 'missed'}`,
);

mkdirSync(join(root, 'reports/bench'), { recursive: true });
writeFileSync(
  join(root, 'reports/bench/conformance.json'),
  `${JSON.stringify(
    {
      benchmark: 'conformance',
      node: process.version,
      command: 'node bin/parley.js conform --report-dir <tmp> (embedded target)',
      statistic: `median wall time of ${RUNS} runs, seconds`,
      date: new Date().toISOString(),
      cases,
      requirementsCovered: covered,
      requirementsInCatalogue: catalogue,
      medianSeconds,
      runs,
      target: `< ${TARGET_SECONDS} s`,
      met,
      figures: [
        {
          name: `whole suite against the embedded reference (${cases} cases), median of ${RUNS}`,
          ours: medianSeconds,
          baseline: null,
          baselineName: null,
          unit: 's',
          ratio: null,
          target: `< ${TARGET_SECONDS} s`,
          met,
        },
      ] satisfies Figure[],
    },
    null,
    2,
  )}\n`,
);
if (runs.some((r) => r.exitCode !== 0)) process.exitCode = 1;
