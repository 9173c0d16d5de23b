// The group cipher's operations (reference-impl/crypto/group/cipher.ts) apart from interop: who may
// encrypt with a record, rotation, distribution ids in any case, and that no refused operation
// writes to the store (libsignal's contract for group_decrypt, checked here with a recording store).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  InMemorySenderKeyStore,
  limits,
  parseSenderKeyMessage,
  processSenderKeyDistributionMessage,
  ProtocolError,
  ProtocolErrorCode,
  rotateSenderKey,
  type ProtocolAddress,
  type SenderKeyRecord,
} from '../../../../reference-impl/crypto/index.ts';
import { text, untext } from '../support/parties.ts';

const alice = { name: 'alice@wa.example', deviceId: 1 };
const bob = { name: 'bob@chat.example', deviceId: 2 };

async function codeOf(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return error instanceof ProtocolError ? error.code : String(error);
  }
  return undefined;
}

/** An in-memory store that counts its writes. */
class RecordingStore extends InMemorySenderKeyStore {
  writes = 0;
  override async storeSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void> {
    this.writes++;
    await super.storeSenderKey(sender, distributionId, record);
  }
}

describe('reference-impl/crypto/group/cipher', () => {
  it('alice cannot encrypt for a distribution id before she has created her sender key', async () => {
    const store = new InMemorySenderKeyStore();
    expect(await codeOf(() => groupEncrypt(alice, randomUUID(), text('x'), store))).to.equal(
      ProtocolErrorCode.NoSenderKeyState,
    );
  });

  it('bob cannot encrypt with the sender key alice distributed to him: it has no private signing key', async () => {
    const distributionId = randomUUID();
    const aliceStore = new InMemorySenderKeyStore();
    const bobStore = new InMemorySenderKeyStore();
    await processSenderKeyDistributionMessage(
      alice,
      await createSenderKeyDistributionMessage(alice, distributionId, aliceStore),
      bobStore,
    );
    expect(await codeOf(() => groupEncrypt(alice, distributionId, text('x'), bobStore))).to.equal(
      ProtocolErrorCode.InvalidSenderKeySession,
    );
  });

  it('creating the distribution message twice gives the same key at the current iteration', async () => {
    const distributionId = randomUUID();
    const store = new InMemorySenderKeyStore();
    const first = await createSenderKeyDistributionMessage(alice, distributionId, store);
    await groupEncrypt(alice, distributionId, text('one'), store);
    const second = await createSenderKeyDistributionMessage(alice, distributionId, store);
    expect(second.chainId).to.equal(first.chainId);
    expect(second.signingKey).to.deep.equal(first.signingKey);
    expect([first.iteration, second.iteration]).to.deep.equal([0, 1]);
  });

  it('a rotation gives alice a new chain id, chain key and signing key, and forgets the old key at her side', async () => {
    const distributionId = randomUUID();
    const store = new InMemorySenderKeyStore();
    const old = await createSenderKeyDistributionMessage(alice, distributionId, store);
    const rotated = await rotateSenderKey(alice, distributionId, store);
    expect(rotated.chainId).to.not.equal(old.chainId);
    expect(rotated.signingKey).to.not.deep.equal(old.signingKey);
    expect(rotated.chainKey).to.not.deep.equal(old.chainKey);
    expect(rotated.iteration).to.equal(0);
    const record = (await store.loadSenderKey(alice, distributionId))!;
    expect(record.states.map((s) => s.chainId)).to.deep.equal([rotated.chainId]);
    const body = (await groupEncrypt(alice, distributionId, text('new key'), store)).serialized;
    expect(parseSenderKeyMessage(body).chainId).to.equal(rotated.chainId);
  });

  it('takes a distribution id in upper case as the same id, and refuses one that is not a UUID', async () => {
    const distributionId = randomUUID();
    const store = new InMemorySenderKeyStore();
    await createSenderKeyDistributionMessage(alice, distributionId.toUpperCase(), store);
    const message = await groupEncrypt(alice, distributionId, text('x'), store);
    expect(message.distributionId).to.equal(distributionId);
    expect(
      await codeOf(() => createSenderKeyDistributionMessage(alice, 'group-1', store)),
    ).to.equal(ProtocolErrorCode.InvalidDistributionId);
  });

  it('refuses to encrypt a plaintext whose message would exceed the body limit, and stores nothing', async () => {
    const distributionId = randomUUID();
    const store = new RecordingStore();
    await createSenderKeyDistributionMessage(alice, distributionId, store);
    const writes = store.writes;
    const huge = new Uint8Array(limits.MAX_CIPHERTEXT_BYTES);
    expect(await codeOf(() => groupEncrypt(alice, distributionId, huge, store))).to.equal(
      ProtocolErrorCode.MessageTooLarge,
    );
    expect(store.writes).to.equal(writes);
    const next = await groupEncrypt(alice, distributionId, text('fits'), store);
    expect(next.iteration).to.equal(0);
  });

  it('writes nothing to the store for any refused group message, and writes once for a decrypted one', async () => {
    const distributionId = randomUUID();
    const aliceStore = new InMemorySenderKeyStore();
    const bobStore = new RecordingStore();
    await processSenderKeyDistributionMessage(
      alice,
      await createSenderKeyDistributionMessage(alice, distributionId, aliceStore),
      bobStore,
    );
    const body = (await groupEncrypt(alice, distributionId, text('hello'), aliceStore)).serialized;
    const writes = bobStore.writes;
    const tampered = Uint8Array.from(body);
    tampered[tampered.length - 1]! ^= 1;
    const refusals = [
      () => groupDecrypt(tampered, alice, bobStore),
      () => groupDecrypt(body, bob, bobStore),
      () => groupDecrypt(body.subarray(0, 40), alice, bobStore),
    ];
    for (const refused of refusals) expect(await codeOf(refused)).to.be.a('string');
    expect(bobStore.writes).to.equal(writes);
    expect(untext(await groupDecrypt(body, alice, bobStore))).to.equal('hello');
    expect(bobStore.writes).to.equal(writes + 1);
    expect(await codeOf(() => groupDecrypt(body, alice, bobStore))).to.equal(
      ProtocolErrorCode.DuplicatedMessage,
    );
    expect(bobStore.writes).to.equal(writes + 1);
  });

  it('keeps the sender keys of alice and of her second device apart', async () => {
    const distributionId = randomUUID();
    const aliceTablet = { ...alice, deviceId: 2 };
    const store = new InMemorySenderKeyStore();
    const phone = await createSenderKeyDistributionMessage(
      alice,
      distributionId,
      new InMemorySenderKeyStore(),
    );
    const tabletStore = new InMemorySenderKeyStore();
    const tablet = await createSenderKeyDistributionMessage(
      aliceTablet,
      distributionId,
      tabletStore,
    );
    await processSenderKeyDistributionMessage(alice, phone, store);
    await processSenderKeyDistributionMessage(aliceTablet, tablet, store);
    const body = (await groupEncrypt(aliceTablet, distributionId, text('tablet'), tabletStore))
      .serialized;
    expect(await codeOf(() => groupDecrypt(body, alice, store))).to.be.oneOf([
      ProtocolErrorCode.NoSenderKeyState,
      ProtocolErrorCode.SignatureValidationFailed,
    ]);
    expect(untext(await groupDecrypt(body, aliceTablet, store))).to.equal('tablet');
  });
});
