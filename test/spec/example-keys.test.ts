// The key material of the AsyncAPI examples (spec/messages/keys.yaml, accounts.yaml) is real: every
// public key is well formed and every prekey signature verifies under alice's identity key, so an
// implementer who replays an example gets what the provider would answer (spec/keys.md, crypto.md).
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { parseCiphertext, verifySignature } from '../../reference-impl/crypto/index.ts';

interface Signed {
  keyId: number;
  publicKey: string;
  signature: string;
}

interface Example {
  name: string;
  payload: Record<string, unknown>;
}

function examples(file: string, message: string): Example[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    messages: Record<string, { examples: Example[] }>;
  };
  return doc.messages[message]!.examples;
}

const bytes = (b64: string): Uint8Array => Buffer.from(b64, 'base64url');

function expectSigned(identityKey: string, key: Signed, typeByte: number, length: number): void {
  const publicKey = bytes(key.publicKey);
  expect(publicKey.length, `key ${key.keyId}`).to.equal(length);
  expect(publicKey[0], `key ${key.keyId}`).to.equal(typeByte);
  expect(
    verifySignature(bytes(identityKey), publicKey, bytes(key.signature)),
    `signature of key ${key.keyId}`,
  ).to.equal(true);
}

describe('the key material of the AsyncAPI examples', () => {
  const [publish] = examples('spec/messages/keys.yaml', 'keysPublish');
  const identityKey = publish!.payload.identityKey as string;

  it('gives alice the same identity key in account.register, keys.publish and keys.bundle', () => {
    const [register] = examples('spec/messages/accounts.yaml', 'accountRegister');
    expect(register!.payload.identityKey).to.equal(identityKey);
    for (const bundle of examples('spec/messages/keys.yaml', 'keysBundle'))
      for (const device of bundle.payload.devices as { identityKey: string }[])
        expect(device.identityKey).to.equal(identityKey);
  });

  it('signs the signed prekey and every Kyber prekey of keys.publish with alice’s identity key, over 0x05 and 0x08 encodings (KEYS-001, KEYS-002, ENC-008)', () => {
    const p = publish!.payload as {
      signedPreKey: Signed;
      lastResortKyberPreKey: Signed;
      oneTimeKyberPreKeys: Signed[];
    };
    expectSigned(identityKey, p.signedPreKey, 0x05, 33);
    expectSigned(identityKey, p.lastResortKyberPreKey, 0x08, 1569);
    expect(p.oneTimeKyberPreKeys).to.have.length.greaterThan(0);
    for (const k of p.oneTimeKyberPreKeys) expectSigned(identityKey, k, 0x08, 1569);
  });

  it('serves in every keys.bundle entry a signed prekey and a Kyber prekey that verify (KEYS-014, KEYS-028)', () => {
    for (const bundle of examples('spec/messages/keys.yaml', 'keysBundle'))
      for (const device of bundle.payload.devices as {
        identityKey: string;
        signedPreKey: Signed;
        kyberPreKey: Signed;
      }[]) {
        expectSigned(device.identityKey, device.signedPreKey, 0x05, 33);
        expectSigned(device.identityKey, device.kyberPreKey, 0x08, 1569);
      }
  });
});

describe('the ciphertexts of the AsyncAPI examples', () => {
  it('are PQXDH (version 0x44) messages: prekey bodies with Kyber fields that the provider’s check accepts, a whisper reply (ENC-022, ENC-034)', () => {
    const send = examples('spec/messages/messages.yaml', 'messageSend');
    // The group send's distribution ciphertext reuses the whisper reply (spec/groups.md).
    const bodies = send
      .filter((e) => e.payload.group === undefined)
      .flatMap((e) => e.payload.messages as { type: 'prekey' | 'whisper'; body: string }[]);
    expect(bodies.map((b) => b.type)).to.deep.equal(['prekey', 'prekey', 'whisper']);
    for (const m of bodies) {
      const body = bytes(m.body);
      expect(body[0]).to.equal(0x44);
      const parsed = parseCiphertext(m.type, body);
      if (parsed.type === 'prekey') {
        expect(parsed.message.kyberCiphertext.length).to.equal(1569);
        const bob = examples('spec/messages/session.yaml', 'auth').find(
          (e) => e.name === 'partner',
        )!;
        expect(Buffer.from(parsed.message.identityKey).toString('base64url')).to.equal(
          bob.payload.identityKey,
        );
      }
    }
  });
});
