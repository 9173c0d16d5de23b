/**
 * `npm run fuzz -- --frames N --seed S [--connections C]`: fuzzes a fresh `parley serve` and exits
 * 0 when nothing was found, 1 on any finding (each printed with the seed and the command that
 * replays it), 2 on a usage error. `--replay INDEX --state STATE` sends one input again.
 */
import { parseArgs } from 'node:util';
import { randomSeed } from '../../conformance/runner/rng.ts';
import type { FuzzState } from './oracle.ts';
import { fuzz, replay, type FuzzReport } from './run.ts';

/** The full run of issue 7. */
const DEFAULT_FRAMES = 1_000_000;
const DEFAULT_CONNECTIONS = 32;
const STATES: readonly FuzzState[] = ['opened', 'greeted', 'authenticated'];
const MiB = 1024 * 1024;

const USAGE = `usage: npm run fuzz -- [--frames N] [--seed S] [--connections C] [--json FILE]
       npm run fuzz -- --seed S --replay INDEX --state opened|greeted|authenticated`;

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer`);
  return n;
}

function summary(r: FuzzReport): string {
  const lines = [
    `fuzz: ${r.frames} frames, seed ${r.seed}, ${r.connections} connections, ${(r.durationMs / 1000).toFixed(1)} s (${Math.round((r.frames * 1000) / r.durationMs)} frames/s)`,
    `answers: ${Object.entries(r.answers)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `honest conversation: ${r.honest.accepted} accepted, ${r.honest.lost.length} lost, ${r.honest.duplicated.length} duplicated, ${r.honest.failedSends.length} failed sends`,
  ];
  if (r.memory)
    lines.push(
      `provider memory: baseline ${(r.memory.baselineBytes / MiB).toFixed(1)} MiB, peak ${(r.memory.peakBytes / MiB).toFixed(1)} MiB, after ${(r.memory.finalBytes / MiB).toFixed(1)} MiB (allowed ${(r.memory.allowedBytes / MiB).toFixed(1)} MiB)`,
    );
  for (const f of r.findings)
    lines.push(
      `FINDING #${f.index} (${f.state}, ${f.mutator} of ${f.seedType}${f.binary ? ', binary' : ''}${f.fragments > 1 ? `, ${f.fragments} fragments` : ''}): ${f.problem}`,
      `  replay: npm run fuzz -- --seed ${r.seed} --replay ${f.index} --state ${f.state}`,
      `  frame (${f.payloadBytes} bytes, base64${f.payloadBytes > 4096 ? ', first 4096' : ''}): ${f.payload}`,
    );
  if (r.moreFindings > 0) lines.push(`... and ${r.moreFindings} more findings`);
  for (const p of r.serverProblems) lines.push(`PROVIDER: ${p}`);
  for (const t of r.honest.lost) lines.push(`LOST: ${t}`);
  for (const t of r.honest.duplicated) lines.push(`DUPLICATED: ${t}`);
  for (const t of r.honest.failedSends) lines.push(`FAILED SEND: ${t}`);
  if (r.memory && !r.memory.ok) lines.push('MEMORY: the provider did not return to its baseline');
  lines.push(r.ok ? 'fuzz: no findings' : `fuzz: FAILED (seed ${r.seed})`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        frames: { type: 'string' },
        seed: { type: 'string' },
        connections: { type: 'string' },
        replay: { type: 'string' },
        state: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let frames: number, seed: number, connections: number;
  try {
    frames = count(values.frames, DEFAULT_FRAMES, 'frames');
    seed = count(values.seed, randomSeed(), 'seed');
    connections = Math.max(1, count(values.connections, DEFAULT_CONNECTIONS, 'connections'));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.replay !== undefined) {
    const state = values.state as FuzzState;
    if (!STATES.includes(state) || values.seed === undefined) {
      console.error(`--replay needs --seed and --state opened|greeted|authenticated\n${USAGE}`);
      return 2;
    }
    const r = await replay(seed, count(values.replay, 0, 'replay'), state);
    console.log(
      JSON.stringify(
        {
          index: r.input.index,
          mutator: r.input.mutator,
          frame: r.input.payload.toString('utf8').slice(0, 4096),
          answer: r.seen,
          problem: r.problem ?? null,
          providerProblems: r.serverProblems,
        },
        null,
        2,
      ),
    );
    return r.problem === undefined && r.serverProblems.length === 0 ? 0 : 1;
  }
  console.error(`fuzz: seed ${seed}, ${frames} frames, ${connections} connections`);
  const report = await fuzz({
    frames,
    seed,
    connections,
    onProgress: (done, total) => console.error(`fuzz: ${done}/${total}`),
  });
  if (values.json !== undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  console.log(summary(report));
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
