/**
 * Consent frames: interop opt-in (off by default), message requests, blocking and reporting.
 * Spec: spec/consent.md (DMA Art. 7(7)).
 */
import type { Address, OpaqueId, Origin, PlatformId, TimestampMs } from '../common.ts';
import type { ReplyBase, RequestBase } from './envelope.ts';
import type { GroupId } from './groups.ts';

/**
 * The partner platforms a user accepts messages from.
 * @items {"$ref": "PlatformId"}
 * @minItems 1
 * @maxItems 256
 * @uniqueItems true
 */
export type PlatformList = PlatformId[];

/** Whether third-party chats appear in their own section or in the main inbox. */
export type InboxMode = 'separate' | 'combined';

/** A user's interoperability settings. */
export interface InteropSettings {
  /** Whether third-party messages are accepted at all; false by default. */
  enabled: boolean;
  /** Every partner platform ("all"), or only the ones listed. */
  platforms: 'all' | PlatformList;
  /** Where third-party chats appear. */
  inbox: InboxMode;
}

/** Reads the user's interop settings. */
export interface ConsentGetFrame extends RequestBase {
  type: 'consent.get';
}

/** Replaces the user's interop settings (first-party sessions only). */
export interface ConsentSetFrame extends RequestBase {
  type: 'consent.set';
  /** The new settings. */
  interop: InteropSettings;
}

/** Answers `consent.get` and `consent.set`: the settings now in force. */
export interface ConsentStateFrame extends ReplyBase {
  type: 'consent.state';
  /** The settings in force. */
  interop: InteropSettings;
}

/** Lists pending message requests (first contacts from third-party senders). */
export interface RequestsListFrame extends RequestBase {
  type: 'requests.list';
}

/**
 * A first contact from a third-party sender awaiting the user's decision: their first message, or
 * their invitation to a group.
 */
export interface PendingRequest {
  /** The sender (for an invitation, the member who added the user). */
  from: Address;
  /** The sender's origin. */
  origin: Origin;
  /** When the sender's first message, or the invitation, arrived. */
  firstSeen: TimestampMs;
  /** For an invitation: the group the user was added to. */
  group?: GroupId;
}

/** Answers `requests.list`. */
export interface RequestsFrame extends ReplyBase {
  type: 'requests';
  /**
   * Pending requests, oldest first.
   * @maxItems 1000
   */
  pending: PendingRequest[];
}

/** The user's decision on a message request. */
export type RequestAction = 'accept' | 'decline' | 'block';

/** Accepts, declines or blocks a message request or a group invitation. */
export interface RequestRespondFrame extends RequestBase {
  type: 'request.respond';
  /** The sender whose request is answered (for an invitation, the member who added the user). */
  from: Address;
  /** The decision. */
  action: RequestAction;
  /** For an invitation: the group; accept joins it, decline and block leave it. */
  group?: GroupId;
}

/** Answers `request.respond`. */
export interface RequestRespondedFrame extends ReplyBase {
  type: 'request.responded';
  /** The sender whose request was answered. */
  from: Address;
  /** The decision taken. */
  action: RequestAction;
  /** For an invitation: the group. */
  group?: GroupId;
}

/** Blocks or unblocks an address. */
export interface BlockSetFrame extends RequestBase {
  type: 'block.set';
  /** The address. */
  address: Address;
  /** True to block, false to unblock. */
  blocked: boolean;
}

/** Answers `block.set`: the block state now in force. */
export interface BlockStateFrame extends ReplyBase {
  type: 'block.state';
  /** The address. */
  address: Address;
  /** Whether the address is blocked. */
  blocked: boolean;
}

/** Why a user reports an address. */
export type ReportReason = 'spam' | 'abuse' | 'other';

/**
 * The reporter's free-text comment.
 * @minLength 1
 * @maxLength 2048
 */
export type ReportComment = string;

/**
 * Provider message ids named in a report.
 * @items {"$ref": "OpaqueId"}
 * @minItems 1
 * @maxItems 100
 * @uniqueItems true
 */
export type ReportedMessageIds = OpaqueId[];

/** Reports an address for spam or abuse, optionally naming messages. */
export interface ReportFrame extends RequestBase {
  type: 'report';
  /** The reported address. */
  address: Address;
  /** Why. */
  reason: ReportReason;
  /** Provider message ids (`messageId` of `message` pushes) the report concerns. */
  messageIds?: ReportedMessageIds;
  /** A free-text comment. */
  comment?: ReportComment;
}

/** Answers `report`: the provider's id for the report. */
export interface ReportReceivedFrame extends ReplyBase {
  type: 'report.received';
  /** The report's id. */
  reportId: OpaqueId;
}
