// Generates the device-key material of the AsyncAPI examples (spec/auth.md "Device keys", "Token
// binding"): alice's device keys for device 1 (accounts.yaml account.register) and for her laptop
// (accounts.yaml device.add), the device proof of device 1 over the challenge of session.yaml's
// `welcome` example, and bob's partner token of session.yaml bound by cnf.jkt to his identity key
// from that example, signed with a fresh chat.example key whose public x the example names.
// Apart from tools/spec-example-keys.ts so that the prekeys and ciphertexts need not change.
//
// Usage: npx tsx tools/spec-example-device-keys.ts > device-keys.json, then paste into the YAML.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { IdentityKeyPair } from '../reference-impl/crypto/index.ts';
import { authInput } from '../conformance/transport/users.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string): Uint8Array => Buffer.from(text, 'base64url');

/** The challenge of session.yaml's `welcome` example for alice's phone. */
const ALICE_CHALLENGE = '6ZZuEna8zONM2oDzzNyHzirQe0wgW4VFnRSJ3Klzq5U';
const ALICE = 'alice@wa.example';
/** Bob's identity key in session.yaml's partner `auth` example. */
const BOB_IDENTITY_KEY = 'BTtd-RNxNLQ3evu1bTzO4hHuc8P6xLwTYrn9ApS2pMF5';

const phone = IdentityKeyPair.generate();
const laptop = IdentityKeyPair.generate();
const bobKey = unb64(BOB_IDENTITY_KEY);
const jkt = await calculateJwkThumbprint(
  { kty: 'OKP', crv: 'X25519', x: b64(bobKey.subarray(1)) },
  'sha256',
);
const partner = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const token = await new SignJWT({ cnf: { jkt } })
  .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: 'chat.example-2026-01' })
  .setIssuer('chat.example')
  .setSubject('bob@chat.example')
  .setAudience('wa.example')
  .setIssuedAt(1_767_225_600)
  .setExpirationTime(1_767_225_900)
  .setJti('01JGF3Q4WZ8N2V6X9T5R7K3M1P')
  .sign(partner.privateKey);

const out = {
  aliceDeviceKey: b64(phone.publicKey),
  aliceLaptopDeviceKey: b64(laptop.publicKey),
  aliceDeviceProof: b64(phone.sign(authInput(unb64(ALICE_CHALLENGE), ALICE, 1))),
  bobToken: token,
  bobTokenJkt: jkt,
  chatExamplePublicX: (await exportJWK(partner.publicKey)).x,
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
