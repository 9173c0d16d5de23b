/**
 * Test helpers for the attachment stream cipher: run a stream over a buffer fed in pieces and
 * collect what it released before it finished or failed. Spec: spec/attachments.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryptStream } from '../../../reference-impl/attachments/encrypt-stream.ts';
import type { AttachmentEncryptStream } from '../../../reference-impl/attachments/encrypt-stream.ts';
import { CHUNK_WIRE_BYTES } from '../../../reference-impl/attachments/constants.ts';

/** Splits `data` into pieces of `size` bytes (the last one shorter). */
export function* piecesOf(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

export interface StreamRun {
  readonly output: Buffer;
  readonly error: unknown;
}

/** Writes `input` into `stream` in pieces of `pieceSize`; returns what it released and any error. */
export async function run(
  stream: Transform,
  input: Buffer,
  pieceSize = 50_000,
): Promise<StreamRun> {
  const out: Buffer[] = [];
  let error: unknown;
  try {
    await pipeline(Readable.from(piecesOf(input, pieceSize)), stream, async (source) => {
      for await (const piece of source as AsyncIterable<Buffer>) out.push(piece);
    });
  } catch (caught) {
    error = caught;
  }
  return { output: Buffer.concat(out), error };
}

export interface Encrypted {
  readonly blob: Buffer;
  readonly stream: AttachmentEncryptStream;
  readonly digest: Buffer;
}

/** Encrypts `plaintext` (fresh key and prefix unless given) and returns the blob and its stream. */
export async function encrypt(
  plaintext: Buffer,
  options: { key?: Buffer; noncePrefix?: Buffer; pieceSize?: number } = {},
): Promise<Encrypted> {
  const stream = createEncryptStream({
    key: options.key,
    noncePrefix: options.noncePrefix,
    plaintextSize: plaintext.length,
  });
  const { output, error } = await run(stream, plaintext, options.pieceSize);
  if (error) throw error;
  if (!stream.digest) throw new Error('the encrypt stream finished without a digest');
  return { blob: output, stream, digest: stream.digest };
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Wire chunk `index` of a blob (the last one may be short). */
export function wireChunk(blob: Buffer, index: number): Buffer {
  return blob.subarray(index * CHUNK_WIRE_BYTES, (index + 1) * CHUNK_WIRE_BYTES);
}

/** Joins wire chunks into a blob. */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return Buffer.concat(chunks);
}

/** Random plaintext of `size` bytes. */
export function plaintextOf(size: number): Buffer {
  return randomBytes(size);
}
