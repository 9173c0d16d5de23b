// ENC cases of spec/crypto.md#wire-format as the provider checks them on `message.send`: the session
// version is the high nibble of the version byte alone (3, or 4 with `kyber`), and a SignalMessage
// or PreKeySignalMessage that lacks a mandatory protobuf field is refused.
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { TestUser } from '../../transport/users.ts';
import { b64, textContent, unb64 } from '../../transport/users.ts';
import type { World } from '../../transport/world.ts';
import { protobufFields } from './malformed.ts';

/** PreKeySignalMessage field numbers (libsignal's wire.proto). */
const PREKEY = { identityKey: 3, message: 4, signedPreKeyId: 6 } as const;
/** SignalMessage field numbers. */
const SIGNAL = { ratchetKey: 1, counter: 2, ciphertext: 4 } as const;
/** The MAC after a SignalMessage's protobuf. */
const MAC_BYTES = 8;

/** `body` (version byte ‖ protobuf ‖ `tail` bytes) without top-level field `number`. */
function withoutField(body: Uint8Array, number: number, tail = 0): Buffer {
  const proto = body.subarray(1, body.length - tail);
  const field = protobufFields(proto).find((f) => f.number === number)!;
  return Buffer.concat([body.subarray(0, 1 + field.start), body.subarray(1 + field.end)]);
}

/** Bob's real first message to alice, and a sender of variants of it. */
async function bobToAlice(world: World): Promise<{
  body: Buffer;
  send: (type: 'prekey' | 'whisper', bytes: Uint8Array) => Promise<Frame>;
}> {
  const alice = await world.firstParty('alice', { optIn: true });
  const bob: TestUser = await world.thirdParty('bob');
  await bob.startSessions(alice.address);
  const [real] = await bob.encryptFor(alice.address, textContent('hello'));
  const send = (type: 'prekey' | 'whisper', bytes: Uint8Array): Promise<Frame> =>
    bob.peer.request('message.send', {
      to: alice.address,
      idempotencyKey: `k.${world.rng.word(12)}`,
      messages: [{ ...real, type, body: b64(bytes) }],
    });
  return { body: unb64(real!.body as string), send };
}

export const wireFormatCases = [
  defineCase({
    id: 'ENC-023-version-nibble',
    title:
      'a prekey message of session version 2 or 4 (no kyber) is refused, and one with version 3 and another low nibble is accepted',
    requirements: ['ENC-023'],
    level: 'MUST',
    quote:
      'A receiver MUST take the session version from the high nibble of the version byte alone, and MUST reject a message whose session version is not 3 (or 4 with the `kyber` capability).',
    sends: 'bob → alice: a real PreKeySignalMessage with version byte 0x23, 0x43, then 0x3f',
    async run({ target, world }) {
      const { body, send } = await bobToAlice(world);
      const versioned = (byte: number): Buffer =>
        Buffer.concat([Buffer.from([byte]), body.subarray(1)]);
      const low = body[0]! & 0x0f;
      const refused = target.capabilities.includes('kyber') ? [0x20, 0x50] : [0x20, 0x40];
      for (const high of refused)
        mustMatch(
          'ENC-023',
          await send('prekey', versioned(high | low)),
          isError('NOT_SIGNAL_CIPHERTEXT'),
          `session version ${high >> 4}`,
        );
      mustMatch(
        'ENC-023',
        await send('prekey', versioned(0x3f)),
        isType('message.accepted'),
        'version byte 0x3f: session version 3, the low nibble is not the version',
      );
    },
  }),
  defineCase({
    id: 'ENC-026-prekey-message-fields',
    title:
      'a PreKeySignalMessage without signed_pre_key_id, identity_key or message is refused with NOT_SIGNAL_CIPHERTEXT',
    requirements: ['ENC-026'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a PreKeySignalMessage that lacks `signed_pre_key_id`, `base_key`, `identity_key` or `message`.',
    sends: 'bob → alice: a real PreKeySignalMessage with one of three fields cut out, each in turn',
    async run({ world }) {
      const { body, send } = await bobToAlice(world);
      for (const [name, number] of Object.entries(PREKEY))
        mustMatch(
          'ENC-026',
          await send('prekey', withoutField(body, number)),
          isError('NOT_SIGNAL_CIPHERTEXT'),
          `no ${name}`,
        );
    },
  }),
  defineCase({
    id: 'ENC-025-signal-message-fields',
    title:
      'a SignalMessage without ratchet_key, counter or ciphertext is refused, the intact one accepted',
    requirements: ['ENC-025'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a SignalMessage that lacks `ratchet_key`, `counter` or `ciphertext`.',
    sends:
      'bob → alice: the SignalMessage inside a real PreKeySignalMessage as a whisper body, with one of three fields cut out, then intact',
    async run({ world }) {
      const { body, send } = await bobToAlice(world);
      const proto = body.subarray(1);
      const inner = protobufFields(proto).find((f) => f.number === PREKEY.message)!;
      const signal = proto.subarray(inner.valueStart, inner.end);
      for (const [name, number] of Object.entries(SIGNAL))
        mustMatch(
          'ENC-025',
          await send('whisper', withoutField(signal, number, MAC_BYTES)),
          isError('NOT_SIGNAL_CIPHERTEXT'),
          `no ${name}`,
        );
      mustMatch(
        'ENC-025',
        await send('whisper', signal),
        isType('message.accepted'),
        'the intact SignalMessage',
      );
    },
  }),
];
