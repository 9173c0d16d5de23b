// The suite's self-test for clients, "red against broken variants": for each named ENC fault of
// the reference client (CLIENT_FAULTS in conformance/client/reference-driver.ts), the client cases
// of the area run in-process against that variant and must be non-conformant on the requirement
// the fault breaks. No CLI flag reaches the faults.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import type { CliIo } from '../../conformance/cli/context.ts';
import { main } from '../../conformance/cli/main.ts';
import {
  CLIENT_FAULTS,
  CLIENT_SHOULD_FAULTS,
  type ClientFault,
  type ClientShouldFault,
} from '../../conformance/client/reference-driver.ts';
import { inProcessReferenceDriver, startClientTarget } from '../../conformance/client/target.ts';
import { subjectOf } from '../../conformance/runner/case.ts';
import type { CaseResult } from '../../conformance/runner/events.ts';
import { runCases } from '../../conformance/runner/run.ts';
import { EXIT_NONCONFORMANT, exitCodeOf } from '../../conformance/runner/summary.ts';
import { loadCatalogue } from '../../conformance/spec-model/catalogue.ts';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { expectWarnedOnly, runAgainstClient } from './support/client-variants.ts';

const SPEC_DIR = fileURLToPath(new URL('../../spec', import.meta.url));
const validator = createFrameValidator(SCHEMA_DIR);
const catalogue = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r]));
const levels = new Map([...catalogue.values()].map((r) => [r.id, r.level]));
const clientCases = ALL_CASES.filter((c) => subjectOf(c) === 'client');

/** Runs the client cases of `requirement`'s area against the reference client with `fault`. */
async function runAgainst(fault: ClientFault, requirement: string) {
  const area = requirement.split('-')[0]!;
  // Three instances of the broken client share the cases, as in an embedded run.
  const [client, ...moreClients] = await Promise.all(
    [1, 2, 3].map(() =>
      startClientTarget({ link: inProcessReferenceDriver({ faults: [fault] }), waitMs: 10_000 }),
    ),
  );
  try {
    const end = await runCases(
      clientCases.filter((c) => c.id.startsWith(`${area}-`)),
      { client: client!, moreClients, validator, seed: 5, levels },
    );
    return { exitCode: exitCodeOf(end.results), results: end.results };
  } finally {
    for (const c of [client!, ...moreClients]) await c.close();
  }
}

const describeRun = (results: readonly CaseResult[]): string =>
  results
    .filter((r) => r.outcome !== 'pass')
    .map((r) => `${r.id} ${r.outcome} ${r.failedRequirement ?? ''}: ${r.message ?? r.actual ?? ''}`)
    .join('\n');

describe('the conformance suite against deliberately broken reference clients', function () {
  this.timeout(120_000);

  it('names a MUST requirement that binds clients for every client fault', () => {
    for (const [fault, requirement] of Object.entries(CLIENT_FAULTS)) {
      expect(catalogue.get(requirement)?.level, fault).to.equal('MUST');
      expect(catalogue.get(requirement)?.binds, fault).to.include('client');
    }
  });

  it('offers no way to inject a client fault from the command line or the spawned driver', async () => {
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: (t) => void (out += t) };
    expect(await main(['node', 'parley', 'conform', '--help'], io)).to.equal(0);
    expect(out).to.not.match(/\bfaults?\b/i);
    const driver = readFileSync(
      new URL('../../conformance/client/reference-driver.ts', import.meta.url),
      'utf8',
    );
    const entry = driver.slice(driver.lastIndexOf('if (process.argv[1]'));
    expect(entry).to.include('serveReferenceDriver(process.stdin, process.stdout)');
    expect(entry).to.not.match(/faults|process\.env/);
  });

  // The ENC faults; the faults of other areas, and of sender keys (ENC-080..089,
  // client-faults-groups.test.ts), have their own test files.
  for (const [fault, requirement] of (
    Object.entries(CLIENT_FAULTS) as [ClientFault, string][]
  ).filter(([, r]) => r.startsWith('ENC-') && !r.startsWith('ENC-08')))
    it(`is non-conformant on ${requirement} against the client variant ${fault}`, async () => {
      const run = await runAgainst(fault, requirement);
      const hits = run.results.filter(
        (r) => r.outcome === 'fail' && r.failedRequirement === requirement,
      );
      expect(run.exitCode, describeRun(run.results)).to.equal(EXIT_NONCONFORMANT);
      expect(
        hits.length,
        `no case failed on ${requirement}:\n${describeRun(run.results)}`,
      ).to.be.above(0);
    });

  // The ENC faults that break a SHOULD: the case warns, nothing fails.
  for (const [fault, requirement] of (
    Object.entries(CLIENT_SHOULD_FAULTS) as [ClientShouldFault, string][]
  ).filter(([, r]) => r.startsWith('ENC-') && !r.startsWith('ENC-08')))
    it(`warns on ${requirement}, and fails nothing, against the client variant ${fault}`, async () => {
      const results = await runAgainstClient(
        clientCases.filter((c) => c.requirements.includes(requirement)),
        [fault],
        5,
      );
      expectWarnedOnly(results, requirement);
    });
});
