// Signature checks of spec/keys.md#publishing and spec/crypto.md#xeddsa-signatures as the provider
// verifies them on `keys.publish`: the Kyber prekeys' signatures, the high bits of byte 63, and the
// signed message being the whole key encoding, type byte included.
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isError } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64, unb64 } from '../../transport/users.ts';

/** Byte 63 of an XEdDSA signature: bit 7 carries the sign, bits 6 and 5 must be zero (ENC-007). */
const SIGNATURE_LAST_BYTE = 63;
const HIGH_BITS = [0x40, 0x20];

export const signatureCases = [
  defineCase({
    id: 'KEYS-002-bad-kyber-signature',
    title:
      'a last-resort or one-time Kyber prekey whose signature has one flipped bit is refused with BAD_SIGNATURE, and nothing is stored',
    requirements: ['KEYS-002'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `BAD_SIGNATURE` a `keys.publish` in which the signature of the last-resort Kyber prekey or of any one-time Kyber prekey does not verify under the identity key, and MUST then store none of its keys.',
    sends:
      'alice: keys.publish with the second one-time Kyber prekey’s signature[0] ^= 1, then the last-resort one’s; then the intact frame',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const flip = (key: Frame): void => {
        const sig = unb64(key.signature as string);
        sig[0] = sig[0]! ^ 1;
        key.signature = b64(sig);
      };
      const oneTime = await alice.publish(2, (f: Frame) => flip(f.oneTimeKyberPreKeys[1]));
      mustMatch('KEYS-002', oneTime, isError('BAD_SIGNATURE'), 'a one-time Kyber prekey');
      const lastResort = await alice.publish(2, (f: Frame) => flip(f.lastResortKyberPreKey));
      mustMatch('KEYS-002', lastResort, isError('BAD_SIGNATURE'), 'the last-resort Kyber prekey');
      mustMatch(
        'KEYS-002',
        await alice.publish(0),
        hasMembers('keys.published', { oneTimePreKeyCount: 0, oneTimeKyberPreKeyCount: 0 }),
        'nothing of the refused publishes was stored',
      );
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
