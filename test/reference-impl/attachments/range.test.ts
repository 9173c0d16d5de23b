/**
 * Tests of random access: the plaintext → ciphertext range map, decryptChunkRange and the range
 * decrypt stream. Spec: spec/attachments.md, "Random access".
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  CHUNK_BYTES,
  CHUNK_WIRE_BYTES,
  TAG_BYTES,
} from '../../../reference-impl/attachments/constants.ts';
import { createRangeDecryptStream } from '../../../reference-impl/attachments/decrypt-stream.ts';
import { AttachmentCipherError } from '../../../reference-impl/attachments/errors.ts';
import { ciphertextRangeFor } from '../../../reference-impl/attachments/layout.ts';
import { decryptChunkRange } from '../../../reference-impl/attachments/range.ts';
import { encrypt, plaintextOf, run, wireChunk } from './helpers.ts';
import type { Encrypted } from './helpers.ts';

interface Fixture {
  readonly plaintext: Buffer;
  readonly encrypted: Encrypted;
}

describe('attachment random access', () => {
  const sizes = [1, 1000, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 4321, 2 ** 21 + 1];
  const fixtures: Fixture[] = [];

  before(async () => {
    for (const size of sizes) {
      const plaintext = plaintextOf(size);
      fixtures.push({ plaintext, encrypted: await encrypt(plaintext) });
    }
  });

  it('maps a plaintext range to the whole chunks that cover it', () => {
    // Size 3 × 64 KiB + 4321 = 200929 pads to 204800 (step 4096): chunk 3 holds 8192 bytes.
    const size = 3 * CHUNK_BYTES + 4321;
    expect(ciphertextRangeFor(size, 0, 1)).to.deep.equal({
      firstChunk: 0,
      lastChunk: 0,
      ciphertextStart: 0,
      ciphertextEnd: CHUNK_WIRE_BYTES,
      skip: 0,
      length: 1,
    });
    expect(ciphertextRangeFor(size, CHUNK_BYTES - 1, CHUNK_BYTES + 1)).to.deep.include({
      firstChunk: 0,
      lastChunk: 1,
      ciphertextEnd: 2 * CHUNK_WIRE_BYTES,
      skip: CHUNK_BYTES - 1,
    });
    expect(ciphertextRangeFor(size, size - 1, size)).to.deep.include({
      firstChunk: 3,
      lastChunk: 3,
      ciphertextStart: 3 * CHUNK_WIRE_BYTES,
      ciphertextEnd: 3 * CHUNK_WIRE_BYTES + 8192 + TAG_BYTES,
      skip: size - 1 - 3 * CHUNK_BYTES,
    });
  });

  it('refuses empty, reversed and out-of-file ranges with BAD_RANGE', () => {
    for (const [start, end] of [
      [5, 5],
      [6, 5],
      [-1, 3],
      [0, 1001],
      [0.5, 2],
    ] as const) {
      expect(() => ciphertextRangeFor(1000, start, end))
        .to.throw(AttachmentCipherError)
        .with.property('code', 'BAD_RANGE');
    }
  });

  const rangeIn = fc
    .tuple(
      fc.nat({ max: sizes.length - 1 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .map(([file, a, b]) => {
      const size = sizes[file] as number;
      const start = Math.min(size - 1, Math.floor(Math.min(a, b) * size));
      const end = Math.max(start + 1, Math.ceil(Math.max(a, b) * size));
      return { file, start, end };
    });

  it('decryptChunkRange returns exactly the plaintext slice for random ranges', () => {
    fc.assert(
      fc.property(rangeIn, ({ file, start, end }) => {
        const { plaintext, encrypted } = fixtures[file] as Fixture;
        const range = ciphertextRangeFor(plaintext.length, start, end);
        const chunkPlaintext = decryptChunkRange({
          key: encrypted.stream.key,
          noncePrefix: encrypted.stream.noncePrefix,
          plaintextSize: plaintext.length,
          firstChunk: range.firstChunk,
          ciphertext: encrypted.blob.subarray(range.ciphertextStart, range.ciphertextEnd),
        });
        const got = chunkPlaintext.subarray(range.skip, range.skip + range.length);
        expect(got.equals(plaintext.subarray(start, end))).to.equal(true);
      }),
      { numRuns: 150 },
    );
  });

  it('the range decrypt stream releases exactly the plaintext slice for random ranges', async () => {
    await fc.assert(
      fc.asyncProperty(rangeIn, fc.integer({ min: 1, max: 100_000 }), async (r, pieceSize) => {
        const { plaintext, encrypted } = fixtures[r.file] as Fixture;
        const range = ciphertextRangeFor(plaintext.length, r.start, r.end);
        const stream = createRangeDecryptStream({
          key: encrypted.stream.key,
          noncePrefix: encrypted.stream.noncePrefix,
          plaintextSize: plaintext.length,
          start: r.start,
          end: r.end,
        });
        const served = encrypted.blob.subarray(range.ciphertextStart, range.ciphertextEnd);
        const { output, error } = await run(stream, served, Math.max(pieceSize, 1000));
        expect(error).to.equal(undefined);
        expect(output.equals(plaintext.subarray(r.start, r.end))).to.equal(true);
      }),
      { numRuns: 60 },
    );
  });

  it('authenticates the chunk index: chunk 2 served where chunk 1 was asked for fails', () => {
    const { plaintext, encrypted } = fixtures[4] as Fixture;
    expect(() =>
      decryptChunkRange({
        key: encrypted.stream.key,
        noncePrefix: encrypted.stream.noncePrefix,
        plaintextSize: plaintext.length,
        firstChunk: 1,
        ciphertext: wireChunk(encrypted.blob, 2),
      }),
    )
      .to.throw(AttachmentCipherError)
      .with.property('code', 'CHUNK_AUTH_FAILED');
  });

  it('checks the last flag when a range reaches the final chunk', async () => {
    // Alice (faulty) reuses key and prefix for a two-chunk and a three-chunk file whose chunk 1
    // holds the same bytes; only the flag tells chunk 1 of the longer file from the last one.
    const shared = plaintextOf(3 * CHUNK_BYTES);
    const short = await encrypt(shared.subarray(0, 2 * CHUNK_BYTES));
    const long = await encrypt(shared, {
      key: short.stream.key,
      noncePrefix: short.stream.noncePrefix,
    });
    const stream = createRangeDecryptStream({
      key: short.stream.key,
      noncePrefix: short.stream.noncePrefix,
      plaintextSize: 2 * CHUNK_BYTES,
      start: CHUNK_BYTES,
      end: 2 * CHUNK_BYTES,
    });
    const { output, error } = await run(stream, wireChunk(long.blob, 1));
    expect(error)
      .to.be.instanceOf(AttachmentCipherError)
      .with.property('code', 'CHUNK_AUTH_FAILED');
    expect(output.length).to.equal(0);
  });

  it('refuses a partial chunk with TRUNCATED and bytes past the file with TRAILING_DATA', () => {
    const { plaintext, encrypted } = fixtures[3] as Fixture; // two chunks
    const input = {
      key: encrypted.stream.key,
      noncePrefix: encrypted.stream.noncePrefix,
      plaintextSize: plaintext.length,
      firstChunk: 0,
    };
    expect(() => decryptChunkRange({ ...input, ciphertext: encrypted.blob.subarray(0, 100) }))
      .to.throw(AttachmentCipherError)
      .with.property('code', 'TRUNCATED');
    expect(() =>
      decryptChunkRange({ ...input, ciphertext: Buffer.concat([encrypted.blob, Buffer.alloc(1)]) }),
    )
      .to.throw(AttachmentCipherError)
      .with.property('code', 'TRAILING_DATA');
  });
});
