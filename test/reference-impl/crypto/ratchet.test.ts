// libsignal's chain-key / message-key known answers (rust/protocol/src/ratchet/keys.rs) against
// reference-impl/crypto/ratchet.ts.
import { expect } from 'chai';
import { messageKeys, nextChainKey } from '../../../reference-impl/crypto/ratchet.ts';
import vectors from './vectors/libsignal-ratchet.json' with { type: 'json' };

const hex = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('reference-impl/crypto/ratchet (libsignal keys.rs vectors)', () => {
  const chain = { key: hex(vectors.chainKey.seed), index: 0 };

  it('derives libsignal’s message cipher key and MAC key from the chain key seed', () => {
    const keys = messageKeys(chain, null);
    expect(toHex(keys.cipherKey)).to.equal(vectors.chainKey.messageCipherKey);
    expect(toHex(keys.macKey)).to.equal(vectors.chainKey.messageMacKey);
    expect(keys.counter).to.equal(0);
  });

  it('derives libsignal’s next chain key and advances the index by one', () => {
    const next = nextChainKey(chain);
    expect(toHex(next.key)).to.equal(vectors.chainKey.nextChainKey);
    expect(next.index).to.equal(1);
    expect(messageKeys(next, null).counter).to.equal(1);
  });
});
