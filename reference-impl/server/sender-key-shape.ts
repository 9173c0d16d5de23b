/**
 * The provider's structural check of a group message body (spec/groups.md GROUP-045): a
 * `SenderKeyMessage` as libsignal puts it on the wire, version byte (3 << 4) | 3, then the protobuf
 * (field 1 distribution id, 16 bytes; 2 chain id; 3 iteration; 4 ciphertext), then a 64-byte
 * signature. The provider holds no sender key, so it checks the shape only, as it does for 1:1
 * bodies; the members' devices verify the signature.
 */
import protobuf from 'protobufjs';

/** The sender-key message version libsignal 0.103 writes and reads. */
export const SENDER_KEY_VERSION = 3;

/** The signature by the sender's signing key that ends every `SenderKeyMessage`. */
const SIGNATURE_LENGTH = 64;

/** Protobuf wire types: 0 varint, 2 length-delimited. */
const FIELD_WIRE_TYPES: ReadonlyMap<number, number> = new Map([
  [1, 2],
  [2, 0],
  [3, 0],
  [4, 2],
]);

/** Why a body is not a `SenderKeyMessage`, or undefined when its shape is one. */
export function senderKeyShapeFault(body: Uint8Array): string | undefined {
  if (body.length < 1 + SIGNATURE_LENGTH + 1) return 'too short for a SenderKeyMessage';
  if (body[0]! >> 4 !== SENDER_KEY_VERSION)
    return `version ${body[0]! >> 4} is not the SenderKeyMessage version ${SENDER_KEY_VERSION}`;
  const reader = protobuf.Reader.create(body.subarray(1, body.length - SIGNATURE_LENGTH));
  const seen = new Set<number>();
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wireType = tag & 7;
      const expected = FIELD_WIRE_TYPES.get(field);
      if (expected === undefined) return `unknown field ${field}`;
      if (wireType !== expected) return `field ${field} has wire type ${wireType}`;
      if (seen.has(field)) return `field ${field} repeats`;
      seen.add(field);
      if (wireType === 0) reader.uint64();
      else {
        const bytes = reader.bytes();
        if (field === 1 && bytes.length !== 16) return 'the distribution id is not 16 bytes';
        if (field === 4 && bytes.length === 0) return 'the ciphertext is empty';
      }
    }
  } catch (error) {
    return `the protobuf is malformed: ${(error as Error).message}`;
  }
  for (const field of FIELD_WIRE_TYPES.keys())
    if (!seen.has(field)) return `field ${field} is missing`;
  return undefined;
}
