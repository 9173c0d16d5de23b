/**
 * How the reference proxy authenticates its own platform's clients before it opens anything
 * upstream: a `Parley-Login` header holding an EdDSA JWT from the platform's login service,
 * verified against that service's public keys (spec/proxy.md "The proxy's side"). A platform with
 * another login puts its own check behind `LoginCheck`.
 */
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';

/** The header a client sends its login token in (never forwarded upstream). */
export const LOGIN_HEADER = 'parley-login';
/** The audience a login token must name unless the proxy is told another. */
export const DEFAULT_LOGIN_AUDIENCE = 'parley-proxy';

/** Who a request's client is, or undefined when it is not a logged-in client of the platform. */
export type LoginCheck = (req: IncomingMessage) => Promise<string | undefined>;

/**
 * A check of `Parley-Login` tokens: EdDSA, signed by one of `keys`, `aud` = `audience`, unexpired
 * (`exp` required), with a `sub`. Resolves to the `sub`.
 */
export function jwtLogin(
  keys: readonly JWK[],
  audience = DEFAULT_LOGIN_AUDIENCE,
  now: () => number = Date.now,
): LoginCheck {
  const set = createLocalJWKSet({
    keys: keys.map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: 'EdDSA' }) as JWK),
  });
  return async (req) => {
    const header = req.headers[LOGIN_HEADER];
    if (typeof header !== 'string' || header.length > 8192) return undefined;
    try {
      const { payload } = await jwtVerify(header, set, {
        algorithms: ['EdDSA'],
        audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 30,
        currentDate: new Date(now()),
      });
      return payload.sub;
    } catch {
      return undefined;
    }
  };
}
