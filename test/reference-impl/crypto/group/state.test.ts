// Sender-key chains and records (reference-impl/crypto/group/state.ts): the chain and message-key
// derivation against RFC 2104 / 5869 computed independently with node:crypto, and the record's
// rules for adding states as libsignal's add_sender_key_state (same chain id and key kept, same
// chain id under another key replaced, at most five, the oldest dropped first).
import { createHmac, hkdfSync } from 'node:crypto';
import { expect } from 'chai';
import { limits } from '../../../../reference-impl/crypto/index.ts';
import { generateKeyPair } from '../../../../reference-impl/crypto/curve.ts';
import {
  advanceTo,
  nextSenderChainKey,
  senderMessageKeys,
  senderMessageKeySeed,
  SenderKeyRecord,
  type SenderKeyState,
} from '../../../../reference-impl/crypto/group/state.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function state(
  chainId: number,
  signingKey = generateKeyPair().publicKey,
  seed = 1,
): SenderKeyState {
  return {
    chainId,
    chainKey: { iteration: 0, seed: new Uint8Array(32).fill(seed) },
    signingKey,
    signingPrivateKey: null,
    messageKeys: [],
  };
}

describe('reference-impl/crypto/group/state', () => {
  it('steps the chain with HMAC 0x02, seeds message keys with HMAC 0x01, and splits HKDF "WhisperGroup" into IV then AES key', () => {
    const seed = new Uint8Array(32).map((_, i) => i);
    const chain = { iteration: 41, seed };
    const next = nextSenderChainKey(chain);
    expect(next.iteration).to.equal(42);
    expect(hex(next.seed)).to.equal(createHmac('sha256', seed).update(Buffer.of(2)).digest('hex'));
    const messageSeed = senderMessageKeySeed(chain);
    expect(messageSeed.iteration).to.equal(41);
    const expectedSeed = createHmac('sha256', seed).update(Buffer.of(1)).digest();
    expect(hex(messageSeed.seed)).to.equal(expectedSeed.toString('hex'));
    const okm = Buffer.from(hkdfSync('sha256', expectedSeed, Buffer.alloc(0), 'WhisperGroup', 48));
    const keys = senderMessageKeys(messageSeed);
    expect(hex(keys.iv)).to.equal(okm.subarray(0, 16).toString('hex'));
    expect(hex(keys.cipherKey)).to.equal(okm.subarray(16, 48).toString('hex'));
  });

  it('yields the same key for an iteration whether reached in one jump or step by step, and keeps the skipped ones oldest first', () => {
    const start = state(1);
    const jumped = advanceTo(start, 5);
    if (typeof jumped === 'string') throw new Error(jumped);
    let stepped = start;
    let key;
    for (let i = 0; i <= 5; i++) {
      const result = advanceTo(stepped, i);
      if (typeof result === 'string') throw new Error(result);
      stepped = result.state;
      key = result.key;
    }
    expect(hex(jumped.key.seed)).to.equal(hex(key!.seed));
    expect(hex(jumped.state.chainKey.seed)).to.equal(hex(stepped.chainKey.seed));
    expect(jumped.state.chainKey.iteration).to.equal(6);
    expect(jumped.state.messageKeys.map((k) => k.iteration)).to.deep.equal([0, 1, 2, 3, 4]);
    const taken = advanceTo(jumped.state, 2);
    if (typeof taken === 'string') throw new Error(taken);
    expect(taken.state.messageKeys.map((k) => k.iteration)).to.deep.equal([0, 1, 3, 4]);
    expect(advanceTo(taken.state, 2)).to.equal('duplicate');
    expect(start.messageKeys).to.deep.equal([]);
  });

  it(`keeps at most ${limits.SENDER_KEY_MAX_MESSAGE_KEYS} skipped keys, the newest`, () => {
    const result = advanceTo(state(1), 3000);
    if (typeof result === 'string') throw new Error(result);
    const kept = result.state.messageKeys.map((k) => k.iteration);
    expect(kept).to.have.length(limits.SENDER_KEY_MAX_MESSAGE_KEYS);
    expect(kept[0]).to.equal(3000 - limits.SENDER_KEY_MAX_MESSAGE_KEYS);
    expect(kept.at(-1)).to.equal(2999);
  });

  it('refuses to move a chain past iteration 2^32 − 1', () => {
    const end = { ...state(1), chainKey: { iteration: 0xffff_fffe, seed: new Uint8Array(32) } };
    expect(typeof advanceTo(end, 0xffff_fffe)).to.equal('object');
    expect(advanceTo(end, 0xffff_ffff)).to.equal('exhausted');
  });

  it(`adds each new state in front and drops the oldest beyond ${limits.MAX_SENDER_KEY_STATES}`, () => {
    let record = new SenderKeyRecord();
    for (let chainId = 1; chainId <= 6; chainId++) record = record.adding(state(chainId));
    expect(record.states.map((s) => s.chainId)).to.deep.equal([6, 5, 4, 3, 2]);
    expect(record.current?.chainId).to.equal(6);
    expect(record.stateFor(1)).to.equal(undefined);
  });

  it('keeps a state added again with the same chain id and signing key as it was, moved to the front', () => {
    const key = generateKeyPair().publicKey;
    const advanced = advanceTo(state(1, key), 3);
    if (typeof advanced === 'string') throw new Error(advanced);
    let record = new SenderKeyRecord([advanced.state]).adding(state(2));
    record = record.adding(state(1, key, 9));
    expect(record.states.map((s) => s.chainId)).to.deep.equal([1, 2]);
    expect(record.current).to.equal(advanced.state);
  });

  it('replaces a state of the same chain id under another signing key', () => {
    const record = new SenderKeyRecord([state(1)]).adding(state(2)).adding(state(1, undefined, 7));
    expect(record.states.map((s) => s.chainId)).to.deep.equal([1, 2]);
    expect(hex(record.current!.chainKey.seed)).to.equal(hex(new Uint8Array(32).fill(7)));
  });
});
