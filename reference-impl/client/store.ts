// The SDK's persistent state behind one interface: the crypto core's stores plus account, dedupe
// ids and pending sends (spec/crypto.md "Sessions", messages.md), and an in-memory implementation.
import {
  IdentityKeyPair,
  MemoryKyberPreKeys,
  type Direction,
  type KyberPreKeyRecord,
  type PreKeyRecord,
  type ProtocolAddress,
  type ProtocolStores,
  type SenderKeyRecord,
  type SenderKeyStore,
  type SessionRecord,
  type SignedPreKeyRecord,
} from '../crypto/index.ts';
import type { AttachmentPointer } from '../../schemas/content.ts';
import type {
  DeviceCiphertext,
  GroupMember,
  MemberCiphertexts,
} from '../../schemas/frames/index.ts';
import { ParleyError } from './errors.ts';

/** How the account authenticates: device proof (first-party) or partner token plus device proof. */
export type AccountMode = 'first-party' | 'partner';

/** Who this device is, once registered or linked. */
export interface AccountRecord {
  address: string;
  deviceId: number;
  mode: AccountMode;
}

/** The device's own long-term keys: identity private key, device key and registration id. */
export interface LocalIdentity {
  identityPrivateKey: Uint8Array;
  registrationId: number;
  /**
   * The private half of this device's own authentication key (spec/auth.md AUTH-033), which no
   * other device has. Absent in a store written before device keys: such a device signs in with
   * the identity key, which a provider migrated from before device keys accepts for it.
   */
  devicePrivateKey?: Uint8Array;
}

/**
 * A `message.send` not yet answered `message.accepted`, persisted so that a retry after a
 * reconnect or restart repeats exactly the same frame members (DELIV-010, DELIV-011).
 */
export interface PendingSend {
  idempotencyKey: string;
  to: string;
  /** The Content JSON, to re-encrypt for devices added by a DEVICE_MISMATCH. */
  content: string;
  /** The ciphertexts, one per recipient device, exactly as last sent. */
  messages: DeviceCiphertext[];
  createdAt: number;
}

/**
 * A group this device is a member of, as the SDK last learnt it from `group.state` and
 * `group.changed` (spec/groups.md), with the state of its own sender key for the group
 * (spec/crypto.md "Sender keys").
 */
export interface GroupRecord {
  group: string;
  version: number;
  /** Members and invitations, in the provider's order. */
  members: GroupMember[];
  /** The distribution id (a UUID) of this device's sender key for the group. */
  distributionId: string;
  /**
   * A member left or was removed since the current sender key was made: the next send creates a
   * new one first (ENC-089).
   */
  rotate: boolean;
  /** The devices ("name.deviceId") that hold the current sender key, from a distribution we sent. */
  distributed: string[];
  /**
   * This user left or was removed: the record stays, as last known, so that messages the members
   * sent before (still in the queue, spec/groups.md) open; nothing is sent to the group any more.
   */
  left?: boolean;
  /** The group's name and avatar: the latest `group` content a member sent (GROUP-060). */
  context?: GroupContextRecord;
}

/** A group's name and avatar as the SDK keeps them, with the group message that set them. */
export interface GroupContextRecord {
  name: string;
  avatar?: AttachmentPointer;
  /** The member who set them. */
  setBy: string;
  /** The provider's message id and timestamp of that group message: the latest one wins. */
  messageId: string;
  serverTimestamp: number;
}

/**
 * A group `message.send` not yet answered, persisted so that a retry after a reconnect or restart
 * repeats exactly the same frame members (DELIV-010, DELIV-011 as for 1:1 sends): the sender key
 * has moved on, so the body cannot be encrypted again.
 */
export interface PendingGroupSend {
  idempotencyKey: string;
  group: string;
  groupVersion: number;
  /** The SenderKeyMessage, base64url. */
  body: string;
  /** The 1:1 distribution ciphertexts, as sent. */
  distribution: MemberCiphertexts[];
  /** The devices the distribution carries the sender key to ("name.deviceId"). */
  distributedTo: string[];
  createdAt: number;
}

/**
 * A `group.create` not yet answered (GROUP-061): kept until its `group.state` arrives, so that a
 * create whose reply was lost, even with the app, is asked again with the same key.
 */
export interface PendingGroupCreate {
  idempotencyKey: string;
  members: string[];
  createdAt: number;
}

/** Numbered key ids the SDK hands out, never reused (KEYS-008). */
export type CounterName = 'nextPreKeyId' | 'nextSignedPreKeyId' | 'nextKyberPreKeyId';

/**
 * Everything a client persists. The four crypto stores keep libsignal's contract: a session
 * record is stored only after a successful operation. Every method may throw on storage failure.
 */
