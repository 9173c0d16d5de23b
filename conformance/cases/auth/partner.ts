// AUTH cases of spec/auth.md#partner-tokens: every broken token rule is refused with AUTH_FAILED
// and close 4401; a good token yields a third-party origin; partner sessions manage no devices.
import { createHmac, randomUUID } from 'node:crypto';
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isError, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase, type CaseContext, type ConformanceCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import {
  generatePartnerKey,
  keyThumbprint,
  mintToken,
  type TokenClaims,
} from '../../transport/partner.ts';
import { authInput, b64, unb64 } from '../../transport/users.ts';

const now = (): number => Math.floor(Date.now() / 1000);

/** A case that sends bob's partner auth with the token `token()` builds and expects AUTH_FAILED + 4401. */
function refusedToken(spec: {
  id: string;
  requirement: string;
  title: string;
  quote: string;
  sends: string;
  /** The token; `identityKey` is bob's, which a token binds by cnf.jkt (AUTH-037). */
  token: (ctx: CaseContext, sub: string, identityKey: Uint8Array) => Promise<string>;
}): ConformanceCase {
  return defineCase({
    id: spec.id,
    title: spec.title,
    requirements: [spec.requirement, 'AUTH-008'],
    level: 'MUST',
    quote: spec.quote,
    sends: spec.sends,
    async run(ctx) {
      const bob = ctx.world.partnerDevice('bob');
      await bob.connect();
      const frame = await bob.partnerAuthFrame(ctx.target.partner, ctx.target.domain);
      frame.token = await spec.token(ctx, bob.address, bob.identity.publicKey);
      mustMatch(spec.requirement, await bob.peer.request('auth', frame), isError('AUTH_FAILED'));
      const code = await bob.peer.closedWithin();
      must('AUTH-008', that(code === 4401, 'close code 4401', code ?? 'still open'));
    },
  });
}

/** A token of the suite's partner with `claims`, bound to `identityKey` (AUTH-037). */
const sign = (ctx: CaseContext, identityKey: Uint8Array, claims: TokenClaims): Promise<string> =>
  mintToken(ctx.target.partner, { ...claims, identityKey }, randomUUID());

