// SDK attachment transfer against a real provider: encrypt + slot + upload, download + decrypt, and
// tampering detected as a typed error (spec/attachments.md "Encryption format", "Upload", "Download").
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  AttachmentCipherError,
  downloadAttachment,
  ParleyError,
  uploadAttachment,
  type AttachmentSlotter,
  type ParleyClient,
} from '../../../reference-impl/client/index.ts';
import { startWorld, type World } from './support.ts';

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Reads until the stream fails; returns what it released and the error. */
async function readUntilError(stream: Readable): Promise<{ got: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of stream) parts.push(part as Buffer);
  } catch (error) {
    return { got: Buffer.concat(parts), error };
  }
  return { got: Buffer.concat(parts), error: undefined };
}

describe('SDK attachment upload and download (spec/attachments.md)', () => {
  let world: World;
  let bob: ParleyClient;
  let dir: string;
  before(async () => {
    world = await startWorld();
    bob = await world.thirdParty('bob');
    dir = mkdtempSync(join(tmpdir(), 'parley-sdk-att-'));
  });
  after(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a 300 KiB image from a path through encrypt, slot, upload, download and decrypt (ATT-001, ATT-005, ATT-007)', async () => {
    const image = randomBytes(300 * 1024);
    const file = join(dir, 'photo.jpg');
    writeFileSync(file, image);
    const pointer = await uploadAttachment(bob, file, {
      kind: 'image',
      mediaType: 'image/jpeg',
      fileName: 'photo.jpg',
      width: 640,
      height: 480,
    });
    expect(pointer).to.include({
      size: image.length,
      paddedSize: 311296,
      mediaType: 'image/jpeg',
      fileName: 'photo.jpg',
      width: 640,
      height: 480,
    });
    expect(Buffer.from(pointer.key, 'base64url')).to.have.length(32);
    expect(Buffer.from(pointer.noncePrefix, 'base64url')).to.have.length(7);
    const stored = readFileSync(join(world.provider.blobDir, pointer.blobId));
    expect(stored.length).to.equal(311296 + 16 * 5); // ATT-003's blob length
    expect(stored.includes(image.subarray(0, 64))).to.equal(false);
    expect((await readAll(await downloadAttachment(pointer))).equals(image)).to.equal(true);
  });

  it('round-trips a multi-chunk video from a stream and marks a voice message as audio with its duration (ATT-010)', async () => {
    const video = randomBytes(5 * 65536 + 1234);
    const pointer = await uploadAttachment(
      bob,
      Readable.from([video.subarray(0, 100_000), video.subarray(100_000)]),
      {
        kind: 'video',
        mediaType: 'video/mp4',
        size: video.length,
        durationMs: 4000,
      },
    );
    expect((await readAll(await downloadAttachment(pointer))).equals(video)).to.equal(true);

    const voice = randomBytes(40_000);
    const note = await uploadAttachment(bob, Readable.from([voice]), {
      kind: 'audio',
      mediaType: 'audio/ogg',
      size: voice.length,
      voice: true,
      durationMs: 2500,
    });
    expect(note).to.include({ voice: true, durationMs: 2500, mediaType: 'audio/ogg' });
    expect((await readAll(await downloadAttachment(note))).equals(voice)).to.equal(true);
    await uploadAttachment(bob, Readable.from([voice]), {
      kind: 'video',
      mediaType: 'video/mp4',
      size: voice.length,
      voice: true,
      durationMs: 2500,
    }).then(
      () => expect.fail('a video voice message was accepted'),
      (error: unknown) => expect(error).to.be.instanceOf(TypeError),
    );
  });

  it('fails a download of a blob tampered with on the server with AttachmentCipherError, releasing nothing beyond the last authenticated chunk (ATT-004)', async () => {
    const video = randomBytes(4 * 65536);
    const pointer = await uploadAttachment(bob, Readable.from([video]), {
      kind: 'video',
      mediaType: 'video/mp4',
      size: video.length,
    });
    const path = join(world.provider.blobDir, pointer.blobId);
    const blob = readFileSync(path);
    blob[2 * 65552 + 100]! ^= 0x01; // a byte of chunk 2
    writeFileSync(path, blob);
    const { got, error } = await readUntilError(await downloadAttachment(pointer));
    expect(error).to.be.instanceOf(AttachmentCipherError);
    expect((error as AttachmentCipherError).code).to.equal('CHUNK_AUTH_FAILED');
    expect(got.length).to.be.at.most(2 * 65536);
    expect(got.equals(video.subarray(0, got.length))).to.equal(true);
  });

  it('resumes an upload from the stored offset after the connection drops mid-PUT (ATT-024)', async () => {
    const upstreamPort = world.provider.port;
    let connections = 0;
    const requests: string[] = [];
    const offsets: number[] = [];
    const proxy = createServer((downstream) => {
      connections += 1;
      const cut = connections === 1; // the first PUT loses its connection after ~150 kB
      const upstream = connect(upstreamPort, '127.0.0.1');
      let forwarded = 0;
      downstream.on('data', (data: Buffer) => {
        forwarded += data.length;
        const text = data.toString('latin1');
        for (const m of text.matchAll(/(PUT|HEAD) \/parley\/v1\/uploads\//g)) requests.push(m[1]!);
        for (const m of text.matchAll(/upload-offset: (\d+)/gi)) offsets.push(Number(m[1]));
        upstream.write(data);
        if (cut && forwarded > 150_000) {
          downstream.destroy();
          upstream.destroy();
        }
      });
      upstream.pipe(downstream);
      downstream.on('error', () => undefined);
      upstream.on('error', () => undefined);
      downstream.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as AddressInfo).port;
    const viaProxy: AttachmentSlotter = {
      slotAttachment: async (kind, size, digest) => {
        const slot = await bob.slotAttachment(kind, size, digest);
        return {
          ...slot,
          uploadUrl: slot.uploadUrl.replace(`:${upstreamPort}/`, `:${proxyPort}/`),
        };
      },
    };
    try {
      const video = randomBytes(400_000);
      const pointer = await uploadAttachment(viaProxy, Readable.from([video]), {
        kind: 'video',
        mediaType: 'video/mp4',
        size: video.length,
      });
      expect(requests).to.deep.equal(['PUT', 'HEAD', 'PUT']); // cut, ask, resume
      expect(offsets).to.have.length(1);
      expect(offsets[0]).to.be.above(0).and.below(video.length);
      expect((await readAll(await downloadAttachment(pointer))).equals(video)).to.equal(true);
    } finally {
      proxy.close();
    }
  });

  it('rejects a download whose blob the provider does not serve with ParleyError NOT_FOUND (ATT-027)', async () => {
    const pointer = await uploadAttachment(bob, Readable.from([Buffer.from('hello')]), {
      kind: 'document',
      mediaType: 'text/plain',
      size: 5,
    });
    const capability = pointer.downloadUrl.split('/').pop()!;
    const wrong = {
      ...pointer,
      downloadUrl: pointer.downloadUrl.replace(capability, 'A'.repeat(43)),
    };
    await downloadAttachment(wrong).then(
      () => expect.fail('downloaded with a wrong capability'),
      (error: unknown) => {
        expect(error).to.be.instanceOf(ParleyError);
        expect((error as ParleyError).code).to.equal('NOT_FOUND');
      },
    );
  });
});
