// Generates the key material and ciphertexts of the AsyncAPI examples in spec/messages/
// (accounts.yaml, session.yaml, keys.yaml, messages.yaml) in one consistent run: alice's identity
// key, the signed prekeys, one-time prekeys and round-3 Kyber-1024 prekeys (0x08 || 1568 bytes) of
// her two devices with XEdDSA signatures by the identity key, the device proofs of alice and bob
// over the challenges of the `welcome` examples, bob's first PQXDH messages (version 0x44) to both
// of alice's devices built from the bundles of keys.yaml, and alice's reply on the session.
// Every example thus passes the provider's checks (spec/keys.md, spec/crypto.md, spec/auth.md).
//
// Usage: npx tsx tools/spec-example-keys.ts > keys.json, then paste the values into the YAML.
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  processPreKeyBundle,
  type KyberPreKeyRecord,
  type PreKeyRecord,
  type SignedPreKeyRecord,
} from '../reference-impl/crypto/index.ts';
import { authInput, padContent } from '../conformance/transport/users.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string): Uint8Array => Buffer.from(text, 'base64url');

/** The challenges of session.yaml's `welcome` examples: alice's phone's, then bob's client's. */
const ALICE_CHALLENGE = '6ZZuEna8zONM2oDzzNyHzirQe0wgW4VFnRSJ3Klzq5U';
const BOB_CHALLENGE = 'MXTzGOoFnUkqBrj7i4nEA4ejzoJ3YMp42Y1RD3LqhVU';
const ALICE = 'alice@wa.example';
const BOB = 'bob@chat.example';
const REGISTRATION = { alice1: 5270, alice2: 9142, bob: 4127 };

const signed = (k: SignedPreKeyRecord | KyberPreKeyRecord) => ({
  keyId: k.keyId,
  publicKey: b64(k.keyPair.publicKey),
  signature: b64(k.signature),
});
const oneTime = (k: PreKeyRecord) => ({ keyId: k.keyId, publicKey: b64(k.keyPair.publicKey) });

/** One of alice's devices: its private keys in a protocol store, its public keys for the YAML. */
async function aliceDevice(
  identity: IdentityKeyPair,
  registrationId: number,
  oneTimeIds: number[],
  kyberIds: number[],
) {
  const store = new InMemoryProtocolStore(identity, registrationId);
  const signedPreKey = generateSignedPreKey(identity, 1);
  await store.saveSignedPreKey(1, signedPreKey);
  const preKeys = oneTimeIds.map((id) => generatePreKeys(id, 1)[0]!);
  for (const k of preKeys) await store.savePreKey(k.keyId, k);
  const lastResort = generateKyberPreKey(identity, 1);
  await store.saveKyberPreKey(1, lastResort, { lastResort: true });
  const kyber = kyberIds.map((id) => generateKyberPreKey(identity, id));
  for (const k of kyber) await store.saveKyberPreKey(k.keyId, k);
  return { store, registrationId, signedPreKey, preKeys, lastResort, kyber };
}

const alice = IdentityKeyPair.generate();
const bob = IdentityKeyPair.generate();
const device1 = await aliceDevice(alice, REGISTRATION.alice1, [101, 102, 103], [201, 202]);
const device2 = await aliceDevice(alice, REGISTRATION.alice2, [7], [31]);

// Bob claims one bundle per device (keys.yaml "two-devices") and writes his first message to each.
const bobStore = new InMemoryProtocolStore(bob, REGISTRATION.bob);
const text = (body: string) =>
  padContent({ v: 1, id: crypto.randomUUID(), sentAt: 1_767_225_600_000, kind: 'text', body });
const first: string[] = [];
for (const [deviceId, d] of [
  [1, device1],
  [2, device2],
] as const) {
  await processPreKeyBundle(
    {
      registrationId: d.registrationId,
      deviceId,
      identityKey: alice.publicKey,
      signedPreKeyId: 1,
      signedPreKey: d.signedPreKey.keyPair.publicKey,
      signedPreKeySignature: d.signedPreKey.signature,
      preKeyId: d.preKeys[0]!.keyId,
      preKey: d.preKeys[0]!.keyPair.publicKey,
      kyberPreKeyId: d.kyber[0]!.keyId,
      kyberPreKey: d.kyber[0]!.keyPair.publicKey,
      kyberPreKeySignature: d.kyber[0]!.signature,
    },
    { name: ALICE, deviceId },
    bobStore,
  );
  const c = await encrypt(text('Hi Alice, Bob here.'), { name: ALICE, deviceId }, bobStore);
  if (c.type !== 'prekey') throw new Error('a first message is a PreKeySignalMessage');
  first.push(b64(c.body));
}
// Alice's phone decrypts it and replies on the session (messages.yaml "reply").
await decrypt(
  { type: 'prekey', body: unb64(first[0]!) },
  { name: BOB, deviceId: 1 },
  device1.store,
);
const reply = await encrypt(text('Hi Bob!'), { name: BOB, deviceId: 1 }, device1.store);
if (reply.type !== 'whisper') throw new Error('the reply is a SignalMessage');

const out = {
  identityKey: b64(alice.publicKey),
  bobIdentityKey: b64(bob.publicKey),
  aliceDeviceProof: b64(alice.sign(authInput(unb64(ALICE_CHALLENGE), ALICE, 1))),
  bobDeviceProof: b64(bob.sign(authInput(unb64(BOB_CHALLENGE), BOB, 1))),
  device1: {
    signedPreKey: signed(device1.signedPreKey),
    oneTimePreKeys: device1.preKeys.map(oneTime),
    lastResortKyberPreKey: signed(device1.lastResort),
    oneTimeKyberPreKeys: device1.kyber.map(signed),
  },
  device2: {
    signedPreKey: signed(device2.signedPreKey),
    oneTimePreKeys: device2.preKeys.map(oneTime),
    lastResortKyberPreKey: signed(device2.lastResort),
    oneTimeKyberPreKeys: device2.kyber.map(signed),
  },
  bodies: { firstToDevice1: first[0], firstToDevice2: first[1], reply: b64(reply.body) },
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
