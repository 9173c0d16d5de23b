/**
 * Tests of the sender's encrypt stream and whole-blob round trips.
 * Spec: spec/attachments.md, "Chunked encryption" and "Size padding".
 */
import { createCipheriv } from 'node:crypto';
import { expect } from 'chai';
import {
  CHUNK_BYTES,
  CHUNK_WIRE_BYTES,
  TAG_BYTES,
} from '../../../reference-impl/attachments/constants.ts';
import { createDecryptStream } from '../../../reference-impl/attachments/decrypt-stream.ts';
import { createEncryptStream } from '../../../reference-impl/attachments/encrypt-stream.ts';
import { AttachmentCipherError } from '../../../reference-impl/attachments/errors.ts';
import { layoutFor } from '../../../reference-impl/attachments/layout.ts';
import { encrypt, plaintextOf, run, sha256 } from './helpers.ts';

const KEY = Buffer.alloc(32, 0x4b);
const PREFIX = Buffer.from('a1b2c3d4e5f607', 'hex');

describe('attachment encrypt stream', () => {
  const sizes = [
    ['an empty file', 0],
    ['a 1-byte file', 1],
    ['a file one byte short of a chunk', 65535],
    ['a file of exactly one chunk', 65536],
    ['a file one byte over a chunk', 65537],
    ['a file of several chunks', 3 * CHUNK_BYTES + 12345],
    ['a file whose padded size ends exactly on a chunk boundary', 2 * CHUNK_BYTES],
    ['a file whose padding starts a new chunk', 2 * CHUNK_BYTES + 1],
    ['a file whose padding fills whole chunks', 2 ** 22 + 1],
  ] as const;

  for (const [label, size] of sizes) {
    it(`lets bob decrypt ${label} (${size} bytes) that alice encrypted`, async () => {
      const plaintext = plaintextOf(size);
      const { blob, stream, digest } = await encrypt(plaintext, { pieceSize: 40_000 });
      const layout = layoutFor(size);
      expect(blob.length).to.equal(layout.ciphertextSize);
      expect(stream.ciphertextSize).to.equal(layout.ciphertextSize);
      expect(digest).to.deep.equal(sha256(blob));
      const decrypt = createDecryptStream({
        key: stream.key,
        noncePrefix: stream.noncePrefix,
        plaintextSize: size,
        digest,
      });
      const { output, error } = await run(decrypt, blob, 70_001);
      expect(error).to.equal(undefined);
      expect(output.equals(plaintext)).to.equal(true);
    });
  }

  it('produces the same blob for the same key and prefix however the input is split', async () => {
    const plaintext = plaintextOf(3 * CHUNK_BYTES + 777);
    const a = await encrypt(plaintext, { key: KEY, noncePrefix: PREFIX, pieceSize: 1 << 20 });
    const b = await encrypt(plaintext, { key: KEY, noncePrefix: PREFIX, pieceSize: 999 });
    expect(a.blob.equals(b.blob)).to.equal(true);
    expect(a.digest).to.deep.equal(b.digest);
  });

  it('draws a fresh 32-byte key and 7-byte prefix for every file when none is given', () => {
    const a = createEncryptStream({ plaintextSize: 10 });
    const b = createEncryptStream({ plaintextSize: 10 });
    expect(a.key.length).to.equal(32);
    expect(a.noncePrefix.length).to.equal(7);
    expect(a.key.equals(b.key)).to.equal(false);
    expect(a.noncePrefix.equals(b.noncePrefix)).to.equal(false);
  });

  it('states the padded size, chunk count and blob size before the first byte', () => {
    const stream = createEncryptStream({ plaintextSize: 65537 });
    expect(stream.paddedSize).to.equal(67584);
    expect(stream.chunkCount).to.equal(2);
    expect(stream.ciphertextSize).to.equal(67584 + 2 * TAG_BYTES);
    expect(stream.digest).to.equal(undefined);
  });

  it('lays each chunk out as AES-256-GCM under prefix ‖ u32be index ‖ last flag, then its tag', async () => {
    const plaintext = plaintextOf(CHUNK_BYTES + 10);
    const { blob } = await encrypt(plaintext, { key: KEY, noncePrefix: PREFIX });
    const padded = Buffer.concat([
      plaintext,
      Buffer.alloc(layoutFor(plaintext.length).paddedSize - plaintext.length),
    ]);
    const expected = [0, 1].map((index) => {
      const nonce = Buffer.concat([PREFIX, Buffer.from([0, 0, 0, index, index === 1 ? 1 : 0])]);
      const cipher = createCipheriv('aes-256-gcm', KEY, nonce);
      const body = cipher.update(padded.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES));
      cipher.final();
      return Buffer.concat([body, cipher.getAuthTag()]);
    });
    expect(blob.subarray(0, CHUNK_WIRE_BYTES).equals(expected[0] as Buffer)).to.equal(true);
    expect(blob.subarray(CHUNK_WIRE_BYTES).equals(expected[1] as Buffer)).to.equal(true);
  });

  it('refuses a source that delivers more bytes than declared with SIZE_MISMATCH', async () => {
    const stream = createEncryptStream({ plaintextSize: 100 });
    const { error } = await run(stream, plaintextOf(101));
    expect(error).to.be.instanceOf(AttachmentCipherError).with.property('code', 'SIZE_MISMATCH');
  });

  it('refuses a source that delivers fewer bytes than declared with SIZE_MISMATCH', async () => {
    const stream = createEncryptStream({ plaintextSize: 100 });
    const { error } = await run(stream, plaintextOf(99));
    expect(error).to.be.instanceOf(AttachmentCipherError).with.property('code', 'SIZE_MISMATCH');
    expect(stream.digest).to.equal(undefined);
  });

  it('refuses a key, prefix or size of the wrong shape with typed errors', () => {
    const cases = [
      [{ key: Buffer.alloc(16), plaintextSize: 1 }, 'BAD_KEY'],
      [{ noncePrefix: Buffer.alloc(8), plaintextSize: 1 }, 'BAD_NONCE_PREFIX'],
      [{ plaintextSize: -1 }, 'BAD_SIZE'],
      [{ plaintextSize: 0.5 }, 'BAD_SIZE'],
    ] as const;
    for (const [options, code] of cases) {
      expect(() => createEncryptStream(options))
        .to.throw(AttachmentCipherError)
        .with.property('code', code);
    }
  });

  it('keeps about one chunk buffered while the reader does not read, padding included', async () => {
    const size = 2 ** 22 + 1; // the padding alone is two whole chunks
    const stream = createEncryptStream({ plaintextSize: size });
    stream.end(plaintextOf(size));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.readableLength).to.be.at.most(2 * CHUNK_WIRE_BYTES);
    let total = 0;
    let peak = 0;
    for await (const piece of stream as AsyncIterable<Buffer>) {
      total += piece.length;
      peak = Math.max(peak, stream.readableLength);
    }
    expect(total).to.equal(layoutFor(size).ciphertextSize);
    expect(peak).to.be.at.most(2 * CHUNK_WIRE_BYTES);
  });
});
