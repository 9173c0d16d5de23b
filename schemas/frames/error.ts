/**
 * The `error` frame: a registry code, a human-readable message, and code-specific details.
 * Spec: spec/errors.md; the codes come from schemas/errors.ts and nowhere else.
 */
import type { Address, DeviceId, DurationMs, RequestId } from '../common.ts';
import type { FrameErrorCode } from '../errors.ts';
import type { FrameBase } from './envelope.ts';

/** Error codes whose frame carries no code-specific members. */
export type PlainErrorCode = Exclude<FrameErrorCode, 'RATE_LIMITED' | 'DEVICE_MISMATCH'>;

/**
 * A human-readable explanation, for logs and developers; never shown to end users as is.
 * @minLength 1
 * @maxLength 1024
 */
export type ErrorMessage = string;

/**
 * A JSON Pointer (RFC 6901) into the offending frame.
 * @format json-pointer
 * @maxLength 1024
 */
export type JsonPointer = string;

/** Members of every error frame. */
export interface ErrorBase extends FrameBase {
  type: 'error';
  /** The id of the request that failed; absent when the frame had no readable id. */
  re?: RequestId;
  /** A human-readable explanation. */
  message: ErrorMessage;
  /** The first offending member of the request, when one can be named. */
  pointer?: JsonPointer;
}

/** An error without code-specific details. */
export interface PlainErrorVariant extends ErrorBase {
  /** The registry code. */
  code: PlainErrorCode;
  /** When the request may be retried, if the provider knows. */
  retryAfterMs?: DurationMs;
}

/** RATE_LIMITED: a rate limit was exceeded; `retryAfterMs` says when to retry. */
export interface RateLimitedErrorVariant extends ErrorBase {
  code: 'RATE_LIMITED';
  /** Milliseconds to wait before retrying. */
  retryAfterMs: DurationMs;
}

/**
 * Device ids named in a device-list mismatch.
 * @items {"$ref": "DeviceId"}
 * @maxItems 64
 * @uniqueItems true
 */
export type DeviceIdList = DeviceId[];

/** A group member some of whose devices do not hold the sender's sender key (GROUP-052). */
export interface MemberDevices {
  /** The member (the sender itself for its own other devices). */
  address: Address;
  /** The member's current devices that no distribution from the sending device has reached. */
  missing: DeviceIdList;
}

/**
 * Group members a group send must distribute its sender key to.
 * @maxItems 1024
 */
export type MemberDevicesList = MemberDevices[];

/**
 * What a `message.send` got wrong about the recipient's devices. For a group send refused because
 * members without a `distribution` entry lack the sender key (pointer `/distribution`, GROUP-052),
 * the three lists are empty and `members` names those members and their devices.
 */
export interface DeviceMismatchDetails {
  /** Current devices the send did not address. */
  missing: DeviceIdList;
  /** Addressed devices that do not exist. */
  extra: DeviceIdList;
  /** Addressed devices whose registration id is stale (the device was re-registered). */
  stale: DeviceIdList;
  /** Group members without a `distribution` entry whose devices lack the sender key (GROUP-052). */
  members?: MemberDevicesList;
}

/** DEVICE_MISMATCH: the ciphertexts do not address exactly the recipient's current devices. */
export interface DeviceMismatchErrorVariant extends ErrorBase {
  code: 'DEVICE_MISMATCH';
  /** Which devices are missing, extra or stale. */
  details: DeviceMismatchDetails;
}

/** Reports a failed request or a bad frame, with a code from the error registry. */
export type ErrorFrame = PlainErrorVariant | RateLimitedErrorVariant | DeviceMismatchErrorVariant;
