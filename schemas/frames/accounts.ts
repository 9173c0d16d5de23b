/**
 * Account frames: registering first-party test accounts and adding or removing sibling devices.
 * Spec: spec/protocol.md "Accounts".
 */
import type { Address, DeviceId, LocalName, PublicKey, RegistrationId } from '../common.ts';
import type { ReplyBase, RequestBase } from './envelope.ts';

/**
 * An operator-issued registration token: 1–512 printable ASCII characters without spaces.
 * @pattern ^[!-~]{1,512}$
 * @minLength 1
 * @maxLength 512
 */
export type RegistrationToken = string;

/** Registers a first-party account (for test accounts), gated by an operator-issued token. */
export interface AccountRegisterFrame extends RequestBase {
  type: 'account.register';
  /** The operator-issued registration token. */
  registrationToken: RegistrationToken;
  /** The wanted local name; the address is `name@<provider domain>`. */
  name: LocalName;
  /** The account's identity public key. */
  identityKey: PublicKey;
  /** The first device's Signal registration id. */
  registrationId: RegistrationId;
  /**
   * Device 1's own authentication public key (AUTH-033): `auth` with method `device` is signed by
   * its private half. Never the identity key (AUTH-034).
   */
  deviceKey: PublicKey;
}

/** Answers `account.register`: the new address; the registering device is device 1. */
export interface AccountRegisteredFrame extends ReplyBase {
  type: 'account.registered';
  /** The new account's address. */
  address: Address;
  /** The registering device's id, always 1. */
  deviceId: 1;
}

/**
 * Adds a sibling device sharing the account's identity key (first-party sessions only): the
 * authenticated device that sends it approves the new device and registers its device key.
 */
export interface DeviceAddFrame extends RequestBase {
  type: 'device.add';
  /** The new device's Signal registration id. */
  registrationId: RegistrationId;
  /**
   * The new device's own authentication public key (AUTH-033); it must differ from the identity
   * key and from every key a device of the account has or had (AUTH-034).
   */
  deviceKey: PublicKey;
}

/** Answers `device.add`: the new device's id. */
export interface DeviceAddedFrame extends ReplyBase {
  type: 'device.added';
  /** The new device's id. */
  deviceId: DeviceId;
}

/**
 * Removes a device of the account (first-party sessions only): its device key is revoked and its
 * open connections are closed with `DEVICE_REMOVED` (AUTH-035, AUTH-036).
 */
export interface DeviceRemoveFrame extends RequestBase {
  type: 'device.remove';
  /** The device to remove. */
  deviceId: DeviceId;
}

/** Answers `device.remove`. */
export interface DeviceRemovedFrame extends ReplyBase {
  type: 'device.removed';
  /** The removed device's id. */
  deviceId: DeviceId;
}
