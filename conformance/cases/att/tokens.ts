// ATT cases of spec/attachments.md#slot and #limits-and-quota that look at what slots hand out:
// upload tokens and download capabilities with at least 128 bits of randomness, and advertised
// limits no smaller than the provider's own clients get (as its operator states them).
import { that } from '../../assert/match.ts';
import { must, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { digestOf, slotFor } from './blob.ts';

/** Slots drawn to look at their secrets side by side. */
const SLOTS_DRAWN = 32;
/** ATT-017: bits of randomness in each secret. */
const MIN_SECRET_BITS = 128;
/**
 * Two random secrets of 128 bits share a first six characters with negligible odds (about 2^-24
 * even over a hex alphabet, per pair); a counter or a timestamp inside a token shares far more.
 */
const MAX_SHARED_PREFIX = 6;
const KINDS = ['image', 'video', 'audio', 'document'] as const;

/** The length of the common prefix of two strings. */
function sharedPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return n;
}

export const slotSecretCases = [
  defineCase({
    id: 'ATT-017-secret-entropy',
    title:
      'upload tokens and download capabilities of 32 slots are distinct, unrelated to blobId and long enough for 128 bits',
    requirements: ['ATT-017'],
    level: 'MUST',
    quote:
      'The provider MUST draw the `uploadToken` and the capability in `downloadUrl` each with at least 128 bits from a cryptographically secure random source, independent of `blobId` and of each other.',
    sends: 'alice: 32 attachment.slot of one byte',
    capabilities: ['attachments'],
    timeoutMs: 8000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = Buffer.from('x');
      const secrets: { kind: string; value: string; blobId: string }[] = [];
      for (let i = 0; i < SLOTS_DRAWN; i++) {
        const slotted = await slotFor(alice.peer, bytes, digestOf(bytes));
        const blobId = slotted.blobId as string;
        const capability = new URL(slotted.downloadUrl as string).pathname.split('/').pop()!;
        secrets.push({ kind: 'uploadToken', value: slotted.uploadToken as string, blobId });
        secrets.push({ kind: 'capability', value: capability, blobId });
      }
      const alphabet = new Set(secrets.flatMap((s) => [...s.value])).size;
      for (const s of secrets) {
        const bits = s.value.length * Math.log2(Math.max(alphabet, 2));
        must(
          'ATT-017',
          that(
            bits >= MIN_SECRET_BITS,
            `${s.kind}: at least ${MIN_SECRET_BITS} bits (${s.value.length} characters over an alphabet of ${alphabet} hold ${Math.floor(bits)})`,
            s.value,
          ),
        );
        must(
          'ATT-017',
          that(
            !s.value.includes(s.blobId) && !s.blobId.includes(s.value),
            `${s.kind} independent of blobId`,
            s,
          ),
        );
      }
      for (let i = 0; i < secrets.length; i++)
        for (let j = i + 1; j < secrets.length; j++) {
          const [a, b] = [secrets[i]!, secrets[j]!];
          must(
            'ATT-017',
            that(
              sharedPrefix(a.value, b.value) <= MAX_SHARED_PREFIX,
              `no two secrets sharing more than ${MAX_SHARED_PREFIX} leading characters`,
              [`${a.kind} ${a.value}`, `${b.kind} ${b.value}`],
            ),
          );
        }
    },
  }),
  defineCase({
    id: 'ATT-013-limits-not-below-first-party',
    title:
      'the advertised attachment limits are no smaller than those the operator states for its own clients',
    requirements: ['ATT-013'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD advertise attachment limits no smaller than those it applies to its own first-party clients outside Parley.',
    sends: "nothing: compares welcome.limits.attachments with the operator's statement",
    capabilities: ['attachments'],
    async run({ target }) {
      const own = target.operator?.firstPartyAttachmentLimits;
      requireThat(
        own !== undefined,
        'the limits of first-party clients outside Parley are known only to the operator (hook firstPartyAttachmentLimits)',
      );
      const advertised = target.welcome.limits?.attachments ?? {};
      for (const kind of KINDS)
        must(
          'ATT-013',
          that(
            Number(advertised[kind]) >= own![kind],
            `${kind}: at least ${own![kind]} bytes, as first-party clients get`,
            advertised[kind],
          ),
        );
    },
  }),
];
