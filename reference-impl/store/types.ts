/**
 * The provider store: one interface for everything a Parley provider keeps (spec/auth.md accounts,
 * spec/keys.md prekeys, spec/messages.md queue and idempotency, spec/consent.md consent state).
 */
import type { InteropSettings, RequestAction } from '../../schemas/frames/consent.ts';

/** Whether an account is hosted here (`local`) or belongs to a partner platform's directly connected user. */
export type AccountKind = 'local' | 'partner';

/** An account as stored. Partner accounts exist once one of their devices authenticated. */
export interface AccountRecord {
  readonly address: string;
  readonly kind: AccountKind;
  /** The account's platform: the provider's domain for local accounts, the partner's domain otherwise. */
  readonly platform: string;
  readonly interop: InteropSettings;
  readonly createdAt: number;
}

/** A device of an account with its identity key (shared by all devices of a local account). */
export interface DeviceRecord {
  readonly address: string;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly identityKey: Uint8Array;
  /**
   * The key the device authenticates with (AUTH-033): its own for a local device, the identity
   * key for a partner device (whose proof is by its identity key, AUTH-019). Devices of a store
   * migrated from before migration 6 carry the identity key here until they are added anew.
   */
  readonly deviceKey: Uint8Array;
}

/** A new first-party account with device 1. */
export interface NewLocalAccount {
  readonly address: string;
  readonly platform: string;
  readonly identityKey: Uint8Array;
  readonly registrationId: number;
  /** Device 1's device key (AUTH-033). */
  readonly deviceKey: Uint8Array;
  readonly now: number;
}

