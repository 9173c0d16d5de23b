// SignalMessage / PreKeySignalMessage framing (reference-impl/crypto/wire.ts): libsignal's field
// numbers and version byte, and typed refusals of unknown versions, truncated and oversized bodies.
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import {
  InvalidMessageError,
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

function libsignalPreKeyMessage(): { bytes: Buffer; macKey: Buffer; identity: Signal.PublicKey } {
  const identity = Signal.IdentityKeyPair.generate().publicKey;
  const macKey = Buffer.alloc(32, 7);
  const inner = Signal.SignalMessage._new(
    3,
    macKey,
    Signal.PrivateKey.generate().getPublicKey(),
    5,
    2,
    Buffer.alloc(32, 9),
    identity,
    identity,
  );
  const base = Signal.PrivateKey.generate().getPublicKey();
  const bytes = Signal.PreKeySignalMessage._new(3, 77, 9, 11, base, identity, inner).serialize();
  return { bytes, macKey, identity };
}

const throwsOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('reference-impl/crypto/wire', () => {
  it('parses a libsignal PreKeySignalMessage and re-encodes it byte for byte but for the version byte', () => {
    const { bytes, macKey, identity } = libsignalPreKeyMessage();
    expect(bytes[0]).to.equal(0x34); // libsignal 0.72.1 writes its highest known version (4) low
    const parsed = parsePreKeySignalMessage(bytes);
    expect(parsed.registrationId).to.equal(77);
    expect(parsed.preKeyId).to.equal(9);
    expect(parsed.signedPreKeyId).to.equal(11);
    expect(parsed.message.counter).to.equal(5);
    expect(parsed.message.previousCounter).to.equal(2);
    const inner = encodeSignalMessage({
      macKey,
      ratchetKey: parsed.message.ratchetKey,
      counter: 5,
      previousCounter: 2,
      ciphertext: parsed.message.ciphertext,
      senderIdentity: identity.serialize(),
      receiverIdentity: identity.serialize(),
    });
    // The protobuf of the inner message is identical (version byte and MAC cover different bytes).
    const theirsInner = parsed.message.serialized;
    expect(Buffer.from(inner.subarray(1, -8))).to.deep.equal(
      Buffer.from(theirsInner.subarray(1, -8)),
    );
    // Around the same inner bytes, the outer protobuf is identical too (fields in tag order).
    const ours = encodePreKeySignalMessage({ ...parsed, message: theirsInner });
    expect(ours[0]).to.equal(0x33);
    expect(Buffer.from(ours.subarray(1))).to.deep.equal(bytes.subarray(1));
  });

  it('writes messages that libsignal parses', () => {
    const identity = Signal.IdentityKeyPair.generate().publicKey.serialize();
    const ratchetKey = Signal.PrivateKey.generate().getPublicKey().serialize();
    const body = encodeSignalMessage({
      macKey: new Uint8Array(32),
      ratchetKey,
      counter: 3,
      previousCounter: 1,
      ciphertext: new Uint8Array(16),
      senderIdentity: identity,
      receiverIdentity: identity,
    });
    const theirs = Signal.SignalMessage.deserialize(Buffer.from(body));
    expect(theirs.counter()).to.equal(3);
    expect(theirs.messageVersion()).to.equal(3);
  });

  it('refuses unknown message versions with UnrecognizedVersionError', () => {
    const { bytes } = libsignalPreKeyMessage();
    for (const version of [0x23, 0x44, 0xf3]) {
      const body = Uint8Array.from(bytes);
      body[0] = version;
      expect(throwsOf(() => parseCiphertext('prekey', body))).to.be.instanceOf(
        UnrecognizedVersionError,
      );
    }
  });

  it('refuses bodies shorter than version byte plus MAC with MessageTooShortError', () => {
    expect(
      throwsOf(() => parseCiphertext('whisper', new Uint8Array([0x33, 1, 2]))),
    ).to.be.instanceOf(MessageTooShortError);
    expect(throwsOf(() => parseCiphertext('prekey', new Uint8Array([])))).to.be.instanceOf(
      MessageTooShortError,
    );
  });

  it('refuses a truncated protobuf with InvalidMessageError', () => {
    const { bytes } = libsignalPreKeyMessage();
    for (const cut of [10, 40, bytes.length - 20]) {
      expect(
        throwsOf(() => parseCiphertext('prekey', bytes.subarray(0, cut))),
        `cut ${cut}`,
      ).to.be.instanceOf(InvalidMessageError);
    }
  });

  it('refuses a body larger than MAX_CIPHERTEXT_BYTES with MessageTooLargeError', () => {
    const body = new Uint8Array(limits.MAX_CIPHERTEXT_BYTES + 1);
    body[0] = 0x33;
    expect(throwsOf(() => parseCiphertext('whisper', body))).to.be.instanceOf(MessageTooLargeError);
  });

  it('refuses a SignalMessage without a counter or with a malformed ratchet key', () => {
    const noCounter = new Uint8Array([0x33, 0x22, 0x00, ...new Uint8Array(8)]);
    expect(throwsOf(() => parseSignalMessage(noCounter))).to.be.instanceOf(InvalidMessageError);
    const shortKey = new Uint8Array([
      0x33,
      0x0a,
      0x02,
      0x05,
      0x01,
      0x10,
      0x01,
      0x22,
      0x10,
      ...new Uint8Array(16),
      ...new Uint8Array(8),
    ]);
    expect(throwsOf(() => parseSignalMessage(shortKey))).to.be.instanceOf(InvalidMessageError);
  });

  it('refuses an unknown ciphertext type with InvalidMessageError', () => {
    const { bytes } = libsignalPreKeyMessage();
    expect(throwsOf(() => parseCiphertext('sealed' as 'prekey', bytes))).to.be.instanceOf(
      InvalidMessageError,
    );
  });
});
