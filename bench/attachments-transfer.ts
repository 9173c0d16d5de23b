/**
 * Attachment transfer benchmark: SDK upload and download of an encrypted blob through `parley serve`
 * on loopback, beside a plain node:http PUT/GET file server (spec/attachments.md "Upload", "Download").
 *
 * Both servers run in their own process (`node bin/parley.js serve`, and a few lines of node:http
 * with no validation and no crypto), so the client in this process competes with neither. Ours is
 * the SDK end to end: `uploadAttachment` (encrypt + SHA-256 into a temporary ciphertext file, slot,
 * PUT; the provider checks the digest and stores) and `downloadAttachment` (GET; decrypt, verify every
 * chunk and the digest). The baseline PUTs the same plaintext bytes to a file and GETs them back.
 * Throughput is plaintext MiB per second, the best of `repeats` runs taken alternately.
 *
 * Run standalone: `npx tsx bench/attachments-transfer.ts [MiB]` prints the table (default 256 MiB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  downloadAttachment,
  MemoryClientStore,
  ParleyClient,
  uploadAttachment,
} from '../reference-impl/client/index.ts';
import { printFigures, ratioFigure, round, type Figure } from './support/figures.ts';
import { layoutFor } from '../reference-impl/attachments/index.ts';

export type { Figure } from './support/figures.ts';

/** How much to move, and how often. */
export interface TransferOptions {
  /** Plaintext bytes per transfer (the benchmark uses 256 MiB). */
  bytes: number;
  /** Runs of each variant; the best counts (default 3). */
  repeats?: number;
  /** The ratio each figure must reach to be met (default 0.5, a proposal: no target is set yet). */
  ratioTarget?: number;
}

const MiB = 2 ** 20;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REGISTRATION_TOKEN = 'bench-registration-token';
/** Proposed: the SDK with its crypto moves at least half as fast as plain HTTP on loopback. */
const DEFAULT_RATIO_TARGET = 0.5;
const START_TIMEOUT_MS = 30_000;

const POOL = randomBytes(4 * MiB);

/** `total` bytes as 64 KiB views over POOL, produced on demand (the same source for both sides). */
function plaintextSource(total: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: 65536,
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const offset = sent % POOL.length;
      const piece = POOL.subarray(offset, offset + Math.min(65536, total - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

/** Consumes a stream, discarding it; resolves to the byte count. */
async function drain(stream: Readable): Promise<number> {
  let count = 0;
  await pipeline(
    stream,
    new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _encoding, done) {
        count += chunk.length;
        done();
      },
    }),
  );
  return count;
}

/** The plain file server: PUT streams the body to one file, GET streams it back. */
const BASELINE_SERVER = `
import { createServer } from 'node:http';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
const file = process.env.BLOB_FILE;
const server = createServer(async (req, res) => {
  try {
    if (req.method === 'PUT') {
      await pipeline(req, createWriteStream(file));
      res.writeHead(201).end();
    } else if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
      await pipeline(createReadStream(file), res);
    } else res.writeHead(405).end();
  } catch (error) {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(JSON.stringify({ event: 'listening', port: server.address().port }) + '\\n');
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Spawns a server process and resolves to its port from the JSON `listening` line on stderr. */
function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{
  child: ChildProcess;
  port: number;
}> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not listen within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before listening`));
    };
    child.once('exit', onExit);
    // Keep reading stderr for the process's whole life, so its log never blocks on a full pipe.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: { event?: unknown; port?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.event === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, port: entry.port });
      }
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function http(
  url: string,
  method: string,
  body?: { source: Readable; length: number },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: body ? { 'content-length': body.length } : {},
    });
    req.once('response', resolve);
    req.once('error', reject);
    if (body) body.source.pipe(req);
    else req.end();
  });
}

