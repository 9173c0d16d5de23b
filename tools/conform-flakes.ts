/**
 * The flake check of the conformance suite ("green against the reference implementation: 0 fail,
 * 0 error, N runs in a row"): runs `parley conform` against the embedded reference implementation
 * N times, each with its own seed, prints one line per run and exits 1 if any run had a fail, an
 * error, or a non-zero exit code. `npm run conform:flakes -- --runs 20 [--first-seed 1000]`;
 * arguments after a further `--` go to every `parley conform` (`-- --only 'ATT-*'`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../conformance/reporters/report.ts';

const BIN = new URL('../bin/parley.js', import.meta.url).pathname;
/** Runs by default: the "20 runs in a row". */
const DEFAULT_RUNS = 20;
/** A whole run takes well under a minute on a loaded machine; three mean it hung. */
const RUN_TIMEOUT_MS = 3 * 60_000;

interface RunLine {
  seed: number;
  exitCode: number;
  summary?: Report['summary'];
  durationMs: number;
  broken: string[];
  /** Why the run has no report: killed after RUN_TIMEOUT_MS, or died. */
  died?: string;
}

/** One `parley conform` run with `seed` into `dir`; resolves its exit code and report. */
function conform(seed: number, dir: string, extra: readonly string[]): Promise<RunLine> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'conform', '--seed', String(seed), '--report-dir', dir, ...extra],
      {
        env: { ...process.env, NO_COLOR: '1' },
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error) => {
        const exitCode = error ? Number(error.code ?? 1) : 0;
        let report: Report | undefined;
        try {
          report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
        } catch {
          report = undefined; // the run died before writing its report: counted as broken
        }
        const broken = (report?.results ?? [])
          .filter((r) => r.outcome === 'fail' || r.outcome === 'error')
          .map((r) =>
            `${r.outcome.toUpperCase()} ${r.id}: ${r.message ?? r.actual ?? ''}`.slice(0, 300),
          );
        const died = report
          ? undefined
          : error?.killed
            ? `hung: killed after ${RUN_TIMEOUT_MS} ms without a report`
            : `died without a report: ${String(error?.message ?? '').slice(0, 200)}`;
        resolve({
          seed,
          exitCode,
          ...(report ? { summary: report.summary } : {}),
          ...(died ? { died } : {}),
          durationMs: Date.now() - started,
          broken,
        });
      },
    );
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: String(DEFAULT_RUNS) },
      'first-seed': { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const firstSeed =
    values['first-seed'] === undefined ? Date.now() % 1_000_000 : Number(values['first-seed']);
  if (
    !Number.isSafeInteger(runs) ||
    runs < 1 ||
    !Number.isSafeInteger(firstSeed) ||
    firstSeed < 0
  ) {
    process.stderr.write(
      'usage: conform-flakes [--runs N] [--first-seed S] [-- conform options]\n',
    );
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'parley-flakes-'));
  const lines: RunLine[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const line = await conform(firstSeed + i, join(dir, `run-${i + 1}`), positionals);
      lines.push(line);
      const s = line.summary;
      const counts = s
        ? `total ${s.total} pass ${s.pass} fail ${s.fail} warn ${s.warn} skip ${s.skip} error ${s.error}`
        : (line.died ?? 'no report');
      process.stdout.write(
        `run ${String(i + 1).padStart(2)}/${runs} seed ${line.seed}: exit ${line.exitCode}, ${counts}, ${line.durationMs} ms\n`,
      );
      for (const b of line.broken) process.stdout.write(`    ${b}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = lines.filter(
    (l) => l.exitCode !== 0 || !l.summary || l.summary.fail + l.summary.error > 0,
  );
  process.stdout.write(
    bad.length === 0
      ? `${runs} runs in a row: 0 fail, 0 error\n`
      : `${bad.length} of ${runs} runs broken (seeds ${bad.map((l) => l.seed).join(', ')})\n`,
  );
  return bad.length === 0 ? 0 : 1;
}

process.exitCode = await main();
