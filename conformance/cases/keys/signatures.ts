// Signature checks of spec/keys.md#publishing and spec/crypto.md#xeddsa-signatures as the provider
// verifies them on `keys.publish`: the Kyber prekey's signature, the high bits of byte 63, and the
// signed message being the whole key encoding, type byte included.
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64, unb64 } from '../../transport/users.ts';
import { kyberPreKey } from '../proto/capabilities.ts';

/** Byte 63 of an XEdDSA signature: bit 7 carries the sign, bits 6 and 5 must be zero (ENC-007). */
const SIGNATURE_LAST_BYTE = 63;
const HIGH_BITS = [0x40, 0x20];

export const signatureCases = [
  defineCase({
    id: 'KEYS-002-bad-kyber-signature',
    title: 'a Kyber prekey whose signature has one flipped bit is refused with BAD_SIGNATURE',
    requirements: ['KEYS-002'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `BAD_SIGNATURE` a `keys.publish` whose Kyber prekey signature does not verify under the identity key.',
    sends: 'alice: keys.publish with a Kyber prekey whose signature[0] ^= 1; then the intact one',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const tampered = await alice.publish(1, (f: Frame) => {
        f.kyberPreKey = kyberPreKey(alice, 1);
        const sig = unb64(f.kyberPreKey.signature as string);
        sig[0] = sig[0]! ^ 1;
        f.kyberPreKey.signature = b64(sig);
      });
      mustMatch('KEYS-002', tampered, isError('BAD_SIGNATURE'));
      const intact = await alice.publish(
        1,
        (f: Frame) => void (f.kyberPreKey = kyberPreKey(alice, 2)),
      );
      mustMatch('KEYS-002', intact, isType('keys.published'), 'the intact Kyber prekey');
    },
  }),
  defineCase({
    id: 'ENC-007-signature-high-bits',
    title:
      'a signed prekey signature with bit 6 or bit 5 of byte 63 set is refused with BAD_SIGNATURE',
    requirements: ['ENC-007'],
    level: 'MUST',
    quote:
      'A verifier MUST verify XEdDSA signatures as in the verification steps above, including the check of bits 6 and 5 of byte 63.',
    sends: 'alice: keys.publish with signature[63] |= 0x40, then with signature[63] |= 0x20',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      for (const bit of HIGH_BITS) {
        const reply = await alice.publish(1, (f: Frame) => {
          const sig = unb64(f.signedPreKey.signature as string);
          sig[SIGNATURE_LAST_BYTE] = sig[SIGNATURE_LAST_BYTE]! | bit;
          f.signedPreKey.signature = b64(sig);
        });
        mustMatch(
          'ENC-007',
          reply,
          isError('BAD_SIGNATURE'),
          `bit 0x${bit.toString(16)} of byte 63 set`,
        );
      }
    },
  }),
  defineCase({
    id: 'ENC-008-signature-covers-type-byte',
    title: 'a signed prekey signed without its 0x05 type byte is refused with BAD_SIGNATURE',
    requirements: ['ENC-008'],
    level: 'MUST',
    quote:
      'The signed message of a signed prekey or Kyber prekey MUST be the full encoding of its public key, type byte included.',
    sends:
      'alice: keys.publish whose signedPreKey.signature signs the 32 bytes after the type byte',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const reply = await alice.publish(1, (f: Frame) => {
        const key = unb64(f.signedPreKey.publicKey as string);
        f.signedPreKey.signature = b64(alice.identity.sign(key.subarray(1)));
      });
      mustMatch('ENC-008', reply, isError('BAD_SIGNATURE'));
    },
  }),
];
