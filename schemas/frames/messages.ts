/**
 * Message frames: sending one Signal ciphertext per recipient device, delivery pushes, and acks.
 * Spec: spec/protocol.md "Messages" and spec/delivery.md.
 */
import type {
  Address,
  Count,
  DeviceId,
  IdempotencyKey,
  OpaqueId,
  Origin,
  RegistrationId,
  RequestId,
  TimestampMs,
} from '../common.ts';
import type { PushBase, ReplyBase, RequestBase } from './envelope.ts';
import type { GroupId, GroupVersion } from './groups.ts';

/** The Signal message type of a ciphertext: a `PreKeySignalMessage` or a `SignalMessage`. */
export type CiphertextType = 'prekey' | 'whisper';

/**
 * A Signal ciphertext (version byte, protobuf, MAC) in base64url; at most 512 KiB decoded
 * (the schema ceiling; the advertised `limits.maxMessageBytes` may be lower).
 * @pattern ^[A-Za-z0-9_-]*$
 * @minLength 1
 * @maxLength 699051
 */
export type CiphertextBody = string;

/** The ciphertext for one recipient device. */
export interface DeviceCiphertext {
  /** The recipient device. */
  deviceId: DeviceId;
  /** The registration id the sender's session holds for that device. */
  registrationId: RegistrationId;
  /** The Signal message type. */
  type: CiphertextType;
  /** The ciphertext. */
  body: CiphertextBody;
}

/** Sends one message to a recipient: one ciphertext per current recipient device. */
export interface DirectSendVariant extends RequestBase {
  type: 'message.send';
  /** The recipient. */
  to: Address;
  /** Makes a retried send produce one message. */
  idempotencyKey: IdempotencyKey;
  /**
   * One ciphertext per recipient device, each device once.
   * @minItems 1
   * @maxItems 64
   */
  messages: DeviceCiphertext[];
}

/**
 * The 1:1 Signal ciphertexts for one member's devices that travel beside a group message, one per
 * current device of that member (sender-key distribution messages, spec/groups.md).
 */
export interface MemberCiphertexts {
  /** The member. */
  to: Address;
  /**
   * One ciphertext per device of the member, each device once.
   * @minItems 1
   * @maxItems 64
   */
  messages: DeviceCiphertext[];
}

/**
 * A `SenderKeyMessage` as libsignal puts it on the wire (version byte, protobuf, 64-byte
 * signature) in base64url; at most 512 KiB decoded.
 * @pattern ^[A-Za-z0-9_-]*$
 * @minLength 1
 * @maxLength 699051
 */
export type SenderKeyBody = string;

/**
 * Sends one message to a group: one sender-key ciphertext the provider fans out to every device of
 * every current member, and 1:1 ciphertexts (sender-key distribution messages) for some members.
 */
export interface GroupSendVariant extends RequestBase {
  type: 'message.send';
  /** The group. */
  group: GroupId;
  /** The group version the sender encrypted for; a send for another version is refused. */
  groupVersion: GroupVersion;
  /** Makes a retried send produce one message. */
  idempotencyKey: IdempotencyKey;
  /** The sender-key ciphertext, the same for every member device. */
  body: SenderKeyBody;
  /**
   * 1:1 ciphertexts for members' devices, delivered with the group message to those devices.
   * @maxItems 1024
   */
  distribution?: MemberCiphertexts[];
}

/** Sends a message to one recipient, or to a group. */
export type MessageSendFrame = DirectSendVariant | GroupSendVariant;

/** Answers `message.send`: the message is stored durably. */
export interface MessageAcceptedFrame extends ReplyBase {
  type: 'message.accepted';
  /** The provider's id for the message. */
  messageId: OpaqueId;
  /** When the provider accepted it. */
  serverTimestamp: TimestampMs;
  /** True when the idempotency key matched an earlier accepted send. */
  duplicate: boolean;
}

/** The inbox section a delivered message belongs to. */
export type Folder = 'inbox' | 'third-party' | 'requests';

/** The type of a pushed ciphertext: a 1:1 Signal message, or a group's `SenderKeyMessage`. */
export type PushedCiphertextType = CiphertextType | 'senderkey';

/** A 1:1 ciphertext pushed with a group message (its sender-key distribution message). */
export interface PushedDistribution {
  /** The Signal message type. */
  ciphertextType: CiphertextType;
  /** The ciphertext the sending device encrypted for this device. */
  body: CiphertextBody;
}

/** Delivers one message to this device; `id` is the delivery id the device acks. */
export interface MessageFrame extends PushBase {
  type: 'message';
  /** The provider's id for the message. */
  messageId: OpaqueId;
  /** The sender. */
  from: Address;
  /** The sending device. */
  fromDevice: DeviceId;
  /** Where the message came from, stamped by the provider. */
  origin: Origin;
  /** The inbox section. */
  folder: Folder;
  /**
   * The Signal message type. Named `ciphertextType` because the envelope's `type` is taken
   * (the contract's outline called it `type`).
   */
  ciphertextType: PushedCiphertextType;
  /** The ciphertext the sending device encrypted for this device (for a group: for every device). */
  body: CiphertextBody;
  /** The group, for a message sent to a group (`ciphertextType` `senderkey`). */
  group?: GroupId;
  /** The 1:1 ciphertext the sender sent this device beside a group message, to open before `body`. */
  distribution?: PushedDistribution;
  /** When the provider accepted the message. */
  serverTimestamp: TimestampMs;
}

/**
 * Delivery ids to acknowledge (of `message` and `group.changed` pushes).
 * @items {"$ref": "RequestId"}
 * @minItems 1
 * @maxItems 256
 * @uniqueItems true
 */
export type DeliveryIdList = RequestId[];

/** Acknowledges delivered messages by delivery id; the provider then drops them from the queue. */
export interface MessageAckFrame extends RequestBase {
  type: 'message.ack';
  /** The `id`s of the `message` pushes being acknowledged. */
  deliveryIds: DeliveryIdList;
}

/** Answers `message.ack`: how many queued deliveries were removed. */
export interface MessageAckedFrame extends ReplyBase {
  type: 'message.acked';
  /** Deliveries removed (ids already acked or unknown are not counted). */
  count: Count;
}

/** Pushed once after the queued backlog has been delivered on connect. */
export interface QueueEmptyFrame extends PushBase {
  type: 'queue.empty';
}