/** A signed prekey or Kyber prekey as published. */
export interface StoredSignedKey {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A one-time prekey as published. */
export interface StoredOneTimeKey {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/**
 * What one `keys.publish` stores for a device (spec/keys.md "Publishing"). The last-resort Kyber
 * prekey replaces the stored one; absent, the stored one stays.
 */
export interface PublishedKeys {
  readonly signedPreKey: StoredSignedKey;
  readonly oneTimePreKeys: readonly StoredOneTimeKey[];
  readonly lastResortKyberPreKey?: StoredSignedKey;
  readonly oneTimeKyberPreKeys?: readonly StoredSignedKey[];
}

/** How many one-time prekeys of each kind a device has stored. */
export interface PreKeyCounts {
  /** One-time (Curve25519) prekeys. */
  readonly oneTime: number;
  /** One-time Kyber prekeys. */
  readonly oneTimeKyber: number;
}

/**
 * One device's entry of a claim (KEYS-012, KEYS-028..030): `oneTimePreKey` and a one-time
 * `kyberPreKey` were deleted from the store in the same transaction; a last-resort `kyberPreKey`
 * stays stored.
 */
export interface ClaimedBundle {
  readonly device: DeviceRecord;
  readonly signedPreKey: StoredSignedKey;
  readonly oneTimePreKey: StoredOneTimeKey | null;
  readonly kyberPreKey: StoredSignedKey;
  /** True when `kyberPreKey` is the device's last-resort Kyber prekey (no one-time one was left). */
  readonly kyberLastResort: boolean;
  /** One-time prekeys of each kind left for the device after the claim. */
  readonly remaining: PreKeyCounts;
}

/** The origin stamped on a message from the sender's session. */
export interface StoredOrigin {
  readonly platform: string;
  readonly thirdParty: boolean;
}

/** The type of a queued item: a 1:1 Signal message, a group's sender-key message, or a membership change. */
export type QueuedType = 'prekey' | 'whisper' | 'senderkey' | 'group.changed' | 'group.invited';

/** One ciphertext of a send, for one recipient device. */
export interface StoredCiphertext {
  readonly deviceId: number;
  readonly type: 'prekey' | 'whisper';
  /** base64url exactly as the sender submitted it (ENC-003). */
  readonly body: string;
}

/** An accepted send, committed by `acceptMessage` in one transaction. */
export interface NewMessage {
  readonly messageId: string;
  readonly sender: string;
  readonly senderDevice: number;
  readonly origin: StoredOrigin;
  readonly recipient: string;
  readonly idempotencyKey: string;
  /** A digest of `to` and `messages`, to tell a retry from a conflicting reuse of the key. */
  readonly requestHash: string;
  readonly serverTimestamp: number;
  readonly expiresAt: number;
  /** Queued ciphertexts; empty when the recipient declined or blocked the sender (CONSENT-021). */
  readonly ciphertexts: readonly StoredCiphertext[];
  /**
   * The ciphertexts of a send suppressed by a block or decline: not queued, but charged to the
   * sender's dropped totals for each device and checked against `queueBound` like queued ones.
   */
  readonly charged?: readonly StoredCiphertext[];
  /** The bound of each recipient device's queue (DELIV-032); none when absent. */
  readonly queueBound?: QueueBound;
  /** Records a pending message request (recipient, sender, platform) unless one exists. */
  readonly openRequest?: { readonly platform: string };
  /** Marks the recipient, a partner user, as accepted by the sending first-party user (CONSENT-015). */
  readonly acceptContact?: { readonly platform: string };
}

/** The most a device's queue holds (DELIV-032): body characters (base64url) and messages. */
export interface QueueBound {
  readonly maxBytes: number;
  readonly maxMessages: number;
}

/** What the idempotency record of an accepted send says. */
export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly messageId: string;
  readonly serverTimestamp: number;
}

/** The outcome of `acceptMessage`. */
export interface AcceptResult {
  readonly messageId: string;
  readonly serverTimestamp: number;
  readonly duplicate: boolean;
  /** Set when a concurrent send with the same key but other content won the race. */
  readonly conflict: boolean;
  /** The deliveries this call queued, in `seq` order; empty for a duplicate or a suppressed send. */
  readonly queued: readonly DeviceDelivery[];
  /** Set when the send would pass a device's queue bound: nothing was written (DELIV-032). */
  readonly queueFull?: boolean;
}

/** A queued delivery with the recipient device it waits for. */
export interface DeviceDelivery {
  readonly deviceId: number;
  readonly delivery: QueuedDelivery;
}

/**
 * One queued item for one device; `seq` orders the queue and names the delivery. A group message
 * carries its group and, for some devices, the 1:1 distribution ciphertext sent beside it; a
 * membership change (`group.changed`) carries its `GroupChangeBody` as JSON in `body`.
 */
export interface QueuedDelivery {
  readonly seq: number;
  readonly messageId: string;
  readonly sender: string;
  readonly senderDevice: number;
  readonly origin: StoredOrigin;
  readonly type: QueuedType;
  readonly body: string;
  readonly serverTimestamp: number;
  readonly group?: string;
  readonly distribution?: { readonly type: 'prekey' | 'whisper'; readonly body: string };
}

/** A queued delivery with the recipient address and device it waits for. */
export interface AddressedDelivery extends DeviceDelivery {
  readonly address: string;
}

/** A recipient's relation with a third-party sender. */
export type ContactState = 'pending' | 'accepted' | 'declined';

/** A third-party sender as the recipient sees them (or, with `group`, a pending group invitation). */
export interface ContactRecord {
  readonly recipient: string;
  readonly sender: string;
  readonly platform: string;
  readonly state: ContactState;
  readonly firstSeen: number;
  /** For a group invitation listed among the requests: the group. */
  readonly group?: string;
}

/** A group member's role (spec/groups.md). */
export type GroupRole = 'admin' | 'member';

/**
 * A membership row's status: a member, an invitation awaiting the user, or an invitation the user
 * declined or whose inviter the user blocked (shown to the other members as invited: GROUP-022).
 */
export type GroupMemberStatus = 'member' | 'invited' | 'declined';

/** One membership row of a group. */
export interface GroupMemberRecord {
  readonly address: string;
  readonly role: GroupRole;
  readonly status: GroupMemberStatus;
  /** Whether the member is a user of a partner platform. */
  readonly thirdParty: boolean;
  /** Who added the address, and that adder's platform (for the invitation's origin). */
  readonly addedBy: string;
  readonly addedByPlatform: string;
  /** When the address was added (an invitation: when it was sent). */
  readonly since: number;
}

/** A group as stored: its version and its rows in the order they were added. */
export interface GroupRecord {
  readonly groupId: string;
  readonly version: number;
  readonly createdAt: number;
  readonly members: readonly GroupMemberRecord[];
}

/** What a `group.changed` push says, stored as the queued item's body. */
export interface GroupChangeBody {
  readonly group: string;
  readonly version: number;
  readonly by: string;
  readonly action: 'created' | 'added' | 'invited' | 'joined' | 'removed' | 'left' | 'role';
  readonly members: readonly string[];
  readonly role?: GroupRole;
}

/**
 * One change of a group, committed by `writeGroupChange` in one transaction: rows written and
 * deleted, the version incremented (unless `silent`), and a `group.changed` push queued for every
 * device of every member before or after the change but the actor's device.
 */
export interface GroupChange {
  readonly groupId: string;
  /** Creates the group at version 1 (the rows in `put` are its first members). */
  readonly create?: boolean;
  /** The version the change was decided on; the store refuses the change when it moved on. */
  readonly expectedVersion?: number;
  readonly actor: string;
  readonly actorDevice: number;
  readonly origin: StoredOrigin;
  readonly action: GroupChangeBody['action'];
  /** Rows to insert or replace (a new row goes last in the order). */
  readonly put: readonly GroupMemberRecord[];
  /** Addresses whose rows are deleted. */
  readonly drop: readonly string[];
  /** The addresses the push names. */
  readonly named: readonly string[];
  readonly role?: GroupRole;
  /** Writes the rows only: no new version, no push (a declined invitation: GROUP-022). */
  readonly silent?: boolean;
  /**
   * With `create`: the creating request's idempotency key and request digest, recorded with the
   * group id in the same transaction, so that a retried `group.create` finds the group (GROUP-061).
   */
  readonly idempotency?: { readonly key: string; readonly requestHash: string };
  readonly now: number;
  readonly expiresAt: number;
}

/** An invitation filed for a user (GROUP-020), as its `group.invited` push carries it. */
export interface GroupInvitation {
  readonly groupId: string;
  readonly invitee: string;
  /** The user whose addition filed it, from the device that sent the addition. */
  readonly by: string;
  readonly byDevice: number;
  readonly origin: StoredOrigin;
  readonly now: number;
  readonly expiresAt: number;
}

/** The body kept for a queued `group.invited` push. */
export interface GroupInvitationBody {
  readonly group: string;
  readonly by: string;
}

/** The outcome of `writeGroupChange`. */
export interface GroupChangeResult {
  /** The group after the change; undefined when its last member left and it was deleted. */
  readonly group: GroupRecord | undefined;
  /** The `group.changed` pushes queued, in `seq` order. */
  readonly queued: readonly AddressedDelivery[];
}

/** An accepted group send, committed by `acceptGroupMessage` in one transaction (GROUP-040..046). */
export interface NewGroupMessage {
  readonly messageId: string;
  readonly groupId: string;
  readonly sender: string;
  readonly senderDevice: number;
  readonly origin: StoredOrigin;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly serverTimestamp: number;
  readonly expiresAt: number;
  /** The sender-key ciphertext, queued for every device of every member but the sending one. */
  readonly body: string;
  /**
   * 1:1 ciphertexts queued beside it, by `address` then device id; each device they address (with
   * its current registration id) is recorded as holding the sending device's sender key (GROUP-052).
   */
  readonly distribution: ReadonlyMap<string, ReadonlyMap<number, StoredCiphertext>>;
  /**
   * The bound of each member device's queue (DELIV-032, GROUP-062): a send that would pass it for
   * any device it reaches queues nothing; none when absent.
   */
  readonly queueBound?: QueueBound;
}

/**
 * A member device that the group messages of one sending device reach but that no accepted
 * distribution from that device has reached since it became a member's device (GROUP-052).
 */
export interface UndistributedDevice {
  readonly address: string;
  readonly deviceId: number;
  readonly registrationId: number;
}

/** The outcome of `acceptGroupMessage`. */
export interface GroupAcceptResult {
  readonly messageId: string;
  readonly serverTimestamp: number;
  readonly duplicate: boolean;
  readonly conflict: boolean;
  readonly queued: readonly AddressedDelivery[];
  /** Set when the send would pass a member device's queue bound: nothing was written (GROUP-062). */
  readonly queueFull?: boolean;
}

/** An abuse report (CONSENT-023). */
export interface NewReport {
  readonly reporter: string;
  readonly reported: string;
  readonly reason: string;
  readonly messageIds: readonly string[];
  readonly comment: string | null;
  readonly now: number;
}

/** A stored report. */
export interface ReportRecord extends NewReport {
  readonly reportId: string;
}

/** An attachment upload slot (spec/attachments.md "Slot"). */
export interface AttachmentSlot {
  readonly blobId: string;
  readonly owner: string;
  readonly kind: string;
  readonly size: number;
  readonly digest: string;
  readonly uploadToken: string;
  readonly capability: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A slot with its upload state: `completedAt` is set once the digest verified (ATT-021, ATT-025). */
export interface AttachmentBlob extends AttachmentSlot {
  readonly completedAt: number | null;
}

/** What one step of the sweep (`purgeExpired`) deleted. */
export interface PurgeResult {
  /** Expired deliveries deleted (DELIV-028). */
  readonly deliveries: number;
  /** A table had more to delete than the step's `maxRows`: the sweep should run another step. */
  readonly more: boolean;
}

/** How one write of a `writeBatch` ended: its value, or the error it threw (and was rolled back for). */
export type BatchOutcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Everything the provider persists. Methods are synchronous and each one is atomic: an engine
 * runs every method that writes in one transaction, so a method that returns has committed durably.
 */
export interface ProviderStore {
  close(): void;

