/**
 * Group frames: provider-hosted groups whose members may be users of any platform, membership
 * changes authorised by admin roles, a version every change increments, and the membership-change
 * push. The provider keeps membership and roles only; a group's name and avatar travel as
 * encrypted group content. Spec: spec/groups.md (DMA Art. 7(2)(b)).
 */
import type { Address, IdempotencyKey, Origin, TimestampMs } from '../common.ts';
import type { PushBase, ReplyBase, RequestBase } from './envelope.ts';

/**
 * A group, named by the id its provider assigned at `group.create`: 1–128 characters of
 * [A-Za-z0-9._:-].
 * @pattern ^[A-Za-z0-9._:-]{1,128}$
 * @minLength 1
 * @maxLength 128
 */
export type GroupId = string;

/**
 * A group's version: 1 at creation, incremented by every membership or role change.
 * @TJS-type integer
 * @minimum 1
 * @maximum 2147483647
 */
export type GroupVersion = number;

/** A member's role: admins add, remove and promote; every member may leave. */
export type GroupRole = 'admin' | 'member';

/**
 * Whether an address is a member, or invited and awaiting the user's decision (an invitation
 * stays `invited` for the other members also once declined, so that a decline is not revealed).
 */
export type GroupMemberState = 'member' | 'invited';

/**
 * Addresses named in a membership change: users of any platform, addressed as 1:1 recipients are.
 * @items {"$ref": "Address"}
 * @minItems 1
 * @maxItems 1024
 * @uniqueItems true
 */
export type GroupAddressList = Address[];

/** One entry of a group's membership. */
export interface GroupMember {
  /** The member's address. */
  address: Address;
  /** The member's role. */
  role: GroupRole;
  /** Member, or invited. */
  state: GroupMemberState;
}

/** Creates a group with the sender as its only admin and adds `members` as `group.add` does. */
export interface GroupCreateFrame extends RequestBase {
  type: 'group.create';
  /** Makes a retried `group.create` create one group (GROUP-061). */
  idempotencyKey: IdempotencyKey;
  /** The first members besides the creator; absent: the creator alone. */
  members?: GroupAddressList;
}

/** Adds members to a group (admins only). */
export interface GroupAddFrame extends RequestBase {
  type: 'group.add';
  /** The group. */
  group: GroupId;
  /** The addresses to add. */
  members: GroupAddressList;
}

/** Removes members or invitations from a group (admins only). */
export interface GroupRemoveFrame extends RequestBase {
  type: 'group.remove';
  /** The group. */
  group: GroupId;
  /** The addresses to remove. */
  members: GroupAddressList;
}

/** Leaves a group (any member). */
export interface GroupLeaveFrame extends RequestBase {
  type: 'group.leave';
  /** The group. */
  group: GroupId;
}

/** Sets a member's role (admins only). */
export interface GroupRoleFrame extends RequestBase {
  type: 'group.role';
  /** The group. */
  group: GroupId;
  /** The member whose role changes. */
  member: Address;
  /** The new role. */
  role: GroupRole;
}

/** Reads a group's current membership and version (members only). */
export interface GroupGetFrame extends RequestBase {
  type: 'group.get';
  /** The group. */
  group: GroupId;
}

/**
 * A group's members and invitations.
 * @maxItems 1024
 */
export type GroupMemberList = GroupMember[];

/** Answers `group.create`, `group.add`, `group.remove`, `group.role` and `group.get`: the group as it now is. */
export interface GroupStateFrame extends ReplyBase {
  type: 'group.state';
  /** The group. */
  group: GroupId;
  /** The group's current version. */
  version: GroupVersion;
  /** Every member and invitation, in the order they joined or were invited. */
  members: GroupMemberList;
}

/** Answers `group.leave`: the sender is no longer a member. */
export interface GroupLeftFrame extends ReplyBase {
  type: 'group.left';
  /** The group left. */
  group: GroupId;
}

/** What a membership change did. */
export type GroupAction = 'created' | 'added' | 'invited' | 'joined' | 'removed' | 'left' | 'role';

/**
 * Pushed to every device of every member of the group before and after a change but the device
 * that made it; `id` is the delivery id the device acknowledges with `message.ack`.
 */
export interface GroupChangedFrame extends PushBase {
  type: 'group.changed';
  /** The group. */
  group: GroupId;
  /** The version the change produced. */
  version: GroupVersion;
  /** The member whose request made the change. */
  by: Address;
  /** What changed. */
  action: GroupAction;
  /** The addresses the change concerns (for `left` and `joined`, the member itself). */
  members: GroupAddressList;
  /** The new role, for `role`. */
  role?: GroupRole;
  /** When the provider committed the change. */
  serverTimestamp: TimestampMs;
}

/**
 * Pushed to every device of a first-party user when a third-party user's `group.create` or
 * `group.add` files an invitation for them (spec/groups.md#invitations); `id` is the delivery id
 * the device acknowledges with `message.ack`. The invitation itself is read and answered through
 * `requests.list` and `request.respond`; the push reveals nothing of the group's members.
 */
export interface GroupInvitedFrame extends PushBase {
  type: 'group.invited';
  /** The group the user is invited to. */
  group: GroupId;
  /** The user whose addition filed the invitation. */
  by: Address;
  /** The platform of the user who invited. */
  origin: Origin;
  /** When the provider committed the invitation. */
  serverTimestamp: TimestampMs;
}
