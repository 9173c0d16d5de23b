// PROTO cases of spec/framing.md#session-states: frames out of order and before authentication.
import { isError } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const sessionStateCases = [
  defineCase({
    id: 'PROTO-025-frame-before-hello',
    title: 'a ping before hello, a second hello and a second auth get OUT_OF_ORDER',
    requirements: ['PROTO-025'],
    level: 'MUST',
    quote:
      'The provider MUST answer a frame other than `hello` that arrives before `hello`, a second `hello`, and an `auth` after `auth.ok` with `OUT_OF_ORDER`.',
    sends: 'ping before hello; hello twice; auth after auth.ok',
    async run({ world }) {
      const peer = await world.raw('alice');
      mustMatch('PROTO-025', await peer.request('ping'), isError('OUT_OF_ORDER'));
      await peer.request('hello', { versions: [1] });
      mustMatch(
        'PROTO-025',
        await peer.request('hello', { versions: [1] }),
        isError('OUT_OF_ORDER'),
      );
      const alice = await world.firstParty('alice', { preKeys: 0 });
      mustMatch('PROTO-025', await alice.authDevice(), isError('OUT_OF_ORDER'));
    },
  }),
  defineCase({
    id: 'PROTO-026-before-auth',
    title: 'keys.claim and consent.get before auth.ok get NOT_AUTHENTICATED',
    requirements: ['PROTO-026'],
    level: 'MUST',
    quote:
      'The provider MUST answer a frame other than `hello`, `auth`, `account.register` and `ping` that arrives before `auth.ok` with `NOT_AUTHENTICATED`.',
    sends: 'hello, keys.claim, consent.get',
    async run({ world, target }) {
      const { peer } = await world.greeted('mallory');
      const claim = await peer.request('keys.claim', { address: `someone@${target.domain}` });
      mustMatch('PROTO-026', claim, isError('NOT_AUTHENTICATED'));
      mustMatch('PROTO-026', await peer.request('consent.get'), isError('NOT_AUTHENTICATED'));
    },
  }),
];
