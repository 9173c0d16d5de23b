/**
 * Enlisted partner proxies (spec/proxy.md, PROXY-001..007): the `Parley-Proxy` token on an upgrade
 * or attachment request, checked against the platform's enlisted partner keys and the proxy's
 * enlisted addresses, and the count of each proxy's open connections.
 */
import { BlockList, isIP } from 'node:net';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import type { IncomingMessage } from 'node:http';
import type { EnlistedPartnerKey, ProviderContext } from './context.ts';

/** The header a proxy sends on each upstream upgrade and forwarded request. */
export const PROXY_HEADER = 'parley-proxy';
/** The `typ` of a proxy token's protected header, never that of a partner token. */
export const PROXY_TOKEN_TYPE = 'parley-proxy+jwt';
/** PROXY-001: the longest lifetime, `exp - iat`, of a proxy token (one per upstream connection). */
export const PROXY_TOKEN_MAX_LIFETIME_SECONDS = 300;
/** The one message of every refusal (spec/proxy.md: the caller learns nothing of which check). */
export const PROXY_REFUSED_MESSAGE = 'not an enlisted proxy';

/** A partner platform's proxy as the operator enlisted it (spec/proxy.md#enlistment). */
export interface EnlistedProxy {
  /** The partner platform it speaks for; that platform's enlisted partner keys sign its tokens. */
  readonly domain: string;
  /** IP addresses or CIDR blocks (`203.0.113.0/24`, `2001:db8::/48`) it connects from. */
  readonly addresses: readonly string[];
  /** Connections it may hold open at once (PROXY-005); default `DEFAULT_PROXY_MAX_CONNECTIONS`. */
  readonly maxConnections?: number;
}

/** A proxy's connection bound when its enlistment names none: the 10 000 idle clients. */
export const DEFAULT_PROXY_MAX_CONNECTIONS = 10_000;

/** Why a proxy request was refused; logged, never sent. */
export type ProxyRefusal =
  | 'token-malformed'
  | 'no-enlisted-proxy'
  | 'token-signature'
  | 'audience-mismatch'
  | 'token-expired'
  | 'address-malformed'
  | 'source-not-enlisted'
  | 'token-replayed';

/** A request admitted through a proxy: its platform, the client address it forwards, its user. */
export interface ProxyAdmission {
  readonly domain: string;
  readonly clientAddress: string;
  /** The token's `sub`: the user the proxy logged the client in as, whom `auth` must name (PROXY-007). */
  readonly user?: unknown;
}

/** A CIDR block or single address, for BlockList. */
function addTo(list: BlockList, entry: string): void {
  const [address = '', bits] = entry.split('/');
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(address) === 0) throw new Error(`proxy address ${JSON.stringify(entry)} is not an IP`);
  if (bits === undefined) list.addAddress(address, type);
  else list.addSubnet(address, Number(bits), type);
}

