// KEYS cases of spec/keys.md#publishing and #kyber: the one-time prekey limit per publish and no
// Kyber prekeys from a provider that does not claim `kyber` (skipped when it does claim it).
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { b64, unb64 } from '../../transport/users.ts';

export const keyLimitCases = [
  defineCase({
    id: 'KEYS-005-too-many-one-time-prekeys',
    title:
      'a publish with maxOneTimePreKeysPerPublish + 1 one-time prekeys is refused with SCHEMA_VIOLATION',
    requirements: ['KEYS-005'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `SCHEMA_VIOLATION` a `keys.publish` carrying more one-time prekeys than `limits.maxOneTimePreKeysPerPublish`.',
    sends: 'alice: keys.publish with limit + 1 one-time prekeys',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const limit = alice.welcome.limits.maxOneTimePreKeysPerPublish as number;
      mustMatch('KEYS-005', await alice.publish(limit + 1), isError('SCHEMA_VIOLATION'));
    },
  }),
  defineCase({
    id: 'KEYS-024-malformed-kyber-key',
    title:
      'a Kyber public key with another type byte (ML-KEM 0x0a, 0x05) or of 1568 or 1570 bytes, and 101 one-time Kyber prekeys, are refused with SCHEMA_VIOLATION',
    requirements: ['KEYS-024', 'ENC-048'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `SCHEMA_VIOLATION`, naming the field, a `keys.publish` carrying a Kyber public key that is not 1569 bytes long or does not begin with the type byte 0x08, or more than 100 one-time Kyber prekeys.',
    sends:
      'alice: keys.publish with one-time Kyber prekey 1 re-typed 0x0a and 0x05, cut to 1568 bytes, grown to 1570; then with 101 one-time Kyber prekeys; then intact',
    timeoutMs: 15000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const variants: [string, (key: Buffer) => Buffer][] = [
        [
          'type byte 0x0a (ML-KEM-1024)',
          (k) => Buffer.concat([Buffer.from([0x0a]), k.subarray(1)]),
        ],
        ['type byte 0x05', (k) => Buffer.concat([Buffer.from([0x05]), k.subarray(1)])],
        ['1568 bytes', (k) => k.subarray(0, 1568)],
        ['1570 bytes', (k) => Buffer.concat([k, Buffer.from([0])])],
      ];
      for (const [label, change] of variants) {
        const reply = await alice.publish(
          1,
          (f: Frame) => {
            const key = f.oneTimeKyberPreKeys[1];
            key.publicKey = b64(change(unb64(key.publicKey as string)));
          },
          2,
        );
        mustMatch('KEYS-024', reply, isError('SCHEMA_VIOLATION'), label);
      }
      const tooMany = await alice.publish(
        0,
        (f: Frame) => {
          f.oneTimeKyberPreKeys = Array.from({ length: 101 }, (_, i) => ({
            ...f.oneTimeKyberPreKeys[0],
            keyId: 5000 + i,
          }));
        },
        1,
      );
      mustMatch('KEYS-024', tooMany, isError('SCHEMA_VIOLATION'), '101 one-time Kyber prekeys');
      mustMatch(
        'KEYS-024',
        await alice.publish(1, undefined, 1),
        isType('keys.published'),
        'intact',
      );
    },
  }),
];