  /**
   * Runs several writes (closures calling this store's methods) in one transaction, each in its
   * own savepoint: a write that throws is rolled back alone and its error returned in its place.
   * Returns once the whole batch has committed, which survives a crash of the process but may
   * still sit in the operating system's cache until `flushed()` resolves; throws, committing
   * nothing, when the commit itself fails. Lets the provider pay one disk flush for many requests,
   * and pay it off the event loop (DELIV-008).
   */
  writeBatch<T>(writes: readonly (() => T)[]): BatchOutcome<T>[];

  /**
   * Resolves once every transaction committed before the call is on stable storage (survives a
   * power cut), without blocking the event loop; rejects when the flush fails. Calls settle in
   * order.
   */
  flushed(): Promise<void>;

  /** Creates a first-party account with device 1; false when the address is taken. */
  createLocalAccount(account: NewLocalAccount): boolean;
  /**
   * Records a partner device from a successful partner authentication (account created on first
   * use); a changed identity key drops the device's prekeys, which the old key signed.
   */
  upsertPartnerDevice(device: DeviceRecord, platform: string, now: number): void;
  getAccount(address: string): AccountRecord | undefined;
  listDevices(address: string): DeviceRecord[];
  getDevice(address: string, deviceId: number): DeviceRecord | undefined;
  /**
   * Adds a sibling device of a local account under the lowest device id in 1..127 that no current
   * device of it holds (AUTH-027, AUTH-032); undefined past `maxDevices` or when all 127 are taken.
   */
  addDevice(
    address: string,
    registrationId: number,
    deviceKey: Uint8Array,
    maxDevices: number,
    now: number,
  ): number | undefined;
  /**
   * Removes a device with its prekeys and queued messages (AUTH-028) and revokes its device key
   * for good (AUTH-036); false when it does not exist.
   */
  removeDevice(address: string, deviceId: number, now?: number): boolean;
  /**
   * Whether `deviceKey` may not become a device key of the account (AUTH-034): it is the account's
   * identity key, the key of a current device, or the key of a removed one.
   */
  deviceKeyUsed(address: string, deviceKey: Uint8Array): boolean;

