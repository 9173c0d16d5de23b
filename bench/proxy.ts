/**
 * The partner proxy's cost (`npm run bench:proxy`, spec/proxy.md): `parley serve` and `parley proxy`
 * in their own processes on loopback, the same load generator driving partner users directly and
 * through the proxy in the same run.
 *
 * Relay: authenticated partner sessions each keep a window of Parley `ping` requests in flight
 * (every frame crosses the proxy both ways and runs the provider's whole frame pipeline: parse,
 * envelope and schema checks, reply); the figure is round trips per second, through the proxy
 * beside direct, with the CPU time the proxy and the provider spend per round trip, and a bare
 * Node TCP pipe (bench/support/tcp-pipe.ts) in the proxy's place: the floor of any Node proxy
 * here. Latency: send → `pong` p99 at an open-loop load paced at half the direct maximum (never at
 * saturation), the routes (the bare pipe too) in rounds of rotating order, so that a change in the
 * machine's other load falls on each alike. Idle: clients held open through one proxy process
 * (each with its own upstream connection) by a load process of their own, the proxy's RSS above
 * its idle RSS.
 *
 * These are frame round trips, not durable message sends: `bench:relay` measures those; the proxy
 * forwards a `message.send` frame as it forwards a `ping`, so its cost per frame is what is measured
 * here. Generator, provider and proxy share the machine's cores.
 *
 * Every process starts with its soft open-file limit raised to its hard one (processes.ts
 * spawnNode). The proxy holds two sockets a client, so it can hold (hard limit − its other
 * descriptors) / 2 clients: where that is below --idle, the run holds as many as it can and
 * projects the figure to 10 000 from the RSS per client, and says so.
 *
 * Options: --sessions N (32) --window N (4) --seconds S (4, per route) --rounds N (4, rotating
 * open-loop rounds) --idle N (10000) --out FILE (reports/bench/proxy.json).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import WebSocket from 'ws';
import { authInput } from '../reference-impl/client/auth.ts';
import { generatePartnerKey, mintPartnerToken } from '../reference-impl/client/index.ts';
import { IdentityKeyPair } from '../reference-impl/crypto/index.ts';
import { boundFigure, printFigures, ratioFigure, round, type Figure } from './support/figures.ts';
import type { ConnectResult } from './support/idle-load.ts';
import { LoadProcess } from './support/load-process.ts';
import {
  cpuMs,
  loadAverage,
  openFileLimit,
  openFiles,
  ROOT,
  rssBytes,
  startParleyServe,
  startServer,
  stopProcess,
} from './support/processes.ts';
import { percentile } from './support/stats.ts';

/** Issue 18 targets. */
const TARGET_RATIO = 0.7;
const TARGET_ADDED_P99_MS = 2;
const TARGET_IDLE_RSS_BYTES = 1024 ** 3;
const TARGET_IDLE_CLIENTS = 10_000;
const DOMAIN = 'wa.example';
const PLATFORM = 'chat.example';
const WARMUP_MS = 1000;
/** Idle clients' handshakes in flight at once while filling the proxy. */
const IDLE_CONCURRENCY = 200;
/** Descriptors kept free in the proxy beyond those it has open before the idle clients come. */
const PROXY_FD_RESERVE = 16;
/** How long one idle client's handshake may take while thousands are opening. */
const IDLE_HANDSHAKE_MS = 60_000;

interface Session {
  ws: WebSocket;
  /** Send times of the pings in flight, by id. */
  sent: Map<string, number>;
}

/** The platform login headers of the user at `address` (the proxy names it upstream, PROXY-028). */
type Login = (address: string) => Promise<Record<string, string>>;

