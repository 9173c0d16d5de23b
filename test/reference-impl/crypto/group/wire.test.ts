// SenderKeyDistributionMessage / SenderKeyMessage framing (reference-impl/crypto/group/wire.ts):
// version byte 0x33, libsignal's field numbers, prost's strictness about wire types and missing
// fields, and typed refusals. Each malformed input is also shown to libsignal-client 0.103.0, which
// must refuse it too, so that our parser is no more lenient than libsignal's and no stricter.
import { randomUUID } from 'node:crypto';
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import protobuf from 'protobufjs';
import {
  ProtocolError,
  ProtocolErrorCode,
  limits,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
} from '../../../../reference-impl/crypto/index.ts';
import { generateKeyPair } from '../../../../reference-impl/crypto/curve.ts';
import {
  canonicalDistributionId,
  encodeSenderKeyDistributionMessage,
  encodeSenderKeyMessage,
  verifySenderKeyMessage,
} from '../../../../reference-impl/crypto/group/wire.ts';
import { toBuffer } from '../support/parties.ts';

const { root } = protobuf.parse(
  `
  syntax = "proto2";
  message Skm { optional bytes d = 1; optional uint32 c = 2; optional uint32 i = 3; optional bytes x = 4; }
  message Skdm { optional bytes d = 1; optional uint32 c = 2; optional uint32 i = 3; optional bytes k = 4; optional bytes s = 5; }
`,
);
const Skm = root.lookupType('Skm');
const Skdm = root.lookupType('Skdm');

const UUID = randomUUID();
const UUID_BYTES = Buffer.from(UUID.replaceAll('-', ''), 'hex');
const signing = generateKeyPair();

/** A SenderKeyMessage body around `proto`: version byte, protobuf, 64 bytes of signature by `signing`. */
function skmBody(proto: Uint8Array, version = 0x33): Uint8Array {
  const body = new Uint8Array(1 + proto.length + 64);
  body[0] = version;
  body.set(proto, 1);
  return body;
}

function skdmBody(proto: Uint8Array, version = 0x33): Uint8Array {
  return Uint8Array.from([version, ...proto]);
}

const goodSkm = (fields: Record<string, unknown> = {}): Uint8Array =>
  Skm.encode({ d: UUID_BYTES, c: 7, i: 3, x: new Uint8Array(16), ...fields }).finish();

const goodSkdm = (fields: Record<string, unknown> = {}): Uint8Array =>
  Skdm.encode({
    d: UUID_BYTES,
    c: 7,
    i: 3,
    k: new Uint8Array(32).fill(1),
    s: signing.publicKey,
    ...fields,
  }).finish();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : `not a ProtocolError: ${String(error)}`;
  }
  return undefined;
}

function libsignalRefuses(fn: () => unknown): boolean {
  try {
    fn();
  } catch {
    return true;
  }
  return false;
}

const skmBoth = (body: Uint8Array): [string | undefined, boolean] => [
  codeOf(() => parseSenderKeyMessage(body)),
  libsignalRefuses(() => Signal.SenderKeyMessage.deserialize(toBuffer(body))),
];

const skdmBoth = (body: Uint8Array): [string | undefined, boolean] => [
  codeOf(() => parseSenderKeyDistributionMessage(body)),
  libsignalRefuses(() => Signal.SenderKeyDistributionMessage.deserialize(toBuffer(body))),
];

