// The suite's partner platform (spec/auth.md, partner tokens): the Ed25519 JWK that `parley keygen
// partner` writes, loaded with jose, and the EdDSA JWTs the suite mints for its third-party users.
import { readFileSync } from 'node:fs';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';

/** A partner platform's signing key: the suite plays this platform. */
export interface PartnerKey {
  domain: string;
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK with `domain` and `kid`, as a provider enlists it. */
  publicJwk: JWK & { domain: string; kid: string };
}

/** Reads a private key file of `parley keygen partner`. Throws a readable Error when it is not one. */
export async function loadPartnerKey(file: string): Promise<PartnerKey> {
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { domain?: string; kid?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
    throw new Error(`${file}: not a private Ed25519 JWK (run \`parley keygen partner\`)`);
  if (typeof jwk.domain !== 'string') throw new Error(`${file}: the key needs "domain"`);
  const pub: JWK = { ...jwk };
  delete pub.d;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(pub));
  const privateKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { domain: jwk.domain, kid, privateKey, publicJwk: { ...pub, domain: jwk.domain, kid } };
}

/** A fresh partner key (the embedded target enlists it; cases use it as an unenlisted key). */
export async function generatePartnerKey(domain: string): Promise<PartnerKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { domain, kid, privateKey, publicJwk: { ...pub, alg: 'EdDSA', domain, kid } };
}

/** Claims of a partner token; cases override one to break one rule. */
export interface TokenClaims {
  sub: string;
  aud: string;
  iss?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  kid?: string;
}

/** Signs a partner token (AUTH-009): EdDSA JWS with iss, sub, aud, iat, exp (5 minutes), jti. */
export async function mintToken(
  partner: PartnerKey,
  claims: TokenClaims,
  jti: string,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: claims.kid ?? partner.kid })
    .setIssuer(claims.iss ?? partner.domain)
    .setSubject(claims.sub)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300)
    .setJti(claims.jti ?? jti)
    .sign(partner.privateKey);
}
