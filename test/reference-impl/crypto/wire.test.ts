// SignalMessage / PreKeySignalMessage framing (reference-impl/crypto/wire.ts): libsignal 0.103.0's
// field numbers and version byte 0x44, fields 5-8, prost's strictness about wire types, and typed
// refusals of X3DH (version 3), unknown versions, truncated and oversized bodies.
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import protobuf from 'protobufjs';
import {
  InvalidMessageError,
  LegacyVersionError,
  limits,
  MessageTooLargeError,
  MessageTooShortError,
  parseCiphertext,
  UnrecognizedVersionError,
} from '../../../reference-impl/crypto/index.ts';
import {
  encodePreKeySignalMessage,
  encodeSignalMessage,
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../reference-impl/crypto/wire.ts';
import type { LibsignalParty } from './support/parties.ts';
import { makeParty, text, toBuffer } from './support/parties.ts';

/** A real PreKeySignalMessage from libsignal 0.103.0 to a Parley bob (both names are ACIs). */
async function libsignalPreKeyMessage(): Promise<Uint8Array> {
  const alice = makeParty('libsignal') as LibsignalParty;
  const bob = makeParty('parley');
  await alice.startSession(bob.address, await bob.bundle());
  return (await alice.encrypt(bob.address, text('hello'))).body;
}

const throwsOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

/** Re-frames protobuf bytes as a SignalMessage body: version byte, protobuf, 8 bytes of MAC. */
const signalBody = (proto: Uint8Array, version = 0x44): Uint8Array =>
  Uint8Array.from([version, ...proto, ...new Uint8Array(8)]);

describe('reference-impl/crypto/wire', () => {
  it('parses a libsignal 0.103.0 PreKeySignalMessage: version 0x44, Kyber fields 7 and 8, SPQR field 5, addresses field 6', async () => {
    const bytes = await libsignalPreKeyMessage();
    expect(bytes[0]).to.equal(0x44);
    const parsed = parsePreKeySignalMessage(bytes);
    expect(parsed.version).to.equal(4);
    expect(parsed.kyberCiphertext).to.have.length(1569);
    expect(parsed.kyberCiphertext[0]).to.equal(0x08);
    expect(parsed.message.version).to.equal(4);
    expect(parsed.message.serialized[0]).to.equal(0x44);
    // SPQR V1, epoch 1, index 1, then libsignal's first header chunk (type 1, chunk index, 32 bytes)
    expect([...parsed.message.pqRatchet.subarray(0, 4)]).to.deep.equal([1, 1, 1, 1]);
    expect(parsed.message.pqRatchet).to.have.length(4 + 1 + 32);
    expect(parsed.message.addresses).to.have.length(36);
    // Around the same inner bytes our encoder writes libsignal's outer protobuf byte for byte.
    const ours = encodePreKeySignalMessage({ ...parsed, message: parsed.message.serialized });
    expect(Buffer.from(ours)).to.deep.equal(Buffer.from(bytes));
  });

  it('writes SignalMessages with fields 5 and 6 that libsignal parses as version 4', () => {
    const identity = Signal.IdentityKeyPair.generate().publicKey.serialize();
    const ratchetKey = Signal.PrivateKey.generate().getPublicKey().serialize();
    const body = encodeSignalMessage({
      macKey: new Uint8Array(32),
      ratchetKey,
      counter: 3,
      previousCounter: 1,
      ciphertext: new Uint8Array(16),
      pqRatchet: Uint8Array.of(1, 1, 4, 0),
      addresses: new Uint8Array(36),
      senderIdentity: identity,
      receiverIdentity: identity,
    });
    expect(body[0]).to.equal(0x44);
    const theirs = Signal.SignalMessage.deserialize(toBuffer(body));
    expect(theirs.counter()).to.equal(3);
    expect(theirs.messageVersion()).to.equal(4);
    const parsed = parseSignalMessage(body);
    expect([...parsed.pqRatchet]).to.deep.equal([1, 1, 4, 0]);
    expect(parsed.addresses).to.have.length(36);
  });

  it('refuses version-3 (X3DH) and older bodies of both types with LegacyVersionError', async () => {
    const bytes = await libsignalPreKeyMessage();
    for (const version of [0x33, 0x34, 0x23]) {
      const prekey = Uint8Array.from(bytes);
      prekey[0] = version;
      const error = throwsOf(() => parseCiphertext('prekey', prekey));
      expect(error, `prekey 0x${version.toString(16)}`).to.be.instanceOf(LegacyVersionError);
      expect((error as LegacyVersionError).code).to.equal('LEGACY_VERSION');
      expect((error as Error).message).to.contain('X3DH no longer supported');
      const whisper = Uint8Array.from(parsePreKeySignalMessage(bytes).message.serialized);
      whisper[0] = version;
      expect(throwsOf(() => parseCiphertext('whisper', whisper))).to.be.instanceOf(
        LegacyVersionError,
      );
    }
  });

  it('refuses a version-4 prekey message around a version-3 SignalMessage with LegacyVersionError', async () => {
    const parsed = parsePreKeySignalMessage(await libsignalPreKeyMessage());
    const inner = Uint8Array.from(parsed.message.serialized);
    inner[0] = 0x33;
    const body = encodePreKeySignalMessage({ ...parsed, message: inner });
    expect(throwsOf(() => parseCiphertext('prekey', body))).to.be.instanceOf(LegacyVersionError);
  });

  it('refuses versions above 4 with UnrecognizedVersionError', async () => {
    const bytes = await libsignalPreKeyMessage();
    for (const version of [0x54, 0xf4]) {
      const body = Uint8Array.from(bytes);
      body[0] = version;
      expect(throwsOf(() => parseCiphertext('prekey', body))).to.be.instanceOf(
        UnrecognizedVersionError,
      );
    }
  });

  it('refuses a known field with the wrong wire type as prost does, where protobufjs alone would skip it', () => {
    const ratchetKey = Signal.PrivateKey.generate().getPublicKey().serialize();
    const good = protobuf.Writer.create()
      .uint32(0x0a)
      .bytes(ratchetKey)
      .uint32(0x10)
      .uint32(3)
      .uint32(0x22)
      .bytes(new Uint8Array(16))
      .finish();
    expect(parseSignalMessage(signalBody(good)).counter).to.equal(3);
    // previous_counter (field 3, a varint) sent as length-delimited bytes; pq_ratchet (field 5,
    // bytes) sent as a varint
    for (const [tag, value] of [
      [0x1a, Uint8Array.of(1, 7)],
      [0x28, Uint8Array.of(1)],
    ] as const) {
      const bad = Uint8Array.from([...good, tag, ...value]);
      const error = throwsOf(() => parseSignalMessage(signalBody(bad)));
      expect(error, `tag 0x${tag.toString(16)}`).to.be.instanceOf(InvalidMessageError);
      expect((error as Error).message).to.contain('wire type');
      expect(
        throwsOf(() => Signal.SignalMessage.deserialize(toBuffer(signalBody(bad)))),
        'libsignal refuses it too',
      ).to.be.instanceOf(Error);
    }
    // An unknown field of any wire type is skipped, by libsignal and by us.
    const unknown = Uint8Array.from([...good, 0x78, 0x01, 0x7a, 0x01, 0x00]);
    expect(parseSignalMessage(signalBody(unknown)).counter).to.equal(3);
    Signal.SignalMessage.deserialize(toBuffer(signalBody(unknown)));
  });

  it('refuses a prekey message with only one of the Kyber fields, or neither, with InvalidMessageError', async () => {
    const parsed = parsePreKeySignalMessage(await libsignalPreKeyMessage());
    const writer = (withId: boolean, withCiphertext: boolean): Uint8Array => {
      const w = protobuf.Writer.create()
        .uint32(0x28)
        .uint32(7)
        .uint32(0x30)
        .uint32(parsed.signedPreKeyId);
      if (withId) w.uint32(0x38).uint32(parsed.kyberPreKeyId);
      if (withCiphertext) w.uint32(0x42).bytes(parsed.kyberCiphertext);
      w.uint32(0x12).bytes(parsed.baseKey).uint32(0x1a).bytes(parsed.identityKey);
      w.uint32(0x22).bytes(parsed.message.serialized);
      return Uint8Array.from([0x44, ...w.finish()]);
    };
    expect(parsePreKeySignalMessage(writer(true, true)).kyberPreKeyId).to.equal(
      parsed.kyberPreKeyId,
    );
    for (const [id, ct, why] of [
      [true, false, 'both or neither'],
      [false, true, 'both or neither'],
      [false, false, 'must be present'],
    ] as const) {
      const error = throwsOf(() => parseCiphertext('prekey', writer(id, ct)));
      expect(error).to.be.instanceOf(InvalidMessageError);
      expect((error as Error).message).to.contain(why);
    }
  });

  it('refuses a Kyber ciphertext of the wrong length or type byte with InvalidMessageError', async () => {
    const parsed = parsePreKeySignalMessage(await libsignalPreKeyMessage());
    const short = encodePreKeySignalMessage({
      ...parsed,
      kyberCiphertext: parsed.kyberCiphertext.subarray(0, 1568),
      message: parsed.message.serialized,
    });
    expect(throwsOf(() => parseCiphertext('prekey', short))).to.be.instanceOf(InvalidMessageError);
    const mlkem = Uint8Array.from(parsed.kyberCiphertext);
    mlkem[0] = 0x0a;
    const typed = encodePreKeySignalMessage({
      ...parsed,
      kyberCiphertext: mlkem,
      message: parsed.message.serialized,
    });
    expect(throwsOf(() => parseCiphertext('prekey', typed))).to.be.instanceOf(InvalidMessageError);
  });

  it('refuses bodies shorter than version byte plus MAC with MessageTooShortError', () => {
    expect(
      throwsOf(() => parseCiphertext('whisper', new Uint8Array([0x44, 1, 2]))),
    ).to.be.instanceOf(MessageTooShortError);
    expect(throwsOf(() => parseCiphertext('prekey', new Uint8Array([])))).to.be.instanceOf(
      MessageTooShortError,
    );
  });

  it('refuses a truncated protobuf with InvalidMessageError', async () => {
    const bytes = await libsignalPreKeyMessage();
    for (const cut of [10, 40, 1000, bytes.length - 20]) {
      expect(
        throwsOf(() => parseCiphertext('prekey', bytes.subarray(0, cut))),
        `cut ${cut}`,
      ).to.be.instanceOf(InvalidMessageError);
    }
  });

  it('refuses a body larger than MAX_CIPHERTEXT_BYTES with MessageTooLargeError', () => {
    const body = new Uint8Array(limits.MAX_CIPHERTEXT_BYTES + 1);
    body[0] = 0x44;
    expect(throwsOf(() => parseCiphertext('whisper', body))).to.be.instanceOf(MessageTooLargeError);
  });

  it('refuses a SignalMessage without a counter or with a malformed ratchet key', () => {
    const noCounter = signalBody(Uint8Array.of(0x22, 0x00));
    expect(throwsOf(() => parseSignalMessage(noCounter))).to.be.instanceOf(InvalidMessageError);
    const shortKey = signalBody(
      Uint8Array.of(0x0a, 0x02, 0x05, 0x01, 0x10, 0x01, 0x22, 0x10, ...new Uint8Array(16)),
    );
    expect(throwsOf(() => parseSignalMessage(shortKey))).to.be.instanceOf(InvalidMessageError);
  });

  it('refuses an unknown ciphertext type with InvalidMessageError', async () => {
    const bytes = await libsignalPreKeyMessage();
    expect(throwsOf(() => parseCiphertext('sealed' as 'prekey', bytes))).to.be.instanceOf(
      InvalidMessageError,
    );
  });
});
