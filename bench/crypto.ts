// Benchmark: Parley's Signal Protocol core beside libsignal-client 0.72.1 in one process (spec:
// Cryptography). Prints a table and writes reports/bench/crypto.json (medians, ratio = ours / libsignal).
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import * as kyber1024 from '../reference-impl/crypto/kem/kyber1024.ts';
import * as mlkem768 from '../reference-impl/crypto/kem/mlkem768.ts';
import * as kemOutput from './support/figures.ts';
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

/**
 * Kyber-1024 (round 3, libsignal's PQXDH KEM) keygen, encapsulation and decapsulation beside
 * @noble/post-quantum's ML-KEM-1024, and ML-KEM-768 (SPQR's KEM) beside its ML-KEM-768, in the
 * same process: same lattice, same SHA-3 library, so the ratio (ours / noble, median per
 * operation, target ≤ 1.5) measures the lattice code.
 */
function kemFigures(): Figure[] {
  const ourKeys = kyber1024.generateKeyPair();
  const theirKeys = ml_kem1024.keygen();
  const ourCiphertext = kyber1024.encapsulate(ourKeys.publicKey).ciphertext;
  const theirCiphertext = ml_kem1024.encapsulate(theirKeys.publicKey).cipherText;
  const ourMlKem = mlkem768.generateKeyPair();
  const theirMlKem = ml_kem768.keygen();
  const ourMlKemCiphertext = mlkem768.encapsulate(ourMlKem.encapsulationKey).ciphertext;
  const theirMlKemCiphertext = ml_kem768.encapsulate(theirMlKem.publicKey).cipherText;
  const operations = [
    {
      name: 'Kyber-1024 key generation',
      ours: () => kyber1024.generateKeyPair(),
      theirs: () => ml_kem1024.keygen(),
      baseline: 'ml_kem1024',
    },
    {
      name: 'Kyber-1024 encapsulation',
      ours: () => kyber1024.encapsulate(ourKeys.publicKey),
      theirs: () => ml_kem1024.encapsulate(theirKeys.publicKey),
      baseline: 'ml_kem1024',
    },
    {
      name: 'Kyber-1024 decapsulation',
      ours: () => kyber1024.decapsulate(ourCiphertext, ourKeys.secretKey),
      theirs: () => ml_kem1024.decapsulate(theirCiphertext, theirKeys.secretKey),
      baseline: 'ml_kem1024',
    },
    {
      name: 'ML-KEM-768 key generation',
      ours: () => mlkem768.generateKeyPair(),
      theirs: () => ml_kem768.keygen(),
      baseline: 'ml_kem768',
    },
    {
      name: 'ML-KEM-768 encapsulation',
      ours: () => mlkem768.encapsulate(ourMlKem.encapsulationKey),
      theirs: () => ml_kem768.encapsulate(theirMlKem.publicKey),
      baseline: 'ml_kem768',
    },
    {
      name: 'ML-KEM-768 decapsulation',
      ours: () => mlkem768.decapsulate(ourMlKemCiphertext, ourMlKem.decapsulationKey),
      theirs: () => ml_kem768.decapsulate(theirMlKemCiphertext, theirMlKem.secretKey),
      baseline: 'ml_kem768',
    },
  ];
  const iterations = 600;
  const rounds = 4;
  const sample = (op: () => unknown, count: number): number[] => {
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      op();
      samples.push(performance.now() - start);
    }
    return samples;
  };
  return operations.map(({ name, ours, theirs, baseline }): Figure => {
    sample(ours, 50);
    sample(theirs, 50);
    const oursSamples: number[] = [];
    const theirSamples: number[] = [];
    // Interleaved rounds, so both share the machine's noise.
    for (let round = 0; round < rounds; round++) {
      oursSamples.push(...sample(ours, iterations / rounds));
      theirSamples.push(...sample(theirs, iterations / rounds));
    }
    const oursMedian = median(oursSamples);
    const theirMedian = median(theirSamples);
    const ratio = oursMedian / theirMedian;
    return {
      name,
      ours: Number(oursMedian.toFixed(4)),
      baseline: Number(theirMedian.toFixed(4)),
      baselineName: `@noble/post-quantum 0.7.1 ${baseline} (JavaScript), same process`,
      unit: 'ms',
      ratio: Number(ratio.toFixed(3)),
      target: 'ratio ≤ 1.5',
      met: ratio <= 1.5,
      note: `median of ${iterations} per side in ${rounds} interleaved rounds${baseline === 'ml_kem1024' ? '; ML-KEM-1024 is the lattice of round-3 Kyber-1024 with fewer hashes' : ''}`,
    };
  });
}

const kem = kemFigures();
kemOutput.printFigures(kem);
mkdirSync(new URL('../reports/bench/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../reports/bench/crypto-kem.json', import.meta.url),
  `${JSON.stringify(
    {
      benchmark: 'crypto-kem',
      node: process.version,
      statistic: 'median per operation, milliseconds; ratio = ours / @noble/post-quantum',
      date: new Date().toISOString(),
      figures: kem,
    },
    null,
    2,
  )}\n`,
);
