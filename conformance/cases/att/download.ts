// ATT cases of spec/attachments.md#download: the capability URL serves the blob whole (GET, HEAD)
// and by byte range, and every way of not having it looks the same 404.
import { equals, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { blobBytes, describe, http, isBody, isHttp, slotFor, upload } from './blob.ts';

export const attachmentDownloadCases = [
  defineCase({
    id: 'ATT-029-download-byte-exact',
    title:
      'bob downloads alice’s blob by its downloadUrl alone: 200, application/octet-stream, byte for byte',
    requirements: ['ATT-029', 'ATT-026', 'ATT-031'],
    level: 'MUST',
    quote: 'The provider MUST answer a `GET` without `Range` with 200 and the whole blob.',
    sends: 'alice: attachment.slot (image) and PUT of 70000 bytes; GET downloadUrl (no credential)',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(70000);
      const slotted = await slotFor(alice.peer, bytes, undefined, 'image');
      mustMatch('ATT-026', await upload(world, slotted, bytes), isHttp(201));
      const got = await http(world, 'GET', slotted.downloadUrl as string);
      mustMatch('ATT-029', got, isBody(bytes));
      must(
        'ATT-031',
        equals(
          'application/octet-stream',
          'Content-Type',
        )(String(got.headers['content-type']).split(';')[0]!.trim()),
      );
    },
  }),
  defineCase({
    id: 'ATT-028-range-download',
    title:
      'a satisfiable Range gets 206 with Content-Range and exactly those bytes; a range past the end gets 416',
    requirements: ['ATT-028', 'ATT-030'],
    level: 'MUST',
    quote:
      'The provider MUST answer a `GET` with a single satisfiable byte range (RFC 9110) with 206, `Content-Range` and exactly the bytes of that range.',
    sends:
      'alice: slot and PUT of 5000 bytes; GET Range bytes=1000-2999, bytes=4000-, bytes=-100, bytes=5000-',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(5000);
      const slotted = await slotFor(alice.peer, bytes);
      mustMatch('ATT-028', await upload(world, slotted, bytes), isHttp(201));
      const url = slotted.downloadUrl as string;
      const ranges: [string, number, number][] = [
        ['bytes=1000-2999', 1000, 2999],
        ['bytes=4000-', 4000, 4999],
        ['bytes=-100', 4900, 4999],
      ];
      for (const [range, first, last] of ranges) {
        const part = await http(world, 'GET', url, { headers: { range } });
        mustMatch('ATT-028', part, isBody(bytes.subarray(first, last + 1), 206), range);
        must(
          'ATT-028',
          equals(
            `bytes ${first}-${last}/5000`,
            'Content-Range',
          )(part.headers['content-range'] ?? ''),
          range,
        );
      }
      const beyond = await http(world, 'GET', url, { headers: { range: 'bytes=5000-' } });
      mustMatch('ATT-030', beyond, isHttp(416), 'bytes=5000-');
      must(
        'ATT-030',
        equals('bytes */5000', 'Content-Range')(beyond.headers['content-range'] ?? ''),
        'bytes=5000-',
      );
    },
  }),
  defineCase({
    id: 'ATT-026-head-download',
    title: 'HEAD on the downloadUrl answers 200 with the blob length and no body',
    requirements: ['ATT-026', 'ATT-031'],
    level: 'MUST',
    quote:
      'The provider MUST serve a complete blob to any request that presents its `downloadUrl`, until the blob expires.',
    sends: 'alice: slot and PUT of 2500 bytes; HEAD downloadUrl',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(2500);
      const slotted = await slotFor(alice.peer, bytes);
      mustMatch('ATT-026', await upload(world, slotted, bytes), isHttp(201));
      const head = await http(world, 'HEAD', slotted.downloadUrl as string);
      mustMatch('ATT-026', head, isHttp(200));
      must(
        'ATT-026',
        that(
          head.headers['content-length'] === '2500' && head.body.length === 0,
          'Content-Length 2500 and no body',
          `${describe(head)} Content-Length ${head.headers['content-length']}`,
        ),
      );
    },
  }),
  defineCase({
    id: 'ATT-027-capability-required',
    title:
      'a wrong capability, an unknown blob and a blob not yet uploaded all get the same 404 NOT_FOUND',
    requirements: ['ATT-027'],
    level: 'MUST',
    quote:
      'The provider MUST answer a download request for an unknown, incomplete or expired blob, or with a wrong capability, with the same 404 `NOT_FOUND` response.',
    sends:
      'alice: a complete and an empty slot; GET with a changed capability, an unknown blob id, the empty slot; HEAD with the changed capability',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(1200);
      const slotted = await slotFor(alice.peer, bytes);
      mustMatch('ATT-027', await upload(world, slotted, bytes), isHttp(201));
      const empty = await slotFor(alice.peer, blobBytes(1200));
      const url = new URL(slotted.downloadUrl as string);
      const segments = url.pathname.split('/');
      const capability = segments.at(-1) ?? '';
      const swap = (segment: string, index: number): string => {
        const parts = [...segments];
        parts[index] = segment;
        return new URL(parts.join('/'), url).toString();
      };
      const forged = capability.startsWith('A')
        ? `B${capability.slice(1)}`
        : `A${capability.slice(1)}`;
      const unknownId = world.rng.word(22);
      const replies = [
        ['a wrong capability', await http(world, 'GET', swap(forged, segments.length - 1))],
        ['an unknown blob', await http(world, 'GET', swap(unknownId, segments.length - 2))],
        ['an incomplete blob', await http(world, 'GET', empty.downloadUrl as string)],
      ] as const;
      const [, reference] = replies[0];
      mustMatch('ATT-027', reference, isHttp(404, 'NOT_FOUND'), replies[0][0]);
      for (const [what, reply] of replies.slice(1)) {
        mustMatch('ATT-027', reply, isHttp(404, 'NOT_FOUND'), what);
        must(
          'ATT-027',
          equals(reference.body.toString(), 'the same body')(reply.body.toString()),
          what,
        );
      }
      const head = await http(world, 'HEAD', swap(forged, segments.length - 1));
      mustMatch('ATT-027', head, isHttp(404), 'HEAD with a wrong capability');
    },
  }),
];
