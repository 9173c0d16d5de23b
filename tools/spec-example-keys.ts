// Generates the key material of the AsyncAPI examples in spec/messages/ (accounts.yaml, keys.yaml):
// alice's identity key, the signed prekeys and one-time prekeys of her two devices, and round-3
// Kyber-1024 prekeys (0x08 || 1568 bytes) with XEdDSA signatures by the identity key over the full
// encoding, so that every example passes the provider's checks (spec/keys.md, spec/crypto.md).
//
// Usage: npx tsx tools/spec-example-keys.ts > keys.json, then paste the values into the YAML.
// The Kyber public keys come from crystals-kyber (a devDependency, the round-3 reference port):
// the provider only stores and serves them, so any real Kyber-1024 key generator serves here.
import { createRequire } from 'node:module';
import {
  generatePreKeys,
  generateSignedPreKey,
  IdentityKeyPair,
} from '../reference-impl/crypto/index.ts';

const KYBER_1024_TYPE = 0x08;
const kyber = createRequire(import.meta.url)('crystals-kyber') as {
  KeyGen1024(): [number[], number[]];
};

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function kyberPreKey(identity: IdentityKeyPair, keyId: number) {
  const [publicKey] = kyber.KeyGen1024();
  const encoded = Uint8Array.from([KYBER_1024_TYPE, ...publicKey]);
  if (encoded.length !== 1569) throw new Error(`Kyber-1024 public key of ${encoded.length} bytes`);
  return { keyId, publicKey: b64(encoded), signature: b64(identity.sign(encoded)) };
}

function signedPreKey(identity: IdentityKeyPair, keyId: number) {
  const record = generateSignedPreKey(identity, keyId);
  return {
    keyId,
    publicKey: b64(record.keyPair.publicKey),
    signature: b64(record.signature),
  };
}

const alice = IdentityKeyPair.generate();
const oneTime = (ids: number[]) =>
  ids.map((keyId) => ({
    keyId,
    publicKey: b64(generatePreKeys(keyId, 1)[0]!.keyPair.publicKey),
  }));

const out = {
  identityKey: b64(alice.publicKey),
  device1: {
    signedPreKey: signedPreKey(alice, 1),
    oneTimePreKeys: oneTime([101, 102, 103]),
    lastResortKyberPreKey: kyberPreKey(alice, 1),
    oneTimeKyberPreKeys: [kyberPreKey(alice, 201), kyberPreKey(alice, 202)],
  },
  device2: {
    signedPreKey: signedPreKey(alice, 1),
    oneTimePreKeys: oneTime([7]),
    lastResortKyberPreKey: kyberPreKey(alice, 1),
    oneTimeKyberPreKeys: [kyberPreKey(alice, 31)],
  },
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