export const partnerAuthCases = [
  refusedToken({
    id: 'AUTH-010-alg-hs256-confusion',
    requirement: 'AUTH-010',
    title: "a token with alg HS256, MACed with the partner's public key, is refused",
    quote: 'The provider MUST refuse a token whose header `alg` is anything other than `EdDSA`.',
    sends:
      'partner auth with a JWT whose header says HS256, keyed with the enlisted public key (algorithm confusion)',
    token: async ({ target }, sub, identityKey) => {
      const part = (o: Frame): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = {
        cnf: { jkt: await keyThumbprint(identityKey) },
        iss: target.partner.domain,
        sub,
        aud: target.domain,
        iat: now(),
        exp: now() + 300,
        jti: randomUUID(),
      };
      const input = `${part({ alg: 'HS256', kid: target.partner.kid })}.${part(claims)}`;
      const secret = String(target.partner.publicJwk.x);
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    },
  }),
  refusedToken({
    id: 'AUTH-011-unenlisted-key',
    requirement: 'AUTH-011',
    title:
      'a token signed by a key the target never enlisted is refused, even under the enlisted kid',
    quote:
      'The provider MUST refuse a token unless its signature verifies under a key enlisted for the platform named in `iss` (selected by the header `kid` when present).',
    sends: 'partner auth with a token signed by a fresh Ed25519 key carrying the enlisted kid',
    token: async ({ target }, sub, identityKey) => {
      const rogue = await generatePartnerKey(target.partner.domain);
      return mintToken(
        rogue,
        { sub, aud: target.domain, kid: target.partner.kid, identityKey },
        randomUUID(),
      );
    },
  }),
  refusedToken({
    id: 'AUTH-012-wrong-audience',
    requirement: 'AUTH-012',
    title: 'a token for another provider is refused',
    quote: 'The provider MUST refuse a token whose `aud` is not its own domain.',
    sends: 'partner auth with aud "other-provider.example"',
    token: (ctx, sub, identityKey) =>
      sign(ctx, identityKey, { sub, aud: 'other-provider.example' }),
  }),
  refusedToken({
    id: 'AUTH-013-sub-of-another-domain',
    requirement: 'AUTH-013',
    title: "a token whose sub is not an address of the issuer's domain is refused",
    quote:
      'The provider MUST refuse a token whose `sub` is not an address of the domain named in `iss`.',
    sends: 'partner auth with sub "bob@elsewhere.example"',
    token: (ctx, _sub, identityKey) =>
      sign(ctx, identityKey, { sub: 'bob@elsewhere.example', aud: ctx.target.domain }),
  }),
  refusedToken({
    id: 'AUTH-014-iss-own-domain',
    requirement: 'AUTH-014',
    title: "a token claiming the provider's own domain as issuer is refused",
    quote: 'The provider MUST refuse a token whose `iss` is its own domain.',
    sends: "partner auth with iss and sub of the provider's domain",
    token: (ctx, _sub, identityKey) =>
      sign(ctx, identityKey, {
        iss: ctx.target.domain,
        sub: `${ctx.world.name('bob')}@${ctx.target.domain}`,
        aud: ctx.target.domain,
      }),
  }),
  refusedToken({
    id: 'AUTH-015-expired-token',
    requirement: 'AUTH-015',
    title: 'a token that expired two minutes ago is refused',
    quote:
      'The provider MUST refuse a token whose `exp` lies more than 60 seconds in the past or whose `iat` lies more than 60 seconds in the future.',
    sends: 'partner auth with iat now−600 s, exp now−120 s',
    token: (ctx, sub, identityKey) =>
      sign(ctx, identityKey, { sub, aud: ctx.target.domain, iat: now() - 600, exp: now() - 120 }),
  }),
  refusedToken({
    id: 'AUTH-015-issued-in-future',
    requirement: 'AUTH-015',
    title: 'a token issued five minutes in the future is refused',
    quote:
      'The provider MUST refuse a token whose `exp` lies more than 60 seconds in the past or whose `iat` lies more than 60 seconds in the future.',
    sends: 'partner auth with iat now+300 s, exp now+600 s',
    token: (ctx, sub, identityKey) =>
      sign(ctx, identityKey, { sub, aud: ctx.target.domain, iat: now() + 300, exp: now() + 600 }),
  }),
  refusedToken({
    id: 'AUTH-016-lifetime-too-long',
    requirement: 'AUTH-016',
    title: 'a token valid for two hours is refused',
    quote:
      'The provider MUST refuse a token whose `exp` lies more than 3600 seconds after its `iat`.',
    sends: 'partner auth with exp = iat + 7200 s',
    token: (ctx, sub, identityKey) =>
      sign(ctx, identityKey, { sub, aud: ctx.target.domain, iat: now(), exp: now() + 7200 }),
  }),
  defineCase({
    id: 'AUTH-017-replayed-token',
    title: 'a token accepted once is refused when replayed on a second connection',
    requirements: ['AUTH-017', 'AUTH-021'],
    level: 'MUST',
    quote:
      'The provider MUST refuse a token whose `iss` and `jti` are those of a token it has already accepted.',
    sends: 'partner auth with one token on connection 1 (accepted), the same token on connection 2',
    async run({ world, target }) {
      const bob = world.partnerDevice('bob');
      await bob.connect();
      const frame = await bob.partnerAuthFrame(target.partner, target.domain);
      const ok = await bob.peer.request('auth', frame);
      mustMatch(
        'AUTH-021',
        ok,
        hasMembers('auth.ok', { origin: { platform: target.partner.domain, thirdParty: true } }),
      );
      await bob.connect();
      const replay = await bob.peer.request('auth', { ...frame, signature: bob.proof() });
      mustMatch('AUTH-017', replay, isError('AUTH_FAILED'));
    },
  }),
  defineCase({
    id: 'AUTH-019-partner-proof-foreign-key',
    title: "a partner auth whose device proof is not made by the frame's identityKey is refused",
    requirements: ['AUTH-019', 'AUTH-018'],
    level: 'MUST',
    quote:
      "The provider MUST refuse a partner `auth` whose device proof does not verify under the frame's `identityKey`.",
    sends: 'partner auth with a valid token and a proof signed by another identity',
    async run({ world, target }) {
      const bob = world.partnerDevice('bob');
      const { challenge } = await bob.connect();
      const frame = await bob.partnerAuthFrame(target.partner, target.domain);
      frame.signature = b64(
        IdentityKeyPair.generate().sign(authInput(unb64(challenge), bob.address, 1)),
      );
      mustMatch('AUTH-019', await bob.peer.request('auth', frame), isError('AUTH_FAILED'));
    },
  }),
  defineCase({
    id: 'AUTH-026-partner-device-management',
    title: 'a partner session may neither add nor remove devices',
    requirements: ['AUTH-026'],
    level: 'MUST',
    quote:
      'The provider MUST refuse `device.add` and `device.remove` from a partner session with `FORBIDDEN`.',
    sends: 'bob (partner session): device.add, device.remove',
    async run({ world }) {
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      mustMatch(
        'AUTH-026',
        await bob.peer.request('device.add', { registrationId: 77, deviceKey: bob.identityKey }),
        isError('FORBIDDEN'),
      );
      mustMatch(
        'AUTH-026',
        await bob.peer.request('device.remove', { deviceId: 1 }),
        isError('FORBIDDEN'),
      );
    },
  }),
];
