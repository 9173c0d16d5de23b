// ENC cases of spec/crypto.md#wire-format, as the provider must check them (ENC-034): a real
// PreKeySignalMessage with a bad key type byte, a missing mandatory field, or cut short is refused.
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64, textContent, unb64 } from '../../transport/users.ts';

/** One protobuf field of a message: number, wire type, and where its value lies. */
interface Field {
  number: number;
  start: number;
  valueStart: number;
  end: number;
}

function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
    shift += 7;
  }
}

/** The top-level fields of a protobuf (varint and length-delimited only, as Signal's messages). */
export function protobufFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  for (let at = 0; at < bytes.length;) {
    const start = at;
    const [tag, afterTag] = varint(bytes, at);
    if ((tag & 7) === 0) {
      at = varint(bytes, afterTag)[1];
      fields.push({ number: tag >> 3, start, valueStart: afterTag, end: at });
    } else {
      const [length, valueStart] = varint(bytes, afterTag);
      at = valueStart + length;
      fields.push({ number: tag >> 3, start, valueStart, end: at });
    }
  }
  return fields;
}

const BASE_KEY = 2;

export const malformedCiphertextCases = [
  defineCase({
    id: 'ENC-034-malformed-prekey-message',
    title: 'a prekey message whose base key lacks 0x05, lacks base_key, or is cut short is refused',
    requirements: ['ENC-034', 'ENC-005'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `NOT_SIGNAL_CIPHERTEXT` a `message.send` with a body that does not parse as the message its `type` names, with a session version of 3 (or 4 with `kyber`), the mandatory protobuf fields present and every public key in it encoded as 33 bytes beginning with 0x05.',
    sends: 'bob → alice: three variants of a real PreKeySignalMessage, then the intact one',
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      await bob.startSessions(alice.address);
      const [real] = await bob.encryptFor(alice.address, textContent('hello'));
      const body = unb64(real!.body);
      const proto = body.subarray(1);
      const baseKey = protobufFields(proto).find((f) => f.number === BASE_KEY)!;
      const send = (bytes: Uint8Array): Promise<Frame> =>
        bob.peer.request('message.send', {
          to: alice.address,
          idempotencyKey: `k.${world.rng.word(12)}`,
          messages: [{ ...real, body: b64(bytes) }],
        });
      const wrongType = Buffer.from(body);
      wrongType[1 + baseKey.valueStart] = 0x06;
      mustMatch(
        'ENC-005',
        await send(wrongType),
        isError('NOT_SIGNAL_CIPHERTEXT'),
        'base key type 0x06',
      );
      const without = Buffer.concat([
        body.subarray(0, 1 + baseKey.start),
        body.subarray(1 + baseKey.end),
      ]);
      mustMatch('ENC-034', await send(without), isError('NOT_SIGNAL_CIPHERTEXT'), 'no base_key');
      mustMatch(
        'ENC-034',
        await send(body.subarray(0, 12)),
        isError('NOT_SIGNAL_CIPHERTEXT'),
        'cut to 12 bytes',
      );
      mustMatch('ENC-034', await send(body), isType('message.accepted'), 'the intact message');
    },
  }),
];