export interface ClientStore extends ProtocolStores, SenderKeyStore {
  /** The device's identity; undefined before the first registration. */
  getLocalIdentity(): Promise<LocalIdentity | undefined>;
  setLocalIdentity(identity: LocalIdentity): Promise<void>;
  /**
   * The key pair this device signs `auth` with as a first-party device (spec/auth.md AUTH-033):
   * its device key; the identity key in a store written before device keys.
   */
  getDeviceKeyPair(): Promise<IdentityKeyPair>;
  getAccount(): Promise<AccountRecord | undefined>;
  setAccount(account: AccountRecord): Promise<void>;

  /** The next value of a key id counter (1 when never set). */
  getCounter(name: CounterName): Promise<number>;
  setCounter(name: CounterName, value: number): Promise<void>;
  /** The signed prekeys held, oldest first (for rotation, KEYS-009/KEYS-010). */
  listSignedPreKeys(): Promise<SignedPreKeyRecord[]>;
  removeSignedPreKey(keyId: number): Promise<void>;
  /** How many one-time prekeys are held. */
  countPreKeys(): Promise<number>;
  /** The last-resort Kyber prekeys held, oldest first (for rotation, KEYS-027). */
  listLastResortKyberPreKeys(): Promise<KyberPreKeyRecord[]>;
  removeKyberPreKey(keyId: number): Promise<void>;
  /** How many one-time Kyber prekeys are held. */
  countKyberPreKeys(): Promise<number>;

  /** Drops the session with one device (DEVICE_MISMATCH extra/stale, DELIV-004). */
  deleteSession(address: ProtocolAddress): Promise<void>;
  /** The device ids of `name` we hold sessions with, ascending. */
  sessionDevices(name: string): Promise<number[]>;

  /** Whether a provider `messageId` was already processed (DELIV-023). */
  hasProcessed(messageId: string): Promise<boolean>;
  markProcessed(messageId: string, at: number): Promise<void>;
  /** Forgets processed ids older than `before` (ms); returns how many were dropped. */
  pruneProcessed(before: number): Promise<number>;

  /** A decrypted message not yet handed to the application, as JSON (DELIV-022). */
  getInbound(messageId: string): Promise<string | undefined>;
  saveInbound(messageId: string, message: string): Promise<void>;
  deleteInbound(messageId: string): Promise<void>;

  savePendingSend(send: PendingSend): Promise<void>;
  deletePendingSend(idempotencyKey: string): Promise<void>;
  /** Pending sends, oldest first. */
  listPendingSends(): Promise<PendingSend[]>;

