// tools/coverage-table.ts: conformance/README.md's coverage table is the one the requirement
// catalogue and the case library give, so that it cannot go stale.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  BEGIN,
  END,
  expectedReadme,
  README,
  renderCoverageTable,
} from '../../tools/coverage-table.ts';
import type { CatalogueRequirement } from '../../conformance/spec-model/catalogue.ts';
import { fakeCase } from '../conformance/runner/support.ts';

const requirement = (id: string, level: 'MUST' | 'SHOULD'): CatalogueRequirement => ({
  id,
  level,
  text: `${id} text`,
  section: 'framing.md#x',
  dma: ['7(2)'],
  binds: ['provider'],
});

describe('the coverage table of conformance/README.md', function () {
  this.timeout(60_000);

  it('is what the catalogue and the cases give (run `npm run docs:coverage` when this fails)', async function () {
    const actual = readFileSync(README, 'utf8');
    expect(actual).to.include(BEGIN).and.to.include(END);
    expect(actual === (await expectedReadme()), 'the committed table differs').to.equal(true);
  });

  it('counts a requirement under its own area whichever area names the case that checks it', function () {
    const table = renderCoverageTable(
      [
        requirement('PROTO-001', 'MUST'),
        requirement('PROTO-002', 'SHOULD'),
        requirement('AUTH-001', 'MUST'),
      ],
      [
        fakeCase('PROTO-001-a', undefined, { requirements: ['PROTO-001'] }),
        fakeCase('AUTH-001-a', undefined, { requirements: ['AUTH-001', 'PROTO-002'] }),
      ],
    );
    const cells = (l: string): string[] =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
    const lines = table.split('\n').filter((l) => l.startsWith('| '));
    const headings = cells(lines[0]!);
    // By heading, so that the test holds whatever subjects (columns) the suite has.
    const row = (area: string): Record<string, string> => {
      const found = lines.find((l) => cells(l)[0] === area);
      return Object.fromEntries(headings.map((h, i) => [h, cells(found ?? '')[i] ?? '']));
    };
    const columns = [
      'Requirements',
      'Have a case',
      'MUSTs that have a case',
      'Named by a provider case',
      'Named by a client case',
      'Provider cases',
      'Client cases',
    ];
    const pick = (area: string): string[] => columns.map((c) => row(area)[c] ?? '');
    expect(pick('PROTO')).to.deep.equal(['2', '2 / 2', '1 / 1', '2', '0', '1', '0']);
    expect(pick('AUTH')).to.deep.equal(['1', '1 / 1', '1 / 1', '1', '0', '1', '0']);
    expect(pick('**all**')).to.deep.equal(['3', '3 / 3', '2 / 2', '3', '0', '2', '0']);
  });
});
