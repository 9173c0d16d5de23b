// PROTO-040 of spec/errors.md#error-frames-and-responses: an HTTP error response carries the
// registry's status for its code and a `{"code", "message"}` body of media type application/json.
import { ERROR_CODES } from '../../../schemas/errors.ts';
import type { Mismatch } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { bearer, describe, digestOf, http, type HttpReply, slotFor } from '../att/blob.ts';

/** The reply is an error response as PROTO-040 defines it, for `code`. */
function isErrorResponse(code: keyof typeof ERROR_CODES, reply: HttpReply): Mismatch | undefined {
  const info = ERROR_CODES[code] as { httpStatus?: number };
  const type = String(reply.headers['content-type'] ?? '');
  const keys = Object.keys(reply.json ?? {})
    .sort()
    .join(',');
  return that(
    reply.status === info.httpStatus &&
      /^application\/json\b/.test(type) &&
      keys === 'code,message' &&
      reply.json?.code === code &&
      typeof reply.json.message === 'string',
    `HTTP ${info.httpStatus} application/json {"code":"${code}","message":…}`,
    `${describe(reply)} (${type || 'no content-type'})`,
  );
}

export const httpErrorCases = [
  defineCase({
    id: 'PROTO-040-http-error-body',
    title:
      'a wrong upload token and a wrong download capability get the registry status and a JSON {code, message} body',
    requirements: ['PROTO-040'],
    level: 'MUST',
    quote:
      'An HTTP error response MUST carry the registry\'s HTTP status for its code and a body `{"code", "message"}` of media type `application/json`.',
    sends:
      'alice: attachment.slot; PUT with another bearer token; GET the download URL with a wrong capability',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = Buffer.from('an attachment');
      const slotted = await slotFor(alice.peer, bytes, digestOf(bytes));
      const put = await http(world, 'PUT', slotted.uploadUrl as string, {
        headers: bearer(slotted, world.rng.word(43)),
        body: bytes,
      });
      must('PROTO-040', isErrorResponse('UPLOAD_TOKEN_INVALID', put));
      const download = new URL(slotted.downloadUrl as string);
      download.pathname = `${download.pathname.replace(/\/[^/]*$/, '')}/${world.rng.word(43)}`;
      must('PROTO-040', isErrorResponse('NOT_FOUND', await http(world, 'GET', download.href)));
    },
  }),
];
