// KEYS cases of spec/keys.md#publishing: bad signatures, foreign identity keys and malformed keys
// are refused; the reply counts the stored one-time prekeys; the bundle returns what was published.
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isError, sameJson, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { b64, unb64 } from '../../transport/users.ts';

export const publishCases = [
  defineCase({
    id: 'KEYS-001-bad-signed-prekey-signature',
    title:
      'a signed prekey whose signature has one flipped bit is refused with BAD_SIGNATURE and nothing is stored',
    requirements: ['KEYS-001', 'PROTO-042'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `BAD_SIGNATURE` a `keys.publish` whose signed prekey signature does not verify under the identity key.',
    sends:
      'alice: keys.publish with signedPreKey.signature[0] ^= 1 and 5 one-time prekeys; then keys.publish with none',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const reply = await alice.publish(5, (f: Frame) => {
        const sig = unb64(f.signedPreKey.signature);
        sig[0] = sig[0]! ^ 1;
        f.signedPreKey.signature = b64(sig);
      });
      mustMatch('KEYS-001', reply, isError('BAD_SIGNATURE'));
      mustMatch(
        'PROTO-042',
        await alice.publish(0),
        hasMembers('keys.published', { oneTimePreKeyCount: 0 }),
      );
    },
  }),
  defineCase({
    id: 'KEYS-003-identity-mismatch',
    title:
      "keys.publish under another identity key than the device's is refused with IDENTITY_MISMATCH",
    requirements: ['KEYS-003'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with `IDENTITY_MISMATCH` a `keys.publish` whose `identityKey` differs from the identity key of the session's device.",
    sends: "alice: keys.publish carrying mallory's identity key",
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const other = b64(IdentityKeyPair.generate().publicKey);
      const reply = await alice.publish(1, (f: Frame) => void (f.identityKey = other));
      mustMatch('KEYS-003', reply, isError('IDENTITY_MISMATCH'));
    },
  }),
  defineCase({
    id: 'KEYS-004-malformed-public-key',
    title:
      'a one-time prekey of 32 bytes without the 0x05 type byte is refused with SCHEMA_VIOLATION',
    requirements: ['KEYS-004', 'ENC-004'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `SCHEMA_VIOLATION` a `keys.publish` carrying a public key that is not 33 bytes long or does not begin with the type byte 0x05.',
    sends: 'alice: keys.publish whose first one-time prekey is the bare 32-byte u-coordinate',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const reply = await alice.publish(2, (f: Frame) => {
        f.oneTimePreKeys[0].publicKey = b64(unb64(f.oneTimePreKeys[0].publicKey).subarray(1));
      });
      mustMatch('KEYS-004', reply, isError('SCHEMA_VIOLATION'));
    },
  }),
  defineCase({
    id: 'KEYS-007-published-count',
    title: 'keys.published counts the one-time prekeys stored after each publish',
    requirements: ['KEYS-007', 'KEYS-006'],
    level: 'MUST',
    quote:
      'The provider MUST reply `keys.published` with the numbers of one-time prekeys and of one-time Kyber prekeys stored for the device after the publish.',
    sends:
      'alice: keys.publish with 5 one-time prekeys and 5 one-time Kyber prekeys, then 3 more and 2 more',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 5 });
      mustMatch(
        'KEYS-007',
        await alice.publish(3, undefined, 2),
        hasMembers('keys.published', { oneTimePreKeyCount: 8, oneTimeKyberPreKeyCount: 7 }),
      );
    },
  }),
  defineCase({
    id: 'KEYS-014-bundle-as-published',
    title:
      "carol's claim returns alice's signed prekey, signature and a one-time prekey exactly as published",
    requirements: ['KEYS-014', 'KEYS-011', 'KEYS-013'],
    level: 'MUST',
    quote:
      "The provider MUST return each device's current signed prekey, with its `keyId` and `signature` exactly as published.",
    sends: 'alice: keys.publish (recorded); carol: keys.claim alice',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      let published: Frame = {};
      await alice.publish(2, (f: Frame) => void (published = structuredClone(f)));
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const bundle = await carol.peer.request('keys.claim', { address: alice.address });
      const devices: Frame[] = bundle.devices ?? [];
      must(
        'KEYS-011',
        that(devices.length === 1 && devices[0]!.deviceId === 1, 'one entry, for device 1', bundle),
      );
      const d = devices[0]!;
      must(
        'KEYS-014',
        that(
          sameJson(d.signedPreKey, published.signedPreKey),
          JSON.stringify(published.signedPreKey),
          d.signedPreKey,
        ),
      );
      must(
        'KEYS-014',
        that(
          d.identityKey === alice.identityKey && d.registrationId === alice.registrationId,
          'the identity key and registration id of alice',
          d,
        ),
      );
      must(
        'KEYS-013',
        that(
          published.oneTimePreKeys.some((k: Frame) => sameJson(k, d.oneTimePreKey)),
          'one of the published one-time prekeys',
          d.oneTimePreKey,
        ),
      );
    },
  }),
];
