/**
 * Account handlers: test-account registration gated by an operator token, and sibling devices of
 * first-party accounts (spec/auth.md "Test accounts" AUTH-023..025, "Devices" AUTH-026..028).
 */
import { timingSafeEqual } from 'node:crypto';
import type {
  AccountRegisterFrame,
  DeviceAddFrame,
  DeviceRemoveFrame,
} from '../../../schemas/frames/accounts.ts';
import { publicKeyAt } from '../codec.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from '../context.ts';
import { ProviderError } from '../errors.ts';
import type { RateLimit } from '../limits.ts';

function tokenMatches(given: string, issued: readonly string[]): boolean {
  const g = Buffer.from(given);
  let ok = false;
  for (const t of issued) {
    const b = Buffer.from(t);
    if (b.length === g.length && timingSafeEqual(b, g)) ok = true;
  }
  return ok;
}

function register(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: AccountRegisterFrame,
): HandlerResult {
  const identityKey = publicKeyAt(f.identityKey, '/identityKey');
  // AUTH-030: refused attempts are counted per connection and client address; once a guesser
  // has used them up, every attempt is refused RATE_LIMITED, the right token included.
  const { rates } = ctx.limits;
  const guesses: (readonly [string, RateLimit])[] = ctx.faults.has('unlimited-registration-guesses')
    ? []
    : [
        [`badreg:${conn.id}`, rates.badRegistrationsPerConnection],
        [`badreg@${conn.peerAddress ?? 'unknown'}`, rates.badRegistrationsPerAddress],
      ];
  const wait = ctx.rates.waitFor(guesses);
  if (wait > 0)
    throw new ProviderError('RATE_LIMITED', 'too many refused registrations', {
      retryAfterMs: wait,
    });
  if (!tokenMatches(f.registrationToken, ctx.registrationTokens)) {
    ctx.rates.take(guesses);
    throw new ProviderError('REGISTRATION_REFUSED', 'registration refused'); // AUTH-023
  }
  const address = `${f.name}@${ctx.domain}`;
  const created = ctx.store.createLocalAccount({
    address,
    platform: ctx.domain,
    identityKey,
    registrationId: f.registrationId,
    now: ctx.now(),
  });
  if (!created) throw new ProviderError('CONFLICT', `${address} is taken`); // AUTH-024
  ctx.logger.log('info', 'account.registered', { connection: conn.id, address });
  return { reply: { type: 'account.registered', address, deviceId: 1 } };
}

function firstParty(conn: ConnectionHandle): { address: string; deviceId: number } {
  const s = conn.session!;
  if (s.origin.thirdParty)
    throw new ProviderError('FORBIDDEN', 'partner sessions cannot manage devices'); // AUTH-026
  return s;
}

function addDevice(ctx: ProviderContext, conn: ConnectionHandle, f: DeviceAddFrame): HandlerResult {
  const { address } = firstParty(conn);
  const deviceId = ctx.store.addDevice(
    address,
    f.registrationId,
    ctx.limits.maxDevicesPerAccount,
    ctx.now(),
  );
  if (deviceId === undefined)
    throw new ProviderError(
      'CONFLICT',
      `an account has at most ${ctx.limits.maxDevicesPerAccount} devices, with ids 1 to 127`, // AUTH-032
    );
  return { reply: { type: 'device.added', deviceId } };
}

function removeDevice(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: DeviceRemoveFrame,
): HandlerResult {
  const { address } = firstParty(conn);
  if (!ctx.store.removeDevice(address, f.deviceId))
    throw new ProviderError('NOT_FOUND', `no device ${f.deviceId}`);
  return { reply: { type: 'device.removed', deviceId: f.deviceId } };
}

export const accountHandlers = {
  'account.register': register as Handler,
  'device.add': addDevice as Handler,
  'device.remove': removeDevice as Handler,
};
