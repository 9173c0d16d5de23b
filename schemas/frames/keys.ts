/**
 * Key frames: publishing prekeys, claiming one bundle per device, and the low-prekey push.
 * Spec: spec/keys.md and spec/crypto.md (PQXDH, libsignal encodings).
 */
import type {
  Address,
  Count,
  DeviceId,
  KeyId,
  KyberPublicKey,
  PublicKey,
  RegistrationId,
  Signature,
} from '../common.ts';
import type { PushBase, ReplyBase, RequestBase } from './envelope.ts';

/** A signed prekey: a Curve25519 public key signed (XEdDSA) by the identity key. */
export interface SignedPreKey {
  /** The signed prekey's id. */
  keyId: KeyId;
  /** The public key. */
  publicKey: PublicKey;
  /** The identity key's XEdDSA signature over the encoded public key. */
  signature: Signature;
}

/** A one-time Curve25519 prekey, handed out at most once. */
export interface OneTimePreKey {
  /** The one-time prekey's id. */
  keyId: KeyId;
  /** The public key. */
  publicKey: PublicKey;
}

/**
 * A round-3 Kyber-1024 prekey for PQXDH, signed (XEdDSA) by the identity key over its full
 * 1569-byte encoding, type byte 0x08 included.
 */
export interface KyberPreKey {
  /** The Kyber prekey's id; one id space for the device's one-time and last-resort Kyber prekeys. */
  keyId: KeyId;
  /** The Kyber public key. */
  publicKey: KyberPublicKey;
  /** The identity key's XEdDSA signature over the encoded public key. */
  signature: Signature;
}

/**
 * Publishes the device's prekeys: identity key, a signed prekey, one-time prekeys, a last-resort
 * Kyber prekey and one-time Kyber prekeys.
 */
export interface KeysPublishFrame extends RequestBase {
  type: 'keys.publish';
  /** The account's identity public key; must equal the registered one. */
  identityKey: PublicKey;
  /** The current signed prekey; replaces the previous one. */
  signedPreKey: SignedPreKey;
  /**
   * One-time prekeys to add to the device's pool.
   * @maxItems 100
   */
  oneTimePreKeys: OneTimePreKey[];
  /** The last-resort Kyber prekey, served when no one-time Kyber prekey is left; replaces the previous one. */
  lastResortKyberPreKey: KyberPreKey;
  /**
   * One-time Kyber prekeys to add to the device's pool.
   * @maxItems 100
   */
  oneTimeKyberPreKeys: KyberPreKey[];
}

/** Answers `keys.publish`: how many one-time prekeys of each kind the device now has. */
export interface KeysPublishedFrame extends ReplyBase {
  type: 'keys.published';
  /** One-time (Curve25519) prekeys now stored for the device. */
  oneTimePreKeyCount: Count;
  /** One-time Kyber prekeys now stored for the device. */
  oneTimeKyberPreKeyCount: Count;
}

/**
 * The devices a claim names.
 * @items {"$ref": "DeviceId"}
 * @minItems 1
 * @maxItems 64
 * @uniqueItems true
 */
export type DeviceSelection = DeviceId[];

/** Claims prekey bundles for an address's devices (all devices, or the ones named). */
export interface KeysClaimFrame extends RequestBase {
  type: 'keys.claim';
  /** Whose keys. */
  address: Address;
  /** Only these devices; all current devices when absent. */
  deviceIds?: DeviceSelection;
}

/** One device's prekey bundle. */
export interface DeviceBundle {
  /** The device. */
  deviceId: DeviceId;
  /** The device's Signal registration id. */
  registrationId: RegistrationId;
  /** The account's identity public key. */
  identityKey: PublicKey;
  /** The device's current signed prekey. */
  signedPreKey: SignedPreKey;
  /** A one-time prekey, now removed from the pool; null when the pool is exhausted. */
  oneTimePreKey: OneTimePreKey | null;
  /**
   * A one-time Kyber prekey, now removed from the pool; the device's last-resort Kyber prekey when
   * the pool is exhausted.
   */
  kyberPreKey: KyberPreKey;
}

/** Answers `keys.claim`: one bundle per device. */
export interface KeysBundleFrame extends ReplyBase {
  type: 'keys.bundle';
  /** Whose keys. */
  address: Address;
  /**
   * One bundle per claimed device.
   * @minItems 1
   * @maxItems 64
   */
  devices: DeviceBundle[];
  /** True when any device's one-time (Curve25519) prekeys ran out. */
  exhausted: boolean;
}

/** Pushed when the device's one-time prekey count or one-time Kyber prekey count falls below the threshold. */
export interface KeysLowFrame extends PushBase {
  type: 'keys.low';
  /** One-time (Curve25519) prekeys left for the device. */
  oneTimePreKeyCount: Count;
  /** One-time Kyber prekeys left for the device. */
  oneTimeKyberPreKeyCount: Count;
  /** The advertised `lowPreKeyThreshold`. */
  threshold: Count;
}
