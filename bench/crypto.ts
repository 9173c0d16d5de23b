// Benchmark: Parley's Signal Protocol core beside libsignal-client 0.72.1 in one process (spec:
// Cryptography). Prints a table and writes reports/bench/crypto.json (medians, ratio = ours / libsignal).
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { makeParty, text, type Party } from '../test/reference-impl/crypto/support/parties.ts';
import type { Figure } from './support/figures.ts';

type Kind = 'parley' | 'libsignal';

const median = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function established(kind: Kind): Promise<[Party, Party]> {
  const alice = makeParty(kind, 'alice');
  const bob = makeParty(kind, 'bob');
  await alice.startSession(bob.address, await bob.bundle());
  await bob.decrypt(alice.address, await alice.encrypt(bob.address, text('hello')));
  await alice.decrypt(bob.address, await bob.encrypt(alice.address, text('hi')));
  return [alice, bob];
}

const payload = text('x'.repeat(160));

/** X3DH on both sides: alice processes bob's bundle and encrypts, bob decrypts the prekey message. */
async function setup(kind: Kind, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const alice = makeParty(kind, 'alice');
    const bob = makeParty(kind, 'bob');
    const bundle = await bob.bundle();
    const start = performance.now();
    await alice.startSession(bob.address, bundle);
    await bob.decrypt(alice.address, await alice.encrypt(bob.address, payload));
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Encrypt + decrypt alice → bob on an established chain (no DH step). */
async function sameDirection(kind: Kind, iterations: number): Promise<number[]> {
  const [alice, bob] = await established(kind);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await bob.decrypt(alice.address, await alice.encrypt(bob.address, payload));
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Encrypt + decrypt alternating direction: every message carries a new ratchet key (a DH step). */
async function pingPong(kind: Kind, iterations: number): Promise<number[]> {
  const [alice, bob] = await established(kind);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
    const start = performance.now();
    await to.decrypt(from.address, await from.encrypt(to.address, payload));
    samples.push(performance.now() - start);
  }
  return samples;
}

const scenarios = [
  { name: 'session set-up (X3DH both sides + first message)', run: setup, iterations: 400 },
  { name: 'same-direction round trip (encrypt + decrypt)', run: sameDirection, iterations: 3000 },
  { name: 'ping-pong round trip (DH ratchet step each message)', run: pingPong, iterations: 2000 },
];

const results = [];
for (const scenario of scenarios) {
  // Warm both implementations, then measure them interleaved in rounds to share machine noise.
  await scenario.run('parley', 50);
  await scenario.run('libsignal', 50);
  const ours: number[] = [];
  const theirs: number[] = [];
  // Process CPU time (every thread) over whole iterations, the parties' own set-up included.
  const cpu = { parley: 0, libsignal: 0 };
  const timed = async (kind: Kind, iterations: number): Promise<number[]> => {
    const before = process.cpuUsage();
    const samples = await scenario.run(kind, iterations);
    const used = process.cpuUsage(before);
    cpu[kind] += used.user + used.system;
    return samples;
  };
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    ours.push(...(await timed('parley', scenario.iterations / rounds)));
    theirs.push(...(await timed('libsignal', scenario.iterations / rounds)));
  }
  const oursMedian = median(ours);
  const theirsMedian = median(theirs);
  results.push({
    scenario: scenario.name,
    iterations: scenario.iterations,
    oursMedianMs: Number(oursMedian.toFixed(4)),
    libsignalMedianMs: Number(theirsMedian.toFixed(4)),
    ratio: Number((oursMedian / theirsMedian).toFixed(3)),
    cpuPerIterationUs: {
      ours: Math.round(cpu.parley / scenario.iterations),
      libsignal: Math.round(cpu.libsignal / scenario.iterations),
      ratio: Number((cpu.parley / cpu.libsignal).toFixed(3)),
    },
  });
}

console.table(
  results.map((r) => ({
    scenario: r.scenario,
    'ours (ms)': r.oursMedianMs,
    'libsignal (ms)': r.libsignalMedianMs,
    ratio: r.ratio,
    target: r.ratio <= 1 ? 'met (≤ 1.0)' : 'missed (> 1.0)',
    'CPU µs/iteration ours': r.cpuPerIterationUs.ours,
    'CPU libsignal': r.cpuPerIterationUs.libsignal,
    'CPU ratio': r.cpuPerIterationUs.ratio,
  })),
);

mkdirSync(new URL('../reports/bench/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../reports/bench/crypto.json', import.meta.url),
  `${JSON.stringify(
    {
      benchmark: 'crypto',
      node: process.version,
      libsignalClient: '0.72.1',
      statistic: 'median per operation, milliseconds; ratio = ours / libsignal (target ≤ 1.0)',
      date: new Date().toISOString(),
      scenarios: results,
      figures: results.map((r): Figure => ({
        name: r.scenario,
        ours: r.oursMedianMs,
        baseline: r.libsignalMedianMs,
        baselineName: '@signalapp/libsignal-client 0.72.1 (native), same process',
        unit: 'ms',
        ratio: r.ratio,
        target: 'ratio ≤ 1.0',
        met: r.ratio <= 1,
        note: `process CPU per iteration (all threads, party set-up included): ours ${r.cpuPerIterationUs.ours} µs, libsignal ${r.cpuPerIterationUs.libsignal} µs, ratio ${r.cpuPerIterationUs.ratio}`,
      })),
    },
    null,
    2,
  )}\n`,
);
