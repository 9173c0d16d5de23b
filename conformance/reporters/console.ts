// The console reporter: live progress while cases run (one rewritten line on a TTY, one line per
// case otherwise), then failures with expected and actual, and a summary table. Colour only on a
// TTY without NO_COLOR.
import type { CaseResult, RunEnd, RunnerEvents } from '../runner/events.ts';
import type { Outcome } from '../runner/case.ts';
import { NOT_SELECTED } from './report.ts';

export interface ConsoleOptions {
  write: (text: string) => void;
  tty: boolean;
  color: boolean;
  /** Coverage of the finished run for the summary: "has a case" and "checked in this run". */
  coverage?: (end: RunEnd) => ConsoleCoverage;
}

/** What the summary says about coverage (Report['coverage'] fits). */
export interface ConsoleCoverage {
  requirements: number;
  covered: number;
  checked: number;
  selected: number;
  notChecked: readonly { id: string; level: string; reason: string }[];
}

const COLORS: Record<Outcome, string> = {
  pass: '32',
  fail: '31',
  warn: '33',
  skip: '90',
  error: '35',
};

/** Whether to colour: a TTY and no NO_COLOR (https://no-color.org). */
export function useColor(tty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return tty && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
}

/** Attaches the console reporter to runner events. */
export function attachConsole(events: RunnerEvents, options: ConsoleOptions): void {
  const paint = (o: Outcome, text: string): string =>
    options.color ? `\u001b[${COLORS[o]}m${text}\u001b[0m` : text;
  const label = (r: CaseResult): string => {
    const tag = r.expectedFailure ? 'xfail' : r.unexpectedPass ? 'XPASS' : r.outcome;
    return paint(r.unexpectedPass ? 'fail' : r.outcome, tag.toUpperCase().padEnd(5));
  };
  let lineOpen = false;
  events.on('run.start', (s) => {
    options.write(
      `parley conform: ${s.total} cases against ${[s.target, s.client ? `the client ${s.client}` : ''].filter(Boolean).join(' and ')} (seed ${s.seed}, concurrency ${s.concurrency})\n`,
    );
  });
  events.on('breaker.open', ({ reason }) => {
    if (lineOpen) options.write('\n');
    lineOpen = false;
    options.write(`circuit breaker open: ${reason}; the remaining cases end as error\n`);
  });
  events.on('case.end', ({ result, done, total }) => {
    const why =
      result.outcome === 'skip'
        ? ` — ${result.level} not checked: ${result.message ?? 'skipped'}`
        : '';
    const line = `[${String(done).padStart(String(total).length)}/${total}] ${label(result)} ${result.subject === 'client' || result.subject === 'proxy' ? `${result.subject} ` : ''}${result.id} (${result.durationMs} ms)${why}`;
    if (options.tty) {
      options.write(`\r\u001b[2K${line}`);
      lineOpen = true;
      if (
        result.outcome === 'fail' ||
        result.outcome === 'error' ||
        result.outcome === 'skip' ||
        result.unexpectedPass
      ) {
        options.write('\n');
        lineOpen = false;
      }
    } else options.write(`${line}\n`);
  });
  events.on('run.end', (end) => {
    if (lineOpen) options.write('\r\u001b[2K');
    options.write(renderDetails(end));
    options.write(renderSummaryTable(end, options.coverage?.(end), paint));
  });
}

/** The fail, warn and error results with what was expected and what came. */
export function renderDetails(end: RunEnd): string {
  const notable = end.results.filter(
    (r) =>
      r.outcome === 'fail' || r.outcome === 'warn' || r.outcome === 'error' || r.unexpectedPass,
  );
  if (notable.length === 0) return '';
  const lines = notable.map((r) => {
    const head = `${r.unexpectedPass ? 'UNEXPECTED PASS' : r.outcome.toUpperCase()}${r.expectedFailure ? ' (expected)' : ''} ${r.id} — ${r.title}`;
    const body =
      r.outcome === 'error' || r.unexpectedPass
        ? `    ${r.message ?? 'listed as an expected failure'}`
        : `    ${r.failedRequirement}: ${r.failedQuote ?? r.quote}\n    expected: ${r.expected}\n    actual:   ${r.actual}`;
    return `${head}\n${body}`;
  });
  return `\n${lines.join('\n')}\n`;
}

/** The per-area table of outcomes and the totals line. */
export function renderSummaryTable(
  end: RunEnd,
  coverage: ConsoleCoverage | undefined,
  paint: (o: Outcome, text: string) => string = (_o, t) => t,
): string {
  const outcomes: Outcome[] = ['pass', 'fail', 'warn', 'skip', 'error'];
  const areas = [...new Set(end.results.map((r) => r.area))].sort();
  const header = `\n${'area'.padEnd(9)}${outcomes.map((o) => o.padStart(7)).join('')}${'total'.padStart(7)}\n`;
  const row = (name: string, rs: readonly CaseResult[]): string =>
    `${name.padEnd(9)}${outcomes
      .map((o) => {
        const n = rs.filter((r) => r.outcome === o).length;
        const cell = String(n).padStart(7);
        return n > 0 && o !== 'pass' ? paint(o, cell) : cell;
      })
      .join('')}${String(rs.length).padStart(7)}\n`;
  const s = end.summary;
  const extra = [
    s.expectedFailures ? `${s.expectedFailures} expected failures` : '',
    s.unexpectedPasses ? `${s.unexpectedPasses} unexpected passes` : '',
  ].filter(Boolean);
  return `${header}${areas
    .map((a) =>
      row(
        a,
        end.results.filter((r) => r.area === a),
      ),
    )
    .join(
      '',
    )}${row('all', end.results)}\n${extra.join('; ')}${extra.length ? '; ' : ''}${end.durationMs} ms\n${coverage ? renderCoverage(coverage) : ''}`;
}

/**
 * Coverage as it is: how many requirements have a case, how many this run checked, and every MUST
 * with a case that it did not check, grouped by reason.
 */
export function renderCoverage(c: ConsoleCoverage): string {
  const musts = c.notChecked.filter((n) => n.level === 'MUST');
  const unselected = musts.filter((n) => n.reason === NOT_SELECTED);
  const byReason = new Map<string, string[]>();
  for (const n of musts)
    if (n.reason !== NOT_SELECTED)
      byReason.set(n.reason, [...(byReason.get(n.reason) ?? []), n.id]);
  const lines = [...byReason].map(([reason, ids]) => `  ${ids.join(', ')}: ${reason}\n`);
  return (
    `requirements: ${c.covered}/${c.requirements} have a case; ${c.checked}/${c.requirements} checked in this run (${c.selected} named by the selected cases)\n` +
    (lines.length > 0
      ? `selected MUSTs not checked in this run: ${musts.length - unselected.length}\n${lines.join('')}`
      : '') +
    (unselected.length > 0
      ? `MUSTs with a case not selected for this run (--only, --exclude, or a subject not under test): ${unselected.length} (listed in report.json and report.html)\n`
      : '')
  );
}
