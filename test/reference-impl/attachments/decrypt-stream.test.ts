/**
 * Tests of the recipient's decrypt stream against every kind of tampering: each must end in one
 * typed error, with no plaintext released beyond the last authenticated chunk.
 * Spec: spec/attachments.md, "Decryption" and "Decryption failures".
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CHUNK_BYTES } from '../../../reference-impl/attachments/constants.ts';
import { createDecryptStream } from '../../../reference-impl/attachments/decrypt-stream.ts';
import { AttachmentCipherError } from '../../../reference-impl/attachments/errors.ts';
import type { AttachmentCipherErrorCode } from '../../../reference-impl/attachments/errors.ts';
import { layoutFor } from '../../../reference-impl/attachments/layout.ts';
import { encrypt, joinChunks, plaintextOf, run, sha256, wireChunk } from './helpers.ts';
import type { Encrypted } from './helpers.ts';

// Five chunks: four full ones and a last one holding 1000 true bytes and 7192 bytes of padding.
const SIZE = 4 * CHUNK_BYTES + 1000;

describe('attachment decrypt stream', () => {
  const plaintext = plaintextOf(SIZE);
  let alice: Encrypted;
  let chunks: Buffer[];

  before(async () => {
    alice = await encrypt(plaintext);
    chunks = [0, 1, 2, 3, 4].map((index) => wireChunk(alice.blob, index));
  });

  /** Decrypts `blob` as bob would from alice's pointer (with optional overrides). */
  async function bobDecrypts(
    blob: Buffer,
    pointer: { key?: Buffer; digest?: Buffer; plaintextSize?: number } = {},
  ) {
    const stream = createDecryptStream({
      key: pointer.key ?? alice.stream.key,
      noncePrefix: alice.stream.noncePrefix,
      plaintextSize: pointer.plaintextSize ?? SIZE,
      digest: pointer.digest ?? sha256(blob),
    });
    return run(stream, blob, 30_000);
  }

  /** The failure carries `code`, and bob saw at most the plaintext of chunks before `chunkLimit`. */
  function expectFailure(
    result: { output: Buffer; error: unknown },
    code: AttachmentCipherErrorCode,
    chunkLimit: number,
  ): void {
    expect(result.error).to.be.instanceOf(AttachmentCipherError).with.property('code', code);
    expect(result.output.length).to.be.at.most(chunkLimit * CHUNK_BYTES);
    expect(result.output.equals(plaintext.subarray(0, result.output.length))).to.equal(true);
  }

  it('fails on a bit flipped in chunk 2 with CHUNK_AUTH_FAILED, releasing nothing from chunk 2 on', async () => {
    const tampered = Buffer.from(alice.blob);
    (tampered[2 * (CHUNK_BYTES + 16) + 100] as number) ^= 0x01;
    const result = await bobDecrypts(tampered);
    expectFailure(result, 'CHUNK_AUTH_FAILED', 2);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(2);
  });

  it('fails on a bit flipped in the tag of chunk 0 with CHUNK_AUTH_FAILED, releasing nothing', async () => {
    const tampered = Buffer.from(alice.blob);
    (tampered[CHUNK_BYTES + 3] as number) ^= 0x80;
    const result = await bobDecrypts(tampered);
    expectFailure(result, 'CHUNK_AUTH_FAILED', 0);
    expect(result.output.length).to.equal(0);
  });

  it('fails on a truncated final chunk with TRUNCATED', async () => {
    const result = await bobDecrypts(alice.blob.subarray(0, alice.blob.length - 5));
    expectFailure(result, 'TRUNCATED', 4);
  });

  it('fails on a dropped last chunk with TRUNCATED, since chunk 3 is not flagged last', async () => {
    const result = await bobDecrypts(joinChunks(chunks.slice(0, 4)));
    expectFailure(result, 'TRUNCATED', 4);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(4);
  });

  it('fails on an empty ciphertext with TRUNCATED', async () => {
    const result = await bobDecrypts(Buffer.alloc(0));
    expectFailure(result, 'TRUNCATED', 0);
  });

  it('fails on chunks 1 and 2 swapped with CHUNK_AUTH_FAILED at chunk 1', async () => {
    const [c0, c1, c2, c3, c4] = chunks as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const result = await bobDecrypts(joinChunks([c0, c2, c1, c3, c4]));
    expectFailure(result, 'CHUNK_AUTH_FAILED', 1);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(1);
  });

  it('fails on a duplicated chunk 1 with CHUNK_AUTH_FAILED at chunk 2', async () => {
    const [c0, c1, c2, c3, c4] = chunks as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const result = await bobDecrypts(joinChunks([c0, c1, c1, c2, c3, c4]));
    expectFailure(result, 'CHUNK_AUTH_FAILED', 2);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(2);
  });

  it('fails on a chunk spliced from another file under the same key but another prefix', async () => {
    const mallory = await encrypt(plaintext, {
      key: alice.stream.key,
      noncePrefix: randomBytes(7),
    });
    const spliced = chunks.slice();
    spliced[2] = wireChunk(mallory.blob, 2);
    const result = await bobDecrypts(joinChunks(spliced));
    expectFailure(result, 'CHUNK_AUTH_FAILED', 2);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(2);
  });

  it('fails under the wrong key with CHUNK_AUTH_FAILED at chunk 0, releasing nothing', async () => {
    const result = await bobDecrypts(alice.blob, { key: randomBytes(32) });
    expectFailure(result, 'CHUNK_AUTH_FAILED', 0);
    expect(result.output.length).to.equal(0);
  });

  it('fails on a wrong digest with DIGEST_MISMATCH and never releases the last chunk', async () => {
    const wrong = Buffer.from(alice.digest);
    (wrong[0] as number) ^= 0x01;
    const result = await bobDecrypts(alice.blob, { digest: wrong });
    expectFailure(result, 'DIGEST_MISMATCH', 4);
  });

  it('fails on non-zero padding with BAD_PADDING even though every tag verifies', async () => {
    // A faulty or hostile sender encrypts its own padding bytes: the true size says 1000 bytes
    // of chunk 4 are plaintext, the remaining 7192 must be zero.
    const padded = layoutFor(SIZE).paddedSize;
    const withJunk = Buffer.concat([plaintext, Buffer.alloc(padded - SIZE, 0x20)]);
    expect(layoutFor(padded).paddedSize).to.equal(padded);
    const mallory = await encrypt(withJunk);
    const stream = createDecryptStream({
      key: mallory.stream.key,
      noncePrefix: mallory.stream.noncePrefix,
      plaintextSize: SIZE,
      digest: mallory.digest,
    });
    const result = await run(stream, mallory.blob);
    expectFailure(result, 'BAD_PADDING', 4);
    expect((result.error as AttachmentCipherError).chunkIndex).to.equal(4);
  });

  it('fails on bytes after the last chunk with TRAILING_DATA', async () => {
    const result = await bobDecrypts(Buffer.concat([alice.blob, Buffer.from([0])]), {
      digest: alice.digest,
    });
    expectFailure(result, 'TRAILING_DATA', 4);
  });

  it('refuses a digest that is not 32 bytes with BAD_DIGEST', () => {
    expect(() =>
      createDecryptStream({
        key: alice.stream.key,
        noncePrefix: alice.stream.noncePrefix,
        plaintextSize: SIZE,
        digest: Buffer.alloc(31),
      }),
    )
      .to.throw(AttachmentCipherError)
      .with.property('code', 'BAD_DIGEST');
  });

  it('decrypts correctly however the ciphertext is split, down to 7-byte pieces', async () => {
    const stream = createDecryptStream({
      key: alice.stream.key,
      noncePrefix: alice.stream.noncePrefix,
      plaintextSize: SIZE,
      digest: alice.digest,
    });
    const { output, error } = await run(stream, alice.blob, 7);
    expect(error).to.equal(undefined);
    expect(output.equals(plaintext)).to.equal(true);
  });
});
