/**
 * Routes a checked client frame to the handler of its area (spec/framing.md; the frame table is
 * schemas/frame-types.ts).
 */
import type { ClientFrameType } from '../../schemas/frame-types.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from './context.ts';
import { limitRate } from './handlers/consent-gate.ts';
import { accountHandlers } from './handlers/accounts.ts';
import { attachmentHandlers } from './handlers/attachments.ts';
import { consentHandlers } from './handlers/consent.ts';
import { groupHandlers } from './handlers/groups.ts';
import { keyHandlers } from './handlers/keys.ts';
import { messageHandlers } from './handlers/messages.ts';
import { sessionHandlers } from './handlers/session.ts';

const HANDLERS: { readonly [T in ClientFrameType]: Handler } = {
  ...sessionHandlers,
  ...accountHandlers,
  ...keyHandlers,
  ...messageHandlers,
  ...consentHandlers,
  ...attachmentHandlers,
  ...groupHandlers,
};

/**
 * Frame types that write to the store with no limit of their own, and the per-account bucket each
 * is counted in (PROTO-050); `message.send`, `keys.claim` and `attachment.slot` have theirs.
 */
const WRITE_LIMITS: Partial<Record<ClientFrameType, 'writesPerAccount' | 'reportsPerAccount'>> = {
  'block.set': 'writesPerAccount',
  'consent.set': 'writesPerAccount',
  'request.respond': 'writesPerAccount',
  'keys.publish': 'writesPerAccount',
  'device.add': 'writesPerAccount',
  'device.remove': 'writesPerAccount',
  report: 'reportsPerAccount',
  'group.add': 'writesPerAccount',
  'group.remove': 'writesPerAccount',
  'group.leave': 'writesPerAccount',
  'group.role': 'writesPerAccount',
};

/** Runs the handler of `type` on a frame that passed every envelope, state and schema check. */
export function dispatch(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  type: ClientFrameType,
  frame: Record<string, unknown>,
): HandlerResult | Promise<HandlerResult> {
  const bucket = WRITE_LIMITS[type];
  if (bucket !== undefined && conn.session && !ctx.faults.has('unlimited-writes'))
    limitRate(ctx, [[`${bucket}:${conn.session.address}`, ctx.limits.rates[bucket]]]); // PROTO-050
  return (HANDLERS[type] as (c: ProviderContext, h: ConnectionHandle, f: unknown) => HandlerResult)(
    ctx,
    conn,
    frame,
  );
}
