// AUTH-030 of spec/auth.md#test-accounts (SHOULD): refused `account.register` attempts are limited
// per connection and client address, so a registration token cannot be guessed at thousands a
// second (issue 15, finding 7).
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

/** Wrong tokens the case tries at most on one connection. */
const MAX_GUESSES = 100;

export const registrationGuessCases = [
  defineCase({
    id: 'AUTH-030-registration-guesses-limited',
    title: `mallory's wrong registration tokens on one connection meet RATE_LIMITED within ${MAX_GUESSES}`,
    requirements: ['AUTH-030'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD limit the `account.register` attempts refused under AUTH-023 per connection and per client address, answering further attempts with `RATE_LIMITED` until the limit allows again.',
    sends: `hello; account.register with a wrong token, until RATE_LIMITED (at most ${MAX_GUESSES})`,
    async run({ world }) {
      const mallory = world.device('mallory');
      await mallory.connect();
      let limitedAt: number | undefined;
      let other: string | undefined;
      for (let i = 1; i <= MAX_GUESSES && limitedAt === undefined && !other; i += 1) {
        const reply = await mallory.peer.request('account.register', {
          registrationToken: `guess-${i}-${world.name('t')}`,
          name: mallory.address.split('@')[0],
          identityKey: mallory.identityKey,
          registrationId: mallory.registrationId,
          deviceKey: mallory.deviceKey,
        });
        if (reply.type === 'error' && reply.code === 'RATE_LIMITED') limitedAt = i;
        else if (!(reply.type === 'error' && reply.code === 'REGISTRATION_REFUSED'))
          other = JSON.stringify(reply).slice(0, 160);
      }
      must(
        'AUTH-030',
        that(
          limitedAt !== undefined,
          `RATE_LIMITED within ${MAX_GUESSES} wrong tokens`,
          other ?? `all ${MAX_GUESSES} answered REGISTRATION_REFUSED`,
        ),
      );
    },
  }),
];
