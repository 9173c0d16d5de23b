// KEYS cases of spec/keys.md for PQXDH's Kyber prekeys as the provider serves them: every bundle
// entry carries one, a one-time Kyber prekey at most once (also under concurrent claims), the
// last-resort one when none is left and for as long as it is not replaced, and keys.low counts them.
import type { Frame } from '../../assert/match.ts';
import { hasMembers, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { HarnessTimeout } from '../../runner/signals.ts';

/** The Kyber prekey of the first entry of a `keys.bundle`. */
const kyberOf = (bundle: Frame): Frame | undefined => bundle.devices?.[0]?.kyberPreKey as Frame;

/** Compares two Kyber prekeys by value. */
const sameKey = (a: Frame | undefined, b: Frame): boolean =>
  a !== undefined &&
  a.keyId === b.keyId &&
  a.publicKey === b.publicKey &&
  a.signature === b.signature;

export const kyberCases = [
  defineCase({
    id: 'KEYS-028-one-time-kyber-first',
    title:
      "carol's claims get alice's two one-time Kyber prekeys, in any order, then her last-resort Kyber prekey, each exactly as published",
    requirements: ['KEYS-028', 'KEYS-030', 'KEYS-025'],
    level: 'MUST',
    quote:
      "The provider MUST put in every entry of `keys.bundle` one Kyber prekey of the device: a stored one-time Kyber prekey while there is one, else the device's last-resort Kyber prekey, with its `keyId` and `signature` exactly as published.",
    sends: 'alice publishes 2 one-time Kyber prekeys and a last-resort one; carol claims 4 times',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      let published: Frame = {};
      await alice.publish(1, (f: Frame) => void (published = structuredClone(f)), 2);
      const carol = await world.firstParty('carol', { preKeys: 0 });
      const served: (Frame | undefined)[] = [];
      for (let i = 0; i < 4; i++) {
        const bundle = await carol.peer.request('keys.claim', { address: alice.address });
        mustMatch('KEYS-028', bundle, isType('keys.bundle'));
        served.push(kyberOf(bundle));
      }
      const oneTime = published.oneTimeKyberPreKeys as Frame[];
      must(
        'KEYS-028',
        that(
          oneTime.every((k) => served.slice(0, 2).some((s) => sameKey(s, k))),
          'the first two claims get the two one-time Kyber prekeys as published',
          served.slice(0, 2),
        ),
      );
      for (const s of served.slice(2))
        must(
          'KEYS-028',
          that(
            sameKey(s, published.lastResortKyberPreKey),
            'later claims get the last-resort Kyber prekey as published',
            s,
          ),
        );
    },
  }),
  defineCase({
    id: 'KEYS-029-concurrent-kyber-claims',
    title:
      "twelve concurrent claims over four connections get each of alice's five one-time Kyber prekeys once and the last-resort one otherwise",
    requirements: ['KEYS-029'],
    level: 'MUST',
    quote:
      'The provider MUST hand out each one-time Kyber prekey in at most one `keys.bundle`, also when claims for the same device are handled concurrently, and MUST delete it from its store when it hands it out.',
    sends:
      'alice publishes 5 one-time Kyber prekeys; carol, dave, erin and frank each send 3 keys.claim for alice at once; alice publishes nothing more',
    timeoutMs: 8000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      let published: Frame = {};
      await alice.publish(0, (f: Frame) => void (published = structuredClone(f)), 5);
      const claimers = await Promise.all(
        ['carol', 'dave', 'erin', 'frank'].map((n) => world.firstParty(n, { preKeys: 0 })),
      );
      const bundles = await Promise.all(
        claimers.flatMap((c) =>
          [0, 1, 2].map(() => c.peer.request('keys.claim', { address: alice.address })),
        ),
      );
      for (const b of bundles) mustMatch('KEYS-029', b, isType('keys.bundle'));
      const lastResortId = published.lastResortKyberPreKey.keyId as number;
      const ids = bundles
        .map((b) => kyberOf(b)?.keyId as number)
        .filter((id) => id !== lastResortId);
      must(
        'KEYS-029',
        that(new Set(ids).size === ids.length, 'no one-time Kyber prekey served twice', ids),
      );
      must('KEYS-029', that(ids.length === 5, 'all 5 one-time Kyber prekeys served once', ids));
      mustMatch(
        'KEYS-029',
        await alice.publish(0, undefined, 0),
        hasMembers('keys.published', { oneTimeKyberPreKeyCount: 0 }),
        'the served one-time Kyber prekeys are deleted',
      );
    },
  }),
  defineCase({
    id: 'KEYS-030-last-resort-kyber-kept',
    title:
      "once alice's one-time Kyber prekeys are gone, every claim gets her last-resort Kyber prekey, until she publishes a new one",
    requirements: ['KEYS-030', 'KEYS-025'],
    level: 'MUST',
    quote:
      'The provider MUST keep the last-resort Kyber prekey when it hands it out, and serve it to every claim while the device has no one-time Kyber prekey, until a `keys.publish` replaces it.',
    sends:
      'alice publishes a last-resort Kyber prekey and no one-time one; carol claims 3 times; alice publishes a new last-resort one; carol claims again',
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      let first: Frame = {};
      await alice.publish(1, (f: Frame) => void (first = structuredClone(f)), 0);
      const carol = await world.firstParty('carol', { preKeys: 0 });
      for (let i = 0; i < 3; i++) {
        const bundle = await carol.peer.request('keys.claim', { address: alice.address });
        mustMatch('KEYS-030', bundle, isType('keys.bundle'), `claim ${i + 1}`);
        must(
          'KEYS-030',
          that(
            sameKey(kyberOf(bundle), first.lastResortKyberPreKey),
            `claim ${i + 1} gets the last-resort Kyber prekey`,
            kyberOf(bundle),
          ),
        );
      }
      let second: Frame = {};
      await alice.publish(1, (f: Frame) => void (second = structuredClone(f)), 0);
      const after = await carol.peer.request('keys.claim', { address: alice.address });
      mustMatch('KEYS-030', after, isType('keys.bundle'), 'after the replacement');
      must(
        'KEYS-025',
        that(
          sameKey(kyberOf(after), second.lastResortKyberPreKey),
          'the replacing last-resort Kyber prekey is served',
          kyberOf(after),
        ),
      );
    },
  }),
  defineCase({
    id: 'KEYS-031-keys-low-kyber',
    title:
      'a claim that leaves alice below the threshold of one-time Kyber prekeys, with plenty of one-time prekeys, pushes keys.low with both counts',
    requirements: ['KEYS-031', 'KEYS-032'],
    level: 'MUST',
    quote:
      'When handing out a one-time Kyber prekey leaves a device with fewer than `limits.lowPreKeyThreshold` one-time Kyber prekeys, the provider MUST push `keys.low` to that device if it is connected.',
    sends:
      'alice publishes threshold + 5 one-time prekeys and threshold one-time Kyber prekeys; carol claims once',
    async run({ world }) {
      const { welcome } = await world.greeted('probe');
      const threshold = welcome.limits.lowPreKeyThreshold as number;
      const alice = await world.firstParty('alice', { preKeys: 0 });
      await alice.peer.next((f) => f.type === 'keys.low', undefined, 'keys.low after auth');
      await alice.publish(threshold + 5, undefined, threshold);
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.peer.request('keys.claim', { address: alice.address });
      // No push in time is the provider's failure, not the harness's.
      const low = await alice.peer
        .next((f) => f.type === 'keys.low', undefined, 'keys.low')
        .catch((error: unknown) => {
          if (error instanceof HarnessTimeout) return undefined;
          throw error;
        });
      must('KEYS-031', that(low !== undefined, 'a keys.low push after the claim', 'none'));
      mustMatch(
        'KEYS-032',
        low!,
        hasMembers('keys.low', {
          oneTimePreKeyCount: threshold + 4,
          oneTimeKyberPreKeyCount: threshold - 1,
          threshold,
        }),
      );
    },
  }),
];
