/**
 * Consent handlers: interop settings (off by default), message requests, blocks and reports
 * (spec/consent.md CONSENT-001..004, 014..016, 019..023, 028..031; DMA Art. 7(7)).
 */
import { respondInvitation } from './groups.ts';
import type {
  BlockSetFrame,
  ConsentSetFrame,
  ReportFrame,
  RequestRespondFrame,
} from '../../../schemas/frames/consent.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from '../context.ts';
import { ProviderError } from '../errors.ts';

function firstParty(conn: ConnectionHandle): string {
  const s = conn.session!;
  if (s.origin.thirdParty)
    throw new ProviderError('FORBIDDEN', 'partner sessions have no interop settings'); // CONSENT-003
  return s.address;
}

function state(ctx: ProviderContext, address: string): HandlerResult {
  const account = ctx.store.getAccount(address)!;
  return { reply: { type: 'consent.state', interop: account.interop } };
}

function get(ctx: ProviderContext, conn: ConnectionHandle): HandlerResult {
  return state(ctx, firstParty(conn));
}

function set(ctx: ProviderContext, conn: ConnectionHandle, f: ConsentSetFrame): HandlerResult {
  const address = firstParty(conn);
  ctx.store.setConsent(address, f.interop); // CONSENT-004, -028..031 in one transaction
  ctx.logger.log('info', 'consent.set', { address, enabled: f.interop.enabled });
  return state(ctx, address);
}

function list(ctx: ProviderContext, conn: ConnectionHandle): HandlerResult {
  const address = firstParty(conn);
  return {
    reply: {
      type: 'requests',
      pending: ctx.store.listRequests(address).map((c) => ({
        from: c.sender,
        origin: { platform: c.platform, thirdParty: true },
        firstSeen: c.firstSeen,
        ...(c.group !== undefined ? { group: c.group } : {}),
      })),
    },
  };
}

function respond(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: RequestRespondFrame,
): HandlerResult | Promise<HandlerResult> {
  const address = firstParty(conn);
  if (f.group !== undefined) return respondInvitation(ctx, conn, { ...f, group: f.group }); // GROUP-020
  ctx.store.respondRequest(address, f.from, f.action, ctx.now()); // CONSENT-015/016
  return { reply: { type: 'request.responded', from: f.from, action: f.action } };
}

function block(ctx: ProviderContext, conn: ConnectionHandle, f: BlockSetFrame): HandlerResult {
  const { address } = conn.session!;
  ctx.store.setBlock(address, f.address, f.blocked, ctx.now()); // CONSENT-019/020
  return { reply: { type: 'block.state', address: f.address, blocked: f.blocked } };
}

function report(ctx: ProviderContext, conn: ConnectionHandle, f: ReportFrame): HandlerResult {
  const { address } = conn.session!;
  const reportId = ctx.store.addReport({
    reporter: address,
    reported: f.address,
    reason: f.reason,
    messageIds: f.messageIds ?? [],
    comment: f.comment ?? null,
    now: ctx.now(),
  }); // CONSENT-023
  ctx.logger.log('info', 'report.received', { reportId, reason: f.reason });
  return { reply: { type: 'report.received', reportId } };
}

export const consentHandlers = {
  'consent.get': get as Handler,
  'consent.set': set as Handler,
  'requests.list': list as Handler,
  'request.respond': respond as Handler,
  'block.set': block as Handler,
  report: report as Handler,
};
