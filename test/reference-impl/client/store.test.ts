// The SDK's persistent store: a SQLite file keeps identity, prekeys, sessions, dedupe ids and
// pending sends across a reopen (spec/crypto.md "Sessions", spec/messages.md DELIV-011, DELIV-023).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  IdentityKeyPair,
  InMemoryProtocolStore,
  InMemorySenderKeyStore,
  processSenderKeyDistributionMessage,
  processPreKeyBundle,
  ReusedBaseKeyError,
} from '../../../reference-impl/crypto/index.ts';
import { MemoryClientStore, type ClientStore } from '../../../reference-impl/client/store.ts';
import { SqliteClientStore } from '../../../reference-impl/client/sqlite-store.ts';

describe('client store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-client-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function seed(store: ClientStore): Promise<IdentityKeyPair> {
    const identity = IdentityKeyPair.generate();
    await store.setLocalIdentity({ identityPrivateKey: identity.privateKey, registrationId: 4242 });
    await store.setAccount({ address: 'alice@wa.example', deviceId: 2, mode: 'first-party' });
    const [preKey] = generatePreKeys(7, 1);
    await store.savePreKey(7, preKey!);
    await store.saveSignedPreKey(3, generateSignedPreKey(identity, 3, 1000));
    await store.setCounter('nextPreKeyId', 8);
    await store.markProcessed('m-1', 1);
    await store.savePendingSend({
      idempotencyKey: 'k-1',
      to: 'bob@chat.example',
      content: '{"v":1}',
      messages: [{ deviceId: 1, registrationId: 5, type: 'whisper', body: 'AAAA' }],
      createdAt: 10,
    });
    await store.setRequestSender('mallory@chat.example', true);
    await store.saveInbound('m-2', '{"messageId":"m-2"}');
    return identity;
  }

  it('keeps the identity, account, prekeys, counters, dedupe ids, undelivered messages and pending sends after a reopen', async () => {
    const path = join(dir, 'alice.db');
    const first = new SqliteClientStore(path);
    const identity = await seed(first);
    await first.close();

    const again = new SqliteClientStore(path);
    expect(Buffer.from((await again.getIdentityKeyPair()).publicKey)).to.deep.equal(
      Buffer.from(identity.publicKey),
    );
    expect(await again.getLocalRegistrationId()).to.equal(4242);
    expect(await again.getAccount()).to.deep.equal({
      address: 'alice@wa.example',
      deviceId: 2,
      mode: 'first-party',
    });
    expect((await again.getPreKey(7))?.keyId).to.equal(7);
    expect((await again.getSignedPreKey(3))?.timestamp).to.equal(1000);
    expect(await again.getCounter('nextPreKeyId')).to.equal(8);
    expect(await again.getCounter('nextSignedPreKeyId')).to.equal(1);
    expect(await again.hasProcessed('m-1')).to.equal(true);
    expect(await again.hasProcessed('m-2')).to.equal(false);
    expect((await again.listPendingSends()).map((p) => p.idempotencyKey)).to.deep.equal(['k-1']);
    expect(await again.isRequestSender('mallory@chat.example')).to.equal(true);
    expect(await again.getInbound('m-2')).to.equal('{"messageId":"m-2"}');
    await again.close();
  });

  it('keeps a PQXDH session so that alice decrypts bob’s next message after a reopen, her one-time Kyber prekey consumed (ENC-049)', async () => {
    const path = join(dir, 'alice.db');
    const aliceIdentity = IdentityKeyPair.generate();
    const alice = new SqliteClientStore(path);
    await alice.setLocalIdentity({
      identityPrivateKey: aliceIdentity.privateKey,
      registrationId: 11,
    });
    const signed = generateSignedPreKey(aliceIdentity, 1);
    const [oneTime] = generatePreKeys(1, 1);
    await alice.saveSignedPreKey(1, signed);
    await alice.savePreKey(1, oneTime!);
    const kyber = generateKyberPreKey(aliceIdentity, 5);
    await alice.saveKyberPreKey(5, kyber);

    const bob = new InMemoryProtocolStore(IdentityKeyPair.generate(), generateRegistrationId());
    const aliceAddress = { name: 'alice@wa.example', deviceId: 1 };
    const bobAddress = { name: 'bob@chat.example', deviceId: 1 };
    await processPreKeyBundle(
      {
        registrationId: 11,
        deviceId: 1,
        identityKey: aliceIdentity.publicKey,
        signedPreKeyId: 1,
        signedPreKey: signed.keyPair.publicKey,
        signedPreKeySignature: signed.signature,
        preKeyId: 1,
        preKey: oneTime!.keyPair.publicKey,
        kyberPreKeyId: 5,
        kyberPreKey: kyber.keyPair.publicKey,
        kyberPreKeySignature: kyber.signature,
      },
      aliceAddress,
      bob,
    );
    const hello = await encrypt(new TextEncoder().encode('hello'), aliceAddress, bob);
    expect(Buffer.from(await decrypt(hello, bobAddress, alice)).toString()).to.equal('hello');
    expect(await alice.getPreKey(1)).to.equal(undefined);
    expect(await alice.getKyberPreKey(5)).to.equal(undefined);
    await alice.close();

    const reopened = new SqliteClientStore(path);
    expect(await reopened.sessionDevices('bob@chat.example')).to.deep.equal([1]);
    const again = await encrypt(new TextEncoder().encode('again'), aliceAddress, bob);
    expect(Buffer.from(await decrypt(again, bobAddress, reopened)).toString()).to.equal('again');
    const reply = await encrypt(new TextEncoder().encode('hi bob'), bobAddress, reopened);
    expect(Buffer.from(await decrypt(reply, aliceAddress, bob)).toString()).to.equal('hi bob');
    await reopened.close();
  });

  for (const [name, make] of [
    ['memory', () => new MemoryClientStore()],
    ['sqlite', () => new SqliteClientStore(':memory:')],
  ] as const) {
    it(`the ${name} store prunes old dedupe ids and drops a sent pending send`, async () => {
      const store: ClientStore = make();
      await seed(store);
      const record = (await store.loadSession({ name: 'x', deviceId: 1 })) ?? undefined;
      expect(record).to.equal(undefined);
      expect(await store.pruneProcessed(5)).to.equal(1);
      expect(await store.hasProcessed('m-1')).to.equal(false);
      await store.deletePendingSend('k-1');
      expect(await store.listPendingSends()).to.deep.equal([]);
      await store.setRequestSender('mallory@chat.example', false);
      expect(await store.isRequestSender('mallory@chat.example')).to.equal(false);
      expect(await store.countPreKeys()).to.equal(1);
      await store.close();
    });

    it(`the ${name} store keeps unanswered group creations oldest first, members in order, until deleted`, async () => {
      const store: ClientStore = make();
      const late = {
        idempotencyKey: 'c-2',
        members: ['b@x.example', 'a@x.example'],
        createdAt: 20,
      };
      const early = { idempotencyKey: 'c-1', members: [], createdAt: 10 };
      await store.savePendingGroupCreate(late);
      await store.savePendingGroupCreate(early);
      expect(await store.listPendingGroupCreates()).to.deep.equal([early, late]);
      await store.deletePendingGroupCreate('c-1');
      expect(await store.listPendingGroupCreates()).to.deep.equal([late]);
      await store.close();
    });

    it(`the ${name} store consumes a one-time Kyber prekey once, keeps the last-resort one and refuses its base key twice per signed prekey (ENC-049)`, async () => {
      const store: ClientStore = make();
      const identity = await seed(store);
      const oneTime = generateKyberPreKey(identity, 7, 1000);
      const older = generateKyberPreKey(identity, 8, 2000);
      const newer = generateKyberPreKey(identity, 9, 3000);
      await store.saveKyberPreKey(7, oneTime);
      await store.saveKyberPreKey(9, newer, { lastResort: true });
      await store.saveKyberPreKey(8, older, { lastResort: true });
      expect(await store.countKyberPreKeys()).to.equal(1);
      expect((await store.listLastResortKyberPreKeys()).map((k) => k.keyId)).to.deep.equal([8, 9]);
      expect(await store.getKyberPreKey(7)).to.deep.equal(oneTime);
      const baseKey = IdentityKeyPair.generate().publicKey;
      await store.markKyberPreKeyUsed(7, 1, baseKey);
      expect(await store.getKyberPreKey(7)).to.equal(undefined);
      expect(await store.countKyberPreKeys()).to.equal(0);
      await store.markKyberPreKeyUsed(9, 1, baseKey);
      await store.markKyberPreKeyUsed(9, 2, baseKey);
      let reused: unknown;
      await store.markKyberPreKeyUsed(9, 1, baseKey).catch((e: unknown) => (reused = e));
      expect(reused).to.be.instanceOf(ReusedBaseKeyError);
      expect(await store.getKyberPreKey(9)).to.deep.equal(newer);
      await store.removeKyberPreKey(8);
      expect((await store.listLastResortKyberPreKeys()).map((k) => k.keyId)).to.deep.equal([9]);
      await store.close();
    });

    it(`the ${name} store trusts a peer device on first use and refuses a changed identity key`, async () => {
      const store: ClientStore = make();
      const bob = { name: 'bob@chat.example', deviceId: 1 };
      const first = IdentityKeyPair.generate().publicKey;
      const second = IdentityKeyPair.generate().publicKey;
      expect(await store.isTrustedIdentity(bob, first, 'sending')).to.equal(true);
      expect(await store.saveIdentity(bob, first)).to.equal(false);
      expect(await store.isTrustedIdentity(bob, second, 'receiving')).to.equal(false);
      expect(await store.saveIdentity(bob, second)).to.equal(true);
      await store.close();
    });
  }

  it('keeps alice’s own sender key and bob’s distributed one, and her groups, after a reopen, so both keep decrypting where they left off', async () => {
    const path = join(dir, 'alice-groups.db');
    const store = new SqliteClientStore(path);
    const alice = { name: 'alice@wa.example', deviceId: 1 };
    const bob = { name: 'bob@chat.example', deviceId: 1 };
    const bobStore = new InMemorySenderKeyStore();
    const distributionId = '6f2f8a3e-1b7c-4c2a-9d51-0b7f3c2e8a11';
    const fromBob = await createSenderKeyDistributionMessage(bob, distributionId, bobStore);
    await processSenderKeyDistributionMessage(bob, fromBob, store);
    await createSenderKeyDistributionMessage(alice, distributionId, store);
    const first = await groupEncrypt(alice, distributionId, new Uint8Array([1]), store);
    await store.saveGroup({
      group: 'g1',
      version: 3,
      members: [{ address: bob.name, role: 'admin', state: 'member' }],
      distributionId,
      rotate: true,
      distributed: ['bob@chat.example.1'],
    });
    await store.close();

    const reopened = new SqliteClientStore(path);
    const second = await groupEncrypt(alice, distributionId, new Uint8Array([2]), reopened);
    expect(second.iteration).to.equal(first.iteration + 1);
    const fromBobLater = await groupEncrypt(bob, distributionId, new Uint8Array([3]), bobStore);
    expect([...(await groupDecrypt(fromBobLater.serialized, bob, reopened))]).to.deep.equal([3]);
    expect(await reopened.getGroup('g1')).to.deep.equal({
      group: 'g1',
      version: 3,
      members: [{ address: bob.name, role: 'admin', state: 'member' }],
      distributionId,
      rotate: true,
      distributed: ['bob@chat.example.1'],
    });
    expect((await reopened.listGroups()).map((g) => g.group)).to.deep.equal(['g1']);
    await reopened.deleteGroup('g1');
    expect(await reopened.getGroup('g1')).to.equal(undefined);
    await reopened.close();
  });

  it('refuses to hand out an identity before one is stored', async () => {
    const store = new MemoryClientStore();
    let code: string | undefined;
    await store.getIdentityKeyPair().catch((e: { code: string }) => (code = e.code));
    expect(code).to.equal('NOT_AUTHENTICATED');
  });
});
