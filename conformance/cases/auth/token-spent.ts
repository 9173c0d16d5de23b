// AUTH-029 of spec/auth.md#partner-authentication: a partner token is spent by its first
// presentation, whatever the device proof, so a token seen once in transit is worth nothing to
// whoever saw it (issue 15, finding 6).
import { isError } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { authInput, b64, unb64 } from '../../transport/users.ts';

export const tokenSpentCases = [
  defineCase({
    id: 'AUTH-029-token-spent-by-failed-auth',
    title:
      'a token first presented with a device proof that does not verify is refused on a second connection with a good proof',
    requirements: ['AUTH-029'],
    level: 'MUST',
    quote:
      'The provider MUST treat a token whose signature and claims it verified as used from that `auth` on, whether or not its device proof holds, and refuse a later token with the same `iss` and `jti`.',
    sends:
      'partner auth with a valid token and a proof by another identity (refused); the same token with a good proof on connection 2',
    async run({ world, target }) {
      const bob = world.partnerDevice('bob');
      const { challenge } = await bob.connect();
      const frame = await bob.partnerAuthFrame(target.partner, target.domain);
      const forged = b64(
        IdentityKeyPair.generate().sign(authInput(unb64(challenge), bob.address, 1)),
      );
      mustMatch(
        'AUTH-029',
        await bob.peer.request('auth', { ...frame, signature: forged }),
        isError('AUTH_FAILED'),
        'the first presentation, with a proof by another identity',
      );
      await bob.connect();
      mustMatch(
        'AUTH-029',
        await bob.peer.request('auth', { ...frame, signature: bob.proof() }),
        isError('AUTH_FAILED'),
        'the same token again, now with a good proof',
      );
    },
  }),
];
