// Content encoding and padding exactly as spec/content.md "Plaintext" defines it (ENC-036..ENC-041).
import { expect } from 'chai';
import {
  decodePlaintext,
  encodePlaintext,
  PADDING_BLOCK,
  reactionContent,
  receiptContent,
  textContent,
  typingContent,
  unpad,
  editContent,
  deleteContent,
  attachmentContent,
  groupContextContent,
} from '../../../reference-impl/client/content.ts';
import { SCHEMA_LIMITS } from '../../../schemas/limits.ts';
import type { Content } from '../../../schemas/content.ts';

const ID = '0b7e6c1e-5b1a-4a53-9a4e-3f3f2b8a9c10';
const pad = (json: string): Uint8Array => encodePlaintext(JSON.parse(json) as Content);

describe('client content', () => {
  it('pads the UTF-8 JSON with 0x80 and zeros up to a multiple of 160 bytes', () => {
    const content = textContent('hi', undefined, { id: ID, sentAt: 1 });
    const json = Buffer.from(JSON.stringify(content));
    const plaintext = encodePlaintext(content);
    expect(plaintext.length).to.equal(PADDING_BLOCK);
    expect(Buffer.from(plaintext.subarray(0, json.length))).to.deep.equal(json);
    expect(plaintext[json.length]).to.equal(0x80);
    expect([...plaintext.subarray(json.length + 1)].every((b) => b === 0)).to.equal(true);
  });

  it('adds no zero byte when the JSON is one byte short of a multiple of 160', () => {
    const stub = textContent('', undefined, { id: ID, sentAt: 1 });
    const overhead = Buffer.byteLength(JSON.stringify(stub));
    const body = 'x'.repeat(159 - overhead);
    const plaintext = encodePlaintext(textContent(body, undefined, { id: ID, sentAt: 1 }));
    expect(plaintext.length).to.equal(160);
    expect(plaintext[159]).to.equal(0x80);
  });

  it('moves to the next block when the JSON fills a block exactly', () => {
    const stub = textContent('', undefined, { id: ID, sentAt: 1 });
    const overhead = Buffer.byteLength(JSON.stringify(stub));
    const plaintext = encodePlaintext(
      textContent('x'.repeat(160 - overhead), undefined, { id: ID, sentAt: 1 }),
    );
    expect(plaintext.length).to.equal(320);
    expect(plaintext[160]).to.equal(0x80);
  });

  it('round-trips every content kind through encode and decode', () => {
    const author = 'alice@wa.example';
    const all: Content[] = [
      textContent('héllo 👋', { id: ID, author }),
      receiptContent('read', [ID]),
      reactionContent({ id: ID, author }, '👍'),
      reactionContent({ id: ID, author }, '👍', true),
      editContent(ID, 'fixed'),
      deleteContent(ID),
      typingContent('started'),
      groupContextContent('Book club'),
      attachmentContent(
        [
          {
            blobId: 'blob-1',
            downloadUrl: 'https://wa.example/blobs/blob-1?cap=x',
            key: Buffer.alloc(32, 1).toString('base64url'),
            noncePrefix: Buffer.alloc(7, 2).toString('base64url'),
            digest: Buffer.alloc(32, 3).toString('base64url'),
            size: 10,
            paddedSize: 16,
            mediaType: 'image/jpeg',
          },
        ],
        { caption: 'a cat' },
      ),
    ];
    for (const content of all) {
      const decoded = decodePlaintext(encodePlaintext(content));
      expect(decoded, content.kind).to.deep.equal({ ok: true, content });
    }
  });

  it('takes a group name of maxGroupNameLength characters, with or without an avatar, and discards a longer one (spec/content.md "Group context")', () => {
    const avatar = {
      blobId: 'blob-2',
      downloadUrl: 'https://wa.example/blobs/blob-2?cap=y',
      key: Buffer.alloc(32, 4).toString('base64url'),
      noncePrefix: Buffer.alloc(7, 5).toString('base64url'),
      digest: Buffer.alloc(32, 6).toString('base64url'),
      size: 10,
      paddedSize: 16,
      mediaType: 'image/png',
    };
    const longest = 'n'.repeat(SCHEMA_LIMITS.maxGroupNameLength);
    for (const content of [groupContextContent(longest), groupContextContent(longest, avatar)])
      expect(decodePlaintext(encodePlaintext(content))).to.deep.equal({ ok: true, content });
    const tooLong = groupContextContent(`${longest}n`);
    expect(decodePlaintext(encodePlaintext(tooLong))).to.include({ ok: false, reason: 'schema' });
    expect(
      decodePlaintext(pad(JSON.stringify({ ...groupContextContent('x'), name: '' }))),
    ).to.include({ ok: false, reason: 'schema' });
  });

  it('gives every new content a fresh UUID', () => {
    const a = textContent('a');
    const b = textContent('a');
    expect(a.id).to.match(/^[0-9a-f-]{36}$/);
    expect(a.id).to.not.equal(b.id);
  });

  it('removes trailing zeros and exactly one 0x80 byte', () => {
    expect([...unpad(Uint8Array.from([1, 2, 0x80, 0, 0]))!]).to.deep.equal([1, 2]);
    expect([...unpad(Uint8Array.from([1, 0x80, 0x80]))!]).to.deep.equal([1, 0x80]);
    expect(unpad(Uint8Array.from([1, 2, 0, 0]))).to.equal(null);
    expect(unpad(Uint8Array.from([0, 0]))).to.equal(null);
  });

  it('discards a plaintext without the 0x80 terminator', () => {
    const raw = Buffer.from(JSON.stringify(textContent('hi')));
    expect(decodePlaintext(raw)).to.deep.include({ ok: false, reason: 'padding' });
  });

  it('discards a content whose v is not 1', () => {
    expect(
      decodePlaintext(pad(`{"v":2,"id":"${ID}","sentAt":1,"kind":"text","body":"x"}`)),
    ).to.deep.include({
      ok: false,
      reason: 'version',
    });
  });

  it('discards a content that fails its schema', () => {
    const decoded = decodePlaintext(
      pad(`{"v":1,"id":"${ID}","sentAt":1,"kind":"text","body":"x","html":"<b>"}`),
    );
    expect(decoded).to.deep.include({ ok: false, reason: 'schema' });
  });

  it('reports a content of an unknown kind as unsupported, not as broken', () => {
    const decoded = decodePlaintext(pad(`{"v":1,"id":"${ID}","sentAt":1,"kind":"poll","q":"?"}`));
    expect(decoded).to.deep.equal({ ok: false, reason: 'unknown-kind', kind: 'poll' });
  });

  it('discards a plaintext that is not UTF-8 JSON', () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x80]);
    expect(decodePlaintext(bytes)).to.deep.include({ ok: false, reason: 'json' });
  });
});