  /** Stores a publish in one transaction; returns the device's one-time prekey counts afterwards. */
  publishKeys(address: string, deviceId: number, keys: PublishedKeys): PreKeyCounts;
  /**
   * Hands out one bundle per device with a signed prekey and a last-resort Kyber prekey, each
   * one-time prekey and one-time Kyber prekey at most once, also under concurrent claims.
   */
  claimKeys(address: string, deviceIds: readonly number[] | undefined): ClaimedBundle[];
  countOneTimePreKeys(address: string, deviceId: number): number;
  /** Both one-time prekey counts of a device (KEYS-022, KEYS-032). */
  countPreKeys(address: string, deviceId: number): PreKeyCounts;

  findIdempotent(sender: string, senderDevice: number, key: string): IdempotencyRecord | undefined;
  acceptMessage(message: NewMessage): AcceptResult;
  /** Unexpired deliveries for a device with `seq > afterSeq`, in acceptance order. */
  pendingDeliveries(
    address: string,
    deviceId: number,
    afterSeq: number,
    now: number,
  ): QueuedDelivery[];
  /** Removes the device's deliveries named by `seqs`; returns how many existed. */
  ackDeliveries(address: string, deviceId: number, seqs: readonly number[]): number;
  /**
   * One step of the sweep: deletes expired deliveries, idempotency records older than
   * `idempotencyBefore` and expired partner token ids, at most `maxRows` of each.
   */
  purgeExpired(now: number, idempotencyBefore: number, maxRows: number): PurgeResult;

