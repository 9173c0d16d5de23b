// ENC cases of spec/crypto.md#wire-format as the provider checks them on `message.send`: the session
// version is the high nibble of the version byte alone and must be 4 (PQXDH), an X3DH body (3) is
// refused with its own code, and a SignalMessage or PreKeySignalMessage that lacks a mandatory
// protobuf field (the Kyber fields 7 and 8 included) is refused.
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { TestUser } from '../../transport/users.ts';
import { b64, textContent, unb64 } from '../../transport/users.ts';
import type { World } from '../../transport/world.ts';
import { protobufFields } from './malformed.ts';

/** PreKeySignalMessage field numbers (libsignal's wire.proto). */
const PREKEY = {
  identityKey: 3,
  message: 4,
  signedPreKeyId: 6,
  kyberPreKeyId: 7,
  kyberCiphertext: 8,
} as const;
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
      'a prekey message of session version 2 or 5 is refused with NOT_SIGNAL_CIPHERTEXT, and one with version 4 and another low nibble is accepted',
    requirements: ['ENC-023'],
    level: 'MUST',
    quote:
      'A receiver MUST take the session version from the high nibble of the version byte alone, and MUST reject a message whose session version is not 4.',
    sends: 'bob → alice: a real PreKeySignalMessage with version byte 0x24, 0x54, then 0x4f',
    async run({ world }) {
      const { body, send } = await bobToAlice(world);
      const versioned = (byte: number): Buffer =>
        Buffer.concat([Buffer.from([byte]), body.subarray(1)]);
      const low = body[0]! & 0x0f;
      for (const high of [0x20, 0x50])
        mustMatch(
          'ENC-023',
          await send('prekey', versioned(high | low)),
          isError('NOT_SIGNAL_CIPHERTEXT'),
          `session version ${high >> 4}`,
        );
      mustMatch(
        'ENC-023',
        await send('prekey', versioned(0x4f)),
        isType('message.accepted'),
        'version byte 0x4f: session version 4, the low nibble is not the version',
      );
    },
  }),
  defineCase({
    id: 'ENC-057-x3dh-refused',
    title:
      'an X3DH body (version byte 0x33 or 0x34), prekey or whisper, is refused with LEGACY_SIGNAL_VERSION',
    requirements: ['ENC-057', 'ENC-051'],
    level: 'MUST',
    quote:
      'Instead of `NOT_SIGNAL_CIPHERTEXT`, the provider MUST refuse with `LEGACY_SIGNAL_VERSION` a `message.send` with a body whose version byte has the high nibble 3 (an X3DH session), so that its sender learns that it must move to PQXDH.',
    sends:
      'bob → alice: a real PreKeySignalMessage and the SignalMessage inside it, each with version byte 0x33, then 0x34',
    async run({ world }) {
      const { body, send } = await bobToAlice(world);
      const proto = body.subarray(1);
      const inner = protobufFields(proto).find((f) => f.number === PREKEY.message)!;
      const signal = Buffer.from(proto.subarray(inner.valueStart, inner.end));
      for (const version of [0x33, 0x34]) {
        const prekey = Buffer.from(body);
        prekey[0] = version;
        mustMatch(
          'ENC-057',
          await send('prekey', prekey),
          isError('LEGACY_SIGNAL_VERSION'),
          `prekey body 0x${version.toString(16)}`,
        );
        const whisper = Buffer.from(signal);
        whisper[0] = version;
        mustMatch(
          'ENC-057',
          await send('whisper', whisper),
          isError('LEGACY_SIGNAL_VERSION'),
          `whisper body 0x${version.toString(16)}`,
        );
      }
    },
  }),
  defineCase({
    id: 'ENC-026-prekey-message-fields',
    title:
      'a PreKeySignalMessage without signed_pre_key_id, identity_key, message, kyber_pre_key_id or kyber_ciphertext is refused with NOT_SIGNAL_CIPHERTEXT',
    requirements: ['ENC-026'],
    level: 'MUST',
    quote:
      'A receiver MUST reject a PreKeySignalMessage that lacks `signed_pre_key_id`, `base_key`, `identity_key`, `message`, `kyber_pre_key_id` or `kyber_ciphertext`.',
    sends: 'bob → alice: a real PreKeySignalMessage with one of five fields cut out, each in turn',
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
