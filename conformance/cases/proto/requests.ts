// PROTO cases of spec/framing.md#envelope and #binary-values: pipelined requests answered once each
// by `re`, no `re` that names no request, and base64url padding refused with a pointer to the member.
import type { Frame } from '../../assert/match.ts';
import { isError, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const requestReplyCases = [
  defineCase({
    id: 'PROTO-010-one-reply-per-request',
    title: 'ten pipelined requests get exactly one reply each, matched by re',
    requirements: ['PROTO-010', 'PROTO-012'],
    level: 'MUST',
    quote:
      'The provider MUST answer every request that carries a valid `id` with exactly one reply frame or `error` frame whose `re` equals that `id`.',
    sends: 'alice: ping, consent.get, keys.claim (unknown) ×… pipelined, ten in all',
    async run({ world, target, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const kinds: Frame[] = [
        { type: 'ping' },
        { type: 'consent.get' },
        { type: 'keys.claim', address: `${world.name('ghost')}@${target.domain}` },
      ];
      const ids = Array.from({ length: 10 }, (_, i) => `pipe.${i}`);
      ids.forEach((id, i) => alice.peer.send({ v: 1, id, ...kinds[i % kinds.length]! }));
      const replies = await Promise.all(ids.map((id) => alice.peer.next((f) => f.re === id)));
      must('PROTO-010', that(replies.length === 10, 'ten replies', replies.length));
      const extra = await alice.peer
        .next((f) => typeof f.re === 'string' && f.re.startsWith('pipe.'), scale(150))
        .catch(() => undefined);
      must('PROTO-010', that(extra === undefined, 'no second reply to any request', extra));
    },
  }),
  defineCase({
    id: 'PROTO-051-re-names-a-request',
    title:
      'every frame with re answers a request sent on its own connection, with two connections of alice side by side',
    requirements: ['PROTO-051'],
    level: 'MUST',
    quote:
      'The provider MUST NOT send a frame whose `re` is not the `id` of a request the client sent on that connection.',
    sends:
      'alice on an authenticated and a greeted connection: ping, consent.get, keys.claim (unknown) pipelined on each; then 200 ms quiet',
    async run({ world, target, scale }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const { peer: other } = await world.greeted('other');
      const ghost = `${world.name('ghost')}@${target.domain}`;
      await Promise.all([
        alice.peer.request('ping'),
        alice.peer.request('consent.get'),
        alice.peer.request('keys.claim', { address: ghost }),
        other.request('ping'),
        other.request('ping'),
      ]);
      await new Promise((resolve) => setTimeout(resolve, scale(200)));
      // The peers note every frame whose re names no request of their connection (transport/peer.ts).
      const stray = world.faults.filter((f) => f.requirement === 'PROTO-051');
      must(
        'PROTO-051',
        that(
          stray.length === 0,
          'no frame whose re names no request of its connection',
          stray.map((f) => `${f.peer}: ${f.type} ${f.message}`),
        ),
      );
    },
  }),
  defineCase({
    id: 'PROTO-014-base64-padding',
    title: 'a public key with = padding is refused with SCHEMA_VIOLATION pointing at it',
    requirements: ['PROTO-014', 'PROTO-013'],
    level: 'MUST',
    quote:
      'The provider MUST answer a frame whose binary member contains `=` padding or a character outside the base64url alphabet with `SCHEMA_VIOLATION` and a `pointer` to that member.',
    sends: 'account.register with identityKey in padded standard base64',
    async run({ world, target }) {
      const alice = world.device('alice');
      await alice.connect();
      const padded = Buffer.from(alice.identity.publicKey).toString('base64');
      const reply = await alice.peer.request('account.register', {
        registrationToken: target.registrationToken,
        name: alice.address.split('@')[0],
        identityKey: padded.endsWith('=') ? padded : `${padded}=`,
        registrationId: alice.registrationId,
        deviceKey: alice.deviceKey,
      });
      mustMatch('PROTO-014', reply, isError('SCHEMA_VIOLATION', '/identityKey'));
    },
  }),
];
