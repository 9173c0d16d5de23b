/**
 * Group fan-out (`npm run bench:groups`, issue 17): `parley serve` in its own process on loopback
 * with a file database; every member of a 1 024-member group connected and acknowledging every
 * push (spec/groups.md "Group messages", GROUP-041).
 *
 * Two runs in one process against one server: first 1:1 messages (one `message.send` per
 * recipient, each with one SignalMessage-shaped body) to the members round robin, then group
 * messages (one SenderKeyMessage-shaped body per send) to the whole group, after one send that
 * distributes the sender key to every member device (GROUP-052), not measured. Figures: the server's
 * CPU time (user + system, /proc) per delivered group copy beside the same per delivered 1:1
 * message (target ≤ 0.5×); the time from a group send to its last member's push (p50, p99); and
 * the bytes one group send uploads for 8 and for 1 024 members (the sender's cost). The provider
 * never decrypts, so the bodies are structurally valid ciphertexts nobody can open.
 *
 * Options: --members N (1024) --one-to-one N (2048 1:1 messages) --group-messages N (20)
 * --out FILE (reports/bench/groups.json).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { Rng } from '../conformance/runner/rng.ts';
import { senderKeyBody } from '../conformance/transport/groups.ts';
import { generateKeyPair } from '../reference-impl/crypto/curve.ts';
import { encodeSignalMessage } from '../reference-impl/crypto/wire.ts';
import { boundFigure, printFigures, ratioFigure, round, type Figure } from './support/figures.ts';
import { cpuMs, ROOT, startParleyServe, stopProcess } from './support/processes.ts';
import { percentile } from './support/stats.ts';
import { benchAccount, WireClient, type WireFrame } from './support/wire-client.ts';

const REGISTRATION_TOKEN = 'bench-registration-token';
const DOMAIN = 'bench.example';
/** Issue 17 targets. */
const TARGET_CPU_RATIO = 0.5;
const TARGET_SENDER_SPREAD = 0.1;
/** Connections set up at once: registrations fsync one by one, more in flight gains nothing. */
const SETUP_CONCURRENCY = 32;
const TIMEOUT_MS = 60_000;

/** A SignalMessage-shaped 1:1 body: the provider parses its structure, never its MAC. */
function whisperBody(): string {
  const body = encodeSignalMessage({
    macKey: randomBytes(32),
    ratchetKey: generateKeyPair().publicKey,
    counter: 0,
    previousCounter: 0,
    ciphertext: randomBytes(48),
    pqRatchet: new Uint8Array(0),
    addresses: null,
    senderIdentity: generateKeyPair().publicKey,
    receiverIdentity: generateKeyPair().publicKey,
  });
  return Buffer.from(body).toString('base64url');
}

/** The seeded stream the group bodies come from (they only need the shape of a SenderKeyMessage). */
const shapes = new Rng('bench:groups');

interface Member {
  client: WireClient;
  address: string;
  registrationId: number;
}

/** Registers, connects and authenticates account `index`; every push is acknowledged at once. */
async function connect(
  url: string,
  seed: string,
  index: number,
  onMessage: (frame: WireFrame) => void,
): Promise<Member> {
  const account = benchAccount(seed, index);
  const client = await WireClient.open({ url, timeoutMs: TIMEOUT_MS });
  await client.hello();
  const address = await client.register(account, REGISTRATION_TOKEN);
  const queued = new Promise<void>((resolve) => {
    client.onPush = (frame) => {
      if (frame.type === 'queue.empty') resolve();
      if (frame.type === 'message' || frame.type === 'group.changed') {
        client.request('message.ack', { deliveryIds: [frame.id] }).catch(() => undefined);
        if (frame.type === 'message') onMessage(frame);
      }
    };
  });
  await client.authenticate(account, address);
  await queued;
  return { client, address, registrationId: account.registrationId };
}

