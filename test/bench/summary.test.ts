import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { benchScripts, readReports } from '../../bench/index.ts';
import { boundFigure, ratioFigure, type Figure } from '../../bench/support/figures.ts';
import { figureTable, renderSummary } from '../../bench/support/summary.ts';

const throughput = boundFigure({
  name: 'delivered messages per second',
  ours: 12_345.4,
  unit: 'msg/s',
  direction: 'at-least',
  bound: 20_000,
  baseline: 30_000,
  baselineName: 'raw ws relay',
  digits: 0,
});

const latency: Figure = {
  name: 'p99 latency at 1000 msg/s | open loop',
  ours: 4.2,
  baseline: null,
  baselineName: null,
  unit: 'ms',
  ratio: null,
  target: 'reported',
  met: null,
};

describe('the benchmark summary (bench/support/summary.ts)', () => {
  it('turns every figure into one table row: benchmark, figure, ours, baseline, ratio, target, met', () => {
    const table = figureTable([{ name: 'relay', figures: [throughput, latency] }]).split('\n');
    expect(table[0]).to.equal('| benchmark | figure | ours | baseline | ratio | target | met |');
    expect(table).to.have.length(4);
    expect(table[2]).to.equal(
      '| relay | delivered messages per second | 12345 msg/s | 30000 msg/s | 0.412 | ≥ 20000 msg/s | **no** |',
    );
    expect(table[3]).to.equal(
      '| relay | p99 latency at 1000 msg/s \\| open loop | 4.2 ms | — | — | reported | — |',
    );
  });

  it('marks a met target yes and a report from an earlier run as such', () => {
    const fast = ratioFigure({
      name: 'encrypt',
      ours: 900,
      baseline: 1000,
      baselineName: 'node:crypto',
      target: 0.5,
    });
    const [, , row] = figureTable([{ name: 'attachments', figures: [fast], stale: true }]).split(
      '\n',
    );
    expect(row).to.equal(
      '| attachments (earlier run) | encrypt | 900 MiB/s | 1000 MiB/s | 0.9 | ratio ≥ 0.5 | yes |',
    );
  });

  it('reports a stalled benchmark and a failed one beside the figures of the others', () => {
    const md = renderSummary({
      date: '2026-11-26T16:00:00.000Z',
      runs: [
        { name: 'relay', status: 'ok', seconds: 80.5 },
        { name: 'attachments', status: 'stalled', seconds: 900, detail: 'stopped after 15 min' },
        { name: 'crypto', status: 'failed', seconds: 3, detail: 'exit 1' },
      ],
      reports: [{ name: 'relay', figures: [throughput, latency] }],
    });
    expect(md).to.include('| attachments | stalled (stopped after 15 min) | 900 |');
    expect(md).to.include('| crypto | failed (exit 1) | 3 |');
    expect(md).to.include('2 figures: 0 met, 1 missed, 1 without a target.');
    expect(md).to.include('- relay: raw ws relay');
  });
});

describe('the benchmark runner (bench/index.ts)', () => {
  it('finds every bench:<name> script of package.json and nothing else', () => {
    expect(
      benchScripts({
        scripts: {
          bench: 'tsx bench/index.ts',
          'bench:crypto': 'tsx bench/crypto.ts',
          soak: 'tsx bench/soak.ts',
          'bench:relay': 'tsx bench/relay.ts',
        },
      }),
    ).to.deep.equal(['crypto', 'relay']);
  });

  it('reads only reports with figures and marks those older than the run as stale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-summary-'));
    try {
      writeFileSync(join(dir, 'relay.json'), JSON.stringify({ date: 'd1', figures: [latency] }));
      writeFileSync(join(dir, 'old.json'), JSON.stringify({ figures: [throughput] }));
      writeFileSync(join(dir, 'legacy.json'), JSON.stringify({ scenarios: [] }));
      writeFileSync(join(dir, 'broken.json'), '{');
      utimesSync(join(dir, 'old.json'), new Date(1000), new Date(1000));
      const reports = readReports(dir, 2000);
      expect(reports.map((r) => [r.name, r.stale ?? false])).to.deep.equal([
        ['old', true],
        ['relay', false],
      ]);
      expect(reports[1]!.date).to.equal('d1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
