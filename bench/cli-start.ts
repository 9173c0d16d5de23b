// Benchmark: how fast `parley --version` and `parley --help` answer (issue 14: under 0.5 s), from
// the compiled dist/ and, for comparison, from the sources through tsx (PARLEY_FROM_SOURCE=1),
// beside a bare `node -e 0` measured in the same run (the floor on this machine). Runs interleaved,
// so load changes hit every variant alike. Writes reports/bench/cli-start.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distIsCurrent } from '../bin/dist-state.js';
import { packagePath } from '../schemas/package-root.ts';
import { round, type Figure } from './support/figures.ts';

const RUNS = 10;
const TARGET_MS = 500;
const root = packagePath();

interface Variant {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'parley --version (dist/)', args: ['bin/parley.js', '--version'] },
  { name: 'parley --help (dist/)', args: ['bin/parley.js', '--help'] },
  {
    name: 'parley --version (sources, tsx)',
    args: ['bin/parley.js', '--version'],
    env: { PARLEY_FROM_SOURCE: '1' },
  },
  {
    name: 'parley --help (sources, tsx)',
    args: ['bin/parley.js', '--help'],
    env: { PARLEY_FROM_SOURCE: '1' },
  },
];

const median = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

if (!distIsCurrent()) {
  console.error('bench:cli: dist/ is missing or older than the sources; run `npm run build` first');
  process.exit(2);
}

const samples = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
for (let i = 0; i < RUNS; i++) {
  for (const v of VARIANTS) {
    const start = performance.now();
    const child = spawnSync(process.execPath, v.args, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...v.env },
    });
    const ms = performance.now() - start;
    if (child.status !== 0) throw new Error(`${v.name} exited ${child.status}: ${child.stderr}`);
    samples.get(v.name)!.push(ms);
  }
}

const medians = Object.fromEntries(
  VARIANTS.map((v) => [v.name, round(median(samples.get(v.name)!), 0)]),
);
console.table(
  VARIANTS.map((v) => ({
    variant: v.name,
    'median (ms)': medians[v.name],
    'min (ms)': round(Math.min(...samples.get(v.name)!), 0),
    'max (ms)': round(Math.max(...samples.get(v.name)!), 0),
  })),
);

const floor = medians['node -e 0']!;
const figures: Figure[] = ['--version', '--help'].map((flag) => {
  const ours = medians[`parley ${flag} (dist/)`]!;
  return {
    name: `parley ${flag} from dist/, median of ${RUNS} (beside node -e 0)`,
    ours,
    baseline: floor,
    baselineName: 'node -e 0',
    unit: 'ms',
    ratio: round(ours / floor, 2),
    target: `< ${TARGET_MS} ms`,
    met: ours < TARGET_MS,
    note: `from the sources through tsx: ${medians[`parley ${flag} (sources, tsx)`]} ms`,
  };
});
for (const f of figures)
  console.log(`${f.name}: ${f.ours} ms (node -e 0: ${floor} ms); ${f.note}; target ${f.target}`);

mkdirSync(join(root, 'reports/bench'), { recursive: true });
writeFileSync(
  join(root, 'reports/bench/cli-start.json'),
  `${JSON.stringify(
    {
      benchmark: 'cli-start',
      node: process.version,
      statistic: `median wall time of ${RUNS} interleaved runs, milliseconds`,
      date: new Date().toISOString(),
      medians,
      figures,
    },
    null,
    2,
  )}\n`,
);
