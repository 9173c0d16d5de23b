// ATT case of spec/attachments.md and spec/content.md end to end: a partner user encrypts a file
// with the chunked stream cipher, uploads it, and sends its AttachmentPointer inside Signal-encrypted
// content; the first-party recipient downloads, verifies and decrypts it byte for byte.
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createDecryptStream,
  createEncryptStream,
} from '../../../reference-impl/attachments/index.ts';
import { hasMembers, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { HarnessError } from '../../runner/signals.ts';
import { b64, unb64 } from '../../transport/users.ts';
import { digestOf, http, isHttp, slotFor, upload } from './blob.ts';

/** Runs `input` through a cipher stream and collects what it releases. */
async function through(stream: Transform, input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([input]), stream, async (source: AsyncIterable<Buffer>) => {
    for await (const part of source) parts.push(part);
  });
  return Buffer.concat(parts);
}

export const attachmentMediaCases = [
  defineCase({
    id: 'ATT-026-encrypted-media-round-trip',
    title:
      'bob (third-party) sends alice an encrypted three-chunk document; she downloads, verifies and decrypts it byte for byte',
    requirements: ['ATT-026', 'ATT-029', 'ENC-003', 'CONSENT-015'],
    level: 'MUST',
    quote:
      'The provider MUST serve a complete blob to any request that presents its `downloadUrl`, until the blob expires.',
    sends:
      'bob: text to alice, alice accepts; bob: attachment.slot + PUT of the encrypted file, message.send of an attachment Content; alice: GET downloadUrl',
    capabilities: ['attachments'],
    timeoutMs: 8000,
    async run({ world, world: { validator } }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      // Bob's first contact lands in requests; alice accepts him.
      mustMatch(
        'ENC-003',
        await bob.sendText(alice.address, 'a file follows'),
        isType('message.accepted'),
      );
      const hello = await alice.nextMessage();
      await alice.open(hello);
      await alice.ack(hello);
      const accepted = await alice.peer.request('request.respond', {
        from: bob.address,
        action: 'accept',
      });
      mustMatch('CONSENT-015', accepted, isType('request.responded'));

      // Bob encrypts 150 000 bytes (three 64 KiB chunks after padding) and uploads the blob.
      const file = randomBytes(150_000);
      const cipher = createEncryptStream({ plaintextSize: file.length });
      const blob = await through(cipher, file);
      const digest = b64(cipher.digest!);
      if (digestOf(blob) !== digest)
        throw new HarnessError('the stream cipher digest is not the blob’s');
      const slotted = await slotFor(bob.peer, blob, digest);
      mustMatch('ATT-026', await upload(world, slotted, blob), isHttp(201));
      const pointer = {
        blobId: slotted.blobId,
        downloadUrl: slotted.downloadUrl,
        key: b64(cipher.key),
        noncePrefix: b64(cipher.noncePrefix),
        digest,
        size: cipher.plaintextSize,
        paddedSize: cipher.paddedSize,
        mediaType: 'application/pdf',
        fileName: 'minutes.pdf',
      };
      const content = {
        v: 1,
        id: randomUUID(),
        sentAt: Date.now(),
        kind: 'attachment',
        attachments: [pointer],
      };
      const messages = await bob.encryptFor(alice.address, content);
      const sent = await bob.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: `k.${world.rng.word(12)}`,
        messages,
      });
      mustMatch('ENC-003', sent, isType('message.accepted'));

      // Alice opens the content, downloads the blob and decrypts it.
      const got = await alice.nextMessage();
      mustMatch('CONSENT-015', got, hasMembers('message', { folder: 'third-party' }));
      const opened = await alice.open(got);
      must(
        'ENC-003',
        that(validator.validateAs('Content', opened).ok, 'a schema-valid Content', opened),
      );
      const received = opened.attachments?.[0] ?? {};
      const download = await http(world, 'GET', received.downloadUrl as string);
      mustMatch('ATT-029', download, isHttp(200));
      must(
        'ATT-026',
        that(digestOf(download.body) === received.digest, 'the blob the pointer names', digest),
      );
      const plain = await through(
        createDecryptStream({
          key: unb64(received.key as string),
          noncePrefix: unb64(received.noncePrefix as string),
          plaintextSize: received.size as number,
          digest: unb64(received.digest as string),
        }),
        download.body,
      );
      must(
        'ATT-026',
        that(plain.equals(file), 'the 150000 bytes bob encrypted', `${plain.length} bytes`),
      );
    },
  }),
];
