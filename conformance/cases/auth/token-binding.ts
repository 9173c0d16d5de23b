// AUTH-037 and AUTH-038 of spec/auth.md#token-binding and #revocation-of-partner-devices (MUST): a
// partner token names the identity key it may be used with (cnf.jkt), so a leaked token is worth
// nothing with another key; a partner session ends when its token expires, so a device its platform
// stopped minting tokens for is gone within a token lifetime (issue 15, findings 3 and 6).
import { randomUUID } from 'node:crypto';
import { isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { mintToken } from '../../transport/partner.ts';
import { authInput, b64, unb64 } from '../../transport/users.ts';

/** The close code that ends a partner session whose token expired (AUTH-038). */
const SESSION_EXPIRED_CLOSE = 4440;
/** How long bob's short token lives, in whole seconds. */
const SHORT_TOKEN_SECONDS = 2;
/** How late after `exp` the close may come: a provider's timer, its clock's second boundary. */
const LATE_MARGIN_MS = 4000;

const now = (): number => Math.floor(Date.now() / 1000);

export const tokenBindingCases = [
  defineCase({
    id: 'AUTH-037-token-bound-to-identity-key',
    title:
      "bob's token, bound to his identity key, is refused with mallory's key and proof; a token without cnf.jkt is refused with bob's own",
    requirements: ['AUTH-037', 'AUTH-008'],
    level: 'MUST',
    quote:
      "A partner token MUST carry `cnf.jkt` as defined above, and the provider MUST refuse a partner `auth` whose token has no `cnf.jkt` or one that is not the thumbprint of the frame's `identityKey`.",
    sends:
      "mallory: partner auth with bob's token (cnf.jkt of bob's identity key), her own identityKey and a good proof by it; bob: partner auth with a token without cnf and a good proof; bob: a token bound to his key (accepted)",
    async run({ world, target }) {
      const bob = world.partnerDevice('bob');
      const mallory = IdentityKeyPair.generate();
      const { challenge } = await bob.connect();
      const frame = await bob.partnerAuthFrame(target.partner, target.domain);
      const stolen = await bob.peer.request('auth', {
        ...frame,
        identityKey: b64(mallory.publicKey),
        signature: b64(mallory.sign(authInput(unb64(challenge), bob.address, 1))),
      });
      mustMatch('AUTH-037', stolen, isError('AUTH_FAILED'), "bob's token with mallory's key");
      await bob.connect();
      const unbound = await mintToken(
        target.partner,
        { sub: bob.address, aud: target.domain },
        randomUUID(),
      );
      mustMatch(
        'AUTH-037',
        await bob.peer.request('auth', { ...frame, token: unbound, signature: bob.proof() }),
        isError('AUTH_FAILED'),
        'a token without cnf',
      );
      await bob.connect();
      mustMatch(
        'AUTH-037',
        await bob.peer.request('auth', await bob.partnerAuthFrame(target.partner, target.domain)),
        isType('auth.ok'),
        'a token bound to the key bob proves',
      );
    },
  }),
  defineCase({
    id: 'AUTH-038-partner-session-ends-with-token',
    title: `bob's partner session, authenticated with a token that expires in ${SHORT_TOKEN_SECONDS} s, is closed with SESSION_EXPIRED and 4440 once it expired`,
    requirements: ['AUTH-038'],
    level: 'MUST',
    quote:
      'The provider MUST close a partner session once the `exp` of the token it was authenticated with has passed, after an `error` frame carrying `SESSION_EXPIRED`, with close code 4440.',
    sends: `bob: partner auth with a token of exp = iat + ${SHORT_TOKEN_SECONDS} s; then nothing but waiting`,
    timeoutMs: 30_000,
    async run({ world, target, scale }) {
      const bob = world.partnerDevice('bob');
      await bob.connect();
      const iat = now();
      const exp = iat + SHORT_TOKEN_SECONDS;
      mustMatch(
        'AUTH-038',
        await bob.peer.request(
          'auth',
          await bob.partnerAuthFrame(target.partner, target.domain, { iat, exp }),
        ),
        isType('auth.ok'),
        'a token that expires in seconds',
      );
      const wait = Math.max(0, exp * 1000 - Date.now()) + scale(LATE_MARGIN_MS);
      const error = await bob.peer.next(
        (f) => f.type === 'error',
        wait,
        'an error frame once the token expired',
        'AUTH-038',
      );
      mustMatch('AUTH-038', error, isError('SESSION_EXPIRED'));
      const code = await bob.peer.closedWithin();
      must(
        'AUTH-038',
        that(
          code === SESSION_EXPIRED_CLOSE,
          `close code ${SESSION_EXPIRED_CLOSE}`,
          code ?? 'still open',
        ),
      );
    },
  }),
];
