// ATT cases of spec/attachments.md#upload: the declared size and digest are enforced, the upload
// token is required and spent on completion, uploads resume from `Upload-Offset`, and a second
// upload to a slot that is streaming is refused.
import { that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { shouldEventually } from '../../assert/should.ts';
import { defineCase } from '../../runner/case.ts';
import {
  bearer,
  blobBytes,
  describe,
  digestOf,
  http,
  HttpExchange,
  isBody,
  isHttp,
  slotFor,
  upload,
} from './blob.ts';

/** Pauses between the first 4000 bytes of an upload and its cut, longer on each try (ATT-024). */
const INTERRUPT_PAUSES_MS = [100, 400, 1600];

export const attachmentUploadCases = [
  defineCase({
    id: 'ATT-020-upload-over-declared-size',
    title:
      'an upload that streams past the declared size is stopped with 413 before it ends, and nothing is downloadable',
    requirements: ['ATT-020', 'ATT-027'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with 413 `ATTACHMENT_TOO_LARGE` an upload as soon as its bytes would exceed the slot's declared `size`, and delete every byte stored for the slot.",
    sends:
      'alice: attachment.slot of 2048 bytes; PUT (chunked) of 2048 + 4096 bytes, the request left open',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(2048);
      const slotted = await slotFor(alice.peer, bytes);
      // Chunked, so the target learns the length only by counting the bytes as they stream.
      const put = new HttpExchange(world, 'PUT', slotted.uploadUrl as string, {
        ...bearer(slotted),
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
      });
      put.write(bytes);
      put.write(blobBytes(4096));
      const early = await put.within(world.env.waitMs);
      put.abort();
      must('ATT-020', that(early !== undefined, 'an answer before the upload ended', 'none'));
      mustMatch('ATT-020', early!, isHttp(413, 'ATTACHMENT_TOO_LARGE'));
      const download = await http(world, 'GET', slotted.downloadUrl as string);
      mustMatch('ATT-020', download, isHttp(404, 'NOT_FOUND'), 'nothing of the slot is served');
      const status = await http(world, 'HEAD', slotted.uploadUrl as string, {
        headers: bearer(slotted),
      });
      must(
        'ATT-020',
        that(
          status.status === 401 ||
            (status.status === 200 && status.headers['upload-offset'] === '0'),
          'no bytes stored for the slot (HEAD: 401, or 200 with Upload-Offset 0)',
          `${describe(status)} Upload-Offset ${status.headers['upload-offset']}`,
        ),
      );
    },
  }),
  defineCase({
    id: 'ATT-021-digest-mismatch',
    title:
      'an upload whose SHA-256 differs from the declared digest is refused with 422 and nothing is downloadable',
    requirements: ['ATT-021', 'ATT-027'],
    level: 'MUST',
    quote:
      "When the stored bytes reach the declared size, the provider MUST compare their SHA-256 with the slot's `digest`, and on a mismatch answer 422 `DIGEST_MISMATCH` and delete the bytes and the slot.",
    sends: 'alice: attachment.slot declaring the digest of other bytes; PUT of 3000 bytes; GET',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(3000);
      const slotted = await slotFor(alice.peer, bytes, digestOf(blobBytes(3000)));
      mustMatch('ATT-021', await upload(world, slotted, bytes), isHttp(422, 'DIGEST_MISMATCH'));
      const download = await http(world, 'GET', slotted.downloadUrl as string);
      mustMatch('ATT-021', download, isHttp(404, 'NOT_FOUND'), 'the bytes were deleted');
    },
  }),
  defineCase({
    id: 'ATT-019-upload-token-required',
    title:
      'an upload without the slot token or with a wrong one gets 401, and the token is spent once the blob is complete',
    requirements: ['ATT-019', 'ATT-025'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with 401 `UPLOAD_TOKEN_INVALID` an upload request that does not carry a live upload token for its blob.',
    sends:
      "alice: two slots; PUT without Authorization, PUT with the other slot's token, PUT with the token (201), PUT and HEAD again",
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(1500);
      const slotted = await slotFor(alice.peer, bytes);
      const other = await slotFor(alice.peer, blobBytes(1500));
      const url = slotted.uploadUrl as string;
      const none = await http(world, 'PUT', url, { body: bytes });
      mustMatch('ATT-019', none, isHttp(401, 'UPLOAD_TOKEN_INVALID'), 'no Authorization');
      const wrong = await http(world, 'PUT', url, { headers: bearer(other), body: bytes });
      mustMatch('ATT-019', wrong, isHttp(401, 'UPLOAD_TOKEN_INVALID'), "another slot's token");
      mustMatch('ATT-019', await upload(world, slotted, bytes), isHttp(201));
      const again = await upload(world, slotted, bytes);
      mustMatch('ATT-025', again, isHttp(401, 'UPLOAD_TOKEN_INVALID'), 'a PUT after completion');
      const status = await http(world, 'HEAD', url, { headers: bearer(slotted) });
      mustMatch('ATT-025', status, isHttp(401), 'a HEAD after completion');
    },
  }),
  defineCase({
    id: 'ATT-024-resume-upload',
    title:
      'an upload resumed at the HEAD-reported Upload-Offset completes the blob byte for byte; a wrong offset gets 409',
    requirements: ['ATT-024', 'ATT-023', 'ATT-026'],
    level: 'MUST',
    quote:
      'The provider MUST keep the bytes received before an upload was interrupted, report them in `Upload-Offset`, and append a resumed `PUT` to them.',
    sends:
      'alice: attachment.slot of 5000 bytes; PUT of 3000 (204); HEAD; PUT at offset 1000 (409); PUT of 2000 at offset 3000 (201); GET',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(5000);
      const slotted = await slotFor(alice.peer, bytes);
      const url = slotted.uploadUrl as string;
      const first = await http(world, 'PUT', url, {
        headers: bearer(slotted),
        body: bytes.subarray(0, 3000),
      });
      mustMatch('ATT-024', first, isHttp(204), 'the first 3000 of 5000 bytes');
      must(
        'ATT-024',
        that(first.headers['upload-offset'] === '3000', 'Upload-Offset 3000', first.headers),
      );
      const status = await http(world, 'HEAD', url, { headers: bearer(slotted) });
      mustMatch('ATT-024', status, isHttp(200));
      must(
        'ATT-024',
        that(status.headers['upload-offset'] === '3000', 'HEAD Upload-Offset 3000', status.headers),
      );
      const misplaced = await http(world, 'PUT', url, {
        headers: { ...bearer(slotted), 'upload-offset': '1000' },
        body: bytes.subarray(1000),
      });
      mustMatch('ATT-023', misplaced, isHttp(409, 'UPLOAD_OFFSET_MISMATCH'));
      const rest = await http(world, 'PUT', url, {
        headers: { ...bearer(slotted), 'upload-offset': '3000' },
        body: bytes.subarray(3000),
      });
      mustMatch('ATT-024', rest, isHttp(201), 'the last 2000 bytes at offset 3000');
      mustMatch('ATT-024', await http(world, 'GET', slotted.downloadUrl as string), isBody(bytes));
    },
  }),
  defineCase({
    id: 'ATT-024-interrupted-upload',
    title:
      'after an upload is cut off mid-stream HEAD reports the stored bytes and a PUT from there completes the blob',
    requirements: ['ATT-024'],
    level: 'MUST',
    quote:
      'The provider MUST keep the bytes received before an upload was interrupted, report them in `Upload-Offset`, and append a resumed `PUT` to them.',
    sends:
      'alice: attachment.slot of 6000 bytes; PUT declaring 6000 that drops after 4000; HEAD until settled; PUT of the rest; GET',
    capabilities: ['attachments'],
    timeoutMs: 12_000,
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(6000);
      const slotted = await slotFor(alice.peer, bytes);
      const url = slotted.uploadUrl as string;
      const head = async (): Promise<number> => {
        const status = await http(world, 'HEAD', url, { headers: bearer(slotted) });
        return status.status === 200 ? Number(status.headers['upload-offset'] ?? -1) : -1;
      };
      // On a loaded machine the cut can come before any byte reached the target; then nothing was
      // received and the cut is tried again with a longer pause. A target that keeps nothing
      // shows offset 0 after every pause.
      let offset = 0;
      for (const pause of INTERRUPT_PAUSES_MS) {
        const cut = new HttpExchange(world, 'PUT', url, {
          ...bearer(slotted),
          'content-type': 'application/octet-stream',
          'content-length': '6000',
        });
        cut.write(bytes.subarray(0, 4000));
        await new Promise((resolve) => setTimeout(resolve, scale(pause)));
        cut.abort();
        // Until the target notices the dropped connection the upload may still count as
        // streaming (HEAD and PUT answer 409 UPLOAD_IN_PROGRESS, ATT-022).
        await shouldEventually(
          async () => ((offset = await head()) >= 0 ? undefined : { expected: '', actual: '' }),
          world.env.waitMs,
        );
        if (offset > 0) break;
      }
      must(
        'ATT-024',
        that(
          offset > 0 && offset <= 4000,
          'HEAD 200 with an Upload-Offset of the bytes received (1..4000)',
          `Upload-Offset ${offset} after cuts at ${INTERRUPT_PAUSES_MS.join(', ')} ms`,
        ),
      );
      const resumed = await shouldEventually(async () => {
        const rest = await http(world, 'PUT', url, {
          headers: { ...bearer(slotted), 'upload-offset': String(offset) },
          body: bytes.subarray(offset),
        });
        return isHttp(201)(rest);
      }, world.env.waitMs);
      must('ATT-024', resumed, `the rest from the reported offset ${offset}`);
      mustMatch('ATT-024', await http(world, 'GET', slotted.downloadUrl as string), isBody(bytes));
    },
  }),
  defineCase({
    id: 'ATT-022-concurrent-upload',
    title:
      'a second PUT to a slot while the first is still streaming gets 409 UPLOAD_IN_PROGRESS, and the first completes',
    requirements: ['ATT-022', 'ATT-026'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with 409 `UPLOAD_IN_PROGRESS` an upload request for a slot while another upload to it is streaming.',
    sends:
      'alice: attachment.slot of 4000 bytes; PUT A sends 1000 bytes and pauses; PUT B of 4000; A sends the rest',
    capabilities: ['attachments'],
    // Timing-sensitive: the first upload must still be streaming when the second arrives.
    exclusive: true,
    timeoutMs: 6000,
    async run({ world, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = blobBytes(4000);
      const slotted = await slotFor(alice.peer, bytes);
      const first = new HttpExchange(world, 'PUT', slotted.uploadUrl as string, {
        ...bearer(slotted),
        'content-type': 'application/octet-stream',
        'content-length': '4000',
      });
      first.write(bytes.subarray(0, 1000));
      await new Promise((resolve) => setTimeout(resolve, scale(150)));
      const second = await upload(world, slotted, bytes);
      first.end(bytes.subarray(1000));
      const done = await first.within(world.env.waitMs);
      mustMatch('ATT-022', second, isHttp(409, 'UPLOAD_IN_PROGRESS'));
      must(
        'ATT-022',
        that(
          done?.status === 201,
          'the first upload completes with 201',
          done ? describe(done) : 'no answer',
        ),
      );
      mustMatch('ATT-026', await http(world, 'GET', slotted.downloadUrl as string), isBody(bytes));
    },
  }),
];
