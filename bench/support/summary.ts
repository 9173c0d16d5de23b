/**
 * The benchmark summary (reports/bench/summary.md): one Markdown table of every figure of every
 * report, and how each benchmark of the run ended. Pure: the runner (bench/index.ts) reads the
 * files and runs the processes; this only formats.
 */
import type { Figure } from './figures.ts';

/** A benchmark report as reports/bench/<name>.json holds it; only these members are read. */
export interface BenchReport {
  /** The file's name without `.json`. */
  name: string;
  figures: Figure[];
  /** When the report was written (its `date`, or the file's time). */
  date?: string;
  /** Set when the file was not rewritten by this run (the benchmark failed, stalled or was skipped). */
  stale?: boolean;
}

/** How one benchmark process of the run ended. */
export interface BenchRun {
  name: string;
  status: 'ok' | 'failed' | 'stalled' | 'skipped';
  seconds: number;
  /** Exit code or signal of a failed run; the time limit of a stalled one. */
  detail?: string;
}

/** A table cell: no line breaks, `|` escaped. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function value(n: number | null, unit: string): string {
  return n === null ? '—' : `${n} ${unit}`;
}

function met(f: Figure): string {
  if (f.met === null) return '—';
  return f.met ? 'yes' : '**no**';
}

/** The Markdown table of figures: benchmark, figure, ours, baseline, ratio, target, met. */
export function figureTable(reports: readonly BenchReport[]): string {
  const lines = [
    '| benchmark | figure | ours | baseline | ratio | target | met |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of reports)
    for (const f of r.figures)
      lines.push(
        `| ${cell(r.stale ? `${r.name} (earlier run)` : r.name)} | ${cell(f.name)} | ${cell(value(f.ours, f.unit))} | ${cell(value(f.baseline, f.unit))} | ${f.ratio ?? '—'} | ${cell(f.target)} | ${met(f)} |`,
      );
  return lines.join('\n');
}

/** The whole summary: the run's outcome per benchmark, the figure table, and each baseline named. */
export function renderSummary(options: {
  date: string;
  runs: readonly BenchRun[];
  reports: readonly BenchReport[];
  /** Free text about the machine (cores, load average). */
  machine?: string;
}): string {
  const { runs, reports } = options;
  const out = [
    `# Benchmark summary`,
    '',
    `Run ${options.date}.${options.machine ? ` ${options.machine}` : ''}`,
    '',
  ];
  if (runs.length > 0) {
    out.push('| benchmark | run | seconds |', '| --- | --- | ---: |');
    for (const r of runs)
      out.push(
        `| ${cell(r.name)} | ${cell(r.detail ? `${r.status} (${r.detail})` : r.status)} | ${r.seconds} |`,
      );
    out.push('');
  }
  const counted = reports.flatMap((r) => r.figures);
  const missed = counted.filter((f) => f.met === false).length;
  const metCount = counted.filter((f) => f.met === true).length;
  out.push(
    `${counted.length} figures: ${metCount} met, ${missed} missed, ${counted.length - metCount - missed} without a target.`,
    '',
    figureTable(reports),
    '',
  );
  const baselines = reports.flatMap((r) =>
    [...new Set(r.figures.map((f) => f.baselineName).filter((b): b is string => b !== null))].map(
      (b) => `- ${cell(r.name)}: ${cell(b)}`,
    ),
  );
  if (baselines.length > 0)
    out.push('Baselines, each measured in the same run as ours:', '', ...baselines, '');
  const stale = reports.filter((r) => r.stale);
  if (stale.length > 0)
    out.push(
      `Figures marked "earlier run" come from a report this run did not rewrite: ${stale.map((r) => `${r.name}${r.date ? ` (${r.date})` : ''}`).join(', ')}.`,
      '',
    );
  return out.join('\n');
}
