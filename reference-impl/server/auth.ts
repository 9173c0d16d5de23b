/**
 * Authentication: the per-connection challenge, the device proof over `auth-input`, and device
 * authentication of first-party accounts (spec/auth.md AUTH-001..008, AUTH-020).
 */
import { randomBytes } from 'node:crypto';
import { verifySignature } from '../crypto/index.ts';
import type { Challenge, ProviderContext } from './context.ts';

const AUTH_LABEL = Buffer.from('PARLEY-AUTH-v1', 'ascii');

/** A fresh 32-byte challenge from the CSPRNG (AUTH-001). */
export function newChallenge(now: number): Challenge {
  return { bytes: new Uint8Array(randomBytes(32)), issuedAt: now, used: false };
}

/** `"PARLEY-AUTH-v1" ‖ challenge ‖ address ‖ deviceId (u32 BE)`, the signed transcript. */
export function authInput(challenge: Uint8Array, address: string, deviceId: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(deviceId);
  return new Uint8Array(Buffer.concat([AUTH_LABEL, challenge, Buffer.from(address, 'utf8'), id]));
}

/** Verifies an XEdDSA device proof; a malformed key or signature is a failed proof. */
export function verifyDeviceProof(
  identityKey: Uint8Array,
  challenge: Uint8Array,
  address: string,
  deviceId: number,
  signature: Uint8Array,
): boolean {
  try {
    return verifySignature(identityKey, authInput(challenge, address, deviceId), signature);
  } catch {
    return false;
  }
}

/**
 * Takes the connection's challenge for one `auth` (AUTH-002..004): false when it was used already
 * or is older than the challenge lifetime. Marks it used either way.
 */
export function consumeChallenge(ctx: ProviderContext, challenge: Challenge | undefined): boolean {
  if (!challenge || challenge.used) return false;
  challenge.used = true;
  if (ctx.faults.has('accept-stale-challenge')) return true;
  return ctx.now() - challenge.issuedAt <= ctx.limits.challengeTtlSeconds * 1000;
}

/**
 * Checks a first-party device's `auth` (AUTH-007, AUTH-033): the proof must verify under the
 * device key registered for that very device id, never under the account's identity key, which
 * every device of the account holds. Returns whether it succeeded.
 */
export function checkDeviceAuth(
  ctx: ProviderContext,
  challenge: Uint8Array,
  address: string,
  deviceId: number,
  signature: Uint8Array,
): boolean {
  const account = ctx.store.getAccount(address);
  if (!account || account.kind !== 'local') return false;
  const device = ctx.store.getDevice(address, deviceId);
  if (!device) return false;
  if (ctx.faults.has('accept-forged-device-proof')) return true; // fault injection: breaks AUTH-006
  if (verifyDeviceProof(device.deviceKey, challenge, address, deviceId, signature)) return true;
  // fault injection: breaks AUTH-033 (the identity key signs in as any device, as before issue 15)
  return (
    ctx.faults.has('accept-identity-key-proof') &&
    verifyDeviceProof(device.identityKey, challenge, address, deviceId, signature)
  );
}
