/**
 * The recipient gate shared by `message.send` and `keys.claim`: existence and consent answered
 * alike, with the same store work on both paths (spec/consent.md CONSENT-005..009).
 */
import type { AccountRecord } from '../../store/types.ts';
import type { ProviderContext, Session } from '../context.ts';
import { NOT_FOUND_MESSAGE, ProviderError } from '../errors.ts';
import type { RateLimit } from '../limits.ts';

/** Whether a user's settings let messages from `platform` through (CONSENT-005). */
export function interopAllows(account: AccountRecord, platform: string): boolean {
  const { enabled, platforms } = account.interop;
  return enabled && (platforms === 'all' || platforms.includes(platform));
}

/**
 * The recipient account, or NOT_FOUND. Unknown address and missing consent run the same single
 * lookup and throw the same error object shape and message (CONSENT-006/007).
 */
export function gateRecipient(
  ctx: ProviderContext,
  session: Session,
  address: string,
  options: { readonly coMembers?: boolean } = {},
): AccountRecord {
  const account = ctx.store.getAccount(address);
  let ok = account !== undefined;
  if (account && session.origin.thirdParty) {
    // Third-party sessions reach first-party users who opted in for their platform only, and
    // partner users only as members of one group, to claim keys for sender-key distribution
    // (GROUP-047).
    ok =
      account.kind === 'local'
        ? ctx.faults.has('ignore-consent') || interopAllows(account, session.origin.platform)
        : options.coMembers === true &&
          !ctx.faults.has('partners-never-claim') && // fault injection: breaks GROUP-047
          ctx.store.shareGroup(session.address, address);
  }
  // First-party users reach every account: their own platform's, and partner users that connected here.
  if (!ok && account && ctx.faults.has('timing-oracle'))
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // fault: breaks CONSENT-007
  if (!ok)
    throw new ProviderError(
      'NOT_FOUND',
      ctx.faults.has('reveal-nonexistence') && !account ? 'no such account' : NOT_FOUND_MESSAGE,
    );
  return account!;
}

/** Takes a token from each bucket or refuses with RATE_LIMITED and `retryAfterMs` (PROTO-041). */
export function limitRate(
  ctx: ProviderContext,
  checks: readonly (readonly [string, RateLimit] | readonly [string, RateLimit, number])[],
): void {
  const wait = ctx.rates.take(checks);
  if (wait > 0)
    throw new ProviderError('RATE_LIMITED', 'too many requests', { retryAfterMs: wait });
}
