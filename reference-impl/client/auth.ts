// Authentication material a client produces: the device proof over "PARLEY-AUTH-v1" || challenge ||
// address || deviceId, and partner tokens (EdDSA JWTs) minted from a partner key (spec/auth.md).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';
import { ParleyError } from './errors.ts';

const AUTH_LABEL = Buffer.from('PARLEY-AUTH-v1', 'ascii');

/** Partner tokens the SDK mints live this long; the provider accepts at most 3600 s (AUTH-016). */
export const PARTNER_TOKEN_LIFETIME_SECONDS = 300;

/** The exact bytes a device signs to authenticate (AUTH-005). */
export function authInput(challenge: Uint8Array, address: string, deviceId: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(deviceId, 0);
  return Buffer.concat([AUTH_LABEL, challenge, Buffer.from(address, 'utf8'), id]);
}

/** A partner platform's signing key as `parley keygen partner` writes it (partner.json). */
export interface PartnerKey {
  /** The partner platform's domain, the tokens' `iss`. */
  domain: string;
  /** The key id, put in the token header so the provider selects the enlisted key (AUTH-011). */
  kid: string;
  /** The Ed25519 private key as a JWK (`kty` OKP, `crv` Ed25519, with `d`). */
  privateJwk: JWK;
}

/** What the SDK tells a token source about the token it needs. */
export interface TokenRequest {
  /** The user's address on the partner platform: the token's `sub`. */
  address: string;
  /** The provider's domain from `welcome`: the token's `aud`. */
  audience: string;
  /**
   * The device's identity public key (`0x05 || 32 bytes`) that the token is bound to through
   * `cnf.jkt` (AUTH-037). A token service mints only for a key it knows to be the user's device.
   */
  identityKey: Uint8Array;
}

/**
 * `cnf.jkt` of a partner token (AUTH-037): the RFC 7638 SHA-256 thumbprint, base64url, of the
 * identity key as an OKP JWK with `crv` X25519 and `x` the 32 key bytes without the 0x05 type byte.
 * Throws ParleyError BAD_REQUEST for bytes that are no Curve25519 public key.
 */
export async function identityKeyThumbprint(identityKey: Uint8Array): Promise<string> {
  if (identityKey.length !== 33 || identityKey[0] !== 0x05)
    throw new ParleyError('BAD_REQUEST', 'an identity key is 0x05 followed by 32 bytes');
  const x = Buffer.from(identityKey.subarray(1)).toString('base64url');
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x }, 'sha256');
}

/** Mints one partner token per connection (AUTH-017: a token is good for one session). */
export type TokenSource = (request: TokenRequest) => Promise<string>;

function stripDomain(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  delete copy.domain;
  return copy as JWK;
}

function isJwk(value: unknown): value is JWK {
  return typeof value === 'object' && value !== null && (value as JWK).kty === 'OKP';
}

/**
 * Reads a partner key from a parsed partner.json: the private JWK itself with `domain` and `kid`
 * members (as `parley keygen partner` writes it), or `{domain, kid}` with the JWK under
 * `privateJwk`, `jwk`, `privateKey` or `key`. Throws ParleyError BAD_REQUEST otherwise.
 */
export function parsePartnerKey(value: unknown): PartnerKey {
  const v = (value ?? {}) as Record<string, unknown>;
  const found = [v, v.privateJwk, v.jwk, v.privateKey, v.key].find(isJwk);
  const jwk = found === undefined ? undefined : stripDomain(found);
  if (typeof v.domain !== 'string' || jwk === undefined || typeof jwk.d !== 'string') {
    throw new ParleyError(
      'BAD_REQUEST',
      'not a partner key: need domain and an Ed25519 private JWK',
    );
  }
  const kid = typeof v.kid === 'string' ? v.kid : typeof jwk.kid === 'string' ? jwk.kid : '';
  return { domain: v.domain, kid, privateJwk: jwk };
}

/** Reads a partner.json file. Throws ParleyError BAD_REQUEST when it holds no partner key. */
export async function loadPartnerKey(path: string): Promise<PartnerKey> {
  return parsePartnerKey(JSON.parse(await readFile(path, 'utf8')));
}

/** A fresh partner key pair: the private side for the SDK, the public JWK to enlist with a provider. */
export async function generatePartnerKey(
  domain: string,
  kid = `${domain}-${randomBytes(4).toString('hex')}`,
): Promise<{ key: PartnerKey; publicJwk: JWK }> {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid };
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid };
  return { key: { domain, kid, privateJwk }, publicJwk };
}

/**
 * Signs a partner token with the claims of spec/auth.md "Partner authentication" (AUTH-009),
 * bound to the request's identity key by `cnf.jkt` (AUTH-037).
 */
export async function mintPartnerToken(
  key: PartnerKey,
  request: TokenRequest,
  now: number = Date.now(),
): Promise<string> {
  const signingKey = await importJWK(key.privateJwk, 'EdDSA');
  const iat = Math.floor(now / 1000);
  return new SignJWT({ cnf: { jkt: await identityKeyThumbprint(request.identityKey) } })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .setIssuer(key.domain)
    .setSubject(request.address)
    .setAudience(request.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + PARTNER_TOKEN_LIFETIME_SECONDS)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signingKey);
}

/** A token source that mints from `key`, so the caller need not. */
export function tokenSourceFromKey(key: PartnerKey): TokenSource {
  return (request) => mintPartnerToken(key, request);
}
