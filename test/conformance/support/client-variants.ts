// Shared by the client fault tests of each part (client-faults-*.test.ts): runs client cases
// in-process against the reference client, or one of its fault variants, and describes the results.
import { fileURLToPath } from 'node:url';
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