  /** The groups this device is a member of (spec/groups.md). */
  getGroup(group: string): Promise<GroupRecord | undefined>;
  saveGroup(record: GroupRecord): Promise<void>;
  /**
   * The group of `sender`'s sender key of `distributionId`: the group of the first message that
   * opened under it with a Content naming the group it was delivered for (GROUP-054, GROUP-056).
   * Undefined when none opened yet; null for a sender key stored before the store recorded groups
   * (see bindSenderKeyGroup).
   */
  senderKeyGroup(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<string | null | undefined>;
  /**
   * Records `group` as the group of `sender`'s sender key of `distributionId`, unless a group is
   * recorded already: the first one holds. A null record (a key older than the record) takes it.
   */
  bindSenderKeyGroup(sender: ProtocolAddress, distributionId: string, group: string): Promise<void>;
  /** Forgets a group the device left or was removed from; its sender keys stay until pruned. */
  deleteGroup(group: string): Promise<void>;
  listGroups(): Promise<GroupRecord[]>;
  savePendingGroupSend(send: PendingGroupSend): Promise<void>;
  deletePendingGroupSend(idempotencyKey: string): Promise<void>;
  /** Pending group sends, oldest first. */
  listPendingGroupSends(): Promise<PendingGroupSend[]>;
  savePendingGroupCreate(create: PendingGroupCreate): Promise<void>;
  deletePendingGroupCreate(idempotencyKey: string): Promise<void>;
  /** Pending group creations, oldest first. */
  listPendingGroupCreates(): Promise<PendingGroupCreate[]>;

  /** Senders whose message request is not yet accepted (CONSENT-017). */
  isRequestSender(address: string): Promise<boolean>;
  setRequestSender(address: string, pending: boolean): Promise<void>;

  close(): Promise<void>;
}

/** "name.deviceId", libsignal's printed ProtocolAddress. */
export function sessionKey(address: ProtocolAddress): string {
  return `${address.name}.${address.deviceId}`;
}

/** The identity key pair of a store, or NOT_AUTHENTICATED when it holds no identity yet. */
export async function requireIdentity(store: ClientStore): Promise<LocalIdentity> {
  const identity = await store.getLocalIdentity();
  if (identity === undefined) {
    throw new ParleyError('NOT_AUTHENTICATED', 'this store holds no identity key yet');
  }
  return identity;
}

/** `getDeviceKeyPair` of either store: the device key, else (an older store) the identity key. */
export async function deviceKeyPairOf(store: ClientStore): Promise<IdentityKeyPair> {
  const local = await requireIdentity(store);
  return local.devicePrivateKey === undefined
    ? store.getIdentityKeyPair()
    : IdentityKeyPair.fromPrivateKey(local.devicePrivateKey);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** The whole ClientStore in memory; nothing survives the process. */
export class MemoryClientStore implements ClientStore {
  private identity: LocalIdentity | undefined;
  private identityPair: IdentityKeyPair | undefined;
  private account: AccountRecord | undefined;
  private readonly counters = new Map<CounterName, number>();
  private readonly identities = new Map<string, Uint8Array>();
  private readonly preKeys = new Map<number, PreKeyRecord>();
  private readonly signedPreKeys = new Map<number, SignedPreKeyRecord>();
  private readonly kyberPreKeys = new MemoryKyberPreKeys();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly processed = new Map<string, number>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly requestSenders = new Set<string>();
  private readonly inbound = new Map<string, string>();
  private readonly senderKeys = new Map<string, SenderKeyRecord>();
  private readonly senderKeyGroups = new Map<string, string>();
  private readonly groups = new Map<string, GroupRecord>();
  private readonly pendingGroup = new Map<string, PendingGroupSend>();
  private readonly pendingCreates = new Map<string, PendingGroupCreate>();

  async getLocalIdentity(): Promise<LocalIdentity | undefined> {
    return this.identity;
  }
  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    this.identity = identity;
    this.identityPair = IdentityKeyPair.fromPrivateKey(identity.identityPrivateKey);
  }
  async getAccount(): Promise<AccountRecord | undefined> {
    return this.account;
  }
  async setAccount(account: AccountRecord): Promise<void> {
    this.account = { ...account };
  }
  async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    await requireIdentity(this);
    return this.identityPair!;
  }
  getDeviceKeyPair(): Promise<IdentityKeyPair> {
    return deviceKeyPairOf(this);
  }
  async getLocalRegistrationId(): Promise<number> {
    return (await requireIdentity(this)).registrationId;
  }
  async saveIdentity(address: ProtocolAddress, identityKey: Uint8Array): Promise<boolean> {
    const known = this.identities.get(sessionKey(address));
    this.identities.set(sessionKey(address), identityKey);
    return known !== undefined && !equal(known, identityKey);
  }
  async isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: Uint8Array,
    _direction: Direction,
  ): Promise<boolean> {
    const known = this.identities.get(sessionKey(address));
    return known === undefined || equal(known, identityKey);
  }
  async getIdentity(address: ProtocolAddress): Promise<Uint8Array | undefined> {
    return this.identities.get(sessionKey(address));
  }
  async getPreKey(keyId: number): Promise<PreKeyRecord | undefined> {
    return this.preKeys.get(keyId);
  }
  async savePreKey(keyId: number, record: PreKeyRecord): Promise<void> {
    this.preKeys.set(keyId, record);
  }
  async removePreKey(keyId: number): Promise<void> {
    this.preKeys.delete(keyId);
  }
  async countPreKeys(): Promise<number> {
    return this.preKeys.size;
  }
  async getSignedPreKey(keyId: number): Promise<SignedPreKeyRecord | undefined> {
    return this.signedPreKeys.get(keyId);
  }
  async saveSignedPreKey(keyId: number, record: SignedPreKeyRecord): Promise<void> {
    this.signedPreKeys.set(keyId, record);
  }
  async listSignedPreKeys(): Promise<SignedPreKeyRecord[]> {
    return [...this.signedPreKeys.values()].sort((a, b) => a.timestamp - b.timestamp);
  }
  async removeSignedPreKey(keyId: number): Promise<void> {
    this.signedPreKeys.delete(keyId);
  }
  async getKyberPreKey(keyId: number): Promise<KyberPreKeyRecord | undefined> {
    return this.kyberPreKeys.get(keyId);
  }
  async saveKyberPreKey(
    keyId: number,
    record: KyberPreKeyRecord,
    options: { readonly lastResort?: boolean } = {},
  ): Promise<void> {
    this.kyberPreKeys.save(keyId, record, options.lastResort === true);
  }
  async markKyberPreKeyUsed(
    keyId: number,
    signedPreKeyId: number,
    baseKey: Uint8Array,
  ): Promise<void> {
    this.kyberPreKeys.markUsed(keyId, signedPreKeyId, baseKey);
  }
  async listLastResortKyberPreKeys(): Promise<KyberPreKeyRecord[]> {
    return this.kyberPreKeys.lastResort();
  }
  async removeKyberPreKey(keyId: number): Promise<void> {
    this.kyberPreKeys.remove(keyId);
  }
  async countKyberPreKeys(): Promise<number> {
    return this.kyberPreKeys.countOneTime();
  }
  async getCounter(name: CounterName): Promise<number> {
    return this.counters.get(name) ?? 1;
  }
  async setCounter(name: CounterName, value: number): Promise<void> {
    this.counters.set(name, value);
  }
  async loadSession(address: ProtocolAddress): Promise<SessionRecord | undefined> {
    return this.sessions.get(sessionKey(address));
  }
  async storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.sessions.set(sessionKey(address), record);
  }
  async deleteSession(address: ProtocolAddress): Promise<void> {
    this.sessions.delete(sessionKey(address));
  }
  async sessionDevices(name: string): Promise<number[]> {
    const prefix = `${name}.`;
    return [...this.sessions.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => Number(k.slice(prefix.length)))
      .sort((a, b) => a - b);
  }
  async hasProcessed(messageId: string): Promise<boolean> {
    return this.processed.has(messageId);
  }
  async markProcessed(messageId: string, at: number): Promise<void> {
    this.processed.set(messageId, at);
  }
  async pruneProcessed(before: number): Promise<number> {
    let dropped = 0;
    for (const [id, at] of this.processed) {
      if (at < before) {
        this.processed.delete(id);
        dropped++;
      }
    }
    return dropped;
  }
  async getInbound(messageId: string): Promise<string | undefined> {
    return this.inbound.get(messageId);
  }
  async saveInbound(messageId: string, message: string): Promise<void> {
    this.inbound.set(messageId, message);
  }
  async deleteInbound(messageId: string): Promise<void> {
    this.inbound.delete(messageId);
  }
  async savePendingSend(send: PendingSend): Promise<void> {
    this.pending.set(send.idempotencyKey, structuredClone(send));
  }
  async deletePendingSend(idempotencyKey: string): Promise<void> {
    this.pending.delete(idempotencyKey);
  }
  async listPendingSends(): Promise<PendingSend[]> {
    return [...this.pending.values()]
      .map((p) => structuredClone(p))
      .sort((a, b) => a.createdAt - b.createdAt);
  }
  async loadSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<SenderKeyRecord | undefined> {
    return this.senderKeys.get(`${sessionKey(sender)}/${distributionId}`);
  }
  async storeSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void> {
    this.senderKeys.set(`${sessionKey(sender)}/${distributionId}`, record);
  }
  async senderKeyGroup(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<string | null | undefined> {
    return this.senderKeyGroups.get(`${sessionKey(sender)}/${distributionId}`);
  }
  async bindSenderKeyGroup(
    sender: ProtocolAddress,
    distributionId: string,
    group: string,
  ): Promise<void> {
    const key = `${sessionKey(sender)}/${distributionId}`;
    if (!this.senderKeyGroups.has(key)) this.senderKeyGroups.set(key, group);
  }
  async getGroup(group: string): Promise<GroupRecord | undefined> {
    const record = this.groups.get(group);
    return record === undefined ? undefined : structuredClone(record);
  }
  async saveGroup(record: GroupRecord): Promise<void> {
    this.groups.set(record.group, structuredClone(record));
  }
  async deleteGroup(group: string): Promise<void> {
    this.groups.delete(group);
  }
  async listGroups(): Promise<GroupRecord[]> {
    return [...this.groups.values()].map((g) => structuredClone(g));
  }
  async savePendingGroupSend(send: PendingGroupSend): Promise<void> {
    this.pendingGroup.set(send.idempotencyKey, structuredClone(send));
  }
  async deletePendingGroupSend(idempotencyKey: string): Promise<void> {
    this.pendingGroup.delete(idempotencyKey);
  }
  async listPendingGroupSends(): Promise<PendingGroupSend[]> {
    return [...this.pendingGroup.values()]
      .map((p) => structuredClone(p))
      .sort((a, b) => a.createdAt - b.createdAt);
  }
  async savePendingGroupCreate(create: PendingGroupCreate): Promise<void> {
    this.pendingCreates.set(create.idempotencyKey, structuredClone(create));
  }
  async deletePendingGroupCreate(idempotencyKey: string): Promise<void> {
    this.pendingCreates.delete(idempotencyKey);
  }
  async listPendingGroupCreates(): Promise<PendingGroupCreate[]> {
    return [...this.pendingCreates.values()]
      .sort((a, b) => a.createdAt - b.createdAt || (a.idempotencyKey < b.idempotencyKey ? -1 : 1))
      .map((c) => structuredClone(c));
  }
  async isRequestSender(address: string): Promise<boolean> {
    return this.requestSenders.has(address);
  }
  async setRequestSender(address: string, pending: boolean): Promise<void> {
    if (pending) this.requestSenders.add(address);
    else this.requestSenders.delete(address);
  }
  async close(): Promise<void> {}
}
