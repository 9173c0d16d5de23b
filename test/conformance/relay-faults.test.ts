// The verdict rule against providers behind a relay (support/relay.ts, relay-faults.ts; issue 14):
// a provider that loses or garbles pushes is FAIL on exactly the requirement it breaks, never
// ERROR; providers that differ only where the spec leaves them free (member order, a push
// repeated) pass.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import type { CaseResult } from '../../conformance/runner/events.ts';
import { runCases } from '../../conformance/runner/run.ts';
import { parseGlobs, selectCases } from '../../conformance/runner/select.ts';
import { exitCodeOf } from '../../conformance/runner/summary.ts';
import { loadCatalogue } from '../../conformance/spec-model/catalogue.ts';
import { startEmbeddedTarget } from '../../conformance/transport/embedded.ts';
import {
  operatorFor,
  registerOperator,
  unregisterOperator,
} from '../../conformance/transport/operator.ts';
import { preflight, probe } from '../../conformance/transport/target.ts';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { RELAY_VARIANTS, type RelayVariant } from './support/relay-faults.ts';
import { startRelay } from './support/relay.ts';

const SPEC_DIR = fileURLToPath(new URL('../../spec', import.meta.url));
const validator = createFrameValidator(SCHEMA_DIR);
const levels = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r.level]));

/** Runs the variant's cases against the reference provider behind the relay. */
export async function runBehindRelay(
  variant: RelayVariant,
  options: { timeoutFactor?: number; waitMs?: number } = {},
): Promise<{ exitCode: number; results: readonly CaseResult[] }> {
  const embedded = await startEmbeddedTarget();
  const relay = await startRelay({
    upstream: embedded.url,
    ...(variant.rewrite ? { rewrite: variant.rewrite() } : {}),
    ...(variant.latencyMs ? { latencyMs: variant.latencyMs } : {}),
  });
  const operator = operatorFor(embedded.url);
  if (operator) registerOperator(relay.url, operator);
  const factor = variant.timeoutFactor ?? options.timeoutFactor ?? 1;
  try {
    const target = await preflight(
      relay.url,
      embedded.registrationToken,
      embedded.partner,
      validator,
      2000 * factor,
    );
    const end = await runCases(selectCases(ALL_CASES, parseGlobs(variant.only)), {
      target,
      validator,
      seed: 11,
      concurrency: 4,
      levels,
      timeoutFactor: factor,
      probe: () => probe(relay.url, validator, 2000 * factor),
    });
    return {
      exitCode: exitCodeOf(end.results, end.breaker ? { breaker: end.breaker } : {}),
      results: end.results,
    };
  } finally {
    unregisterOperator(relay.url);
    await relay.close();
    await embedded.stop();
  }
}

const describeRun = (results: readonly CaseResult[]): string =>
  results
    .filter((r) => r.outcome !== 'pass')
    .map((r) => `${r.id} ${r.outcome} ${r.failedRequirement ?? ''}: ${r.message ?? r.actual ?? ''}`)
    .join('\n');

describe('the verdict rule against reference providers behind a relay', function () {
  this.timeout(180_000);

  for (const [name, variant] of Object.entries(RELAY_VARIANTS) as [string, RelayVariant][]) {
    if (variant.fails.length > 0)
      it(`fails ${variant.fails.join(', ')} and nothing else${variant.mayAlsoFail ? ` (${variant.mayAlsoFail.join(', ')} where the fault falls on its case)` : ''}, with no error, when ${variant.description} (${name})`, async () => {
        const run = await runBehindRelay(variant);
        const all = describeRun(run.results);
        expect(run.exitCode, all).to.equal(1);
        expect(
          run.results.filter((r) => r.outcome === 'error'),
          all,
        ).to.deep.equal([]);
        const failed = new Set(
          run.results.filter((r) => r.outcome === 'fail').map((r) => r.failedRequirement),
        );
        for (const requirement of variant.fails) expect([...failed], all).to.include(requirement);
        const allowed = [...variant.fails, ...(variant.mayAlsoFail ?? [])];
        for (const requirement of failed) expect(allowed, all).to.include(requirement);
      });
    else
      it(`passes when ${variant.description} (${name})`, async () => {
        const run = await runBehindRelay(variant);
        const all = describeRun(run.results);
        const warned = run.results.filter((r) => r.outcome === 'warn');
        for (const r of warned) expect(variant.warns ?? [], all).to.include(r.failedRequirement);
        expect(run.exitCode, all).to.equal(0);
      });
  }
});
