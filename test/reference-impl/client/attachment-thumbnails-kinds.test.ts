// SDK thumbnails and kind choice against a real provider: a thumbnail is its own encrypted blob under a
// fresh key, and a media type the provider does not list goes as a document (spec/attachments.md
// "Pointer", ATT-001, ATT-009, ATT-010).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AttachmentKind } from '../../../schemas/common.ts';
import {
  AttachmentCipherError,
  attachmentKindFor,
  downloadAttachment,
  downloadThumbnail,
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

/** `client` as a slotter that records the kind of every slot it asks for. */
function recording(client: ParleyClient): { slotter: AttachmentSlotter; kinds: AttachmentKind[] } {
  const kinds: AttachmentKind[] = [];
  return {
    kinds,
    slotter: {
      get welcome() {
        return client.welcome;
      },
      slotAttachment: (kind, size, digest) => {
        kinds.push(kind);
        return client.slotAttachment(kind, size, digest);
      },
    },
  };
}

describe('SDK attachment thumbnails and kind choice (spec/attachments.md "Pointer")', () => {
  let world: World;
  let bob: ParleyClient;
  let dir: string;
  before(async () => {
    world = await startWorld();
    bob = await world.thirdParty('bob');
    dir = mkdtempSync(join(tmpdir(), 'parley-sdk-thumb-'));
  });
  after(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a thumbnail as its own image blob under a fresh key and downloads it with downloadThumbnail (ATT-001)', async () => {
    const image = randomBytes(200_000);
    const thumb = randomBytes(3_000);
    const { slotter, kinds } = recording(bob);
    const pointer = await uploadAttachment(slotter, Readable.from([image]), {
      kind: 'image',
      mediaType: 'image/jpeg',
      size: image.length,
      width: 1600,
      height: 1200,
      thumbnail: { data: thumb, mediaType: 'image/jpeg', width: 160, height: 120 },
    });
    expect(kinds).to.deep.equal(['image', 'image']);
    const t = pointer.thumbnail!;
    expect(t).to.include({ size: thumb.length, mediaType: 'image/jpeg', width: 160, height: 120 });
    expect(t).to.not.have.property('paddedSize');
    expect(t.blobId).to.not.equal(pointer.blobId);
    expect(t.key).to.not.equal(pointer.key);
    expect(t.noncePrefix).to.not.equal(pointer.noncePrefix);
    const stored = readFileSync(join(world.provider.blobDir, t.blobId));
    expect(stored.length).to.equal(3072 + 16); // padded(3000) in one chunk
    expect(stored.includes(thumb.subarray(0, 64))).to.equal(false);
    expect((await readAll(await downloadThumbnail(pointer))).equals(thumb)).to.equal(true);
    expect((await readAll(await downloadAttachment(pointer))).equals(image)).to.equal(true);
  });

  it('reads a thumbnail from a path', async () => {
    const thumb = randomBytes(1_500);
    const file = join(dir, 'thumb.png');
    writeFileSync(file, thumb);
    const video = randomBytes(3 * 65536);
    const pointer = await uploadAttachment(bob, Readable.from([video]), {
      kind: 'video',
      mediaType: 'video/mp4',
      size: video.length,
      durationMs: 3000,
      thumbnail: { path: file, mediaType: 'image/png', width: 96, height: 54 },
    });
    expect(pointer.thumbnail).to.include({ size: 1_500, mediaType: 'image/png' });
    expect((await readAll(await downloadThumbnail(pointer))).equals(thumb)).to.equal(true);
  });

  it('detects a thumbnail blob tampered with on the server as AttachmentCipherError (ATT-004)', async () => {
    const thumb = randomBytes(2_000);
    const pointer = await uploadAttachment(bob, Readable.from([Buffer.from('x'.repeat(100))]), {
      kind: 'image',
      mediaType: 'image/png',
      size: 100,
      thumbnail: { data: thumb, mediaType: 'image/png', width: 10, height: 10 },
    });
    const path = join(world.provider.blobDir, pointer.thumbnail!.blobId);
    const blob = readFileSync(path);
    blob[10]! ^= 0x01;
    writeFileSync(path, blob);
    let failure: unknown;
    try {
      await readAll(await downloadThumbnail(pointer));
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(AttachmentCipherError);
  });

  it('refuses a thumbnail with both or neither of data and path before slotting anything, and a pointer without one', async () => {
    const { slotter, kinds } = recording(bob);
    for (const thumbnail of [
      { mediaType: 'image/png', width: 1, height: 1 },
      { data: randomBytes(10), path: '/nonexistent', mediaType: 'image/png', width: 1, height: 1 },
    ]) {
      await uploadAttachment(slotter, Readable.from([Buffer.from('hi')]), {
        kind: 'image',
        mediaType: 'image/png',
        size: 2,
        thumbnail,
      }).then(
        () => expect.fail('accepted a malformed thumbnail'),
        (error: unknown) => expect(error).to.be.instanceOf(TypeError),
      );
    }
    expect(kinds).to.deep.equal([]);
    const plain = await uploadAttachment(bob, Readable.from([Buffer.from('hi')]), {
      kind: 'document',
      mediaType: 'text/plain',
      size: 2,
    });
    await downloadThumbnail(plain).then(
      () => expect.fail('downloaded a thumbnail that is not there'),
      (error: unknown) => expect(error).to.be.instanceOf(TypeError),
    );
  });

  it('chooses document for a media type the provider does not list for the kind, by type/subtype without parameters (ATT-009)', () => {
    const listed = {
      image: ['image/jpeg', 'image/png'],
      audio: ['audio/ogg; codecs=opus'],
      video: ['video/mp4'],
      document: ['application/pdf'],
    };
    expect(attachmentKindFor('image', 'image/png', listed)).to.equal('image');
    expect(attachmentKindFor('image', 'IMAGE/PNG', listed)).to.equal('image');
    expect(attachmentKindFor('image', 'image/bmp', listed)).to.equal('document');
    expect(attachmentKindFor('audio', 'audio/ogg', listed)).to.equal('audio');
    expect(attachmentKindFor('video', 'video/x-matroska', listed)).to.equal('document');
    expect(attachmentKindFor('video', 'video/mp4', { image: ['image/png'] })).to.equal('document');
    expect(attachmentKindFor('document', 'application/zip', listed)).to.equal('document');
    expect(attachmentKindFor('image', 'image/bmp', undefined)).to.equal('image');
  });

  it('keeps a voice message kind audio even when its media type is not listed (ATT-010 over ATT-009)', () => {
    expect(attachmentKindFor('audio', 'audio/amr', { audio: ['audio/ogg'] }, true)).to.equal(
      'audio',
    );
    expect(attachmentKindFor('audio', 'audio/amr', { audio: ['audio/ogg'] })).to.equal('document');
  });

  it('slots an upload as document when welcome.mediaTypes lacks its media type, and honours a given mediaTypes (ATT-009)', async () => {
    const { slotter, kinds } = recording(bob);
    const bytes = randomBytes(5_000);
    const bmp = await uploadAttachment(slotter, Readable.from([bytes]), {
      kind: 'image',
      mediaType: 'image/bmp',
      size: bytes.length,
      fileName: 'scan.bmp',
    });
    expect(bmp.mediaType).to.equal('image/bmp');
    await uploadAttachment(slotter, Readable.from([bytes]), {
      kind: 'image',
      mediaType: 'image/png',
      size: bytes.length,
    });
    await uploadAttachment(slotter, Readable.from([bytes]), {
      kind: 'image',
      mediaType: 'image/png',
      size: bytes.length,
      mediaTypes: { image: ['image/jpeg'] },
    });
    expect(kinds).to.deep.equal(['document', 'image', 'document']);
    expect((await readAll(await downloadAttachment(bmp))).equals(bytes)).to.equal(true);
  });
});