/** A socket's address as BlockList takes it: an IPv4-mapped IPv6 address as IPv4. */
function plain(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return { address: mapped[1]!, type: 'ipv4' };
  return { address: address.replace(/%.*$/, ''), type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** The checks a broken variant may leave out (faults.ts `proxyChecksWithFaults`). */
export interface ProxyChecks {
  /** Verifies the signature under the enlisted keys (PROXY-001). */
  readonly signature: boolean;
  /** Checks the connection's source against the enlisted addresses (PROXY-002). */
  readonly source: boolean;
  /** Refuses a `jti` seen before (PROXY-003). */
  readonly replay: boolean;
  /** Keeps the token's `sub` for the session's `auth` to be held to (PROXY-007). */
  readonly user: boolean;
}

const ALL_CHECKS: ProxyChecks = { signature: true, source: true, replay: true, user: true };

/** The enlisted proxies of one provider, with their keys, addresses and open connections. */
export class ProxyRegistry {
  private readonly byDomain = new Map<
    string,
    { sources: BlockList; maxConnections: number; keys: ReturnType<typeof createLocalJWKSet> }
  >();
  private readonly anySource = new BlockList();
  private readonly open = new Map<string, number>();

  constructor(
    proxies: readonly EnlistedProxy[],
    partners: readonly EnlistedPartnerKey[],
    private readonly checks: ProxyChecks = ALL_CHECKS,
  ) {
    for (const proxy of proxies) {
      const keys: JWK[] = partners
        .filter((p) => p.domain === proxy.domain)
        .map((p) => ({ kty: p.kty, crv: p.crv, x: p.x, kid: p.kid, alg: 'EdDSA', use: 'sig' }));
      if (keys.length === 0)
        throw new Error(
          `proxy of ${proxy.domain}: no partner key of ${proxy.domain} is enlisted to sign its tokens`,
        );
      const entry = this.byDomain.get(proxy.domain) ?? {
        sources: new BlockList(),
        maxConnections: 0,
        keys: createLocalJWKSet({ keys }),
      };
      for (const a of proxy.addresses) {
        addTo(entry.sources, a);
        addTo(this.anySource, a);
      }
      entry.maxConnections += proxy.maxConnections ?? DEFAULT_PROXY_MAX_CONNECTIONS;
      this.byDomain.set(proxy.domain, entry);
    }
  }

  /** Whether any proxy is enlisted (the capability `proxy` is claimed then). */
  get enlisted(): boolean {
    return this.byDomain.size > 0;
  }

  /** Whether `remote` is an address some proxy is enlisted from (its sockets are counted per request). */
  isProxySource(remote: string | undefined): boolean {
    if (remote === undefined || this.byDomain.size === 0) return false;
    const { address, type } = plain(remote);
    return this.anySource.check(address, type);
  }

  /**
   * Checks the proxy token of `req` (PROXY-001..003): the admission, or why it is refused. Call
   * only when the request carries the header.
   */
  async verify(ctx: ProviderContext, req: IncomingMessage): Promise<ProxyAdmission | ProxyRefusal> {
    const header = req.headers[PROXY_HEADER];
    const token = Array.isArray(header) ? header.join(',') : (header ?? '');
    let iss: unknown;
    try {
      const protectedHeader = decodeProtectedHeader(token);
      if (protectedHeader.alg !== 'EdDSA' || protectedHeader.typ !== PROXY_TOKEN_TYPE)
        return 'token-malformed';
      iss = decodeJwt(token).iss;
    } catch {
      return 'token-malformed';
    }
    if (typeof iss !== 'string') return 'token-malformed';
    const proxy = this.byDomain.get(iss);
    if (!proxy) return 'no-enlisted-proxy';
    const skew = ctx.limits.tokenSkewSeconds;
    let payload: Record<string, unknown>;
    try {
      if (!this.checks.signature) {
        payload = decodeJwt(token);
        const exp = payload.exp as number;
        if (typeof exp !== 'number' || exp + skew < ctx.now() / 1000) return 'token-expired';
      } else
        ({ payload } = await jwtVerify(token, proxy.keys, {
          algorithms: ['EdDSA'],
          typ: PROXY_TOKEN_TYPE,
          issuer: iss,
          audience: ctx.domain,
          requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'addr'],
          clockTolerance: skew,
          currentDate: new Date(ctx.now()),
        }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'ERR_JWT_EXPIRED') return 'token-expired';
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
        return (error as { claim?: string }).claim === 'aud'
          ? 'audience-mismatch'
          : 'token-malformed';
      return 'token-signature';
    }
    const { iat, exp, jti, addr, sub } = payload as {
      iat: unknown;
      exp: unknown;
      jti: unknown;
      addr: unknown;
      sub?: unknown;
    };
    if (typeof iat !== 'number' || typeof exp !== 'number') return 'token-malformed';
    if (iat > ctx.now() / 1000 + skew) return 'token-expired';
    if (exp - iat > PROXY_TOKEN_MAX_LIFETIME_SECONDS) return 'token-expired';
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 128) return 'token-malformed';
    if (typeof addr !== 'string' || isIP(addr.replace(/%.*$/, '')) === 0)
      return 'address-malformed';
    const remote = req.socket.remoteAddress;
    if (this.checks.source) {
      if (remote === undefined) return 'source-not-enlisted';
      const { address, type } = plain(remote);
      if (!proxy.sources.check(address, type)) return 'source-not-enlisted';
    }
    // PROXY-003: spent when first accepted, durably, for as long as it could still be presented.
    if (this.checks.replay && !ctx.store.rememberTokenId(`proxy:${iss}`, jti, (exp + skew) * 1000))
      return 'token-replayed';
    return {
      domain: iss,
      clientAddress: addr,
      ...(sub !== undefined && this.checks.user ? { user: sub } : {}),
    };
  }

  /**
   * Counts one open connection of `domain`'s proxy (PROXY-005): the release, or undefined when the
   * proxy holds its `maxConnections` already.
   */
  hold(domain: string): (() => void) | undefined {
    const max = this.byDomain.get(domain)?.maxConnections ?? 0;
    const open = this.open.get(domain) ?? 0;
    if (open >= max) return undefined;
    this.open.set(domain, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.set(domain, Math.max(0, (this.open.get(domain) ?? 1) - 1));
    };
  }
}

/**
 * PROXY-006: on a connection admitted through `proxy`'s platform, only a partner `auth` whose token
 * names that platform. Undefined proxy (a direct connection): anything AUTH-* allows.
 */
export function proxyAllowsAuth(
  proxy: string | undefined,
  method: 'device' | 'partner',
  issuer: string | undefined,
): boolean {
  return proxy === undefined || (method === 'partner' && issuer === proxy);
}

/**
 * PROXY-007: on a connection whose proxy token named a `sub` (`user`), only a partner token whose
 * `sub` is that address; any `sub` when the token named none. A `sub` that is not a string never
 * matches, so that a malformed one refuses every `auth` rather than none.
 */
export function proxyUserAllows(user: unknown, subject: string): boolean {
  return user === undefined || user === subject;
}
