// The SDK's public value types: incoming and unreadable messages, send results, sessions, device
// links, enrolments and the client's events (spec/messages.md "Delivery", spec/consent.md folders).
import type { Content } from '../../schemas/content.ts';
import type { Origin } from '../../schemas/common.ts';
import type { Folder, GroupChangedFrame, GroupInvitedFrame } from '../../schemas/frames/index.ts';
import type { DiscardReason } from './content.ts';
import type { ParleyError } from './errors.ts';

/** A decrypted incoming message. */
export interface IncomingMessage {
  /** The provider's message id (de-duplication key). */
  messageId: string;
  from: string;
  fromDevice: number;
  /** Stamped by the provider from the sender's session (CONSENT-010). */
  origin: Origin;
  /** `inbox`, `third-party` (the "Third Party Chats" section) or `requests`. */
  folder: Folder;
  serverTimestamp: number;
  content: Content;
  /** The group, for a message sent to a group (spec/groups.md). */
  group?: string;
}

/** A message that arrived but cannot be shown (ENC-037, ENC-038, ENC-041, ENC-042). */
export interface UnreadableMessage {
  messageId: string;
  from: string;
  fromDevice: number;
  origin: Origin;
  folder: Folder;
  serverTimestamp: number;
  /** The group, for a message sent to a group. */
  group?: string;
  /**
   * Why: a content discard reason, `decrypt` when the Signal layer refused it, `not-member`
   * for a group message whose sender is not a member of the group (GROUP-050), or `wrong-group`
   * for one whose Content names another group or none (GROUP-056), or under a sender key that
   * opened a message of another group (GROUP-054, spec/groups.md).
   */
  reason: DiscardReason | 'decrypt' | 'not-member' | 'wrong-group';
  /** The unknown content kind, for `unknown-kind`. */
  kind?: string;
  /** The crypto core's error code, for `decrypt`. */
  protocolError?: string;
}

/** Who the session speaks for, from `auth.ok`. */
export interface Session {
  address: string;
  deviceId: number;
  origin: Origin;
}

/** The outcome of a send. */
export interface SendResult {
  /** The provider's id of the message. */
  messageId: string;
  serverTimestamp: number;
  /** True when the provider had already accepted this idempotency key (a retry). */
  duplicate: boolean;
  /** The Content sent (its `id` is what replies, receipts and reactions refer to). */
  content: Content;
  idempotencyKey: string;
}

/** What a first-party device hands a new sibling device, over a channel the user trusts. */
export interface DeviceLink {
  address: string;
  deviceId: number;
  registrationId: number;
  /** The account's identity private key (never sent to the provider, ENC-002). */
  identityPrivateKey: Uint8Array;
  /**
   * The new device's own device key (AUTH-033), generated for it by `addDevice`, which registered
   * its public half with the provider; never sent to the provider. Hand it over with the rest.
   */
  devicePrivateKey: Uint8Array;
}

/** How to enrol on connect. */
export type Enrolment =
  | { method: 'register'; registrationToken: string; name: string }
  | { method: 'partner'; address: string; deviceId?: number }
  | { method: 'link'; link: DeviceLink };

/** The events a ParleyClient emits. */
export interface ClientEvents {
  message: [IncomingMessage];
  unreadable: [UnreadableMessage];
  connected: [Session];
  disconnected: [{ code: number; reason: string }];
  reconnecting: [{ attempt: number; delayMs: number }];
  queueEmpty: [];
  identityChanged: [{ address: string; deviceId: number }];
  /** A group this device is a member of changed (a `group.changed` push, already applied). */
  groupChanged: [GroupChangedFrame];
  /**
   * A third-party user invited this user to a group (a `group.invited` push, acknowledged): answer
   * it with `respondToRequest(by, action, group)`; `requests()` lists it too.
   */
  groupInvited: [GroupInvitedFrame];
  keysPublished: [{ oneTimePreKeyCount: number; oneTimeKyberPreKeyCount: number }];
  /** A failure not tied to a call: a provider frame that violates its schema, a failed reconnect. */
  problem: [ParleyError];
}
