// AUTH cases of a client (spec/auth.md "Device proof", "Partner authentication"): the mock provider
// sends a known challenge in `welcome`, and the suite checks the `auth` frame the client answers
// with: the device proof over exactly auth-input, and the partner token's form and signature.
import { randomBytes } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { keyThumbprint } from '../../transport/partner.ts';
import { verifySignature } from '../../../reference-impl/crypto/index.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { DriverRefusal } from '../../client/link.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { authInput, unb64 } from '../../transport/users.ts';

/** An Ed25519 signature (RFC 8032). */
const ED25519_SIGNATURE_BYTES = 64;
/** The `jti` length range of spec/auth.md "Partner authentication". */
const JTI_LENGTH = { min: 16, max: 128 };
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Connects the client (`as`) under a challenge the suite chose; returns the challenge and the
 * client's `auth` frame, also when the mock refused it (the case judges the frame itself).
 */
async function authenticate(
  client: ClientWorld,
  as: 'partner' | 'first-party',
): Promise<{ challenge: Buffer; auth: Frame }> {
  const challenge = randomBytes(32);
  client.mock.fixedChallenge = challenge;
  await client.connect({ as }).catch((e: unknown) => {
    if (!(e instanceof DriverRefusal)) throw e;
  });
  const auth = await client.mock.next((f) => f.type === 'auth', 'auth');
  return { challenge, auth };
}

/** The case of the device proof for one way of enrolling. */
function deviceProofCase(as: 'partner' | 'first-party') {
  return defineClientCase({
    id:
      as === 'partner'
        ? 'AUTH-005-client-device-proof'
        : 'AUTH-005-client-device-proof-first-party',
    title: `the client (${as === 'partner' ? 'a partner device' : 'a first-party account'}) signs exactly auth-input — label, challenge, address, device id — with its ${as === 'partner' ? 'identity key' : 'device key'}`,
    requirements: ['AUTH-005'],
    level: 'MUST',
    quote:
      'A client MUST sign exactly `auth-input` as defined above with the private key of its device key (method `device`) or of its identity key (method `partner`).',
    sends: `mock: welcome with a challenge the suite chose; driver: connect (${as}); suite: verifies auth.signature over auth-input under the ${as === 'partner' ? 'identity key the client names in auth' : 'device key the client registered'}`,
    async run({ client }) {
      const { challenge, auth } = await authenticate(client, as);
      let identityKey: string;
      let address: string;
      if (as === 'partner') {
        identityKey = String(auth.identityKey);
        address = String(decodeJwt(String(auth.token)).sub);
      } else {
        // A first-party device signs with its own device key, registered with the account (AUTH-033).
        const register = client.mock.received.find((f) => f.type === 'account.register');
        identityKey = String(register?.deviceKey);
        address = String(auth.address);
      }
      let verifies: boolean;
      try {
        verifies = verifySignature(
          unb64(identityKey),
          authInput(challenge, address, Number(auth.deviceId)),
          unb64(String(auth.signature)),
        );
      } catch {
        verifies = false;
      }
      must(
        'AUTH-005',
        that(
          verifies,
          `a signature over "PARLEY-AUTH-v1" ‖ challenge ‖ ${address} ‖ device ${String(auth.deviceId)} under the ${as === 'partner' ? 'identity' : 'device'} key`,
          client.mock.authFailures[0] ?? 'a signature that does not verify',
        ),
      );
    },
  });
}

export const clientAuthCases = [
  deviceProofCase('partner'),
  deviceProofCase('first-party'),

  defineClientCase({
    id: 'AUTH-009-client-partner-token-form',
    title:
      'the client presents a partner token that is a compact JWS with alg EdDSA and an Ed25519 signature by the partner key, carrying the claims of spec/auth.md',
    requirements: ['AUTH-009'],
    level: 'MUST',
    quote:
      'A partner token MUST be a JWS in compact serialisation (RFC 7515) whose protected header has `alg` equal to `EdDSA` and whose signature is Ed25519 (RFC 8037).',
    sends:
      'driver: connect as a partner device; suite: parses auth.token, verifies it under the enlisted partner key, reads iss, sub, aud, iat, exp, jti',
    async run({ client }) {
      const { auth } = await authenticate(client, 'partner');
      const token = String(auth.token);
      const parts = token.split('.');
      must(
        'AUTH-009',
        that(
          parts.length === 3 && parts.every((p) => BASE64URL.test(p)),
          'three non-empty base64url parts joined by "." (compact serialisation)',
          token.slice(0, 80),
        ),
      );
      const header = decodeProtectedHeader(token);
      must('AUTH-009', that(header.alg === 'EdDSA', 'protected header alg "EdDSA"', header.alg));
      must(
        'AUTH-009',
        that(
          unb64(parts[2]!).length === ED25519_SIGNATURE_BYTES,
          `a ${ED25519_SIGNATURE_BYTES}-byte Ed25519 signature`,
          `${unb64(parts[2]!).length} bytes`,
        ),
      );
      const key = await importJWK({ ...client.target.partner.publicJwk, alg: 'EdDSA' }, 'EdDSA');
      const verified = await compactVerify(token, key, { algorithms: ['EdDSA'] }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      must(
        'AUTH-009',
        that(verified === undefined, 'a signature by the enlisted partner key', verified),
      );
      const claims = decodeJwt(token);
      const expected = {
        iss: client.target.partner.domain,
        aud: client.mock.domain,
      };
      must('AUTH-009', that(claims.iss === expected.iss, `iss ${expected.iss}`, claims.iss));
      must(
        'AUTH-009',
        that(
          claims.aud === expected.aud ||
            (Array.isArray(claims.aud) && claims.aud.includes(expected.aud)),
          `aud ${expected.aud}`,
          claims.aud,
        ),
      );
      must(
        'AUTH-009',
        that(
          typeof claims.sub === 'string' && claims.sub.includes('@'),
          'sub, the user address',
          claims.sub,
        ),
      );
      must(
        'AUTH-009',
        that(
          Number.isInteger(claims.iat) && Number.isInteger(claims.exp) && claims.exp! > claims.iat!,
          'integer iat and exp in seconds, exp after iat',
          { iat: claims.iat, exp: claims.exp },
        ),
      );
      const jti = typeof claims.jti === 'string' ? claims.jti.length : 0;
      must(
        'AUTH-009',
        that(
          jti >= JTI_LENGTH.min && jti <= JTI_LENGTH.max,
          `a jti of ${JTI_LENGTH.min} to ${JTI_LENGTH.max} characters`,
          claims.jti,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'AUTH-037-client-token-bound',
    title:
      'the client presents a partner token whose cnf.jkt is the RFC 7638 thumbprint of the identity key it proves in auth',
    requirements: ['AUTH-037'],
    level: 'MUST',
    quote:
      "A partner token MUST carry `cnf.jkt` as defined above, and the provider MUST refuse a partner `auth` whose token has no `cnf.jkt` or one that is not the thumbprint of the frame's `identityKey`.",
    sends:
      'driver: connect as a partner device; suite: reads cnf.jkt of auth.token and computes the thumbprint of auth.identityKey as an X25519 OKP JWK',
    async run({ client }) {
      const { auth } = await authenticate(client, 'partner');
      const cnf = decodeJwt(String(auth.token)).cnf as { jkt?: unknown } | undefined;
      const expected = await keyThumbprint(unb64(String(auth.identityKey)));
      must(
        'AUTH-037',
        that(cnf?.jkt === expected, `cnf.jkt ${expected}`, JSON.stringify(cnf ?? 'no cnf')),
      );
    },
  }),
];
