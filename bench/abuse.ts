/**
 * Abusive-peer benchmark (`npm run bench:abuse`; issue 15, finding 1; spec/framing.md PROTO-047..049):
 * `parley serve` in its own process, five hostile connections that never authenticate sending their
 * worst from a second process, and an authenticated user pinging from this one. Reported: the
 * user's `ping` round trip (p50, p99) while the hostile peers run, beside the same user's round
 * trip in the same run without them, and what the hostile peers got through.
 *
 * A hostile connection says hello and then, in a loop: a frame just under
 * `maxUnauthenticatedFrameBytes` of 8 000 elements (what a parser costs most for it), as fast as
 * its socket drains; every tenth frame instead 3.7 MiB of nested arrays (the bomb), which
 * ends the connection with 1009, and it reconnects at once.
 *
 * Run: `npm run bench:abuse [-- --seconds N --hostile N]`; writes reports/bench/abuse.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { boundFigure, printFigures, round, type Figure } from './support/figures.ts';
import {
  loadAverage,
  ROOT,
  spawnNode,
  startParleyServe,
  stopProcess,
} from './support/processes.ts';
import { summarize } from './support/stats.ts';
import { benchAccount, WireClient } from './support/wire-client.ts';

/** The issue's target: other users' ping p99 while five hostile peers run. */
export const PING_P99_TARGET_MS = 50;
/** The count of hostile connections. */
const HOSTILE_CONNECTIONS = 5;
/** How long each phase measures. */
const DEFAULT_SECONDS = 10;
/** Time between two pings of the measured user: a chatty client. */
const PING_INTERVAL_MS = 20;
/** The hostile peers' head start before the measurement, so that they run at full tilt. */
const WARMUP_MS = 1000;
/** A hostile connection writes while its socket holds less than this unsent. */
const HOSTILE_HIGH_WATER = 1024 * 1024;

/** The bomb: 3.7 MiB of nested arrays. */
const BOMB = Buffer.from(`${'['.repeat(1_900_000)}${']'.repeat(1_900_000)}`);

/** The costliest frame that passes the scan before auth: 8 000 elements under `limit` bytes. */
function worstSmallFrame(limit: number): Buffer {
  const elements = Array<string>(8000).fill('0').join(',');
  const head = `{"v":1,"type":"ping","id":"h","pad":[${elements}],"s":"`;
  return Buffer.from(`${head}${'x'.repeat(Math.max(0, limit - head.length - 2 - 1))}"}`);
}

interface HostileTally {
  frames: number;
  bombs: number;
  bytes: number;
  reconnects: number;
}

/** One hostile connection's loop until `stopAt`; reconnects after every close. */
async function hostile(url: string, stopAt: number, tally: HostileTally): Promise<void> {
  while (Date.now() < stopAt) {
    // An all-zero mask: ws then skips masking, so the load process spends its CPU on sending,
    // not on XOR-ing megabytes, and leaves the shared cores to the server under test.
    const ws = new WebSocket(url, { perMessageDeflate: false, generateMask: (m) => m.fill(0) });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    if (!opened) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    ws.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const welcome = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
      ws.send('{"v":1,"type":"hello","id":"h0","versions":[1]}');
    });
    const limits = welcome.limits as { maxUnauthenticatedFrameBytes?: number } | undefined;
    const small = worstSmallFrame(limits?.maxUnauthenticatedFrameBytes ?? 16_384);
    let open = true;
    void closed.then(() => (open = false));
    for (let i = 1; open && Date.now() < stopAt; i += 1) {
      if (ws.bufferedAmount > HOSTILE_HIGH_WATER) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const frame = i % 10 === 0 ? BOMB : small;
      ws.send(frame);
      tally.frames += 1;
      tally.bytes += frame.length;
      if (frame === BOMB) tally.bombs += 1;
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    ws.terminate();
    await closed;
    tally.reconnects += 1;
  }
}

