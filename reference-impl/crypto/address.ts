// Addresses as libsignal checks them (spec: Cryptography — addresses): device ids 1..127, and
// SignalMessage field 6, the sender's and recipient's service ids with their devices, which a
// prekey-wrapped message carries when both names are service ids (libsignal protocol.rs,
// libsignal-core address.rs).
import { bytesEqual } from './curve.ts';
import { InvalidDeviceIdError } from './errors.ts';
import { ADDRESSES_LENGTH, MAX_DEVICE_ID, MIN_DEVICE_ID } from './limits.ts';
import type { ProtocolAddress } from './stores.ts';

const SERVICE_ID_KIND_ACI = 0;
const SERVICE_ID_KIND_PNI = 1;
const HYPHENATED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws InvalidDeviceIdError unless `address.deviceId` is an integer in 1..127. */
export function checkDeviceId(address: ProtocolAddress): void {
  const id = address.deviceId;
  if (!Number.isInteger(id) || id < MIN_DEVICE_ID || id > MAX_DEVICE_ID) {
    throw new InvalidDeviceIdError(id);
  }
}

/**
 * A service id's fixed-width binary form (kind byte ‖ 16 UUID bytes), or null when `name` is not a
 * service id: an ACI is a hyphenated UUID (any case), a PNI is "PNI:" and one.
 */
export function serviceIdBinary(name: string): Uint8Array | null {
  const pni = name.startsWith('PNI:');
  const uuid = pni ? name.slice(4) : name;
  if (!HYPHENATED_UUID.test(uuid)) return null;
  const out = new Uint8Array(17);
  out[0] = pni ? SERVICE_ID_KIND_PNI : SERVICE_ID_KIND_ACI;
  out.set(Buffer.from(uuid.replaceAll('-', ''), 'hex'), 1);
  return out;
}

/** Field 6 for a message from `sender` to `recipient` (36 bytes), or null unless both names are service ids. */
export function addressesField(
  sender: ProtocolAddress,
  recipient: ProtocolAddress,
): Uint8Array | null {
  const from = serviceIdBinary(sender.name);
  const to = serviceIdBinary(recipient.name);
  if (from === null || to === null) return null;
  const out = new Uint8Array(ADDRESSES_LENGTH);
  out.set(from, 0);
  out[17] = sender.deviceId;
  out.set(to, 18);
  out[35] = recipient.deviceId;
  return out;
}

/**
 * A session with oneself (another device of the same account): the same identity key and the same
 * service id on both ends (libsignal IdentityKey::is_same_account). Such a session has no forward
 * jump limit, since one's own devices may legitimately send many messages before syncing.
 */
export function isSameAccount(
  localAddress: ProtocolAddress | undefined,
  localIdentityKey: Uint8Array,
  remoteAddress: ProtocolAddress,
  remoteIdentityKey: Uint8Array,
): boolean {
  if (localAddress === undefined || !bytesEqual(localIdentityKey, remoteIdentityKey)) return false;
  const ours = serviceIdBinary(localAddress.name);
  const theirs = serviceIdBinary(remoteAddress.name);
  return ours !== null && theirs !== null && bytesEqual(ours, theirs);
}
