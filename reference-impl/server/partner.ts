/**
 * Partner tokens: EdDSA JWTs signed by an enlisted partner key, checked with jose (spec/auth.md
 * "Partner authentication", AUTH-009..017).
 */
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWK,
} from 'jose';
import type { EnlistedPartnerKey, ProviderContext } from './context.ts';
import { domainOf } from './codec.ts';

const ADDRESS = /^[a-z0-9._-]{1,64}@[a-z0-9.-]{1,253}$/;

/** The claims of a token that passed every check but replay (checked once the device proof holds). */
export interface PartnerClaims {
  readonly iss: string;
  readonly sub: string;
  readonly jti: string;
  readonly exp: number;
  /** `cnf.jkt`: the thumbprint of the device identity key the token is bound to (AUTH-037). */
  readonly jkt: string | undefined;
}

/**
 * The RFC 7638 JWK SHA-256 thumbprint of a Curve25519 identity key (`0x05 || 32 bytes`) as an
 * OKP JWK with `crv` X25519, base64url: what `cnf.jkt` of a partner token carries (AUTH-037).
 * Undefined for bytes that are no such key.
 */
export async function identityKeyThumbprint(identityKey: Uint8Array): Promise<string | undefined> {
  if (identityKey.length !== 33 || identityKey[0] !== 0x05) return undefined;
  const x = Buffer.from(identityKey.subarray(1)).toString('base64url');
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x }, 'sha256');
}

/** Why a token was refused; logged, never sent (AUTH-008). */
export type PartnerRefusal =
  | 'token-malformed'
  | 'issuer-not-enlisted'
  | 'token-signature'
  | 'audience-mismatch'
  | 'token-expired'
  | 'domain-not-allowed';

function publicJwk(key: EnlistedPartnerKey): JWK {
  return { kty: key.kty, crv: key.crv, x: key.x, kid: key.kid, alg: 'EdDSA', use: 'sig' };
}

/** Verifies partner tokens against the enlisted keys, one JWK set per issuer domain. */
export class PartnerVerifier {
  private readonly sets = new Map<string, ReturnType<typeof createLocalJWKSet>>();

  constructor(partners: readonly EnlistedPartnerKey[]) {
    const byDomain = new Map<string, JWK[]>();
    for (const p of partners)
      byDomain.set(p.domain, [...(byDomain.get(p.domain) ?? []), publicJwk(p)]);
    for (const [domain, keys] of byDomain) this.sets.set(domain, createLocalJWKSet({ keys }));
  }

  /** Checks everything but replay; returns the claims or the refusal reason. */
  async verify(ctx: ProviderContext, token: string): Promise<PartnerClaims | PartnerRefusal> {
    let iss: unknown;
    try {
      if (decodeProtectedHeader(token).alg !== 'EdDSA') return 'token-malformed'; // AUTH-010
      iss = decodeJwt(token).iss;
    } catch {
      return 'token-malformed';
    }
    if (typeof iss !== 'string') return 'token-malformed';
    if (iss === ctx.domain) return 'domain-not-allowed'; // AUTH-014
    const keys = this.sets.get(iss);
    if (!keys) return 'issuer-not-enlisted'; // AUTH-011
    const now = ctx.now();
    const skew = ctx.limits.tokenSkewSeconds;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ['EdDSA'],
        issuer: iss,
        // AUTH-012 (the fault accept-wrong-audience leaves the audience unchecked)
        ...(ctx.faults.has('accept-wrong-audience') ? {} : { audience: ctx.domain }),
        requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
        clockTolerance: ctx.faults.has('accept-expired-token') ? 1e9 : skew, // AUTH-015, exp side
        currentDate: new Date(now),
      }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'ERR_JWT_EXPIRED') return 'token-expired';
      if (
        code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' &&
        (error as { claim?: string }).claim === 'aud'
      )
        return 'audience-mismatch';
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return 'token-malformed';
      return 'token-signature';
    }
    const { sub, jti, iat, exp, cnf } = payload as {
      sub: unknown;
      jti: unknown;
      iat: number;
      exp: number;
      cnf?: unknown;
    };
    if (iat > now / 1000 + skew) return 'token-expired'; // AUTH-015, iat side
    if (exp - iat > ctx.limits.tokenMaxLifetimeSeconds) return 'token-expired'; // AUTH-016
    if (typeof sub !== 'string' || !ADDRESS.test(sub) || domainOf(sub) !== iss)
      return 'domain-not-allowed'; // AUTH-013
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 128) return 'token-malformed';
    const jkt = (cnf as { jkt?: unknown } | null | undefined)?.jkt;
    return { iss, sub, jti, exp, jkt: typeof jkt === 'string' ? jkt : undefined };
  }
}
