/**
 * The proxy token a partner proxy signs for each upstream connection and forwarded request
 * (spec/proxy.md#the-proxy-token): EdDSA with the platform's enlisted partner key, naming the
 * platform, the provider and the address the client connected from.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

/** The header and token type of spec/proxy.md. */
export const PROXY_HEADER = 'parley-proxy';
export const PROXY_TOKEN_TYPE = 'parley-proxy+jwt';
/** How long a token lives: it is presented at once, so a minute covers any clock skew. */
export const PROXY_TOKEN_LIFETIME_SECONDS = 60;

/** The partner platform's private key, as `parley keygen partner` writes it. */
export interface ProxySigningKey {
  readonly domain: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

/** Imports a private Ed25519 JWK with `domain` (and `kid`, else its thumbprint must be given). */
export async function importSigningKey(
  jwk: JWK & { domain?: string; kid?: string },
): Promise<ProxySigningKey> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
    throw new Error('the partner key is not a private Ed25519 JWK (run `parley keygen partner`)');
  if (typeof jwk.domain !== 'string' || typeof jwk.kid !== 'string')
    throw new Error('the partner key needs "domain" and "kid"');
  const privateKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { domain: jwk.domain, kid: jwk.kid, privateKey };
}

/**
 * The login `who` as a proxy token's `sub` (PROXY-028): only an address of the platform `domain`
 * (`name@domain`), since the provider holds the client's `auth` to it (PROXY-007); a login of
 * another shape names no one the provider knows.
 */
export function loginAddress(who: string, domain: string): string | undefined {
  const at = who.lastIndexOf('@');
  return at > 0 && who.slice(at + 1) === domain && !/\s/.test(who) ? who : undefined;
}

/** A client's socket address as the token names it: an IPv4-mapped IPv6 address as IPv4. */
export function clientAddressOf(remote: string | undefined): string {
  const address = (remote ?? '').replace(/%.*$/, '');
  return /^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(address) ? address.slice(7) : address;
}

/**
 * Signs one proxy token for one upstream connection or request of the client at `addr`, naming
 * as `sub` the platform user it logged in as, when given (PROXY-028).
 */
export function signProxyToken(
  key: ProxySigningKey,
  audience: string,
  addr: string | undefined,
  now = Date.now(),
  sub?: string,
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({
    ...(addr === undefined ? {} : { addr }),
    ...(sub === undefined ? {} : { sub }),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: PROXY_TOKEN_TYPE })
    .setIssuer(key.domain)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + PROXY_TOKEN_LIFETIME_SECONDS)
    .setJti(randomBytes(18).toString('base64url'))
    .sign(key.privateKey);
}
