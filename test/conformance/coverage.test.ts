// "Every MUST in the catalogue is covered by at least one case" (issue 6): the registered library,
// provider and client cases alike, against spec/requirements.yaml; and the reports name the
// requirements that have no case.
import { join } from 'node:path';
import { expect } from 'chai';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import { renderHtml } from '../../conformance/reporters/html.ts';
import { buildReport } from '../../conformance/reporters/report.ts';
import type { RunEnd } from '../../conformance/runner/events.ts';
import { summarise } from '../../conformance/runner/summary.ts';
import { loadCatalogue } from '../../conformance/spec-model/catalogue.ts';
import { fakeCase } from './runner/support.ts';

const catalogue = loadCatalogue(join(process.cwd(), 'spec')).requirements;

describe('the case library against the requirement catalogue', () => {
  it('covers every MUST in the catalogue with at least one provider or client case', () => {
    const covered = new Set(ALL_CASES.flatMap((c) => c.requirements));
    const missing = catalogue
      .filter((r) => r.level === 'MUST' && !covered.has(r.id))
      .map((r) => `${r.id} (binds ${r.binds.join(', ')}): ${r.text.slice(0, 90)}`);
    expect(missing, `MUST requirements without a case:\n  ${missing.join('\n  ')}\n`).to.deep.equal(
      [],
    );
  });

  it('lists the requirements without a case in report.json and in report.html', () => {
    const results: RunEnd['results'] = [];
    const end: RunEnd = { results, summary: summarise(results), durationMs: 1 };
    const library = [fakeCase('PROTO-002-x', undefined, { requirements: ['PROTO-002'] })];
    const report = buildReport({
      end,
      catalogue,
      library,
      suiteVersion: '0',
      specVersion: '0',
      target: { url: 'ws://127.0.0.1:1/x', domain: 'p.example', embedded: true, capabilities: [] },
      seed: 1,
      options: {},
      startedAt: new Date(0),
      exitCode: 0,
    });
    const uncovered = catalogue.map((r) => r.id).filter((id) => id !== 'PROTO-002');
    expect(report.coverage.notCoveredIds).to.deep.equal(uncovered);
    expect(report.coverage.notCovered).to.equal(catalogue.length - 1);
    const html = renderHtml(report);
    const listed = /Requirements without a case: (.*)<\/p>/.exec(html)?.[1] ?? '';
    expect(listed).to.include('<code>PROTO-001</code>').and.to.include('<code>ENC-013</code>');
    expect(listed).to.not.include('PROTO-002<');
  });
});
