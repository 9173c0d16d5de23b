// The suite's self-test for proxies, "red against broken variants": for each named fault of the
// reference proxy (reference-impl/proxy/faults.ts), the proxy cases run against that variant and
// must fail exactly the requirement the fault breaks (warn, for a SHOULD, and fail nothing); the
// unbroken proxy passes them all.
import { join } from 'node:path';
import { expect } from 'chai';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import { preflightProxy, startEmbeddedProxy } from '../../conformance/proxy/target.ts';
import { subjectOf } from '../../conformance/runner/case.ts';
import { runCases } from '../../conformance/runner/run.ts';
import { loadCatalogue } from '../../conformance/spec-model/catalogue.ts';
import {
  PROXY_FAULTS,
  proxyRequirementOf,
  type ProxyFault,
} from '../../reference-impl/proxy/index.ts';

const validator = createFrameValidator(SCHEMA_DIR);
const levels = new Map(
  loadCatalogue(join(process.cwd(), 'spec')).requirements.map((r) => [r.id, r.level]),
);
const PROXY_CASES = ALL_CASES.filter((c) => subjectOf(c) === 'proxy');

async function runAgainst(faults: readonly ProxyFault[]) {
  const proxy = await startEmbeddedProxy(faults);
  try {
    await preflightProxy(proxy, 10_000);
    return (await runCases(PROXY_CASES, { proxy, validator, seed: 1, levels })).results;
  } finally {
    await proxy.close();
  }
}

describe('the proxy cases against deliberately broken reference proxies', function () {
  this.timeout(120_000);

  it('has a proxy case for every requirement a proxy fault breaks', () => {
    const checked = new Set(PROXY_CASES.flatMap((c) => c.requirements));
    for (const fault of Object.keys(PROXY_FAULTS) as ProxyFault[])
      expect(checked, fault).to.include(proxyRequirementOf(fault));
  });

  it('passes every proxy case against the reference proxy with no fault injected', async () => {
    const results = await runAgainst([]);
    expect(
      results.filter((r) => r.outcome !== 'pass').map((r) => `${r.id}: ${r.message ?? r.actual}`),
    ).to.deep.equal([]);
  });

  for (const fault of Object.keys(PROXY_FAULTS) as ProxyFault[]) {
    const requirement = proxyRequirementOf(fault);
    const should = levels.get(requirement) === 'SHOULD';
    it(`${should ? 'warns on' : 'fails'} exactly ${requirement} against the variant ${fault}`, async () => {
      const results = await runAgainst([fault]);
      const judged = (outcome: string): (string | undefined)[] => [
        ...new Set(results.filter((r) => r.outcome === outcome).map((r) => r.failedRequirement)),
      ];
      const detail = JSON.stringify(
        results
          .filter((r) => r.outcome !== 'pass')
          .map((r) => [r.id, r.outcome, r.actual, r.message]),
      );
      expect(judged('fail'), detail).to.deep.equal(should ? [] : [requirement]);
      if (should) expect(judged('warn'), detail).to.deep.equal([requirement]);
      expect(results.filter((r) => r.outcome === 'error').map((r) => r.id)).to.deep.equal([]);
    });
  }
});
