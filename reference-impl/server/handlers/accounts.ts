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
  const deviceKey = publicKeyAt(f.deviceKey, '/deviceKey');
  // AUTH-034: whoever holds the identity key (every device does) must not be able to sign in.
  if (Buffer.from(deviceKey).equals(Buffer.from(identityKey)))
    throw new ProviderError('CONFLICT', 'the device key must differ from the identity key');
  const created = ctx.store.createLocalAccount({
    address,
    platform: ctx.domain,
    identityKey,
    registrationId: f.registrationId,
    deviceKey,
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

/**
 * `device.add` comes from an authenticated device of the account, which thereby approves the new
 * device and vouches for its device key (AUTH-033).
 */
function addDevice(ctx: ProviderContext, conn: ConnectionHandle, f: DeviceAddFrame): HandlerResult {
  const { address } = firstParty(conn);
  const deviceKey = publicKeyAt(f.deviceKey, '/deviceKey');
  // AUTH-034: the identity key, a current device's key or a revoked one would let another device
  // (or a removed one) sign in as the new device.
  if (ctx.store.deviceKeyUsed(address, deviceKey))
    throw new ProviderError(
      'CONFLICT',
      'the device key is the identity key or a key that a device of the account has or had',
    );
  const deviceId = ctx.store.addDevice(
    address,
    f.registrationId,
    deviceKey,
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
  const { address, deviceId } = firstParty(conn);
  if (!ctx.store.removeDevice(address, f.deviceId, ctx.now()))
    throw new ProviderError('NOT_FOUND', `no device ${f.deviceId}`);
  ctx.logger.log('info', 'device.removed', { connection: conn.id, address, deviceId: f.deviceId });
  // AUTH-035: every connection of the removed device ends now; a device that removed itself
  // hears device.removed first.
  const revoke = (): void => {
    if (ctx.faults.has('removed-device-stays-connected')) return; // breaks AUTH-035
    for (const open of ctx.delivery.connectionsOf(address, f.deviceId))
      open.fail('DEVICE_REMOVED', `device ${f.deviceId} was removed from ${address}`);
  };
  if (f.deviceId !== deviceId) revoke();
  return {
    reply: { type: 'device.removed', deviceId: f.deviceId },
    ...(f.deviceId === deviceId ? { after: revoke } : {}),
  };
}

export const accountHandlers = {
  'account.register': register as Handler,
  'device.add': addDevice as Handler,
  'device.remove': removeDevice as Handler,
};