/** Runs `work` on `count` indexes, `concurrency` at a time. */
async function pool<T>(count: number, concurrency: number, work: (i: number) => Promise<T>) {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      members: { type: 'string', default: '1024' },
      'one-to-one': { type: 'string', default: '2048' },
      'group-messages': { type: 'string', default: '20' },
      out: { type: 'string', default: join(ROOT, 'reports/bench/groups.json') },
    },
  });
  const memberCount = Number(values.members);
  const oneToOne = Number(values['one-to-one']);
  const groupMessages = Number(values['group-messages']);
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-groups-'));
  const server = await startParleyServe({
    dir,
    domain: DOMAIN,
    registrationToken: REGISTRATION_TOKEN,
    config: {
      limits: {
        advertised: { maxGroupMembers: Math.min(Math.max(memberCount, 8), 1024) },
        rates: { writesPerAccount: { burst: 1e6, perMinute: 1e6 } },
      },
    },
  });
  const url = `ws://127.0.0.1:${server.port}/parley/v1`;
  const seed = `g${Date.now().toString(36)}`;
  try {
    // Deliveries seen, by message id, with the time of the last one.
    const seen = new Map<string, { count: number; last: number }>();
    const onMessage = (frame: WireFrame): void => {
      const id = frame.messageId as string;
      const s = seen.get(id) ?? { count: 0, last: 0 };
      s.count += 1;
      s.last = performance.now();
      seen.set(id, s);
    };
    const sender = await connect(url, seed, 0, () => undefined);
    // The sender is a member too: the group holds it and memberCount − 1 receivers.
    const receivers = memberCount - 1;
    const members = await pool(receivers, SETUP_CONCURRENCY, (i) =>
      connect(url, seed, i + 1, onMessage),
    );
    console.log(`${memberCount} members connected`);
    const waitFor = async (ids: readonly string[], copies: number): Promise<void> => {
      const deadline = Date.now() + TIMEOUT_MS;
      while (ids.some((id) => (seen.get(id)?.count ?? 0) < copies)) {
        if (Date.now() > deadline) throw new Error('deliveries did not all arrive in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    // 1:1: one send per delivered message, round robin over the members.
    const bodies = Array.from({ length: 16 }, whisperBody);
    const cpu0 = cpuMs(server.pid);
    const oneIds = await pool(oneToOne, 64, async (i) => {
      const m = members[i % members.length]!;
      const reply = await sender.client.request('message.send', {
        to: m.address,
        idempotencyKey: `${seed}.1.${i}`,
        messages: [
          { deviceId: 1, registrationId: m.registrationId, type: 'whisper', body: bodies[i % 16] },
        ],
      });
      return reply.messageId as string;
    });
    await waitFor(oneIds, 1);
    const cpu1 = cpuMs(server.pid);
    const oneCpuMicros = ((cpu1 - cpu0) * 1000) / oneToOne;

    // Groups: one of 8 members for the sender's bytes, then the whole group.
    const small = await sender.client.request('group.create', {
      idempotencyKey: randomUUID(),
      members: members.slice(0, 7).map((m) => m.address),
    });
    const big = await sender.client.request('group.create', {
      idempotencyKey: randomUUID(),
      members: members.map((m) => m.address),
    });
    await new Promise((r) => setTimeout(r, 500)); // the creation pushes are acknowledged
    const frameBytes = (group: WireFrame, i: number): number =>
      JSON.stringify({
        v: 1,
        type: 'message.send',
        id: `r${i}`,
        group: group.group,
        groupVersion: group.version,
        idempotencyKey: `${seed}.g.${i}`,
        body: senderKeyBody(shapes, i),
      }).length;
    const smallBytes = frameBytes(small, 1);
    const bigBytes = frameBytes(big, 1);
    // The sender's first send to the big group carries its sender key to every member device in
    // 1:1 ciphertexts (GROUP-052: the provider refuses a send that reaches a device the key has
    // not); the figures measure the sends after it, which carry none.
    const first = await sender.client.request('message.send', {
      group: big.group,
      groupVersion: big.version,
      idempotencyKey: `${seed}.g.first`,
      body: senderKeyBody(shapes, 0),
      distribution: members.map((m, i) => ({
        to: m.address,
        messages: [
          { deviceId: 1, registrationId: m.registrationId, type: 'whisper', body: bodies[i % 16] },
        ],
      })),
    });
    if (first.type !== 'message.accepted')
      throw new Error(`the distributing send was refused: ${JSON.stringify(first).slice(0, 300)}`);
    await waitFor([first.messageId as string], receivers);
    const cpu2 = cpuMs(server.pid);
    const latencies: number[] = [];
    for (let i = 0; i < groupMessages; i++) {
      const start = performance.now();
      const reply = await sender.client.request('message.send', {
        group: big.group,
        groupVersion: big.version,
        idempotencyKey: `${seed}.g.${i}`,
        body: senderKeyBody(shapes, i + 1),
      });
      if (reply.type !== 'message.accepted')
        throw new Error(`a group send was refused: ${JSON.stringify(reply).slice(0, 300)}`);
      const id = reply.messageId as string;
      await waitFor([id], receivers);
      latencies.push(seen.get(id)!.last - start);
    }
    const cpu3 = cpuMs(server.pid);
    const copies = groupMessages * receivers;
    const groupCpuMicros = ((cpu3 - cpu2) * 1000) / copies;
    const sorted = [...latencies].sort((a, b) => a - b);
    const figures: Figure[] = [
      ratioFigure({
        name: 'server CPU per delivered group copy',
        ours: groupCpuMicros,
        baseline: oneCpuMicros,
        baselineName: 'server CPU per delivered 1:1 message',
        unit: 'µs',
        target: TARGET_CPU_RATIO,
        targetLabel: `ratio ≤ ${TARGET_CPU_RATIO}`,
        note: `user + system time of parley serve over ${groupMessages} sends to a group of ${memberCount}, every member connected (${copies} copies, acks included) against ${oneToOne} 1:1 sends of one body each (acks included)`,
      }),
      boundFigure({
        name: 'group send to last member push, p99',
        ours: round(percentile(sorted, 99), 1),
        unit: 'ms',
        direction: 'at-most',
        bound: Number.POSITIVE_INFINITY,
        note: `p50 ${round(percentile(sorted, 50), 1)} ms over ${groupMessages} sends, one at a time, to ${memberCount} members; reported, no target`,
      }),
      ratioFigure({
        name: `sender upload per group send, ${memberCount} vs 8 members`,
        ours: bigBytes,
        baseline: smallBytes,
        baselineName: '8 members',
        unit: 'bytes',
        target: 1 - TARGET_SENDER_SPREAD,
        targetLabel: `within ${TARGET_SENDER_SPREAD * 100} %`,
        note: 'one SenderKeyMessage per send whatever the group size; distribution ciphertexts travel only when a member is new or a sender key rotates',
      }),
    ];
    // ratioFigure's `met` reads ≥; these two read ≤ and a spread.
    figures[0]!.met = groupCpuMicros / oneCpuMicros <= TARGET_CPU_RATIO;
    figures[1]!.met = null;
    figures[1]!.target = 'reported';
    figures[2]!.met = Math.abs(bigBytes / smallBytes - 1) <= TARGET_SENDER_SPREAD;
    const report = {
      benchmark: 'groups',
      date: new Date().toISOString(),
      machine: {
        node: process.version,
        cpus: cpus().length,
        loadAverageBefore: loadBefore.map((l) => round(l, 2)),
        loadAverageAfter: loadavg().map((l) => round(l, 2)),
        note: 'parley serve, the members and the sender share these cores with whatever else runs',
      },
      parameters: { members: memberCount, oneToOne, groupMessages },
      figures,
    };
    mkdirSync(join(values.out, '..'), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    printFigures(figures);
    await Promise.all([sender, ...members].map((m) => m.client.close()));
  } finally {
    await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