  /** Replaces a user's settings and, in the same transaction, deletes the queued messages and contacts of platforms no longer allowed (CONSENT-028..031). */
  setConsent(address: string, settings: InteropSettings): void;
  getContact(recipient: string, sender: string): ContactRecord | undefined;
  listRequests(recipient: string): ContactRecord[];
  /** Applies a request decision (CONSENT-015, -016); `block` also records a block. */
  respondRequest(recipient: string, sender: string, action: RequestAction, now: number): void;
  /** Blocks (deleting the sender's queued messages to the user, CONSENT-020) or unblocks. */
  setBlock(address: string, blocked: string, on: boolean, now: number): void;
  isBlocked(address: string, blocked: string): boolean;
  addReport(report: NewReport): string;
  getReport(reportId: string): ReportRecord | undefined;

  /** A group with its rows, or undefined when no such group exists (spec/groups.md). */
  getGroup(groupId: string): GroupRecord | undefined;
  /** Commits a membership change (GROUP-010..016); returns the group after it and its pushes. */
  writeGroupChange(change: GroupChange): GroupChangeResult;
  /**
   * Queues a `group.invited` push for every device of an invited user (GROUP-025); called in the
   * transaction that files the invitation. Returns the pushes queued.
   */
  queueGroupInvitation(invitation: GroupInvitation): AddressedDelivery[];
  /**
   * Stores a group send and queues it for every device of every current member but the sending
   * device, read in the same transaction (GROUP-041, GROUP-043), except members who blocked the
   * sender and, from a third-party sender, first-party members whose interop settings do not allow
   * the sender's platform; an idempotency key seen before queues nothing.
   */
  acceptGroupMessage(message: NewGroupMessage): GroupAcceptResult;
  /**
   * The current devices of the group's members that a group message from `sender`'s device
   * `senderDevice` would be for (the sender's own other devices included; from a third-party
   * sender, not first-party members whose interop settings do not allow `origin.platform`) and
   * that no distribution accepted from that device has reached with their current registration id
   * (GROUP-052); in member then device order. One query; call it inside the write that accepts to
   * read what that transaction sees. A block does not hide a member here (CONSENT-022).
   */
  undistributedGroupDevices(
    groupId: string,
    sender: string,
    senderDevice: number,
    origin: StoredOrigin,
  ): UndistributedDevice[];
  /** Whether two addresses are both members of some group. */
  shareGroup(a: string, b: string): boolean;
  /** Whether a group has a member of a partner platform (its messages are third-party chats). */
  groupHasThirdParty(groupId: string): boolean;

  /** Remembers an accepted partner token id; false when (issuer, jti) was seen before (AUTH-017). */
  rememberTokenId(issuer: string, jti: string, expiresAt: number): boolean;

  /** Stored, unexpired attachment bytes of an owner (ATT-016). */
  attachmentBytes(owner: string, now: number): number;
  createSlot(slot: AttachmentSlot): void;
  /** A slot by blob id, for the attachment HTTP routes. */
  getSlot(blobId: string): AttachmentSlot | undefined;
  /** A slot with its completion state (spec/attachments.md "Upload", "Download"). */
  getBlob(blobId: string): AttachmentBlob | undefined;
  /** Marks a slot's blob complete (digest verified, upload token spent); false when the slot is gone. */
  completeBlob(blobId: string, now: number): boolean;
  /** Deletes a slot and its blob state, releasing its bytes from the quota (ATT-021, ATT-033). */
  deleteSlot(blobId: string): boolean;
  /** Blob ids of slots whose `expiresAt` is at or before `now`, oldest first, at most `limit` (ATT-032). */
  expiredSlots(now: number, limit: number): string[];
}
