// The report model (issue 6): what report.json holds and the HTML and JUnit reporters render: the
// run's summary, target, versions, seed, timings, every result, and requirement coverage from the
// catalogue (covered, not run, not covered) grouped by area and DMA provision.
import type { CatalogueRequirement } from '../spec-model/catalogue.ts';
import { capResult } from './caps.ts';
import type { AnyCase, Outcome } from '../runner/case.ts';
import { areaOf } from '../runner/case.ts';
import type { CaseResult, RunEnd, Summary } from '../runner/events.ts';

export const REPORT_FORMAT = 'parley-conformance-report/1';

/** A requirement's standing in this run: the worst outcome of its cases. */
export type RequirementStatus = Outcome | 'not run' | 'not covered';

export interface RequirementRow {
  id: string;
  area: string;
  level: string;
  dma: string[];
  section: string;
  text: string;
  cases: string[];
  status: RequirementStatus;
  /** A case of this run decided it: passed, or failed or warned on this very requirement. */
  checked: boolean;
  /** Why a requirement that has a case was not checked in this run. */
  reason?: string;
}

/** A requirement that has a case but was not checked in this run, and why. */
export interface NotChecked {
  id: string;
  level: string;
  reason: string;
}

export interface Report {
  format: typeof REPORT_FORMAT;
  suite: { name: string; version: string };
  spec: { version: string; requirements: number };
  target: {
    url: string;
    domain: string;
    embedded: boolean;
    capabilities: string[];
    /** The client under test, when client cases ran. */
    client?: { driver: string; name: string; version: string; embedded: boolean };
    /** The partner proxy under test, when proxy cases ran (spec/proxy.md). */
    proxy?: string;
  };
  seed: number;
  options: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  exitCode: number;
  breaker?: string;
  /** Set when the run was interrupted (Ctrl-C): the results are those of the cases that ended. */
  interrupted?: boolean;
  summary: Summary;
  coverage: {
    requirements: number;
    /** Requirements that have a case in the library ("has a case"). */
    covered: number;
    notCovered: number;
    /** The requirement IDs no case names yet. */
    notCoveredIds: string[];
    /** Requirements a case decided in this run ("checked in this run"). */
    checked: number;
    /** Requirements named by a case selected for this run. */
    selected: number;
    /** Requirements with a case that this run did not check, each with its reason. */
    notChecked: NotChecked[];
    byArea: Record<string, { requirements: number; covered: number; checked: number }>;
  };
  requirements: RequirementRow[];
  results: CaseResult[];
}

const SEVERITY: RequirementStatus[] = ['fail', 'error', 'warn', 'skip', 'pass', 'not run'];

/** The worst of several outcomes, for the requirement matrix. */
export function worst(outcomes: readonly RequirementStatus[]): RequirementStatus {
  for (const s of SEVERITY) if (outcomes.includes(s)) return s;
  return 'not run';
}

/** Why a run that selected no case of a requirement did not check it. */
export const NOT_SELECTED =
  'no case of it was selected (--only, --exclude, or its subject is not under test in this run)';

/**
 * Coverage of the catalogue by a case library (every registered case, selected or not) and by the
 * results of a run: a requirement is checked when a case naming it passed, or failed or warned on
 * it; a case that failed on another requirement stopped before deciding the rest.
 */
export function requirementRows(
  catalogue: readonly CatalogueRequirement[],
  library: readonly AnyCase[],
  results: readonly CaseResult[],
): RequirementRow[] {
  return catalogue.map((r) => {
    const cases = library.filter((c) => c.requirements.includes(r.id)).map((c) => c.id);
    const mine = results.filter((x) => x.requirements.includes(r.id));
    const stoppedElsewhere = (x: CaseResult): boolean =>
      (x.outcome === 'fail' || x.outcome === 'warn') &&
      x.failedRequirement !== undefined &&
      x.failedRequirement !== r.id;
    const statuses = mine.map((x): RequirementStatus =>
      stoppedElsewhere(x) ? 'not run' : x.outcome,
    );
    const checked = statuses.some((s) => s === 'pass' || s === 'fail' || s === 'warn');
    const reasons = [
      ...new Set(
        mine.map((x) =>
          stoppedElsewhere(x)
            ? `its case ${x.id} stopped at the failure of ${x.failedRequirement}`
            : `${x.outcome === 'skip' ? 'skipped' : x.outcome}: ${x.message ?? x.id}`,
        ),
      ),
    ];
    return {
      id: r.id,
      area: areaOf(r.id),
      level: r.level,
      dma: [...r.dma],
      section: r.section,
      text: r.text,
      cases,
      status: cases.length === 0 ? 'not covered' : worst(statuses),
      checked,
      ...(cases.length > 0 && !checked
        ? { reason: mine.length === 0 ? NOT_SELECTED : reasons.join('; ') }
        : {}),
    };
  });
}

/** "Has a case" and "checked in this run" counts, overall and per area, and what was not checked. */
export function coverageOf(
  rows: readonly RequirementRow[],
  results: readonly CaseResult[] = [],
): Report['coverage'] {
  const byArea: Report['coverage']['byArea'] = {};
  for (const row of rows) {
    const a = (byArea[row.area] ??= { requirements: 0, covered: 0, checked: 0 });
    a.requirements++;
    if (row.status !== 'not covered') a.covered++;
    if (row.checked) a.checked++;
  }
  const covered = rows.filter((r) => r.status !== 'not covered').length;
  const notCoveredIds = rows.filter((r) => r.status === 'not covered').map((r) => r.id);
  const named = new Set(results.flatMap((r) => r.requirements));
  return {
    requirements: rows.length,
    covered,
    notCovered: notCoveredIds.length,
    notCoveredIds,
    checked: rows.filter((r) => r.checked).length,
    selected: rows.filter((r) => named.has(r.id)).length,
    notChecked: rows
      .filter((r) => r.reason !== undefined)
      .map((r) => ({ id: r.id, level: r.level, reason: r.reason! })),
    byArea,
  };
}

/**
 * The MUSTs named by a selected case that the run did not check: with `--fail-on unchecked` any of
 * them makes the run non-conformant as certified.
 */
export function uncheckedSelectedMusts(coverage: Report['coverage']): NotChecked[] {
  return coverage.notChecked.filter((n) => n.level === 'MUST' && n.reason !== NOT_SELECTED);
}

/** Assembles the report of a finished run. */
export function buildReport(input: {
  end: RunEnd;
  catalogue: readonly CatalogueRequirement[];
  library: readonly AnyCase[];
  suiteVersion: string;
  specVersion: string;
  target: Report['target'];
  seed: number;
  options: Record<string, unknown>;
  startedAt: Date;
  exitCode: number;
}): Report {
  const rows = requirementRows(input.catalogue, input.library, input.end.results);
  return {
    format: REPORT_FORMAT,
    suite: { name: 'parley conform', version: input.suiteVersion },
    spec: { version: input.specVersion, requirements: input.catalogue.length },
    target: input.target,
    seed: input.seed,
    options: input.options,
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date(input.startedAt.getTime() + input.end.durationMs).toISOString(),
    durationMs: input.end.durationMs,
    exitCode: input.exitCode,
    ...(input.end.breaker ? { breaker: input.end.breaker } : {}),
    summary: input.end.summary,
    coverage: coverageOf(rows, input.end.results),
    requirements: rows,
    results: input.end.results.map(capResult),
  };
}
