// Known answers of libsignal-client 0.103.0's group cipher (vectors/libsignal-sender-keys.json, made
// by tools/sender-key-vectors.ts), checked without running libsignal: the distribution message of
// fixed key material byte for byte, libsignal's group messages decrypted out of order after a skip,
// and our encryption from the same state equal to libsignal's up to the randomised signature.
import { expect } from 'chai';
import {
  groupDecrypt,
  groupEncrypt,
  InMemorySenderKeyStore,
  parseSenderKeyMessage,
  processSenderKeyDistributionMessage,
  SenderKeyRecord,
} from '../../../../reference-impl/crypto/index.ts';
import {
  encodeSenderKeyDistributionMessage,
  verifySenderKeyMessage,
} from '../../../../reference-impl/crypto/group/wire.ts';
import vectors from '../vectors/libsignal-sender-keys.json' with { type: 'json' };

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (value: Uint8Array): string => Buffer.from(value).toString('hex');
const alice = { name: 'alice@wa.example', deviceId: 1 };

describe('reference-impl/crypto/group against libsignal 0.103.0 sender-key vectors', () => {
  it('encodes the distribution message of the vector key byte for byte as libsignal', () => {
    const message = encodeSenderKeyDistributionMessage({
      distributionId: vectors.distributionId,
      chainId: vectors.chainId,
      iteration: 0,
      chainKey: bytes(vectors.chainKey),
      signingKey: bytes(vectors.signingPublicKey),
    });
    expect(hex(message.serialized)).to.equal(vectors.distributionMessage);
  });

  it("decrypts libsignal's group messages from its distribution message, the skipped one last", async () => {
    const store = new InMemorySenderKeyStore();
    await processSenderKeyDistributionMessage(alice, bytes(vectors.distributionMessage), store);
    const order = [40, 0, 2, 1];
    for (const iteration of order) {
      const vector = vectors.messages.find((m) => m.iteration === iteration)!;
      const message = bytes(vector.message);
      expect(parseSenderKeyMessage(message).iteration).to.equal(iteration);
      expect(
        verifySenderKeyMessage(parseSenderKeyMessage(message), bytes(vectors.signingPublicKey)),
      ).to.equal(true);
      expect(hex(await groupDecrypt(message, alice, store))).to.equal(vector.plaintext);
    }
  });

  it('encrypts from the vector state the same bytes as libsignal up to the signature', async () => {
    const store = new InMemorySenderKeyStore();
    await store.storeSenderKey(
      alice,
      vectors.distributionId,
      new SenderKeyRecord([
        {
          chainId: vectors.chainId,
          chainKey: { iteration: 0, seed: bytes(vectors.chainKey) },
          signingKey: bytes(vectors.signingPublicKey),
          signingPrivateKey: bytes(vectors.signingPrivateKey),
          messageKeys: [],
        },
      ]),
    );
    for (let iteration = 0; iteration <= 40; iteration++) {
      const vector = vectors.messages.find((m) => m.iteration === iteration);
      const ours = await groupEncrypt(
        alice,
        vectors.distributionId,
        vector === undefined ? new Uint8Array(1) : bytes(vector.plaintext),
        store,
      );
      if (vector === undefined) continue;
      expect(hex(ours.serialized.subarray(0, -64)), `iteration ${iteration}`).to.equal(
        vector.message.slice(0, -128),
      );
      expect(verifySenderKeyMessage(ours, bytes(vectors.signingPublicKey))).to.equal(true);
    }
  });
});
