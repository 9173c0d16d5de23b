// ATT cases of spec/attachments.md#limits-and-quota and #expiry that need the operator: the quota
// (which `welcome` does not advertise) is enforced to the byte, a blob is deleted at its
// `expiresAt`, and its bytes leave the quota (the target's clock moves through the hook).
import type { Frame } from '../../assert/match.ts';
import { isError, isType } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { operatorHook } from '../../transport/operator.ts';
import type { Peer } from '../../transport/peer.ts';
import { digestOf, http, isBody, isHttp, slot, slotFor, upload } from './blob.ts';

/** How far past an expiry the clock moves, so sweeps at the new time have run. */
const EXPIRY_MARGIN_MS = 60_000;
const DIGEST = digestOf(Buffer.from('never uploaded'));

/**
 * Fills a fresh user's quota with slots of the largest document size, then to the byte; returns
 * the largest slot size used.
 */
async function fillQuota(
  peer: Peer,
  quota: number,
  largest: number,
  requirement: string,
): Promise<void> {
  const whole = Math.floor(quota / largest);
  for (let i = 0; i < whole; i++)
    mustMatch(
      requirement,
      await slot(peer, largest, DIGEST),
      isType('attachment.slotted'),
      `slot ${i + 1} of ${largest} bytes, within the quota`,
    );
  const rest = quota - whole * largest;
  if (rest > 0)
    mustMatch(
      requirement,
      await slot(peer, rest, DIGEST),
      isType('attachment.slotted'),
      `the last ${rest} bytes of the quota`,
    );
}

export const quotaCases = [
  defineCase({
    id: 'ATT-016-quota-exceeded',
    title:
      "slots up to alice's quota exactly are granted, and the next byte is refused with QUOTA_EXCEEDED",
    requirements: ['ATT-016'],
    level: 'MUST',
    quote:
      "The provider MUST refuse with `QUOTA_EXCEEDED` a slot that would take the user's stored, unexpired attachment bytes over the user's quota.",
    sends:
      'alice: attachment.slot of the largest document size until the quota is full to the byte, then one more byte',
    capabilities: ['attachments'],
    timeoutMs: 8000,
    async run({ target, world }) {
      const quota = operatorHook(
        target.operator,
        'attachmentQuotaBytes',
        'the quota is not advertised',
      );
      const largest = target.welcome.limits.attachments.document as number;
      const alice = await world.firstParty('alice', { preKeys: 0 });
      await fillQuota(alice.peer, quota, largest, 'ATT-016');
      mustMatch(
        'ATT-016',
        await slot(alice.peer, 1, DIGEST),
        isError('QUOTA_EXCEEDED'),
        'one byte over the quota',
      );
    },
  }),
  defineCase({
    id: 'ATT-033-quota-released',
    title: "after alice's slots expire, the bytes they held count against her quota no more",
    requirements: ['ATT-033'],
    level: 'MUST',
    quote: "The provider MUST release a deleted blob's bytes from the owner's quota.",
    sends:
      "alice: fills her quota; the target's clock moves past the slots' expiresAt; alice: attachment.slot of the largest size",
    capabilities: ['attachments'],
    exclusive: true,
    timeoutMs: 8000,
    async run({ target, world }) {
      const quota = operatorHook(
        target.operator,
        'attachmentQuotaBytes',
        'the quota is not advertised',
      );
      const setClockAhead = operatorHook(target.operator, 'setClockAhead', 'to reach expiresAt');
      const largest = target.welcome.limits.attachments.document as number;
      const ttlMs = (target.welcome.limits.attachments.ttlSeconds as number) * 1000;
      const alice = await world.firstParty('alice', { preKeys: 0 });
      await fillQuota(alice.peer, quota, largest, 'ATT-033');
      mustMatch(
        'ATT-033',
        await slot(alice.peer, 1, DIGEST),
        isError('QUOTA_EXCEEDED'),
        'the quota is full',
      );
      try {
        await setClockAhead(ttlMs + EXPIRY_MARGIN_MS);
        // A target may restart to move its clock (operator.ts): alice comes back if it did.
        await world.reconnect(alice);
        mustMatch(
          'ATT-033',
          await slot(alice.peer, largest, DIGEST),
          isType('attachment.slotted'),
          'after every earlier slot expired',
        );
      } finally {
        await setClockAhead(0);
      }
    },
  }),
  defineCase({
    id: 'ATT-032-deleted-at-expiry',
    title:
      "after expiresAt alice's uploaded blob is gone (404 even once the clock is back) and her unfinished slot takes no upload",
    requirements: ['ATT-032'],
    level: 'MUST',
    quote: 'The provider MUST delete a blob, complete or not, at its `expiresAt`.',
    sends:
      "alice: slot + upload, slot without upload; the target's clock moves past expiresAt: GET, PUT; the clock moves back: GET",
    capabilities: ['attachments'],
    exclusive: true,
    timeoutMs: 8000,
    async run({ target, world }) {
      const setClockAhead = operatorHook(target.operator, 'setClockAhead', 'to reach expiresAt');
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const bytes = Buffer.from('an attachment that expires');
      const done: Frame = await slotFor(alice.peer, bytes);
      mustMatch('ATT-032', await upload(world, done, bytes), (r) =>
        r.status < 300
          ? undefined
          : { expected: 'the upload to succeed', actual: `HTTP ${r.status}` },
      );
      mustMatch(
        'ATT-032',
        await http(world, 'GET', done.downloadUrl as string),
        isBody(bytes),
        'before expiresAt',
      );
      const open: Frame = await slotFor(alice.peer, bytes);
      try {
        await setClockAhead((done.expiresAt as number) - Date.now() + EXPIRY_MARGIN_MS);
        mustMatch(
          'ATT-032',
          await http(world, 'GET', done.downloadUrl as string),
          isHttp(404, 'NOT_FOUND'),
          'the complete blob after expiresAt',
        );
        mustMatch(
          'ATT-032',
          await upload(world, open, bytes),
          isHttp(401, 'UPLOAD_TOKEN_INVALID'),
          'the incomplete slot after expiresAt',
        );
      } finally {
        await setClockAhead(0);
      }
      mustMatch(
        'ATT-032',
        await http(world, 'GET', done.downloadUrl as string),
        isHttp(404, 'NOT_FOUND'),
        'deleted, not hidden: still gone with the clock back',
      );
    },
  }),
];
