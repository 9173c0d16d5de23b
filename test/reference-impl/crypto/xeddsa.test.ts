// XEdDSA as libsignal signs and verifies, checked against libsignal-client 0.103.0 both ways
// (reference-impl/crypto/xeddsa.ts).
import * as Signal from '@signalapp/libsignal-client';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { clampPrivateKey } from '../../../reference-impl/crypto/curve.ts';
import { IdentityKeyPair, verifySignature } from '../../../reference-impl/crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../../reference-impl/crypto/xeddsa.ts';
import { toBuffer } from './support/parties.ts';

describe('reference-impl/crypto/xeddsa', () => {
  it('makes signatures that libsignal accepts, over many keys and messages', () => {
    let signBits = 0;
    for (let i = 0; i < 40; i++) {
      const identity = IdentityKeyPair.generate();
      const message = randomBytes(i * 7);
      const signature = identity.sign(message);
      signBits |= 1 << (signature[63]! >> 7);
      const theirs = Signal.PublicKey.deserialize(toBuffer(identity.publicKey));
      expect(theirs.verify(toBuffer(message), toBuffer(signature))).to.equal(true);
    }
    expect(signBits, 'both Edwards sign bits occur').to.equal(3);
  });

  it('accepts signatures made by libsignal, over many keys and messages', () => {
    for (let i = 0; i < 40; i++) {
      const theirs = Signal.PrivateKey.generate();
      const message = randomBytes(i * 5 + 1);
      const signature = theirs.sign(message);
      const publicKey = new Uint8Array(theirs.getPublicKey().serialize());
      expect(verifySignature(publicKey, message, signature)).to.equal(true);
    }
  });

  it('signs with a libsignal private key so that libsignal verifies it', () => {
    const theirs = Signal.PrivateKey.generate();
    const identity = IdentityKeyPair.fromPrivateKey(new Uint8Array(theirs.serialize()));
    expect(Buffer.from(identity.publicKey)).to.deep.equal(theirs.getPublicKey().serialize());
    const message = randomBytes(33);
    expect(theirs.getPublicKey().verify(message, toBuffer(identity.sign(message)))).to.equal(true);
  });

  it('is deterministic for a given 64-byte nonce input and random without one', () => {
    const identity = IdentityKeyPair.generate();
    const message = randomBytes(20);
    const nonce = randomBytes(64);
    const a = xeddsaSign(identity.privateKey, message, nonce);
    expect(Buffer.from(xeddsaSign(identity.privateKey, message, nonce))).to.deep.equal(
      Buffer.from(a),
    );
    expect(Buffer.from(identity.sign(message))).not.to.deep.equal(
      Buffer.from(identity.sign(message)),
    );
  });

  it('refuses a signature with a flipped bit, a flipped sign bit, another message or another key', () => {
    const identity = IdentityKeyPair.generate();
    const message = randomBytes(33);
    const signature = identity.sign(message);
    expect(identity.verify(message, signature)).to.equal(true);
    for (const at of [0, 17, 32, 50, 62]) {
      const bad = Uint8Array.from(signature);
      bad[at] = bad[at]! ^ 0x01;
      expect(identity.verify(message, bad), `byte ${at}`).to.equal(false);
    }
    const flippedSign = Uint8Array.from(signature);
    flippedSign[63] = flippedSign[63]! ^ 0x80;
    expect(identity.verify(message, flippedSign)).to.equal(false);
    expect(identity.verify(randomBytes(33), signature)).to.equal(false);
    expect(IdentityKeyPair.generate().verify(message, signature)).to.equal(false);
    expect(identity.verify(message, signature.subarray(0, 63))).to.equal(false);
  });

  it('refuses a signature whose s has any of its top three bits set', () => {
    const identity = IdentityKeyPair.generate();
    const message = randomBytes(33);
    const signature = identity.sign(message);
    const bad = Uint8Array.from(signature);
    bad[63] = bad[63]! | 0x20;
    expect(xeddsaVerify(identity.publicKey, message, bad)).to.equal(false);
  });

  it('derives the nonce from SHA-512(0xFE ‖ 0xFF×31 ‖ a ‖ message ‖ random), XEdDSA’s hash_1 prefix, not 0xFF×32', () => {
    const identity = IdentityKeyPair.generate();
    const message = randomBytes(40);
    const random = randomBytes(64);
    const signature = xeddsaSign(identity.privateKey, message, random);
    const nonceR = (prefix: Uint8Array): Buffer => {
      const a = clampPrivateKey(identity.privateKey);
      const digest = createHash('sha512')
        .update(prefix)
        .update(a)
        .update(message)
        .update(random)
        .digest();
      const r = sodium.crypto_core_ed25519_scalar_reduce(digest);
      return Buffer.from(sodium.crypto_scalarmult_ed25519_base_noclamp(r));
    };
    const xeddsaPrefix = new Uint8Array(32).fill(0xff);
    xeddsaPrefix[0] = 0xfe;
    expect(Buffer.from(signature.subarray(0, 32))).to.deep.equal(nonceR(xeddsaPrefix));
    expect(Buffer.from(signature.subarray(0, 32))).not.to.deep.equal(
      nonceR(new Uint8Array(32).fill(0xff)),
    );
  });

  it('accepts a signature whose s is not reduced (s + ℓ < 2^253) as libsignal does, both implementations agreeing', () => {
    const order = 2n ** 252n + 27742317777372353535851937790883648493n;
    const toBig = (bytes: Uint8Array): bigint =>
      bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
    let checked = 0;
    for (let i = 0; i < 20; i++) {
      const identity = IdentityKeyPair.generate();
      const message = randomBytes(33);
      const signature = identity.sign(message);
      const signBit = signature[63]! & 0x80;
      const s = toBig(Uint8Array.from(signature.subarray(32), (b, j) => (j === 31 ? b & 0x7f : b)));
      const unreduced = s + order;
      if (unreduced >= 2n ** 253n) continue;
      const bad = Uint8Array.from(signature);
      let v = unreduced;
      for (let j = 32; j < 64; j++) {
        bad[j] = Number(v & 0xffn);
        v >>= 8n;
      }
      bad[63] = bad[63]! | signBit;
      expect(xeddsaVerify(identity.publicKey, message, bad), 'parley').to.equal(true);
      const theirs = Signal.PublicKey.deserialize(toBuffer(identity.publicKey));
      expect(theirs.verify(toBuffer(message), toBuffer(bad)), 'libsignal').to.equal(true);
      checked++;
    }
    expect(checked).to.be.greaterThan(5);
  });
});
