/**
 * Session handlers: `hello` → `welcome`, `auth` → `auth.ok`, `ping` → `pong` (spec/framing.md
 * "Version negotiation", spec/auth.md).
 */
import type { AuthFrame, HelloFrame } from '../../../schemas/frames/session.ts';
import { checkDeviceAuth, consumeChallenge, newChallenge, verifyDeviceProof } from '../auth.ts';
import { domainOf, fromB64, toB64 } from '../codec.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from '../context.ts';
import { AUTH_FAILED_MESSAGE, ProviderError } from '../errors.ts';
import { identityKeyThumbprint, PartnerVerifier } from '../partner.ts';
import { proxyAllowsAuth, proxyUserAllows } from '../proxies.ts';

/** The media types accepted per attachment kind (ATT-009). */
export const MEDIA_TYPES = {
  image: ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic'],
  video: ['video/mp4', 'video/webm', 'video/quicktime'],
  audio: ['audio/ogg', 'audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/webm'],
  document: ['application/octet-stream', 'application/pdf', 'text/plain'],
};

const verifiers = new WeakMap<ProviderContext, PartnerVerifier>();

function verifier(ctx: ProviderContext): PartnerVerifier {
  let v = verifiers.get(ctx);
  if (!v) verifiers.set(ctx, (v = new PartnerVerifier(ctx.partners)));
  return v;
}

function hello(ctx: ProviderContext, conn: ConnectionHandle, f: HelloFrame): HandlerResult {
  if (!f.versions.includes(1))
    throw new ProviderError('UNSUPPORTED_VERSION', 'no protocol version in common'); // PROTO-020
  conn.challenge = newChallenge(ctx.now());
  conn.state = 'greeted';
  return {
    reply: {
      type: 'welcome',
      version: 1,
      provider: { domain: ctx.domain },
      challenge: toB64(conn.challenge.bytes),
      limits: ctx.limits.advertised,
      // PROTO-022/023: both mandatory; `kyber` is not implemented and not claimed (KEYS-015).
      capabilities: ctx.proxies?.enlisted
        ? ['attachments', 'consent', 'groups', 'proxy']
        : ['attachments', 'consent', 'groups'],
      mediaTypes: MEDIA_TYPES,
      serverTime: ctx.now(),
    },
  };
}

function refuse(ctx: ProviderContext, conn: ConnectionHandle, reason: string): never {
  ctx.logger.log('info', 'auth.failed', { connection: conn.id, reason });
  throw new ProviderError('AUTH_FAILED', AUTH_FAILED_MESSAGE);
}

function authenticated(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  address: string,
  deviceId: number,
  platform: string,
): HandlerResult {
  const origin = { platform, thirdParty: platform !== ctx.domain };
  conn.session = { address, deviceId, origin };
  conn.state = 'authenticated';
  ctx.logger.log('info', 'auth.ok', { connection: conn.id, address, deviceId, platform });
  return {
    reply: { type: 'auth.ok', address, deviceId, origin },
    after: () => ctx.delivery.attach(conn), // KEYS-022, DELIV-019/021/030
  };
}

async function auth(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: AuthFrame,
): Promise<HandlerResult> {
  const challenge = conn.challenge;
  if (!consumeChallenge(ctx, challenge)) refuse(ctx, conn, 'challenge-reused-or-expired');
  const signature = fromB64(f.signature);
  // PROXY-006: a proxy carries only its own platform's users (the fault: anyone's).
  const allowed = (issuer?: string): boolean =>
    ctx.faults.has('proxy-carries-any-user') || proxyAllowsAuth(conn.proxy, f.method, issuer);
  if (f.method === 'device' && !allowed()) refuse(ctx, conn, 'not-through-this-proxy');
  if (f.method === 'device') {
    if (domainOf(f.address) !== ctx.domain) refuse(ctx, conn, 'unknown-device');
    if (!checkDeviceAuth(ctx, challenge!.bytes, f.address, f.deviceId, signature))
      refuse(ctx, conn, 'bad-signature-or-unknown-device');
    return authenticated(ctx, conn, f.address, f.deviceId, ctx.domain);
  }
  const claims = await verifier(ctx).verify(ctx, f.token);
  if (typeof claims === 'string') refuse(ctx, conn, claims);
  if (!allowed(claims.iss)) refuse(ctx, conn, 'not-through-this-proxy');
  if (!proxyUserAllows(conn.proxyUser, claims.sub)) refuse(ctx, conn, 'not-the-proxy-login');
  const identityKey = fromB64(f.identityKey);
  // AUTH-029: a token that verifies is spent by its first presentation, whatever the device proof
  // (the fault spends it only on success): one seen in transit with a bad proof is worth nothing.
  const spendLate = ctx.faults.has('token-spent-only-on-success');
  const fresh = (): boolean =>
    ctx.store.rememberTokenId(claims.iss, claims.jti, claims.exp * 1000) ||
    ctx.faults.has('accept-replayed-token');
  if (!spendLate && !fresh()) refuse(ctx, conn, 'token-replayed'); // AUTH-017
  // AUTH-037: the token names the one identity key it may be used with (RFC 7800 cnf, jkt), so a
  // token that leaked works with no other device key. A token without cnf.jkt binds nothing.
  const bound =
    claims.jkt !== undefined && claims.jkt === (await identityKeyThumbprint(identityKey));
  if (!bound && !ctx.faults.has('ignore-token-binding')) refuse(ctx, conn, 'token-not-bound');
  if (!verifyDeviceProof(identityKey, challenge!.bytes, claims.sub, f.deviceId, signature))
    refuse(ctx, conn, 'bad-signature'); // AUTH-019
  if (spendLate && !fresh()) refuse(ctx, conn, 'token-replayed'); // AUTH-017
  ctx.store.upsertPartnerDevice(
    {
      address: claims.sub,
      deviceId: f.deviceId,
      registrationId: f.registrationId,
      identityKey,
      deviceKey: identityKey, // a partner device proves possession of its identity key (AUTH-019)
    },
    claims.iss,
    ctx.now(),
  );
  // AUTH-038: a partner session lives no longer than its token, so that a device its platform
  // stopped minting tokens for (revoked) is gone within a token lifetime.
  if (!ctx.faults.has('partner-session-outlives-token'))
    conn.expireSessionAfter?.(claims.exp * 1000 - ctx.now());
  return authenticated(ctx, conn, claims.sub, f.deviceId, claims.iss);
}

export const sessionHandlers = {
  hello: hello as Handler,
  auth: auth as Handler,
  ping: (() => ({ reply: { type: 'pong' } })) as Handler,
};
