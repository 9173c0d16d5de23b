// Shared by the client fault tests of each part (client-faults-*.test.ts): runs client cases
// in-process against the reference client, or one of its fault variants, and describes the results.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type {
  ClientFault,
  ClientShouldFault,
} from '../../../conformance/client/reference-driver.ts';
import { inProcessReferenceDriver, startClientTarget } from '../../../conformance/client/target.ts';
import type { AnyCase } from '../../../conformance/runner/case.ts';
import type { CaseResult } from '../../../conformance/runner/events.ts';
import { runCases } from '../../../conformance/runner/run.ts';
import { loadCatalogue } from '../../../conformance/spec-model/catalogue.ts';
import { createFrameValidator, SCHEMA_DIR } from '../../../schemas/validator.ts';

const SPEC_DIR = fileURLToPath(new URL('../../../spec', import.meta.url));
const validator = createFrameValidator(SCHEMA_DIR);

/** Requirement ID → level, from the catalogue. */
export const levels = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r.level]));

/** Runs `selected` against one reference client with `faults` (none: the real client). */
export async function runAgainstClient(
  selected: readonly AnyCase[],
  faults: (ClientFault | ClientShouldFault)[],
  seed: number,
): Promise<CaseResult[]> {
  const client = await startClientTarget({
    link: inProcessReferenceDriver({ faults }),
    waitMs: 10_000,
  });
  try {
    return (await runCases(selected, { client, validator, seed, levels })).results;
  } finally {
    await client.close();
  }
}

/** One line per result: id, outcome, failed requirement and message. */
export const describeRun = (results: readonly CaseResult[]): string =>
  results
    .map((r) => `${r.id} ${r.outcome} ${r.failedRequirement ?? ''}: ${r.message ?? r.actual ?? ''}`)
    .join('\n');

/** Asserts that some case failed on `requirement`. */
export function expectFailedOn(results: readonly CaseResult[], requirement: string): void {
  const hits = results.filter((r) => r.outcome === 'fail' && r.failedRequirement === requirement);
  expect(hits.length, `no case failed on ${requirement}:\n${describeRun(results)}`).to.be.above(0);
}

/** Asserts that some case warned on `requirement` (a SHOULD) and that no case failed. */
export function expectWarnedOnly(results: readonly CaseResult[], requirement: string): void {
  const warned = results.filter((r) => r.outcome === 'warn' && r.failedRequirement === requirement);
  expect(warned.length, `no case warned on ${requirement}:\n${describeRun(results)}`).to.be.above(
    0,
  );
  expect(
    results.filter((r) => r.outcome === 'fail'),
    describeRun(results),
  ).to.deep.equal([]);
}
