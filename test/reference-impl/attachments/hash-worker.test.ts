/**
 * Tests of the SHA-256 worker that hashes large blobs beside the cipher: same digest as an inline
 * createHash over the same bytes, bounded batches, and a worker that never outlives its work or
 * keeps a process alive. Spec: spec/attachments.md, "Chunked encryption" and "Streaming and memory".
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createDecryptStream } from '../../../reference-impl/attachments/decrypt-stream.ts';
import { createEncryptStream } from '../../../reference-impl/attachments/encrypt-stream.ts';
import { AttachmentCipherError } from '../../../reference-impl/attachments/errors.ts';
import {
  HASH_BATCH_BYTES,
  HASH_MAX_IN_FLIGHT,
  HASH_WORKER_MIN_BYTES,
  createStreamHash,
  hashWorkerState,
  setHashWorkerMinBytes,
  shutdownHashWorker,
} from '../../../reference-impl/attachments/hash-worker.ts';
import { layoutFor } from '../../../reference-impl/attachments/layout.ts';
import { encrypt, piecesOf, plaintextOf, run, sha256 } from './helpers.ts';

const MiB = 2 ** 20;

/** Waits until the worker has answered everything sent to it. */
async function drained(): Promise<void> {
  for (let tries = 0; tries < 200 && hashWorkerState().outstanding > 0; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A buffer owning its whole ArrayBuffer (as cipher.update returns), filled with `bytes`. */
function owned(bytes: Buffer): Buffer {
  const copy = Buffer.from(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

describe('attachment hash worker', () => {
  // The default threshold, even on a single-core machine (where the default is never).
  let threshold = 0;
  before(() => {
    threshold = setHashWorkerMinBytes(HASH_WORKER_MIN_BYTES);
  });
  after(async () => {
    setHashWorkerMinBytes(threshold);
    await shutdownHashWorker();
  });

  it('computes the same SHA-256 as createHash over the same bytes, across batch edges', async () => {
    const data = randomBytes(HASH_MAX_IN_FLIGHT * HASH_BATCH_BYTES + 3 * HASH_BATCH_BYTES + 12_345);
    for (const pieceSize of [1, 65_552, HASH_BATCH_BYTES + 1, data.length]) {
      const hash = createStreamHash(0, true);
      expect(hash.onWorker).to.equal(true);
      const input = pieceSize === 1 ? data.subarray(0, 5000) : data;
      for (const piece of piecesOf(input, pieceSize)) {
        const wait = hash.update(piece);
        if (wait) await wait;
      }
      expect((await hash.digest()).equals(sha256(input))).to.equal(true, `pieces of ${pieceSize}`);
    }
  });

  it('hashes transferred buffers in order with copied ones and hands back the same bytes', async () => {
    const parts = [1000, 65_536, 16, 3, 65_536, 16, 2 * MiB].map((size) => randomBytes(size));
    const hash = createStreamHash(0, true);
    const back: Buffer[] = [];
    // Copied, transferred (owned), copied again, then a batch with a pooled (sliced) buffer.
    expect(hash.update(parts[0] as Buffer)).to.equal(undefined);
    const sent = parts.slice(1, 3).map(owned);
    back.push(...(await hash.hashOwned(sent)));
    expect(sent.every((buffer) => buffer.length === 0)).to.equal(true, 'transferred, not copied');
    const wait = hash.update(parts[3] as Buffer);
    if (wait) await wait;
    back.push(
      ...(await hash.hashOwned([owned(parts[4] as Buffer), Buffer.from(parts[5] as Buffer)])),
    );
    back.push(...(await hash.hashOwned([owned(parts[6] as Buffer)])));
    const digest = await hash.digest();
    expect(digest.equals(sha256(Buffer.concat(parts)))).to.equal(true);
    expect(
      Buffer.concat(back).equals(Buffer.concat([...parts.slice(1, 3), ...parts.slice(4)])),
    ).to.equal(true);
  });

  it('holds at most HASH_MAX_IN_FLIGHT batches per stream and makes the writer wait', async () => {
    const hash = createStreamHash(0, true);
    const data = randomBytes((HASH_MAX_IN_FLIGHT + 2) * HASH_BATCH_BYTES);
    const wait = hash.update(data);
    expect(wait).to.be.instanceOf(Promise);
    expect(hashWorkerState().outstanding).to.be.at.most(HASH_MAX_IN_FLIGHT);
    await wait;
    expect((await hash.digest()).equals(sha256(data))).to.equal(true);
  });

  it('hashes small blobs inline and large ones on the worker, as configured', () => {
    const small = createStreamHash(HASH_WORKER_MIN_BYTES - 1);
    const large = createStreamHash(HASH_WORKER_MIN_BYTES);
    expect(small.onWorker).to.equal(false);
    expect(large.onWorker).to.equal(true);
    small.dispose();
    large.dispose();
    const previous = setHashWorkerMinBytes(Infinity);
    try {
      const never = createStreamHash(2 ** 40);
      expect(never.onWorker).to.equal(false);
      never.dispose();
    } finally {
      setHashWorkerMinBytes(previous);
    }
    expect(() => setHashWorkerMinBytes(-1)).to.throw(RangeError);
  });

  it('gives large blobs the same digest and round trip as the inline path', async () => {
    const size = HASH_WORKER_MIN_BYTES + 3 * MiB + 777; // padding spans whole chunks
    const plaintext = plaintextOf(size);
    const alice = await encrypt(plaintext, { pieceSize: 100_000 });
    expect(alice.blob.length).to.equal(layoutFor(size).ciphertextSize);
    expect(alice.digest.equals(sha256(alice.blob))).to.equal(true);
    const stream = createDecryptStream({
      key: alice.stream.key,
      noncePrefix: alice.stream.noncePrefix,
      plaintextSize: size,
      digest: alice.digest,
    });
    const { output, error } = await run(stream, alice.blob, 70_000);
    expect(error).to.equal(undefined);
    expect(output.equals(plaintext)).to.equal(true);
    await drained();
    expect(hashWorkerState().jobs).to.equal(0);
  });

  it('on a large blob with a wrong digest fails with DIGEST_MISMATCH and withholds the last chunk', async () => {
    const size = HASH_WORKER_MIN_BYTES + 5 * 65_536;
    const plaintext = plaintextOf(size);
    const alice = await encrypt(plaintext);
    const wrong = Buffer.from(alice.digest);
    (wrong[31] as number) ^= 0x80;
    const stream = createDecryptStream({
      key: alice.stream.key,
      noncePrefix: alice.stream.noncePrefix,
      plaintextSize: size,
      digest: wrong,
    });
    const { output, error } = await run(stream, alice.blob, 65_536);
    expect(error).to.be.instanceOf(AttachmentCipherError).with.property('code', 'DIGEST_MISMATCH');
    const lastChunkStart = (layoutFor(size).chunkCount - 1) * 65_536;
    expect(output.length).to.be.at.most(lastChunkStart);
    expect(output.equals(plaintext.subarray(0, output.length))).to.equal(true);
  });

  it('releases the job of a stream destroyed mid-way, leaving the worker idle and unref’d', async () => {
    const size = 64 * MiB;
    const stream = createEncryptStream({ plaintextSize: size });
    stream.resume();
    const piece = randomBytes(MiB);
    for (let i = 0; i < 12; i += 1) {
      if (!stream.write(piece)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    expect(hashWorkerState().jobs).to.be.at.least(1);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    await drained();
    const state = hashWorkerState();
    expect(state.jobs).to.equal(0);
    expect(state.outstanding).to.equal(0);
    expect(state.keepsProcessAlive).to.equal(false);
  });

  it('fails the streams that hash on it when the worker is shut down, then starts afresh', async () => {
    const size = 32 * MiB;
    const stream = createEncryptStream({ plaintextSize: size });
    const result = run(stream, plaintextOf(size), MiB);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await shutdownHashWorker();
    const { error } = await result;
    expect(error).to.be.instanceOf(Error);
    expect(hashWorkerState().running).to.equal(false);
    const again = await encrypt(plaintextOf(HASH_WORKER_MIN_BYTES));
    expect(again.digest.equals(sha256(again.blob))).to.equal(true);
  });

  it('never keeps a process alive: finished, abandoned and destroyed streams all let it exit', async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(join(tmpdir(), 'parley-hash-worker-'));
    const module = fileURLToPath(
      new URL('../../../reference-impl/attachments/encrypt-stream.ts', import.meta.url),
    );
    const script = join(dir, 'child.mts');
    writeFileSync(
      script,
      [
        `import { createEncryptStream } from ${JSON.stringify(module)};`,
        "import { Readable } from 'node:stream';",
        "import { pipeline } from 'node:stream/promises';",
        'const MiB = 2 ** 20;',
        '// Collect garbage all along: a stream whose only link is the pending worker answer lives.',
        'const gc = setInterval(() => (globalThis as { gc?: () => void }).gc?.(), 1);',
        'const digest = await (async () => {',
        '  const stream = createEncryptStream({ plaintextSize: 32 * MiB });',
        '  const pieces = (function* () { for (let i = 0; i < 32; i += 1) yield Buffer.alloc(MiB); })();',
        '  await pipeline(Readable.from(pieces), stream, async (out) => { for await (const _ of out); });',
        '  return stream.digest;',
        '})();',
        'clearInterval(gc);',
        '// Abandoned: half written, never ended nor destroyed.',
        'const abandoned = createEncryptStream({ plaintextSize: 64 * MiB });',
        'abandoned.resume();',
        'abandoned.write(Buffer.alloc(6 * MiB));',
        'const destroyed = createEncryptStream({ plaintextSize: 64 * MiB });',
        'destroyed.resume();',
        'destroyed.write(Buffer.alloc(6 * MiB), () => destroyed.destroy());',
        "console.log(digest?.toString('hex'));",
      ].join('\n'),
    );
    try {
      const started = Date.now();
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', script],
          { timeout: 25_000 },
          (error, out) => (error ? reject(error) : resolve(out)),
        );
      });
      expect(stdout.trim()).to.match(/^[0-9a-f]{64}$/);
      // Well before the idle timeout (10 s): the worker did not hold the process open.
      expect(Date.now() - started).to.be.below(9_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
