// The suite as a partner platform's proxy (spec/proxy.md#the-proxy-token): the `Parley-Proxy` token
// it signs with the partner key for each upgrade, and one raw upgrade that reports a refusal.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { PartnerKey } from './partner.ts';

/** The header and token type of spec/proxy.md. */
export const PROXY_HEADER = 'Parley-Proxy';
export const PROXY_TOKEN_TYPE = 'parley-proxy+jwt';

/** Claims of a proxy token; cases override one to break one rule. */
export interface ProxyClaims {
  aud: string;
  addr: string;
  iss?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  /** The platform user the proxy logged its client in as (PROXY-007); absent unless given. */
  sub?: string;
}

/** Signs a proxy token: EdDSA, `typ` parley-proxy+jwt, iss, aud, iat, exp (60 s), jti, addr, sub. */
export async function mintProxyToken(partner: PartnerKey, claims: ProxyClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    addr: claims.addr,
    ...(claims.sub === undefined ? {} : { sub: claims.sub }),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: partner.kid, typ: PROXY_TOKEN_TYPE })
    .setIssuer(claims.iss ?? partner.domain)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 60)
    .setJti(claims.jti ?? randomBytes(16).toString('base64url'))
    .sign(partner.privateKey);
}

/** A WebSocket upgrade's outcome: the open socket, or the refusal's status and body. */
export type Upgrade = { ws: WebSocket } | { status: number; body: string };

/** Tries one upgrade with `headers` from `localAddress`; rejects only when nothing answers. */
export function tryUpgrade(
  url: string,
  waitMs: number,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer to a WebSocket upgrade within ${waitMs} ms`));
    }, waitMs);
    ws.once('open', () => (clearTimeout(timer), resolve({ ws })));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, body })));
    });
    ws.on('error', (e) => {
      if (e.message.includes('Unexpected server response')) return;
      clearTimeout(timer);
      reject(e);
    });
  });
}