/** Opens one WebSocket and resolves its first reply to `frame`. */
function open(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once('open', () => resolvePromise(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function request(ws: WebSocket, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise) => {
    const listener = (data: Buffer): void => {
      const f = JSON.parse(String(data)) as Record<string, unknown>;
      if (f.re !== frame.id) return;
      ws.off('message', listener);
      resolvePromise(f);
    };
    ws.on('message', listener);
    ws.send(JSON.stringify({ v: 1, ...frame }));
  });
}

/** An authenticated partner session of a fresh user, on `url` with `login`'s headers if any. */
async function session(
  url: string,
  login: Login | undefined,
  partner: Awaited<ReturnType<typeof generatePartnerKey>>['key'],
  index: number,
): Promise<Session> {
  const address = `bench${index}.${randomBytes(3).toString('hex')}@${PLATFORM}`;
  const ws = await open(url, login ? await login(address) : {});
  const welcome = await request(ws, { type: 'hello', id: 'h', versions: [1] });
  const identity = IdentityKeyPair.generate();
  const challenge = Buffer.from(String(welcome.challenge), 'base64url');
  const ok = await request(ws, {
    type: 'auth',
    id: 'a',
    method: 'partner',
    token: await mintPartnerToken(partner, {
      address,
      audience: DOMAIN,
      identityKey: identity.publicKey,
    }),
    deviceId: 1,
    registrationId: 1 + index,
    identityKey: Buffer.from(identity.publicKey).toString('base64url'),
    signature: Buffer.from(identity.sign(authInput(challenge, address, 1))).toString('base64url'),
  });
  if (ok.type !== 'auth.ok') throw new Error(`auth refused: ${JSON.stringify(ok)}`);
  return { ws, sent: new Map() };
}

/** Closed loop: every session keeps `window` pings in flight; returns round trips per second. */
async function closedLoop(sessions: Session[], window: number, ms: number): Promise<number> {
  let done = 0;
  let counting = false;
  let stop = false;
  let n = 0;
  const ping = (s: Session): void => {
    const id = `p${(n += 1)}`;
    s.sent.set(id, 0);
    s.ws.send(`{"v":1,"type":"ping","id":"${id}"}`);
  };
  for (const s of sessions)
    s.ws.on('message', (data: Buffer) => {
      const re = /"re":"(p\d+)"/.exec(String(data))?.[1];
      if (!re || !s.sent.delete(re)) return;
      if (counting) done += 1;
      if (!stop) ping(s);
    });
  for (const s of sessions) for (let i = 0; i < window; i++) ping(s);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  counting = true;
  await new Promise((r) => setTimeout(r, ms));
  counting = false;
  stop = true;
  await new Promise((r) => setTimeout(r, 300));
  for (const s of sessions) s.ws.removeAllListeners('message');
  return (done * 1000) / ms;
}

/** Open loop at `rate` pings a second over the sessions; returns the sorted latencies (ms). */
async function openLoop(sessions: Session[], rate: number, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  let n = 0;
  for (const s of sessions)
    s.ws.on('message', (data: Buffer) => {
      const re = /"re":"(q\d+)"/.exec(String(data))?.[1];
      const at = re === undefined ? undefined : s.sent.get(re);
      if (at === undefined) return;
      s.sent.delete(re!);
      latencies.push(Number(process.hrtime.bigint() - BigInt(at)) / 1e6);
    });
  const start = Date.now();
  let due = 0;
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - start;
      const target = Math.floor((elapsed * rate) / 1000);
      for (; due < target; due++) {
        const s = sessions[due % sessions.length]!;
        const id = `q${(n += 1)}`;
        s.sent.set(id, Number(process.hrtime.bigint()));
        s.ws.send(`{"v":1,"type":"ping","id":"${id}"}`);
      }
      if (elapsed >= ms) {
        clearInterval(tick);
        done();
      }
    }, 1);
  });
  await new Promise((r) => setTimeout(r, 500));
  for (const s of sessions) s.ws.removeAllListeners('message');
  return latencies.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '32' },
      window: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '4' },
      idle: { type: 'string', default: String(TARGET_IDLE_CLIENTS) },
      out: { type: 'string', default: 'reports/bench/proxy.json' },
    },
  });
  const sessionsCount = Number(values.sessions);
  const window = Number(values.window);
  const ms = Number(values.seconds) * 1000;
  const rounds = Math.max(1, Number(values.rounds));
  const idleWanted = Number(values.idle);
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-proxy-'));
  const partner = await generatePartnerKey(PLATFORM);
  const login = await generatePartnerKey('login.chat.example');
  const loginKey = await importJWK(login.key.privateJwk, 'EdDSA');
  writeFileSync(
    join(dir, 'partner.json'),
    JSON.stringify({ ...partner.key.privateJwk, domain: PLATFORM, kid: partner.key.kid }),
  );
  writeFileSync(
    join(dir, 'partner.pub.json'),
    JSON.stringify({ ...partner.publicJwk, domain: PLATFORM, kid: partner.key.kid }),
  );
  writeFileSync(join(dir, 'login.pub.json'), JSON.stringify(login.publicJwk));
  writeFileSync(
    join(dir, 'proxy.json'),
    JSON.stringify({ domain: PLATFORM, addresses: ['127.0.0.1'], maxConnections: 50_000 }),
  );
  const server = await startParleyServe({
    dir,
    domain: DOMAIN,
    registrationToken: 'bench',
    config: {
      enlist: [join(dir, 'partner.pub.json')],
      enlistProxy: [join(dir, 'proxy.json')],
      // One machine plays every client: the per-address limits would count them all as one.
      limits: { peers: { exemptLoopback: true } },
    },
  });
  const upstream = `ws://127.0.0.1:${server.port}/parley/v1`;
  const proxy = await startServer([
    'bin/parley.js',
    'proxy',
    '--upstream',
    upstream,
    '--provider-domain',
    DOMAIN,
    '--partner-key',
    join(dir, 'partner.json'),
    '--login-key',
    join(dir, 'login.pub.json'),
    '--listen',
    '127.0.0.1:0',
  ]);
  const viaProxy = `ws://127.0.0.1:${proxy.port}/parley/v1`;
  // The floor of a Node proxy on this machine: the same hop without a line of Parley.
  const pipe = await startServer([
    '--import',
    'tsx',
    'bench/support/tcp-pipe.ts',
    String(server.port),
  ]);
  const viaPipe = `ws://127.0.0.1:${pipe.port}/parley/v1`;
  const loginHeaders: Login = async (address) => ({
    'parley-login': await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(address)
      .setAudience('parley-proxy')
      .setIssuedAt()
      .setExpirationTime('30m')
      .sign(loginKey),
  });
  const figures: Figure[] = [];
  const detail: Record<string, unknown> = { sessions: sessionsCount, window, seconds: ms / 1000 };
  try {
    const direct = await Promise.all(
      Array.from({ length: sessionsCount }, (_, i) => session(upstream, undefined, partner.key, i)),
    );
    const proxied: Session[] = [];
    for (let i = 0; i < sessionsCount; i++)
      proxied.push(await session(viaProxy, loginHeaders, partner.key, 1000 + i));
    const piped = await Promise.all(
      Array.from({ length: sessionsCount }, (_, i) =>
        session(viaPipe, undefined, partner.key, 2000 + i),
      ),
    );
    const loadBefore = loadAverage();
    // CPU time of the given processes and of this one (the load generator) during `run`.
    const cpuDuring = async <T>(pids: number[], run: () => Promise<T>): Promise<[T, number[]]> => {
      const before = pids.map(cpuMs);
      const own = process.cpuUsage();
      const result = await run();
      const { user, system } = process.cpuUsage(own);
      return [result, [...pids.map((pid, i) => cpuMs(pid) - before[i]!), (user + system) / 1000]];
    };
    const [directMax, [serverCpuDirect, loadCpuDirect]] = await cpuDuring([server.pid], () =>
      closedLoop(direct, window, ms),
    );
    const [proxyMax, [serverCpuProxied, proxyCpu, loadCpuProxied]] = await cpuDuring(
      [server.pid, proxy.pid],
      () => closedLoop(proxied, window, ms),
    );
    const [pipeMax, [, pipeCpu]] = await cpuDuring([server.pid, pipe.pid], () =>
      closedLoop(piped, window, ms),
    );
    // CPU time per round trip over the whole closed loop (warm-up included on both sides).
    const loopSeconds = (WARMUP_MS + ms) / 1000;
    const perTrip = (cpu: number, tripsPerSecond: number): number =>
      (cpu * 1000) / (tripsPerSecond * loopSeconds);
    const rate = Math.round(directMax / 2);
    // Rounds that rotate the routes' order, so that a change in the machine's other load falls on
    // each of them alike.
    const directLat: number[] = [];
    const proxyLat: number[] = [];
    const pipeLat: number[] = [];
    const roundMs = Math.max(1000, Math.round(ms / rounds));
    // Each round's p99 per route, for the spread that the pooled figure hides.
    const roundP99 = { direct: [] as number[], proxy: [] as number[], pipe: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const order: [Session[], number[], number[]][] = [
        [direct, directLat, roundP99.direct],
        [proxied, proxyLat, roundP99.proxy],
        [piped, pipeLat, roundP99.pipe],
      ];
      for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
      for (const [sessions, into, p99s] of order) {
        const got = await openLoop(sessions, rate, roundMs);
        into.push(...got);
        p99s.push(got.length ? round(percentile(got, 99), 2) : Number.NaN);
      }
    }
    for (const xs of [directLat, proxyLat, pipeLat]) xs.sort((x, y) => x - y);
    const loadAfter = loadAverage();
    const p99 = (xs: number[]): number => (xs.length ? percentile(xs, 99) : Number.NaN);
    const load = `load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after`;
    Object.assign(detail, {
      directRoundTripsPerSecond: round(directMax),
      proxyRoundTripsPerSecond: round(proxyMax),
      serverCpuMicrosPerRoundTripDirect: round(perTrip(serverCpuDirect!, directMax), 1),
      serverCpuMicrosPerRoundTripProxied: round(perTrip(serverCpuProxied!, proxyMax), 1),
      proxyCpuMicrosPerRoundTrip: round(perTrip(proxyCpu!, proxyMax), 1),
      generatorCpuMicrosPerRoundTripDirect: round(perTrip(loadCpuDirect!, directMax), 1),
      generatorCpuMicrosPerRoundTripProxied: round(perTrip(loadCpuProxied!, proxyMax), 1),
      pipeRoundTripsPerSecond: round(pipeMax),
      pipeCpuMicrosPerRoundTrip: round(perTrip(pipeCpu!, pipeMax), 1),
      openLoopRate: rate,
      openLoopRounds: rounds,
      openLoopSecondsPerRound: roundMs / 1000,
      directP50: round(percentile(directLat, 50), 2),
      directP99: round(p99(directLat), 2),
      proxyP50: round(percentile(proxyLat, 50), 2),
      proxyP99: round(p99(proxyLat), 2),
      pipeP50: round(percentile(pipeLat, 50), 2),
      pipeP99: round(p99(pipeLat), 2),
      samples: { direct: directLat.length, proxy: proxyLat.length, pipe: pipeLat.length },
      roundP99,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    });
    figures.push(
      ratioFigure({
        name: 'frame round trips through parley proxy / direct',
        ours: round(proxyMax),
        baseline: round(directMax),
        baselineName: 'direct',
        target: TARGET_RATIO,
        unit: 'round trips/s',
        note: `${sessionsCount} partner sessions × ${window} pings in flight, ${ms / 1000} s each route; CPU a round trip: proxy ${round(perTrip(proxyCpu!, proxyMax), 1)} µs, provider ${round(perTrip(serverCpuProxied!, proxyMax), 1)} µs (${round(perTrip(serverCpuDirect!, directMax), 1)} µs direct); a bare Node TCP pipe in its place: ${round(pipeMax)} round trips/s (${round(pipeMax / directMax, 3)} of direct), ${round(perTrip(pipeCpu!, pipeMax), 1)} µs CPU a round trip; ${load}`,
      }),
      boundFigure({
        name: `p99 added by the proxy at ${rate}/s (half the direct maximum)`,
        ours: round(p99(proxyLat) - p99(directLat), 2),
        unit: 'ms',
        direction: 'at-most',
        bound: TARGET_ADDED_P99_MS,
        digits: 2,
        note: `open loop paced at ${rate}/s, ${rounds} rounds (routes in rotating order) of ${roundMs / 1000} s a route: p99 ${round(p99(proxyLat), 2)} ms through the proxy, ${round(p99(directLat), 2)} ms direct (p50 ${round(percentile(proxyLat, 50), 2)} / ${round(percentile(directLat, 50), 2)}); a bare Node TCP pipe in its place: p99 ${round(p99(pipeLat), 2)} ms, p50 ${round(percentile(pipeLat, 50), 2)} ms; ${load}`,
      }),
    );
    for (const s of [...direct, ...proxied, ...piped]) s.ws.terminate();
    await stopProcess(pipe.child);

    // Idle clients, held by a load process of their own (its own open-file limit): each is a
    // client socket and an upstream socket in the proxy, which bounds how many one proxy can hold.
    await new Promise((r) => setTimeout(r, 1000));
    const proxyLimit = openFileLimit(proxy.pid);
    const proxyFree = proxyLimit - openFiles(proxy.pid) - PROXY_FD_RESERVE;
    const idle = Math.min(idleWanted, Math.floor(proxyFree / 2));
    const before = rssBytes(proxy.pid);
    const holder = await LoadProcess.start();
    try {
      const idleLoad = loadAverage();
      const held = await holder.command<ConnectResult>({
        op: 'bare',
        url: viaProxy,
        count: idle,
        // Idle clients never authenticate: one login for all of them.
        headers: await loginHeaders(`idle@${PLATFORM}`),
        concurrency: IDLE_CONCURRENCY,
        timeoutMs: IDLE_HANDSHAKE_MS,
      });
      await new Promise((r) => setTimeout(r, 2000));
      const after = rssBytes(proxy.pid);
      const perClient = (after - before) / held.opened;
      const limited =
        idle < idleWanted
          ? `; the proxy's open-file limit ${proxyLimit} allows ${idle} clients at two sockets each`
          : '';
      Object.assign(detail, {
        idleClientsWanted: idleWanted,
        idleClients: held.opened,
        idleFailed: held.failed,
        ...(held.firstError ? { idleFirstError: held.firstError } : {}),
        idleOpenSeconds: round(held.ms / 1000),
        proxyOpenFileLimit: proxyLimit,
        proxyRssIdleMiB: round(before / 1024 ** 2),
        proxyRssWithClientsMiB: round(after / 1024 ** 2),
        perClientKiB: round(perClient / 1024, 2),
        idleLoadAverage: idleLoad,
      });
      const measuredAll = held.opened >= TARGET_IDLE_CLIENTS;
      figures.push(
        boundFigure({
          name: measuredAll
            ? `parley proxy RSS with ${held.opened} idle clients`
            : `parley proxy RSS with ${TARGET_IDLE_CLIENTS} idle clients (measured at ${held.opened}, scaled per client)`,
          ours: round((measuredAll ? after : before + perClient * TARGET_IDLE_CLIENTS) / 1024 ** 2),
          unit: 'MiB',
          direction: 'at-most',
          bound: TARGET_IDLE_RSS_BYTES / 1024 ** 2,
          note: `${round(after / 1024 ** 2)} MiB with ${held.opened} clients (${round(before / 1024 ** 2)} MiB before; ${round(perClient / 1024, 2)} KiB a client with its upstream connection${held.failed ? `; ${held.failed} failed: ${held.firstError ?? ''}` : ''}${limited}); load average ${idleLoad.join(' ')}`,
        }),
      );
    } finally {
      await holder.stop();
    }
  } finally {
    await stopProcess(pipe.child);
    await stopProcess(proxy.child);
    await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
  printFigures(figures);
  const out = resolve(ROOT, values.out);
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, figures, detail }, null, 2)}\n`,
  );
  console.log(`written ${values.out}`);
}

await main();
