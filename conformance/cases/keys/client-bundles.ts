// KEYS cases of a client as a claimer (spec/keys.md "Claiming", "Exhaustion"): the mock provider
// answers the client's `keys.claim` with a peer's bundle, spoiled as the case needs, and the suite
// looks at whether the client sends to that peer and how its PreKeySignalMessage starts.
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { DriverRefusal } from '../../client/link.ts';
import { defineClientCase } from '../../runner/case.ts';
import { openOrFail, parsedOrFail } from '../enc/client-support.ts';

export const clientBundleCases = [
  defineClientCase({
    id: 'KEYS-016-client-refuses-bad-signature',
    title:
      'the client refuses a bundle entry whose signed prekey signature does not verify, sends nothing to it and keeps no session from it',
    requirements: ['KEYS-016'],
    level: 'MUST',
    quote:
      "A client MUST verify the signed prekey signature and the Kyber prekey signature of every bundle entry under the entry's identity key, and MUST NOT start a session from an entry whose signatures do not both verify.",
    sends:
      'mock: keys.bundle of bob with one bit of the signature flipped; driver: sendText to bob (refusal expected), then, with a good bundle, sendText again',
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      bob.bundleFaults = { badSignature: true };
      const refused = await client.drive('sendText', { to: bob.address, text: 'hi bob' }).then(
        () => false,
        (e: unknown) => e instanceof DriverRefusal,
      );
      await client.mock.next(
        (f) => f.type === 'keys.claim' && f.address === bob.address,
        'keys.claim of bob',
      );
      const sent = await client.mock.poll((f) => f.type === 'message.send', client.waitMs / 2);
      must('KEYS-016', that(sent === undefined, 'no message.send to bob', sent));
      must('KEYS-016', that(refused, 'the send refused (driver answer FAILED)', 'it succeeded'));
      // No session was kept: with a good bundle the client claims again and bob can read it.
      bob.bundleFaults = {};
      const send = await client.sendText(bob, 'hi again');
      const claims = client.mock.received.filter(
        (f) => f.type === 'keys.claim' && f.address === bob.address,
      );
      must(
        'KEYS-016',
        that(
          claims.length >= 2,
          'a second keys.claim of bob (no session from the bad entry)',
          claims.length,
        ),
      );
      const [opened] = await openOrFail('KEYS-016', client, bob, send);
      must(
        'KEYS-016',
        that(
          client.contentOf(opened!.plaintext)?.body === 'hi again',
          'the text "hi again"',
          opened,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-016-client-refuses-bad-kyber-signature',
    title:
      'the client refuses a bundle entry whose Kyber prekey signature does not verify and sends nothing to it, then starts a PQXDH session from a good entry',
    requirements: ['KEYS-016', 'ENC-050'],
    level: 'MUST',
    quote:
      "A client MUST verify the signed prekey signature and the Kyber prekey signature of every bundle entry under the entry's identity key, and MUST NOT start a session from an entry whose signatures do not both verify.",
    sends:
      'mock: keys.bundle of dave with one bit of the Kyber prekey signature flipped; driver: sendText to dave (refusal expected), then, with a good bundle, sendText again',
    async run({ client }) {
      await client.connect();
      const dave = client.peer('dave');
      dave.bundleFaults = { badKyberSignature: true };
      const refused = await client.drive('sendText', { to: dave.address, text: 'hi dave' }).then(
        () => false,
        (e: unknown) => e instanceof DriverRefusal,
      );
      await client.mock.next(
        (f) => f.type === 'keys.claim' && f.address === dave.address,
        'keys.claim of dave',
      );
      const sent = await client.mock.poll((f) => f.type === 'message.send', client.waitMs / 2);
      must('KEYS-016', that(sent === undefined, 'no message.send to dave', sent));
      must('KEYS-016', that(refused, 'the send refused (driver answer FAILED)', 'it succeeded'));
      dave.bundleFaults = {};
      const send = await client.sendText(dave, 'hi again');
      const [opened] = await openOrFail('KEYS-016', client, dave, send);
      must(
        'ENC-050',
        that(
          client.contentOf(opened!.plaintext)?.body === 'hi again',
          'the text "hi again" over PQXDH with the good entry',
          opened,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-020-client-session-without-one-time-prekey',
    title:
      'the client starts a session from an entry without a one-time prekey with the signed prekey alone, naming no pre_key_id',
    requirements: ['KEYS-020'],
    level: 'MUST',
    quote:
      'A client that receives an entry with `oneTimePreKey` null MUST start the session with the signed prekey alone, without a `pre_key_id`.',
    sends:
      'mock: keys.bundle of carol with oneTimePreKey null and exhausted true; driver: sendText to carol; suite: parses and decrypts the PreKeySignalMessage as carol',
    async run({ client }) {
      await client.connect();
      const carol = client.peer('carol');
      carol.bundleFaults = { noOneTimePreKey: true };
      const reply = client.drive('sendText', { to: carol.address, text: 'hi carol' }).then(
        () => undefined,
        (e: unknown) => {
          if (e instanceof DriverRefusal) return e.message;
          throw e;
        },
      );
      const send = await client.mock.poll(
        (f) => f.type === 'message.send' && f.to === carol.address,
        client.waitMs,
      );
      const refusal = await reply;
      must(
        'KEYS-020',
        that(
          send !== undefined && refusal === undefined,
          'a message.send to carol, accepted',
          refusal ?? 'no message.send',
        ),
      );
      const [opened] = await openOrFail('KEYS-020', client, carol, send!);
      const parsed = parsedOrFail('KEYS-020', opened!);
      must('KEYS-020', that(parsed.type === 'prekey', 'a PreKeySignalMessage', parsed.type));
      const preKeyId = parsed.type === 'prekey' ? parsed.message.preKeyId : undefined;
      must(
        'KEYS-020',
        that(preKeyId === undefined || preKeyId === null, 'no pre_key_id', preKeyId),
      );
      must(
        'KEYS-020',
        that(
          client.contentOf(opened!.plaintext)?.body === 'hi carol',
          'the text "hi carol", decrypted without DH4',
          opened,
        ),
      );
    },
  }),
];
