/**
 * `attachment.slot`: size and quota checks, and an upload slot with an upload token and a download
 * capability drawn independently from the CSPRNG (spec/attachments.md "Slot", ATT-015..018). The
 * HTTP upload and download routes are served elsewhere (see transport.ts `httpHandler`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AttachmentSlotFrame } from '../../../schemas/frames/attachments.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from '../context.ts';
import { ProviderError } from '../errors.ts';
import { limitRate } from './consent-gate.ts';

/** The HTTP paths of the attachment endpoints (spec/openapi/attachments.yaml). */
export const UPLOAD_PATH = '/parley/v1/uploads/';
export const BLOB_PATH = '/parley/v1/blobs/';

function slot(ctx: ProviderContext, conn: ConnectionHandle, f: AttachmentSlotFrame): HandlerResult {
  const { address, origin } = conn.session!;
  const limits = ctx.limits.advertised.attachments;
  if (f.size > limits[f.kind])
    throw new ProviderError(
      'ATTACHMENT_TOO_LARGE',
      `a ${f.kind} is at most ${limits[f.kind]} bytes`,
      {
        pointer: '/size',
      },
    ); // ATT-015
  const now = ctx.now();
  // The faults count every slot ever made (ATT-033) or skip the check (ATT-016).
  const usedSince = ctx.faults.has('count-expired-quota') ? 0 : now;
  if (
    !ctx.faults.has('ignore-quota') &&
    ctx.store.attachmentBytes(address, usedSince) + f.size > ctx.limits.attachmentQuotaBytes
  )
    throw new ProviderError('QUOTA_EXCEEDED', 'the attachment quota is used up'); // ATT-016
  // ATT-034: what one partner platform's users reserve together, whichever addresses they use.
  if (origin.thirdParty && !ctx.faults.has('slot-bytes-per-user-only'))
    limitRate(ctx, [[`slots@${origin.platform}`, ctx.limits.rates.slotBytesPerPlatform, f.size]]);
  const blobId = randomUUID();
  const uploadToken = randomBytes(32).toString('base64url'); // ATT-017: 256 bits each,
  const capability = randomBytes(32).toString('base64url'); // independent of each other and blobId
  const expiresAt = now + limits.ttlSeconds * 1000; // ATT-018
  ctx.store.createSlot({
    blobId,
    owner: address,
    kind: f.kind,
    size: f.size,
    digest: f.digest,
    uploadToken,
    capability,
    createdAt: now,
    expiresAt,
  });
  return {
    reply: {
      type: 'attachment.slotted',
      blobId,
      uploadUrl: `${ctx.httpUrl}${UPLOAD_PATH}${blobId}`,
      uploadToken,
      downloadUrl: `${ctx.httpUrl}${BLOB_PATH}${blobId}/${capability}`,
      expiresAt,
    },
  };
}

export const attachmentHandlers = {
  'attachment.slot': slot as Handler,
};