/** The hostile load process: `--hostile-url U --connections N --seconds S`; prints its tally. */
async function hostileProcess(url: string, connections: number, seconds: number): Promise<void> {
  const stopAt = Date.now() + seconds * 1000;
  const tally: HostileTally = { frames: 0, bombs: 0, bytes: 0, reconnects: 0 };
  await Promise.all(Array.from({ length: connections }, () => hostile(url, stopAt, tally)));
  process.stdout.write(`${JSON.stringify(tally)}\n`);
}

/** Pings every PING_INTERVAL_MS for `ms`; resolves the round trips in milliseconds. */
async function pingFor(user: WireClient, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const stopAt = Date.now() + ms;
  while (Date.now() < stopAt) {
    const start = performance.now();
    await user.request('ping');
    samples.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS));
  }
  return samples;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: String(DEFAULT_SECONDS) },
      hostile: { type: 'string', default: String(HOSTILE_CONNECTIONS) },
      'hostile-url': { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.hostile);
  if (values['hostile-url'] !== undefined)
    return hostileProcess(values['hostile-url'], connections, seconds);

  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-abuse-'));
  const registrationToken = 'bench-abuse';
  const server = await startParleyServe({
    dir,
    domain: 'bench.example',
    registrationToken,
    // The defaults, per-address connection limits included: hostile peers and the user share
    // 127.0.0.1 as they would share a carrier-grade NAT.
  });
  const url = `ws://127.0.0.1:${server.port}/parley/v1`;
  try {
    const account = benchAccount(`abuse${Date.now()}`, 0);
    const user = await WireClient.open({ url, timeoutMs: 30_000 });
    await user.hello();
    await user.authenticate(account, await user.register(account, registrationToken));

    const quiet = summarize(await pingFor(user, seconds * 1000));

    const load = spawnNode(
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--hostile-url',
        url,
        '--hostile',
        String(connections),
        '--seconds',
        String(seconds + WARMUP_MS / 1000 + 1),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    load.stdout!.on('data', (d: Buffer) => (out += String(d)));
    const loadExited = new Promise((resolve) => load.once('exit', resolve));
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const attacked = summarize(await pingFor(user, seconds * 1000));
    await loadExited;
    const tally = JSON.parse(out.trim() || '{}') as Partial<HostileTally>;

    const figures: Figure[] = [
      boundFigure({
        name: `ping p99 with ${connections} hostile unauthenticated peers`,
        ours: attacked.p99,
        unit: 'ms',
        direction: 'at-most',
        bound: PING_P99_TARGET_MS,
        baseline: quiet.p99,
        baselineName: 'the same user without hostile peers',
        digits: 2,
        note: `${attacked.count} pings (p50 ${round(attacked.p50, 2)} ms, max ${round(attacked.max, 1)} ms) while the hostile peers sent ${tally.frames ?? '?'} frames (${tally.bombs ?? '?'} bombs of 3.7 MiB), ${round((tally.bytes ?? 0) / 2 ** 20)} MiB, over ${tally.reconnects ?? '?'} connections; without them ${quiet.count} pings, p50 ${round(quiet.p50, 2)} ms, max ${round(quiet.max, 1)} ms; load average ${loadAverage().join(' ')}`,
      }),
      boundFigure({
        name: 'ping p50 with hostile peers',
        ours: attacked.p50,
        unit: 'ms',
        direction: 'at-most',
        bound: PING_P99_TARGET_MS,
        baseline: quiet.p50,
        baselineName: 'the same user without hostile peers',
        digits: 2,
      }),
    ];
    printFigures(figures);
    writeFileSync(
      join(ROOT, 'reports/bench/abuse.json'),
      `${JSON.stringify({ benchmark: 'abuse', date: new Date().toISOString(), seconds, connections, quiet, attacked, hostile: tally, figures }, null, 2)}\n`,
    );
    if (server.errors.length > 0) console.log('server errors:', server.errors);
  } finally {
    await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
