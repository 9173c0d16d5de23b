// Key encoding, clamping on load, signed prekeys, prekey batches and registration ids
// (reference-impl/crypto/keys.ts and curve.ts), compared with libsignal-client 0.72.1 where it decides.
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  calculateAgreement,
  checkPublicKey,
  clampPrivateKey,
} from '../../../reference-impl/crypto/curve.ts';
import {
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  InvalidKeyError,
  verifySignature,
} from '../../../reference-impl/crypto/index.ts';
import { toBuffer } from './support/parties.ts';

describe('reference-impl/crypto/keys', () => {
  it('encodes identity public keys as 0x05 followed by 32 bytes and private keys as 32 bytes', () => {
    const identity = IdentityKeyPair.generate();
    expect(identity.publicKey).to.have.length(33);
    expect(identity.publicKey[0]).to.equal(0x05);
    expect(identity.privateKey).to.have.length(32);
  });

  it('clamps a private key on load exactly as libsignal does and derives libsignal’s public key', () => {
    for (let i = 0; i < 10; i++) {
      const raw = randomBytes(32);
      raw[0] = raw[0]! | 7;
      raw[31] = raw[31]! | 0x80;
      const ours = IdentityKeyPair.fromPrivateKey(raw);
      const theirs = Signal.PrivateKey.deserialize(raw);
      expect(Buffer.from(ours.privateKey)).to.deep.equal(theirs.serialize());
      expect(Buffer.from(ours.publicKey)).to.deep.equal(theirs.getPublicKey().serialize());
      expect(Buffer.from(clampPrivateKey(raw))).to.deep.equal(theirs.serialize());
    }
  });

  it('agrees on the same X25519 secret as libsignal', () => {
    const ours = IdentityKeyPair.generate();
    const theirs = Signal.PrivateKey.generate();
    const shared = calculateAgreement(
      new Uint8Array(theirs.getPublicKey().serialize()),
      ours.privateKey,
    );
    const expected = theirs.agree(Signal.PublicKey.deserialize(toBuffer(ours.publicKey)));
    expect(Buffer.from(shared)).to.deep.equal(expected);
  });

  it('refuses public keys of the wrong length or type byte with InvalidKeyError', () => {
    const good = IdentityKeyPair.generate().publicKey;
    expect(() => checkPublicKey(good.subarray(0, 32))).to.throw(InvalidKeyError);
    const wrongType = Uint8Array.from(good);
    wrongType[0] = 0x06;
    expect(() => checkPublicKey(wrongType)).to.throw(InvalidKeyError);
    expect(() => IdentityKeyPair.fromPrivateKey(new Uint8Array(31))).to.throw(InvalidKeyError);
  });

  it('refuses an X25519 agreement with a low-order public key with InvalidKeyError', () => {
    const zero = new Uint8Array(33);
    zero[0] = 0x05;
    expect(() => calculateAgreement(zero, IdentityKeyPair.generate().privateKey)).to.throw(
      InvalidKeyError,
    );
  });

  it('signs a signed prekey’s serialised public key so that libsignal verifies it', () => {
    const identity = IdentityKeyPair.generate();
    const signed = generateSignedPreKey(identity, 7, 1234);
    expect(signed.keyId).to.equal(7);
    expect(signed.timestamp).to.equal(1234);
    expect(
      verifySignature(identity.publicKey, signed.keyPair.publicKey, signed.signature),
    ).to.equal(true);
    const theirs = Signal.PublicKey.deserialize(toBuffer(identity.publicKey));
    expect(theirs.verify(toBuffer(signed.keyPair.publicKey), toBuffer(signed.signature))).to.equal(
      true,
    );
  });

  it('generates a batch of one-time prekeys with consecutive ids and distinct keys', () => {
    const batch = generatePreKeys(100, 50);
    expect(batch.map((k) => k.keyId)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 100 + i));
    expect(
      new Set(batch.map((k) => Buffer.from(k.keyPair.publicKey).toString('hex'))).size,
    ).to.equal(50);
  });

  it('wraps prekey ids past 0xFFFFFF back to 1', () => {
    expect(generatePreKeys(0xffffff, 2).map((k) => k.keyId)).to.deep.equal([0xffffff, 1]);
  });

  it('generates registration ids within 1..16380', () => {
    for (let i = 0; i < 2000; i++) {
      const id = generateRegistrationId();
      expect(id).to.be.within(1, 16380);
    }
  });
});
