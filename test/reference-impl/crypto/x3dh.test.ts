// libsignal's X3DH chain-key known answers (rust/protocol/tests/ratchet.rs) against
// reference-impl/crypto/x3dh.ts, for both roles.
import { expect } from 'chai';
import { clampPrivateKey, keyPairFromPrivate } from '../../../reference-impl/crypto/curve.ts';
import {
  initializeAliceSession,
  initializeBobSession,
} from '../../../reference-impl/crypto/x3dh.ts';
import vectors from './vectors/libsignal-ratchet.json' with { type: 'json' };

const hex = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const v = vectors.x3dh;

describe('reference-impl/crypto/x3dh (libsignal ratchet.rs vectors)', () => {
  it('gives alice libsignal’s receiving chain key ab9be50e… for bob’s ratchet key', () => {
    const state = initializeAliceSession({
      ourIdentityKeyPair: keyPairFromPrivate(hex(v.aliceIdentityPrivate)),
      ourBaseKeyPair: keyPairFromPrivate(hex(v.aliceBasePrivate)),
      theirIdentityKey: hex(v.bobIdentityPublic),
      theirSignedPreKey: hex(v.bobSignedPreKeyPublic),
      theirOneTimePreKey: null,
      theirRatchetKey: hex(v.bobEphemeralPublic),
    });
    expect(toHex(state.localIdentityKey)).to.equal(v.aliceIdentityPublic);
    expect(toHex(state.remoteIdentityKey)).to.equal(v.bobIdentityPublic);
    expect(state.receiverChains).to.have.length(1);
    expect(toHex(state.receiverChains[0]!.ratchetKey)).to.equal(v.bobEphemeralPublic);
    expect(toHex(state.receiverChains[0]!.chainKey.key)).to.equal(v.expectedAliceReceiverChainKey);
    expect(state.sessionVersion).to.equal(3);
  });

  it('gives bob libsignal’s sending chain key 9797caca… on his ratchet key', () => {
    const state = initializeBobSession({
      ourIdentityKeyPair: keyPairFromPrivate(hex(v.bobIdentityPrivate)),
      ourSignedPreKeyPair: keyPairFromPrivate(hex(v.bobSignedPreKeyPrivate)),
      ourOneTimePreKeyPair: null,
      // libsignal builds this pair with from_public_and_private: the halves are used as given.
      ourRatchetKeyPair: {
        publicKey: hex(v.bobEphemeralPublic),
        privateKey: clampPrivateKey(hex(v.bobEphemeralPrivate)),
      },
      theirIdentityKey: hex(v.aliceIdentityPublic),
      theirBaseKey: hex(v.aliceBasePublic),
    });
    expect(toHex(state.localIdentityKey)).to.equal(v.bobIdentityPublic);
    expect(toHex(state.remoteIdentityKey)).to.equal(v.aliceIdentityPublic);
    expect(toHex(state.senderChain.chainKey.key)).to.equal(v.expectedBobSenderChainKey);
    expect(toHex(state.senderChain.ratchetKeyPair.publicKey)).to.equal(v.bobEphemeralPublic);
  });

  it('derives the vectors’ identity and signed prekey publics, but not their base and ephemeral ones', () => {
    expect(toHex(keyPairFromPrivate(hex(v.bobIdentityPrivate)).publicKey)).to.equal(
      v.bobIdentityPublic,
    );
    expect(toHex(keyPairFromPrivate(hex(v.bobSignedPreKeyPrivate)).publicKey)).to.equal(
      v.bobSignedPreKeyPublic,
    );
    // The published base and ephemeral halves do not belong together, which is why libsignal's
    // alice and bob tests expect different chain keys ("differs from the Java test").
    expect(toHex(keyPairFromPrivate(hex(v.aliceBasePrivate)).publicKey)).not.to.equal(
      v.aliceBasePublic,
    );
    expect(toHex(keyPairFromPrivate(hex(v.bobEphemeralPrivate)).publicKey)).not.to.equal(
      v.bobEphemeralPublic,
    );
  });
});
