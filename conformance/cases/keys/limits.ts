// KEYS cases of spec/keys.md#publishing and #kyber: the one-time prekey limit per publish and no
// Kyber prekeys from a provider that does not claim `kyber` (skipped when it does claim it).
import { isError, that } from '../../assert/match.ts';
import { must, mustMatch, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

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
    id: 'KEYS-015-no-kyber-without-capability',
    title: 'a provider that does not claim kyber puts no kyberPreKey in keys.bundle',
    requirements: ['KEYS-015'],
    level: 'MUST',
    quote:
      'The provider MUST NOT put a `kyberPreKey` in `keys.bundle` unless it lists `kyber` in `welcome.capabilities`.',
    sends: 'carol: keys.claim alice (when the target does not claim kyber)',
    async run({ world, target }) {
      requireThat(
        !target.capabilities.includes('kyber'),
        'the target claims kyber; the rule does not apply',
      );
      const alice = await world.firstParty('alice', { preKeys: 1 });
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const bundle = await carol.peer.request('keys.claim', { address: alice.address });
      const withKyber = (bundle.devices ?? []).filter(
        (d: { kyberPreKey?: unknown }) => d.kyberPreKey !== undefined,
      );
      must('KEYS-015', that(withKyber.length === 0, 'no kyberPreKey in any entry', bundle));
    },
  }),
];
