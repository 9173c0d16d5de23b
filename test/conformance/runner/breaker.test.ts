// The circuit breaker against a target that really dies mid-run (conformance/runner/run.ts): the
// embedded reference provider is stopped after a few cases; what ran before stands, everything
// after ends as error (never pass, never fail), and the run exits 2.
import { join } from 'node:path';
import { expect } from 'chai';
import { ALL_CASES } from '../../../conformance/cases/index.ts';
import { subjectOf, type ConformanceCase } from '../../../conformance/runner/case.ts';
import { RunnerEvents, type RunEnd } from '../../../conformance/runner/events.ts';
import { runCases } from '../../../conformance/runner/run.ts';
import { parseGlobs, selectCases } from '../../../conformance/runner/select.ts';
import { EXIT_HARNESS, exitCodeOf } from '../../../conformance/runner/summary.ts';
import { loadCatalogue } from '../../../conformance/spec-model/catalogue.ts';
import { startEmbeddedTarget } from '../../../conformance/transport/embedded.ts';
import { preflight, probe } from '../../../conformance/transport/target.ts';
import { validator } from './support.ts';

const levels = new Map(
  loadCatalogue(join(process.cwd(), 'spec')).requirements.map((r) => [r.id, r.level]),
);

/** Runs `only` against a fresh embedded provider that is stopped once `before` cases have ended. */
async function dyingRun(only: string[], before: number, concurrency: number): Promise<RunEnd> {
  const embedded = await startEmbeddedTarget();
  let stopped: Promise<void> | undefined;
  try {
    const target = await preflight(
      embedded.url,
      embedded.registrationToken,
      embedded.partner,
      validator,
      2000,
    );
    const events = new RunnerEvents();
    events.on('case.end', ({ done }) => {
      if (done === before) stopped = embedded.stop();
    });
    const cases = selectCases(ALL_CASES, parseGlobs(only)).filter(
      (c): c is ConformanceCase => subjectOf(c) === 'provider',
    );
    return await runCases(cases, {
      target,
      validator,
      seed: 11,
      concurrency,
      levels,
      events,
      probe: () => probe(embedded.url, validator, 2000),
    });
  } finally {
    await (stopped ?? embedded.stop());
  }
}

describe('the circuit breaker when the target dies mid-run', function () {
  this.timeout(60_000);

  it('reports every case after the death as error, none as pass or fail, and exits 2', async () => {
    const end = await dyingRun(['CONSENT-*', 'DELIV-0*'], 3, 1);
    expect(end.breaker, 'the breaker opened').to.be.a('string');
    const ordered = [...end.results];
    const decided = ordered.filter((r) => r.outcome === 'pass');
    const after = ordered.filter((r) => r.outcome !== 'pass');
    expect(decided.length, 'the three cases before the death passed').to.equal(3);
    expect(after.length).to.be.above(5);
    expect(
      after.filter((r) => r.outcome !== 'error').map((r) => `${r.id} ${r.outcome}`),
    ).to.deep.equal([]);
    expect(exitCodeOf(end.results, { breaker: end.breaker! })).to.equal(EXIT_HARNESS);
  });

  it('turns the cases in flight when the target dies into errors, not failures', async () => {
    const end = await dyingRun(['CONSENT-*', 'DELIV-*', 'KEYS-*'], 4, 4);
    expect(end.breaker).to.be.a('string');
    const judged = end.results.filter((r) => r.outcome === 'fail' || r.outcome === 'warn');
    expect(judged.map((r) => `${r.id} ${r.outcome}: ${r.actual ?? r.message ?? ''}`)).to.deep.equal(
      [],
    );
    expect(exitCodeOf(end.results, { breaker: end.breaker! })).to.equal(EXIT_HARNESS);
  });
});
