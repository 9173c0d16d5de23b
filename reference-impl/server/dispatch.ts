/**
 * Routes a checked client frame to the handler of its area (spec/framing.md; the frame table is
 * schemas/frame-types.ts).
 */
import type { ClientFrameType } from '../../schemas/frame-types.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from './context.ts';
import { accountHandlers } from './handlers/accounts.ts';
import { attachmentHandlers } from './handlers/attachments.ts';
import { consentHandlers } from './handlers/consent.ts';
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
};

/** Runs the handler of `type` on a frame that passed every envelope, state and schema check. */
export function dispatch(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  type: ClientFrameType,
  frame: Record<string, unknown>,
): HandlerResult | Promise<HandlerResult> {
  return (HANDLERS[type] as (c: ProviderContext, h: ConnectionHandle, f: unknown) => HandlerResult)(
    ctx,
    conn,
    frame,
  );
}
