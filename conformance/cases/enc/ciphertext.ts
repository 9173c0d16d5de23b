// ENC cases of spec/crypto.md#what-the-provider-checks: the provider refuses plaintext and other
// bodies that are not Signal ciphertexts (ENC-034) and prekey messages under a foreign identity (ENC-035).
import type { Frame } from '../../assert/match.ts';
import { isError } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64, textContent, unb64 } from '../../transport/users.ts';

const ENC_034 =
  'The provider MUST refuse with `NOT_SIGNAL_CIPHERTEXT` a `message.send` with a body that does not parse as the message its `type` names, with a session version of 3 (or 4 with `kyber`), the mandatory protobuf fields present and every public key in it encoded as 33 bytes beginning with 0x05.';

export const ciphertextCases = [
  defineCase({
    id: 'ENC-034-plaintext-refused',
    title:
      'a plaintext body, a mislabelled type and a version-2 body are refused with NOT_SIGNAL_CIPHERTEXT',
    requirements: ['ENC-034', 'ENC-002', 'PROTO-042'],
    level: 'MUST',
    quote: ENC_034,
    sends:
      'bob → alice: message.send with body "hello alice" in UTF-8; a prekey body typed whisper; a prekey body with version byte 0x22',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.startSessions(alice.address);
      const [real] = await bob.encryptFor(alice.address, textContent('hello alice'));
      const send = (entry: Frame): Promise<Frame> =>
        bob.peer.request('message.send', {
          to: alice.address,
          idempotencyKey: `k.${world.rng.word(12)}`,
          messages: [entry],
        });
      const plaintext = { ...real, type: 'whisper', body: b64(Buffer.from('hello alice', 'utf8')) };
      mustMatch(
        'ENC-034',
        await send(plaintext),
        isError('NOT_SIGNAL_CIPHERTEXT'),
        'plaintext body',
      );
      mustMatch(
        'ENC-034',
        await send({ ...real, type: 'whisper' }),
        isError('NOT_SIGNAL_CIPHERTEXT'),
        'prekey body typed whisper',
      );
      const v2 = unb64(real!.body);
      v2[0] = 0x22;
      mustMatch(
        'ENC-034',
        await send({ ...real, body: b64(v2) }),
        isError('NOT_SIGNAL_CIPHERTEXT'),
        'version byte 0x22',
      );
      const quiet = alice.peer.peek((f) => f.type === 'message');
      mustMatch('PROTO-042', quiet, (f) =>
        f ? { expected: 'no refused body delivered', actual: JSON.stringify(f) } : undefined,
      );
    },
  }),
  defineCase({
    id: 'ENC-035-prekey-foreign-identity',
    title: "a prekey message built under another identity than the sender device's is refused",
    requirements: ['ENC-035'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with `NOT_SIGNAL_CIPHERTEXT` a `prekey` body whose `identity_key` differs from the identity key of the sender's device.",
    sends:
      "bob claims alice's keys, eve (another identity) builds the prekey message, bob sends it",
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      const eve = world.device('eve');
      const bundle = await bob.peer.request('keys.claim', { address: alice.address });
      await eve.adoptBundle(alice.address, bundle);
      const messages = await eve.encryptFor(alice.address, textContent('from eve, as bob'));
      const reply = await bob.peer.request('message.send', {
        to: alice.address,
        idempotencyKey: `k.${world.rng.word(12)}`,
        messages,
      });
      mustMatch('ENC-035', reply, isError('NOT_SIGNAL_CIPHERTEXT'));
    },
  }),
];
