// ATT cases of spec/attachments.md#limits-and-quota and #slot: the limits `welcome` advertises per
// kind, and `attachment.slot` refusing a size over its kind's limit for first-party and partner users.
import { hasMembers, isError, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { digestOf, slot } from './blob.ts';

const KINDS = ['image', 'video', 'audio', 'document'] as const;
const isSize = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) > 0;

export const attachmentLimitCases = [
  defineCase({
    id: 'ATT-011-limits-advertised',
    title: 'welcome advertises a byte limit for every attachment kind and chunkBytes 65536',
    requirements: ['ATT-011'],
    level: 'MUST',
    quote:
      'The provider MUST advertise a limit for each of the kinds `image`, `video`, `audio` and `document`, and `chunkBytes` equal to 65536.',
    sends: 'hello',
    capabilities: ['attachments'],
    async run({ world }) {
      const { welcome } = await world.greeted('probe');
      const a = welcome.limits?.attachments ?? {};
      for (const kind of KINDS)
        must('ATT-011', that(isSize(a[kind]), `a positive byte limit for ${kind}`, a));
      must('ATT-011', that(a.chunkBytes === 65536, 'chunkBytes 65536', a));
    },
  }),
  defineCase({
    id: 'ATT-014-blob-ttl-covers-queue',
    title: 'a blob lives at least as long as the queued messages that point to it',
    requirements: ['ATT-014'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD advertise a `ttlSeconds` no smaller than `limits.queueTtlSeconds`, so that a blob outlives the messages that point to it.',
    sends: 'hello',
    capabilities: ['attachments'],
    async run({ world }) {
      const { welcome } = await world.greeted('probe');
      const { queueTtlSeconds, attachments } = welcome.limits ?? {};
      must(
        'ATT-014',
        that(
          isSize(attachments?.ttlSeconds) && attachments.ttlSeconds >= queueTtlSeconds,
          `attachments.ttlSeconds ≥ queueTtlSeconds (${queueTtlSeconds})`,
          attachments?.ttlSeconds,
        ),
      );
    },
  }),
  defineCase({
    id: 'ATT-015-slot-over-limit',
    title:
      'a slot one byte over the limit of its kind is refused with ATTACHMENT_TOO_LARGE, for alice and for bob alike',
    requirements: ['ATT-015', 'ATT-012'],
    level: 'MUST',
    quote:
      'The provider MUST refuse with `ATTACHMENT_TOO_LARGE` a slot whose `size` exceeds the advertised limit for its `kind`.',
    sends:
      'alice (first-party) and bob (partner): attachment.slot of every kind at limit + 1; bob: one at the image limit',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bob = await world.thirdParty('bob', { preKeys: 0 });
      const limits = alice.welcome.limits.attachments;
      const digest = digestOf(Buffer.from('never uploaded'));
      for (const user of [alice, bob]) {
        for (const kind of KINDS) {
          const refused = await slot(user.peer, limits[kind] + 1, digest, kind);
          mustMatch(
            user === alice ? 'ATT-015' : 'ATT-012',
            refused,
            isError('ATTACHMENT_TOO_LARGE'),
            `${user.label} asked for a ${kind} of ${limits[kind] + 1} bytes`,
          );
        }
      }
      // At the limit the slot is granted, for bob as for alice.
      const granted = await slot(bob.peer, limits.image, digest, 'image');
      mustMatch('ATT-012', granted, hasMembers('attachment.slotted', {}), 'a slot at the limit');
    },
  }),
  defineCase({
    id: 'ATT-018-slot-expiry',
    title: 'a slot expires ttlSeconds after it was issued',
    requirements: ['ATT-018'],
    level: 'MUST',
    quote:
      'The provider MUST set `expiresAt` to `limits.attachments.ttlSeconds` seconds after it issued the slot.',
    sends: 'alice: attachment.slot of 1024 bytes',
    capabilities: ['attachments'],
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const ttl = alice.welcome.limits.attachments.ttlSeconds as number;
      const before = Date.now();
      const granted = await slot(alice.peer, 1024, digestOf(Buffer.alloc(1024)));
      const after = Date.now();
      mustMatch('ATT-018', granted, hasMembers('attachment.slotted', {}));
      // Clocks differ: the provider's issue time is taken from its own serverTime in welcome.
      const skew = (alice.welcome.serverTime as number) - before;
      const low = before + skew + ttl * 1000 - 5000;
      const high = after + skew + ttl * 1000 + 5000;
      const expiresAt = granted.expiresAt as number;
      must(
        'ATT-018',
        that(
          expiresAt >= low && expiresAt <= high,
          `expiresAt ${ttl} s after the slot (${new Date(low + 5000).toISOString()} ± 5 s)`,
          new Date(expiresAt).toISOString(),
        ),
      );
    },
  }),
];
