// A runnable attachment exchange (spec/attachments.md, spec/content.md "Content kinds"): bob of
// chat.example sends alice of wa.example an image with a thumbnail, a voice message, a video and a PDF.
//
// Every file is encrypted under a fresh key, uploaded as an opaque blob, and its pointer (key
// included) travels inside the Signal-encrypted content; alice downloads, decrypts and verifies each.
//
// Usage:
//   npx tsx examples/attachments.ts          (starts the reference provider in-process)
//   npx tsx examples/attachments.ts --server ws://127.0.0.1:8080/parley/v1 \
//       --registration-token T --partner-key partner.json
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import type { AttachmentPointer } from '../schemas/content.ts';
import {
  attachmentContent,
  attachmentKindFor,
  downloadAttachment,
  downloadThumbnail,
  uploadAttachment,
  type IncomingMessage,
  type ParleyClient,
  type UploadAttachmentOptions,
} from '../reference-impl/client/index.ts';
import { layoutFor } from '../reference-impl/attachments/index.ts';
import { nextMessage, runExample, say, setUpExample } from './support/setup.ts';

const USAGE =
  'usage: tsx examples/attachments.ts [--server ws://… --registration-token T --partner-key partner.json]';

/** The next message `client` receives that `match` accepts. */
function next(
  client: ParleyClient,
  match: (m: IncomingMessage) => boolean,
): Promise<IncomingMessage> {
  return nextMessage(client, match, 30_000);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// ---- files bob sends, generated in code -----------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An RGB PNG of `width` × `height` showing a sunset gradient over a sea. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter method, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  const grain = randomBytes(rows.length); // film grain, so the image is the size of a photo
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    const sea = y > height * 0.6;
    for (let x = 0; x < width; x += 1) {
      const t = y / height;
      const wave = sea ? Math.round(20 * Math.sin((x + y * 3) / 9)) : 0;
      const g = (i: number): number => (grain[i]! & 15) - 8;
      const at = row + 1 + x * 3;
      rows[at] = (sea ? 20 + wave : Math.round(255 - 60 * t)) + g(at);
      rows[at + 1] = (sea ? 60 + wave : Math.round(140 - 100 * t)) + g(at + 1);
      rows[at + 2] = (sea ? 140 + wave : Math.round(60 + 120 * t)) + g(at + 2);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A mono 16-bit PCM WAV of a humming tone, `ms` long at 8 kHz. */
function wav(ms: number): Buffer {
  const rate = 8000;
  const samples = Math.round((rate * ms) / 1000);
  const out = Buffer.alloc(44 + samples * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) {
    const t = i / rate;
    const v = Math.sin(2 * Math.PI * 220 * t) * Math.sin(Math.PI * 2 * t) * 12000;
    out.writeInt16LE(Math.round(v), 44 + i * 2);
  }
  return out;
}

/** A one-page PDF 1.4 with a line of text, its cross-reference table at the right offsets. */
function pdf(text: string): Buffer {
  const stream = `BT /F1 24 Tf 72 720 Td (${text.replace(/[()\\]/g, '\\$&')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** One file bob sends: its bytes, what the pointer says, and how the transcript shows it. */
interface Outgoing {
  readonly label: string;
  readonly caption: string;
  readonly bytes: Buffer;
  readonly options: UploadAttachmentOptions;
  readonly thumbnail?: Buffer;
}

function outgoingFiles(): Outgoing[] {
  const thumbnail = png(64, 48);
  const video = randomBytes(6 * 1024 * 1024 + 12_345); // generated bytes standing in for an MP4
  return [
    {
      label: '🖼  image',
      caption: 'Sunset from the ferry',
      bytes: png(640, 480),
      thumbnail,
      options: {
        kind: 'image',
        mediaType: 'image/png',
        fileName: 'sunset.png',
        width: 640,
        height: 480,
        thumbnail: { data: thumbnail, mediaType: 'image/png', width: 64, height: 48 },
      },
    },
    {
      label: '🎤 voice',
      caption: 'Voice note',
      bytes: wav(2500),
      options: { kind: 'audio', mediaType: 'audio/wav', voice: true, durationMs: 2500 },
    },
    {
      label: '🎬 video',
      caption: 'The harbour, 12 seconds',
      bytes: video,
      options: {
        kind: 'video',
        mediaType: 'video/mp4',
        fileName: 'harbour.mp4',
        width: 1280,
        height: 720,
        durationMs: 12_000,
      },
    },
    {
      label: '📄 pdf',
      caption: 'Tickets for Saturday',
      bytes: pdf('Ferry tickets: Saturday 10:15, two adults'),
      options: { kind: 'document', mediaType: 'application/pdf', fileName: 'tickets.pdf' },
    },
  ];
}

/** A short description of a pointer, as alice's chat list shows it. */
function describe(p: AttachmentPointer): string {
  const parts = [p.fileName ?? (p.voice ? 'voice message' : 'file'), p.mediaType, human(p.size)];
  if (p.width !== undefined && p.height !== undefined) parts.push(`${p.width}×${p.height}`);
  if (p.durationMs !== undefined) parts.push(`${(p.durationMs / 1000).toFixed(1)} s`);
  if (p.thumbnail) parts.push(`thumbnail ${p.thumbnail.width}×${p.thumbnail.height}`);
  return parts.join(', ');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function main(): Promise<number> {
  const setup = await setUpExample(USAGE, 'parley-example-attachments');
  if (typeof setup === 'number') return setup;
  const { registrationToken, partnerKey, suffix } = setup;
  const client = setup.client.bind(setup);
  const alice = client('alice');
  const bob = client('bob', partnerKey);
  const chat: string[] = [];
  let folder = '';

  try {
    const a = await alice.connect({
      method: 'register',
      registrationToken,
      name: `alice${suffix}`,
    });
    say('alice', `registered ${a.address} (first-party)`);
    const b = await bob.connect({
      method: 'partner',
      address: `bob${suffix}@${partnerKey.domain}`,
    });
    say('bob', `signed in as ${b.address} with a ${b.origin.platform} partner token (third-party)`);
    await alice.setConsent({ enabled: true, platforms: [partnerKey.domain], inbox: 'separate' });
    say('alice', `turns on third-party chats for ${partnerKey.domain}`);

    const hello = next(alice, (m) => m.from === b.address);
    await bob.sendText(a.address, 'Hi Alice! Photos and tickets from the trip coming up.');
    say('bob', '→ alice: "Hi Alice! Photos and tickets from the trip coming up."');
    const request = await hello;
    say('alice', `← message request from ${request.from} (folder ${request.folder})`);
    chat.push('bob: Hi Alice! Photos and tickets from the trip coming up.');
    await alice.respondToRequest(b.address, 'accept');
    say('alice', `accepts ${b.address}'s request`);

    const mediaTypes = bob.welcome?.mediaTypes;
    for (const file of outgoingFiles()) {
      const o = file.options;
      const kind = attachmentKindFor(o.kind, o.mediaType, mediaTypes, o.voice);
      const started = Date.now();
      const pointer = await uploadAttachment(bob, Readable.from([file.bytes]), {
        ...o,
        size: file.bytes.length,
      });
      const { chunkCount, ciphertextSize } = layoutFor(pointer.size);
      const kindNote =
        kind !== o.kind
          ? ` (${o.mediaType} is not in the provider's mediaTypes.${o.kind}: ATT-009)`
          : o.voice && !(mediaTypes?.audio ?? []).includes(o.mediaType)
            ? ' (a voice message stays audio: ATT-010)'
            : '';
      const thumbNote = pointer.thumbnail
        ? ` + thumbnail blob (${human(pointer.thumbnail.size)}, own key)`
        : '';
      say(
        'bob',
        `${file.label}: encrypted ${human(file.bytes.length)} → ${human(ciphertextSize)} blob, ` +
          `${chunkCount} chunk${chunkCount === 1 ? '' : 's'}, slotted as ${kind}${kindNote}${thumbNote} ` +
          `(${Date.now() - started} ms)`,
      );
      const sentHash = sha256(file.bytes);
      say('bob', `   sha256 ${sentHash.slice(0, 16)}…  → alice: pointer inside "${file.caption}"`);

      const arrives = next(alice, (m) => m.content.kind === 'attachment' && m.from === b.address);
      await bob.send(a.address, attachmentContent([pointer], { caption: file.caption }));
      const got = await arrives;
      folder = got.folder;
      if (got.content.kind !== 'attachment') throw new Error('expected an attachment');
      const received = got.content.attachments[0]!;
      // downloadAttachment checks the blob length, every chunk's tag and the blob digest (ATT-003..005).
      const plaintext = await readAll(await downloadAttachment(received));
      const gotHash = sha256(plaintext);
      const ok = gotHash === sentHash;
      say(
        'alice',
        `← "${got.content.caption ?? ''}" (folder ${got.folder}): downloaded ${human(plaintext.length)}; ` +
          `digest ✓, ${layoutFor(received.size).chunkCount}/${layoutFor(received.size).chunkCount} chunks ✓, ` +
          `sha256 ${gotHash.slice(0, 16)}… ${ok ? '= what bob sent ✓' : '≠ what bob sent ✗'}`,
      );
      if (!ok) throw new Error(`${file.label}: the plaintext differs from what bob sent`);
      if (received.thumbnail && file.thumbnail) {
        const thumb = await readAll(await downloadThumbnail(received));
        const thumbOk = sha256(thumb) === sha256(file.thumbnail);
        say(
          'alice',
          `   thumbnail ${received.thumbnail.width}×${received.thumbnail.height} ` +
            `(${human(thumb.length)}) ${thumbOk ? 'verified ✓' : 'differs ✗'}`,
        );
        if (!thumbOk) throw new Error('the thumbnail differs from what bob sent');
      }
      chat.push(`bob: [${describe(received)}] ${got.content.caption ?? ''}`);
    }

    console.log(`\n┌─ ${a.address}'s inbox`);
    console.log(`│ ${folder === 'third-party' ? 'Third Party Chats' : folder}`);
    console.log(`│   ${b.address} [via ${b.origin.platform}]`);
    for (const line of chat) console.log(`│     ${line}`);
    console.log('└─\n');
    say('done', 'every file was encrypted end to end; the provider stored only opaque blobs');
    return 0;
  } finally {
    await setup.close();
  }
}

runExample(main);