/** Seconds `run` takes. */
async function timed(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function figure(
  target: number,
  name: string,
  ours: number,
  baseline: number,
  baselineName: string,
  note: string,
): Figure {
  const targetLabel = `ratio ≥ ${target}${target === DEFAULT_RATIO_TARGET ? ' (proposed)' : ''}`;
  return ratioFigure({ name, ours, baseline, baselineName, target, targetLabel, note });
}

/**
 * Measures SDK upload and download of a `bytes`-byte attachment through `parley serve` on loopback,
 * beside a plain node:http file server, both in their own processes; resolves to two figures.
 */
export async function measureTransfer(opts: TransferOptions): Promise<Figure[]> {
  const { bytes } = opts;
  const repeats = opts.repeats ?? 3;
  const target = opts.ratioTarget ?? DEFAULT_RATIO_TARGET;
  const blobBytes = layoutFor(bytes).ciphertextSize;
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-transfer-'));
  const children: ChildProcess[] = [];
  let client: ParleyClient | undefined;
  try {
    const config = join(dir, 'serve.json');
    writeFileSync(
      config,
      JSON.stringify({
        limits: {
          advertised: { attachments: { video: Math.max(blobBytes, 100 * MiB) } },
          attachmentQuotaBytes: blobBytes * (repeats + 1),
        },
      }),
    );
    const parley = await startProcess([
      'bin/parley.js',
      'serve',
      '--port',
      '0',
      '--db',
      join(dir, 'p.db'),
      '--domain',
      'bench.example',
      '--registration-token',
      REGISTRATION_TOKEN,
      '--config',
      config,
    ]);
    children.push(parley.child);
    const plain = await startProcess(['--input-type=module', '-e', BASELINE_SERVER], {
      BLOB_FILE: join(dir, 'plain.bin'),
    });
    children.push(plain.child);
    const plainUrl = `http://127.0.0.1:${plain.port}/blob`;

    client = new ParleyClient({
      url: `ws://127.0.0.1:${parley.port}/parley/v1`,
      store: new MemoryClientStore(),
      requestTimeoutMs: 60_000,
    });
    await client.connect({
      method: 'register',
      registrationToken: REGISTRATION_TOKEN,
      name: 'bench',
    });
    // The slot request marks the end of the client's encryption pass: time the two phases apart.
    const connected = client;
    let slottedAt = 0n;
    const sdk = {
      welcome: connected.welcome,
      slotAttachment: (...args: Parameters<ParleyClient['slotAttachment']>) => {
        slottedAt = process.hrtime.bigint();
        return connected.slotAttachment(...args);
      },
    };

    const best = {
      oursUp: 0,
      oursDown: 0,
      plainUp: 0,
      plainDown: 0,
      encryptSeconds: 0,
      putSeconds: 0,
    };
    const mibps = (seconds: number): number => bytes / MiB / seconds;
    for (let run = 0; run < repeats; run += 1) {
      let pointer: Awaited<ReturnType<typeof uploadAttachment>> | undefined;
      const upStart = process.hrtime.bigint();
      const oursUp = await timed(async () => {
        pointer = await uploadAttachment(sdk, plaintextSource(bytes), {
          kind: 'video',
          mediaType: 'video/mp4',
          size: bytes,
          tempDir: dir,
        });
      });
      const plainUp = await timed(async () => {
        const res = await http(plainUrl, 'PUT', { source: plaintextSource(bytes), length: bytes });
        await drain(res);
        if (res.statusCode !== 201) throw new Error(`baseline PUT answered ${res.statusCode}`);
      });
      const oursDown = await timed(async () => {
        const got = await drain(await downloadAttachment(pointer!));
        if (got !== bytes) throw new Error(`downloaded ${got} of ${bytes} bytes`);
      });
      const plainDown = await timed(async () => {
        const res = await http(plainUrl, 'GET');
        const got = await drain(res);
        if (res.statusCode !== 200 || got !== bytes)
          throw new Error(`baseline GET answered ${res.statusCode} with ${got} bytes`);
      });
      if (mibps(oursUp) > best.oursUp) {
        best.encryptSeconds = Number(slottedAt - upStart) / 1e9;
        best.putSeconds = oursUp - best.encryptSeconds;
      }
      best.oursUp = Math.max(best.oursUp, mibps(oursUp));
      best.plainUp = Math.max(best.plainUp, mibps(plainUp));
      best.oursDown = Math.max(best.oursDown, mibps(oursDown));
      best.plainDown = Math.max(best.plainDown, mibps(plainDown));
    }

    const size = `${round(bytes / MiB)} MiB`;
    const baselineName = 'plain node:http PUT/GET to a file, own process';
    return [
      figure(
        target,
        `upload through parley serve on loopback (SDK, ${size})`,
        best.oursUp,
        best.plainUp,
        baselineName,
        `ours: encrypt + SHA-256 into a temporary ciphertext file, attachment.slot, PUT; the provider hashes, checks the digest and stores (${blobBytes} ciphertext bytes); baseline: PUT of the same plaintext to a file, no validation, no crypto; best of ${repeats}, plaintext MiB/s; of the best run ${round(best.encryptSeconds, 2)} s encrypting to the temporary file and ${round(best.putSeconds, 2)} s slot + PUT + the provider's write, fsync and digest check`,
      ),
      figure(
        target,
        `download through parley serve on loopback (SDK, ${size})`,
        best.oursDown,
        best.plainDown,
        baselineName,
        `ours: GET of the capability URL, decrypt, verify every chunk tag and the blob digest; baseline: GET of the same-sized plaintext file; best of ${repeats}, plaintext MiB/s`,
      ),
    ];
  } finally {
    await client?.dispose();
    for (const child of children) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  if (!Number.isInteger(mib) || mib < 1) throw new Error('usage: attachments-transfer.ts [MiB]');
  const figures = await measureTransfer({ bytes: mib * MiB });
  printFigures(figures);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  });
}