describe('reference-impl/crypto/group/wire', () => {
  it('encodes a distribution message that libsignal reads field for field, with version byte 0x33', () => {
    const chainKey = new Uint8Array(32).fill(9);
    const message = encodeSenderKeyDistributionMessage({
      distributionId: UUID.toUpperCase(),
      chainId: 0x7fff_ffff,
      iteration: 12,
      chainKey,
      signingKey: signing.publicKey,
    });
    expect(message.serialized[0]).to.equal(0x33);
    expect(message.distributionId).to.equal(UUID);
    const theirs = Signal.SenderKeyDistributionMessage.deserialize(toBuffer(message.serialized));
    expect(theirs.distributionId()).to.equal(UUID);
    expect(theirs.chainId()).to.equal(0x7fff_ffff);
    expect(theirs.iteration()).to.equal(12);
    expect([...theirs.chainKey()]).to.deep.equal([...chainKey]);
    // Rebuilt by libsignal from the same fields, the bytes are the same.
    const rebuilt = Signal.SenderKeyDistributionMessage._new(
      3,
      UUID,
      0x7fff_ffff,
      12,
      toBuffer(chainKey),
      Signal.PublicKey.deserialize(toBuffer(signing.publicKey)),
    );
    expect(Buffer.from(rebuilt.serialize()).toString('hex')).to.equal(
      Buffer.from(message.serialized).toString('hex'),
    );
  });

  it('signs a sender-key message over version byte and protobuf so that libsignal verifies it, and verifies what libsignal signs', () => {
    const ours = encodeSenderKeyMessage({
      distributionId: UUID,
      chainId: 5,
      iteration: 9,
      ciphertext: new Uint8Array(32).fill(3),
      signingPrivateKey: signing.privateKey,
    });
    const publicKey = Signal.PublicKey.deserialize(toBuffer(signing.publicKey));
    expect(
      Signal.SenderKeyMessage.deserialize(toBuffer(ours.serialized)).verifySignature(publicKey),
    ).to.equal(true);
    const libsignalKey = Signal.PrivateKey.generate();
    const theirs = Signal.SenderKeyMessage._new(
      3,
      UUID,
      5,
      9,
      toBuffer(new Uint8Array(32).fill(3)),
      libsignalKey,
    );
    const parsed = parseSenderKeyMessage(new Uint8Array(theirs.serialize()));
    expect(parsed.chainId).to.equal(5);
    expect(parsed.iteration).to.equal(9);
    const theirPublic = new Uint8Array(libsignalKey.getPublicKey().serialize());
    expect(verifySenderKeyMessage(parsed, theirPublic)).to.equal(true);
    expect(verifySenderKeyMessage(parsed, signing.publicKey)).to.equal(false);
    // Up to the signature, libsignal and we frame the same fields identically.
    expect(Buffer.from(theirs.serialize()).subarray(0, -64).toString('hex')).to.equal(
      Buffer.from(ours.serialized).subarray(0, -64).toString('hex'),
    );
  });

  it('reads only the high nibble of the version byte: 0x3f parses, 0x23 is legacy and 0x43 unknown, as libsignal', () => {
    expect(skmBoth(skmBody(goodSkm(), 0x3f))).to.deep.equal([undefined, false]);
    expect(skmBoth(skmBody(goodSkm(), 0x23))).to.deep.equal([
      ProtocolErrorCode.LegacyVersion,
      true,
    ]);
    expect(skmBoth(skmBody(goodSkm(), 0x43))).to.deep.equal([
      ProtocolErrorCode.UnrecognizedVersion,
      true,
    ]);
    expect(skdmBoth(skdmBody(goodSkdm(), 0x23))).to.deep.equal([
      ProtocolErrorCode.LegacyVersion,
      true,
    ]);
    expect(skdmBoth(skdmBody(goodSkdm(), 0x43))).to.deep.equal([
      ProtocolErrorCode.UnrecognizedVersion,
      true,
    ]);
  });

  it('refuses a sender-key message shorter than version byte and signature, and a distribution message shorter than 65 bytes, as too short', () => {
    expect(skmBoth(new Uint8Array(64).fill(0x33))).to.deep.equal([
      ProtocolErrorCode.MessageTooShort,
      true,
    ]);
    expect(skdmBoth(new Uint8Array(64).fill(0x33))).to.deep.equal([
      ProtocolErrorCode.MessageTooShort,
      true,
    ]);
  });

  it('refuses a sender-key message that lacks any of its four fields, as libsignal', () => {
    for (const field of ['d', 'c', 'i', 'x']) {
      const fields = { d: UUID_BYTES, c: 7, i: 3, x: new Uint8Array(16) } as Record<
        string,
        unknown
      >;
      delete fields[field];
      expect(skmBoth(skmBody(Skm.encode(fields).finish())), field).to.deep.equal([
        ProtocolErrorCode.InvalidMessage,
        true,
      ]);
    }
  });

  it('refuses a distribution message that lacks any of its five fields, as libsignal', () => {
    for (const field of ['d', 'c', 'i', 'k', 's']) {
      const fields = {
        d: UUID_BYTES,
        c: 7,
        i: 3,
        k: new Uint8Array(32).fill(1),
        s: signing.publicKey,
      } as Record<string, unknown>;
      delete fields[field];
      // Padding with an unknown field keeps the body above the length check.
      const padded = Uint8Array.from([
        ...Skdm.encode(fields).finish(),
        ...protobuf.Writer.create()
          .uint32((9 << 3) | 2)
          .bytes(new Uint8Array(40))
          .finish(),
      ]);
      expect(skdmBoth(skdmBody(padded)), field).to.deep.equal([
        ProtocolErrorCode.InvalidMessage,
        true,
      ]);
    }
  });

  it('refuses a distribution id that is not 16 bytes, a chain key that is not 32 bytes and a signing key that is not a 0x05 key, as libsignal', () => {
    expect(skmBoth(skmBody(goodSkm({ d: UUID_BYTES.subarray(0, 15) })))).to.deep.equal([
      ProtocolErrorCode.InvalidMessage,
      true,
    ]);
    expect(
      skdmBoth(skdmBody(goodSkdm({ d: Buffer.concat([UUID_BYTES, Buffer.of(0)]) }))),
    ).to.deep.equal([ProtocolErrorCode.InvalidMessage, true]);
    expect(skdmBoth(skdmBody(goodSkdm({ k: new Uint8Array(31) })))).to.deep.equal([
      ProtocolErrorCode.InvalidMessage,
      true,
    ]);
    const wrongType = Uint8Array.from(signing.publicKey);
    wrongType[0] = 0x06;
    expect(skdmBoth(skdmBody(goodSkdm({ s: wrongType })))).to.deep.equal([
      ProtocolErrorCode.InvalidMessage,
      true,
    ]);
    expect(skdmBoth(skdmBody(goodSkdm({ s: signing.publicKey.subarray(0, 32) })))).to.deep.equal([
      ProtocolErrorCode.InvalidMessage,
      true,
    ]);
  });

  it('refuses a known field with the wrong wire type and skips unknown fields, as libsignal', () => {
    // chain_id (2) sent as bytes instead of a varint
    const wrong = Uint8Array.from([
      ...Skm.encode({ d: UUID_BYTES, i: 3, x: new Uint8Array(16) }).finish(),
      (2 << 3) | 2,
      1,
      7,
    ]);
    expect(skmBoth(skmBody(wrong))).to.deep.equal([ProtocolErrorCode.InvalidMessage, true]);
    const unknown = Uint8Array.from([...goodSkm(), (15 << 3) | 0, 1]);
    expect(skmBoth(skmBody(unknown))).to.deep.equal([undefined, false]);
  });

  it('refuses a ciphertext that is not whole AES blocks at parsing, where libsignal refuses it at decryption', () => {
    expect(
      codeOf(() => parseSenderKeyMessage(skmBody(goodSkm({ x: new Uint8Array(17) })))),
    ).to.equal(ProtocolErrorCode.InvalidMessage);
    expect(
      codeOf(() => parseSenderKeyMessage(skmBody(goodSkm({ x: new Uint8Array(0) })))),
    ).to.equal(ProtocolErrorCode.InvalidMessage);
  });

  it(`refuses a body longer than ${limits.MAX_CIPHERTEXT_BYTES} bytes before parsing it`, () => {
    const body = skmBody(goodSkm({ x: new Uint8Array(limits.MAX_CIPHERTEXT_BYTES) }));
    expect(codeOf(() => parseSenderKeyMessage(body))).to.equal(ProtocolErrorCode.MessageTooLarge);
  });

  it('takes a distribution id in any case and refuses one that is not a UUID', () => {
    expect(canonicalDistributionId(UUID.toUpperCase())).to.equal(UUID);
    for (const bad of ['', 'not-a-uuid', UUID.replaceAll('-', ''), `${UUID}0`, `{${UUID}}`]) {
      expect(
        codeOf(() => canonicalDistributionId(bad)),
        bad,
      ).to.equal(ProtocolErrorCode.InvalidDistributionId);
    }
  });
});
