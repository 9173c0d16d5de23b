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
  };
  seed: number;
  options: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  exitCode: number;
  breaker?: string;
  summary: Summary;
  coverage: {
    requirements: number;
    covered: number;
    notCovered: number;
    /** The requirement IDs no case names yet. */
    notCoveredIds: string[];
    byArea: Record<string, { requirements: number; covered: number }>;
  };
  requirements: RequirementRow[];
  results: CaseResult[];
}

const SEVERITY: RequirementStatus[] = ['fail', 'error', 'warn', 'skip', 'pass', 'not run'];

/** The worst of several outcomes, for the requirement matrix. */
export function worst(outcomes: readonly Outcome[]): RequirementStatus {
  for (const s of SEVERITY) if (outcomes.includes(s as Outcome)) return s;
  return 'not run';
}

/** Coverage of the catalogue by a case library (every registered case, selected or not). */
export function requirementRows(
  catalogue: readonly CatalogueRequirement[],
  library: readonly AnyCase[],
  results: readonly CaseResult[],
): RequirementRow[] {
  return catalogue.map((r) => {
    const cases = library.filter((c) => c.requirements.includes(r.id)).map((c) => c.id);
    const outcomes = results.filter((x) => x.requirements.includes(r.id)).map((x) => x.outcome);
    return {
      id: r.id,
      area: areaOf(r.id),
      level: r.level,
      dma: [...r.dma],
      section: r.section,
      text: r.text,
      cases,
      status: cases.length === 0 ? 'not covered' : worst(outcomes),
    };
  });
}

/** Covered / not-covered counts, overall and per area. */
export function coverageOf(rows: readonly RequirementRow[]): Report['coverage'] {
  const byArea: Report['coverage']['byArea'] = {};
  for (const row of rows) {
    const a = (byArea[row.area] ??= { requirements: 0, covered: 0 });
    a.requirements++;
    if (row.status !== 'not covered') a.covered++;
  }
  const covered = rows.filter((r) => r.status !== 'not covered').length;
  const notCoveredIds = rows.filter((r) => r.status === 'not covered').map((r) => r.id);
  return {
    requirements: rows.length,
    covered,
    notCovered: notCoveredIds.length,
    notCoveredIds,
    byArea,
  };
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
    coverage: coverageOf(rows),
    requirements: rows,
    results: input.end.results.map(capResult),
  };
}
