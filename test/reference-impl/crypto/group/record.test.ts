// The serialised sender-key record (reference-impl/crypto/group/record.ts): a round trip keeps
// everything a later decryption needs, and any deviation from the format is refused with
// INVALID_SENDER_KEY_RECORD.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  createSenderKeyDistributionMessage,
  deserializeSenderKeyRecord,
  groupDecrypt,
  groupEncrypt,
  InMemorySenderKeyStore,
  processSenderKeyDistributionMessage,
  ProtocolError,
  ProtocolErrorCode,
  serializeSenderKeyRecord,
} from '../../../../reference-impl/crypto/index.ts';
import { text, untext } from '../support/parties.ts';

const alice = { name: 'alice@wa.example', deviceId: 1 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : String(error);
  }
  return undefined;
}

/** bob's record of alice's key after skipping messages 0 and 1, and the messages still to come. */
async function recordWithSkippedKeys(): Promise<{
  bytes: Uint8Array;
  held: Uint8Array[];
  distributionId: string;
}> {
  const distributionId = randomUUID();
  const aliceStore = new InMemorySenderKeyStore();
  const bobStore = new InMemorySenderKeyStore();
  const distribution = await createSenderKeyDistributionMessage(alice, distributionId, aliceStore);
  await processSenderKeyDistributionMessage(alice, distribution, bobStore);
  const held = [];
  for (let i = 0; i < 4; i++) {
    held.push((await groupEncrypt(alice, distributionId, text(`m${i}`), aliceStore)).serialized);
  }
  await groupDecrypt(held[2]!, alice, bobStore);
  const record = (await bobStore.loadSenderKey(alice, distributionId))!;
  return { bytes: serializeSenderKeyRecord(record), held, distributionId };
}

describe('reference-impl/crypto/group/record', () => {
  it('restores a record that decrypts the skipped and the later messages after a round trip', async () => {
    const { bytes, held, distributionId } = await recordWithSkippedKeys();
    const restored = deserializeSenderKeyRecord(bytes);
    expect(serializeSenderKeyRecord(restored)).to.deep.equal(bytes);
    const store = new InMemorySenderKeyStore();
    await store.storeSenderKey(alice, distributionId, restored);
    for (const i of [0, 3, 1]) {
      expect(untext(await groupDecrypt(held[i]!, alice, store))).to.equal(`m${i}`);
    }
  });

  it('keeps the private signing key of our own sender key, and only there', async () => {
    const distributionId = randomUUID();
    const store = new InMemorySenderKeyStore();
    await createSenderKeyDistributionMessage(alice, distributionId, store);
    const own = JSON.parse(
      Buffer.from(
        serializeSenderKeyRecord((await store.loadSenderKey(alice, distributionId))!),
      ).toString(),
    );
    expect(own.states[0].signingPrivateKey).to.be.a('string');
    const { bytes } = await recordWithSkippedKeys();
    expect(JSON.parse(Buffer.from(bytes).toString()).states[0].signingPrivateKey).to.equal(null);
  });

  it('refuses every deviation from the format with INVALID_SENDER_KEY_RECORD', async () => {
    const { bytes } = await recordWithSkippedKeys();
    const good = JSON.parse(Buffer.from(bytes).toString());
    const state = good.states[0];
    const variants: [string, unknown][] = [
      ['unknown version', { ...good, version: 2 }],
      ['extra member', { ...good, extra: 1 }],
      ['missing states', { version: 1 }],
      [
        'six states',
        { ...good, states: Array.from({ length: 6 }, (_, i) => ({ ...state, chainId: i })) },
      ],
      ['two states of one chain id', { ...good, states: [state, state] }],
      ['chain key of 31 bytes', { ...good, states: [{ ...state, chainKey: 'AAAA' }] }],
      [
        'signing key of another type',
        { ...good, states: [{ ...state, signingKey: Buffer.alloc(33, 6).toString('base64url') }] },
      ],
      ['negative iteration', { ...good, states: [{ ...state, iteration: -1 }] }],
      ['iteration above 2^32 − 1', { ...good, states: [{ ...state, iteration: 2 ** 32 }] }],
      [
        'a kept key at the chain iteration',
        { ...good, states: [{ ...state, messageKeys: [[state.iteration, state.chainKey]] }] },
      ],
      ['padded base64url', { ...good, states: [{ ...state, chainKey: `${state.chainKey}=` }] }],
    ];
    for (const [why, value] of variants) {
      const data = new TextEncoder().encode(JSON.stringify(value));
      expect(
        codeOf(() => deserializeSenderKeyRecord(data)),
        why,
      ).to.equal(ProtocolErrorCode.InvalidSenderKeyRecord);
    }
    expect(codeOf(() => deserializeSenderKeyRecord(Uint8Array.of(0xff, 0xfe)))).to.equal(
      ProtocolErrorCode.InvalidSenderKeyRecord,
    );
  });
});
