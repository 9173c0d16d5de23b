/**
 * The partner proxy's cost (`npm run bench:proxy`, spec/proxy.md): `parley serve` and `parley proxy`
 * in their own processes on loopback, the same load generator driving partner users directly and
 * through the proxy in the same run.
 *
 * Relay: authenticated partner sessions each keep a window of Parley `ping` requests in flight
 * (every frame crosses the proxy both ways and runs the provider's whole frame pipeline: parse,
 * envelope and schema checks, reply); the figure is round trips per second, through the proxy
 * beside direct. Latency: send → `pong` p99 at an open-loop load of half the direct maximum, both
 * routes. Idle: N clients held open through one proxy process (each with its own upstream
 * connection), the proxy's RSS above its idle RSS.
 *
 * These are frame round trips, not durable message sends: `bench:relay` measures those; the proxy
 * forwards a `message.send` frame as it forwards a `ping`, so its cost per frame is what is measured
 * here. Generator, provider and proxy share the machine's cores.
 *
 * Options: --sessions N (32) --window N (4) --seconds S (4) --idle N (9500; the machine's hard
 * limit of 20 000 open files bounds the proxy's two sockets per client) --out FILE
 * (reports/bench/proxy.json).
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
import { ROOT, rssBytes, startParleyServe, startServer, stopProcess } from './support/processes.ts';
import { percentile } from './support/stats.ts';

/** Issue 18 targets. */
const TARGET_RATIO = 0.7;
const TARGET_ADDED_P99_MS = 2;
const TARGET_IDLE_RSS_BYTES = 1024 ** 3;
const TARGET_IDLE_CLIENTS = 10_000;
const DOMAIN = 'wa.example';
const PLATFORM = 'chat.example';
const WARMUP_MS = 1000;
/** Idle clients opened at once while filling the proxy. */
const IDLE_BATCH = 200;

interface Session {
  ws: WebSocket;
  /** Send times of the pings in flight, by id. */
  sent: Map<string, number>;
}

type Login = () => Promise<Record<string, string>>;

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

/** An authenticated partner session of a fresh user, on `url` with `headers`. */
async function session(
  url: string,
  headers: Record<string, string>,
  partner: Awaited<ReturnType<typeof generatePartnerKey>>['key'],
  index: number,
): Promise<Session> {
  const ws = await open(url, headers);
  const welcome = await request(ws, { type: 'hello', id: 'h', versions: [1] });
  const address = `bench${index}.${randomBytes(3).toString('hex')}@${PLATFORM}`;
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
      idle: { type: 'string', default: '9500' },
      out: { type: 'string', default: 'reports/bench/proxy.json' },
    },
  });
  const sessionsCount = Number(values.sessions);
  const window = Number(values.window);
  const ms = Number(values.seconds) * 1000;
  const idle = Number(values.idle);
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
  const loginHeaders: Login = async () => ({
    'parley-login': await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(`bench@${PLATFORM}`)
      .setAudience('parley-proxy')
      .setIssuedAt()
      .setExpirationTime('30m')
      .sign(loginKey),
  });
  const figures: Figure[] = [];
  const detail: Record<string, unknown> = { sessions: sessionsCount, window, seconds: ms / 1000 };
  try {
    const direct = await Promise.all(
      Array.from({ length: sessionsCount }, (_, i) => session(upstream, {}, partner.key, i)),
    );
    const proxied: Session[] = [];
    for (let i = 0; i < sessionsCount; i++)
      proxied.push(await session(viaProxy, await loginHeaders(), partner.key, 1000 + i));
    const directMax = await closedLoop(direct, window, ms);
    const proxyMax = await closedLoop(proxied, window, ms);
    const rate = Math.round(directMax / 2);
    const directLat = await openLoop(direct, rate, ms);
    const proxyLat = await openLoop(proxied, rate, ms);
    const p99 = (xs: number[]): number => (xs.length ? percentile(xs, 99) : Number.NaN);
    Object.assign(detail, {
      directRoundTripsPerSecond: round(directMax),
      proxyRoundTripsPerSecond: round(proxyMax),
      openLoopRate: rate,
      directP50: round(percentile(directLat, 50), 2),
      directP99: round(p99(directLat), 2),
      proxyP50: round(percentile(proxyLat, 50), 2),
      proxyP99: round(p99(proxyLat), 2),
      samples: { direct: directLat.length, proxy: proxyLat.length },
    });
    figures.push(
      ratioFigure({
        name: 'frame round trips through parley proxy / direct',
        ours: round(proxyMax),
        baseline: round(directMax),
        baselineName: 'direct',
        target: TARGET_RATIO,
        unit: 'round trips/s',
        note: `${sessionsCount} partner sessions × ${window} pings in flight, ${ms / 1000} s each route`,
      }),
      boundFigure({
        name: `p99 added by the proxy at ${rate}/s (half the direct maximum)`,
        ours: round(p99(proxyLat) - p99(directLat), 2),
        unit: 'ms',
        direction: 'at-most',
        bound: TARGET_ADDED_P99_MS,
        digits: 2,
        note: `p99 ${round(p99(proxyLat), 2)} ms through the proxy, ${round(p99(directLat), 2)} ms direct (p50 ${round(percentile(proxyLat, 50), 2)} / ${round(percentile(directLat, 50), 2)})`,
      }),
    );
    for (const s of [...direct, ...proxied]) s.ws.terminate();

    // Idle clients: each holds a client socket and an upstream socket in the proxy.
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssBytes(proxy.pid);
    const held: WebSocket[] = [];
    const headers = await loginHeaders();
    const started = Date.now();
    for (let i = 0; i < idle; i += IDLE_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(IDLE_BATCH, idle - i) }, () => open(viaProxy, headers)),
      );
      held.push(...batch);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssBytes(proxy.pid);
    const perClient = (after - before) / idle;
    Object.assign(detail, {
      idleClients: idle,
      idleOpenSeconds: round((Date.now() - started) / 1000),
      proxyRssIdleMiB: round(before / 1024 ** 2),
      proxyRssWithClientsMiB: round(after / 1024 ** 2),
      perClientKiB: round(perClient / 1024, 2),
    });
    figures.push(
      boundFigure({
        name: `parley proxy RSS with ${TARGET_IDLE_CLIENTS} idle clients (measured at ${idle}, scaled per client)`,
        ours: round((before + perClient * TARGET_IDLE_CLIENTS) / 1024 ** 2),
        unit: 'MiB',
        direction: 'at-most',
        bound: TARGET_IDLE_RSS_BYTES / 1024 ** 2,
        note: `${round(after / 1024 ** 2)} MiB with ${idle} clients (${round(before / 1024 ** 2)} MiB before; ${round(perClient / 1024, 2)} KiB a client with its upstream connection)`,
      }),
    );
    for (const ws of held) ws.terminate();
  } finally {
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
