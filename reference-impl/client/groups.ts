// Groups in the SDK (spec/groups.md; spec/crypto.md "Sender keys"): membership requests and the
// pushes that report changes, the device's own sender key per group, distributed over 1:1 sessions
// with the group send and rotated after a member leaves (ENC-081, ENC-089), and group messages
// decrypted only from members, with distribution messages taken only from 1:1 messages (ENC-081),
// shown only when their Content names the group they came in (GROUP-056), and only under a sender
// key that opened no message of another group (GROUP-054);
// the group's name and avatar, kept from the latest `group` content of a member (GROUP-060).
import { randomUUID } from 'node:crypto';
import {
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
  processSenderKeyDistributionMessage,
  ProtocolError,
  rotateSenderKey,
  type ProtocolAddress,
} from '../crypto/index.ts';
import type { AttachmentPointer, Content } from '../../schemas/content.ts';
import type { ClientFrameType } from '../../schemas/frame-types.ts';
import type {
  GroupChangedFrame,
  GroupMember,
  GroupRole,
  GroupStateFrame,
  KeysBundleFrame,
  MemberCiphertexts,
  MessageFrame,
  ProviderLimits,
} from '../../schemas/frames/index.ts';
import type { ReplyTo, RequestBody } from './connection.ts';
import { decodePlaintext, encodePlaintext } from './content.ts';
import { deviceMismatchOf, memberDevicesOf, ParleyError } from './errors.ts';
import { translate, type Sessions } from './sessions.ts';
import type {
  ClientStore,
  GroupContextRecord,
  GroupRecord,
  PendingGroupCreate,
  PendingGroupSend,
} from './store.ts';
import type { DecodedPlaintext } from './content.ts';
import { validator } from './validation.ts';

/** Refusals a group send repairs and retries (stale version, device lists, rate limits) before it gives up. */
export const MAX_GROUP_SEND_ROUNDS = 4;
/** Dropped connections a group send rides out, as a 1:1 send does (outbox.ts). */
const MAX_UNAVAILABLE_RETRIES = 10;
/**
 * How long an unanswered `group.create` is asked again with its key: within the provider's 24 hours
 * of idempotency (GROUP-061), with an hour to spare; an older one is dropped unasked, since asking
 * could make a second group.
 */
export const PENDING_CREATE_MAX_AGE_MS = 23 * 60 * 60 * 1000;

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));
const b64 = (data: Uint8Array): string => Buffer.from(data).toString('base64url');
const deviceKey = (name: string, deviceId: number): string => `${name}.${deviceId}`;

/** A group as the SDK knows it. */
export interface GroupInfo {
  group: string;
  version: number;
  members: GroupMember[];
  /** The group's name, once a member set one (GROUP-060). */
  name?: string;
  /** The group's avatar, when the latest `group` content carried one. */
  avatar?: AttachmentPointer;
}

/** The outcome of a group send. */
export interface GroupSendResult {
  messageId: string;
  serverTimestamp: number;
  duplicate: boolean;
  content: Content;
  idempotencyKey: string;
  /** The devices this send carried the sender key to ("name.deviceId"). */
  distributedTo: string[];
}

/** What opening a group delivery gave. */
export type OpenedGroupMessage =
  | { ok: true; decoded: DecodedPlaintext }
  | { ok: false; reason: 'not-member' | 'wrong-group' | 'decrypt'; protocolError?: string };

/** What the group half needs from the client that owns it. */
export interface GroupsPort {
  readonly store: ClientStore;
  readonly sessions: Sessions;
  request<T extends ClientFrameType>(type: T, body: RequestBody<T>): Promise<ReplyTo<T>>;
  claimKeys(address: string, deviceIds?: number[]): Promise<KeysBundleFrame>;
  ready(): Promise<void>;
  limits(): ProviderLimits;
  reconnectable(): boolean;
  sleep(ms: number): Promise<void>;
  /** This device's address. */
  self(): Promise<ProtocolAddress>;
  groupChanged(change: GroupChangedFrame): void;
  problem(error: ParleyError): void;
}

const info = (r: GroupRecord): GroupInfo => ({
  group: r.group,
  version: r.version,
  members: r.members.map((m) => ({ ...m })),
  ...(r.context === undefined ? {} : { name: r.context.name }),
  ...(r.context?.avatar === undefined ? {} : { avatar: structuredClone(r.context.avatar) }),
});

/** Whether a `group` content stamped `candidate` is later than the recorded one (GROUP-060). */
const later = (
  candidate: Pick<GroupContextRecord, 'serverTimestamp' | 'messageId'>,
  recorded: GroupContextRecord | undefined,
): boolean =>
  recorded === undefined ||
  candidate.serverTimestamp > recorded.serverTimestamp ||
  (candidate.serverTimestamp === recorded.serverTimestamp &&
    candidate.messageId > recorded.messageId);

const isMember = (r: GroupRecord, address: string): boolean =>
  r.members.some((m) => m.address === address && m.state === 'member');

/** The group half of a client. */
export class Groups {
  /** Idempotency keys of pending group sends a running call owns. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly port: GroupsPort) {}

  // ---- membership ---------------------------------------------------------------------------

  /**
   * Creates a group with this user as its admin; `members` are added as `group.add` adds them. A
   * reply lost with the connection is asked for again with the same idempotency key, so the
   * retry answers with the group the first request created (GROUP-061).
   */
  async create(members: string[] = []): Promise<GroupInfo> {
    // Kept until answered (GROUP-061): a create whose reply was lost, with the connection or with
    // the app, is asked again with the same key, here or at the next connect (flushPending), and
    // yields the group the first request made.
    const pending = { idempotencyKey: randomUUID(), members, createdAt: Date.now() };
    await this.port.store.savePendingGroupCreate(pending);
    this.inFlight.add(pending.idempotencyKey);
    try {
      return info(await this.createPending(pending));
    } finally {
      this.inFlight.delete(pending.idempotencyKey);
    }
  }

  /** Asks for a pending creation and records the group; forgets it unless the connection went. */
  private async createPending(pending: PendingGroupCreate): Promise<GroupRecord> {
    let state;
    try {
      state = await this.request('group.create', {
        type: 'group.create',
        idempotencyKey: pending.idempotencyKey,
        ...(pending.members.length > 0 ? { members: pending.members } : {}),
      });
    } catch (error) {
      if (!(error instanceof ParleyError && error.code === 'UNAVAILABLE'))
        await this.port.store.deletePendingGroupCreate(pending.idempotencyKey);
      throw error;
    }
    const record = await this.apply(state);
    await this.port.store.deletePendingGroupCreate(pending.idempotencyKey);
    return record;
  }

  /** Adds members (admins only); they get this device's sender key with its next group send. */
  async add(group: string, members: string[]): Promise<GroupInfo> {
    return info(
      await this.apply(await this.port.request('group.add', { type: 'group.add', group, members })),
    );
  }

  /** Removes members or invitations (admins only); the next send uses a new sender key (ENC-089). */
  async remove(group: string, members: string[]): Promise<GroupInfo> {
    return info(
      await this.apply(
        await this.port.request('group.remove', { type: 'group.remove', group, members }),
      ),
    );
  }

  /** Sets a member's role (admins only). */
  async setRole(group: string, member: string, role: GroupRole): Promise<GroupInfo> {
    return info(
      await this.apply(
        await this.port.request('group.role', { type: 'group.role', group, member, role }),
      ),
    );
  }

  /** Leaves a group; the SDK keeps it as last known, for messages sent before, and sends no more. */
  async leave(group: string): Promise<void> {
    await this.port.request('group.leave', { type: 'group.leave', group });
    await this.markLeft(group);
  }

  private async markLeft(group: string): Promise<void> {
    const old = await this.port.store.getGroup(group);
    if (old !== undefined) await this.port.store.saveGroup({ ...old, left: true });
  }

  /** Reads the group from the provider and records it. Throws NOT_FOUND when not a member. */
  async refresh(group: string): Promise<GroupInfo> {
    return info(
      await this.apply(await this.port.request('group.get', { type: 'group.get', group })),
    );
  }

  /** The group as last recorded, without asking the provider. */
  async known(group: string): Promise<GroupInfo | undefined> {
    const r = await this.port.store.getGroup(group);
    return r === undefined ? undefined : info(r);
  }

  /**
   * Records a `group.state`: a member who is gone since the last record (left, removed, or
   * declined and removed) makes the next send rotate the sender key (ENC-089).
   */
  private async apply(state: GroupStateFrame): Promise<GroupRecord> {
    const old = await this.port.store.getGroup(state.group);
    const now = new Set(state.members.filter((m) => m.state === 'member').map((m) => m.address));
    const gone = (old?.members ?? []).some((m) => m.state === 'member' && !now.has(m.address));
    const record: GroupRecord = {
      group: state.group,
      version: state.version,
      members: state.members,
      distributionId: old?.distributionId ?? randomUUID(),
      rotate: (old?.rotate ?? false) || gone,
      distributed: (old?.distributed ?? []).filter((d) => now.has(d.slice(0, d.lastIndexOf('.')))),
      ...(old?.context === undefined ? {} : { context: old.context }),
    };
    await this.port.store.saveGroup(record); // a group.state answers members only: not `left`
    return record;
  }

  /**
   * Applies a `group.changed` push (GROUP-013). A change that follows the recorded version is
   * applied as it says; anything else (a group not known yet, a gap) is read with `group.get`.
   * A change that takes this user out keeps the group as last known, marked left.
   */
  async onChanged(change: GroupChangedFrame): Promise<void> {
    const self = await this.port.self();
    const old = await this.port.store.getGroup(change.group);
    const out =
      (change.action === 'removed' || change.action === 'left') &&
      change.members.includes(self.name);
    if (out) {
      await this.markLeft(change.group);
    } else if (old === undefined || old.left === true || change.version !== old.version + 1) {
      if (old === undefined || change.version > old.version) {
        try {
          await this.refresh(change.group);
        } catch (error) {
          if (!(error instanceof ParleyError && error.code === 'NOT_FOUND')) throw error;
          await this.markLeft(change.group);
        }
      }
    } else {
      await this.port.store.saveGroup(applyChange(old, change));
    }
    this.port.groupChanged(change);
  }

  // ---- sending ------------------------------------------------------------------------------

  /**
   * Encrypts `content` once with this device's sender key and sends it to the group, with the
   * sender key in 1:1 ciphertexts for every member device that does not hold it yet (ENC-081); after
   * a member left or was removed, a new sender key first, for the remaining members only (ENC-089).
   * A stale version is read again and the send redone; DEVICE_MISMATCH on a distribution entry
   * repairs that member's sessions, and one naming members without an entry (GROUP-052) builds
   * sessions with the devices it names and distributes to them. Throws ParleyError: NOT_FOUND (not a member), FORBIDDEN, ...
   */
  async send(group: string, given: Content): Promise<GroupSendResult> {
    const content = this.naming(group, given);
    const check = validator().validateAs('Content', content);
    if (!check.ok) {
      throw new ParleyError('SCHEMA_VIOLATION', `not a valid Content: ${check.message}`, {
        pointer: check.pointer,
      });
    }
    await this.port.ready();
    const plaintext = encodePlaintext(content);
    if (plaintext.length > this.port.limits().maxMessageBytes) {
      throw new ParleyError('MESSAGE_TOO_LARGE', 'the content exceeds limits.maxMessageBytes');
    }
    const self = await this.port.self();
    let record = await this.port.store.getGroup(group);
    if (record === undefined || record.left === true) record = await this.readRecord(group);
    for (let round = 0; ; round++) {
      if (record.rotate) {
        await rotateSenderKey(self, record.distributionId, this.port.store);
        record = { ...record, rotate: false, distributed: [] };
        await this.port.store.saveGroup(record);
      }
      const skdm = await createSenderKeyDistributionMessage(
        self,
        record.distributionId,
        this.port.store,
      );
      const distribution = await this.distribution(record, self, skdm.serialized);
      let message;
      try {
        message = await groupEncrypt(self, record.distributionId, plaintext, this.port.store);
      } catch (error) {
        throw translate(error, `cannot encrypt for group ${group}`);
      }
      const pending: PendingGroupSend = {
        idempotencyKey: randomUUID(),
        group,
        groupVersion: record.version,
        body: b64(message.serialized),
        distribution,
        distributedTo: distribution.flatMap((d) =>
          d.messages.map((m) => deviceKey(d.to, m.deviceId)),
        ),
        createdAt: Date.now(),
      };
      await this.port.store.savePendingGroupSend(pending);
      this.inFlight.add(pending.idempotencyKey);
      try {
        const reply = await this.deliver(pending);
        if (content.kind === 'group')
          await this.keepContext(group, self.name, reply, content.name, content.avatar);
        return {
          ...reply,
          content,
          idempotencyKey: pending.idempotencyKey,
          distributedTo: pending.distributedTo,
        };
      } catch (error) {
        const e = error instanceof ParleyError ? error : translate(error, 'group send failed');
        // UNAVAILABLE: stays pending, and the next connect sends it again with the same key.
        if (e.code === 'UNAVAILABLE') throw e;
        await this.port.store.deletePendingGroupSend(pending.idempotencyKey);
        if (round + 1 >= MAX_GROUP_SEND_ROUNDS || e.source !== 'provider') throw e;
        if (e.code === 'GROUP_VERSION_STALE') {
          record = await this.readRecord(group);
        } else if (e.code === 'DEVICE_MISMATCH' && e.pointer === '/distribution') {
          await this.reach(group, e);
        } else if (e.code === 'DEVICE_MISMATCH' && e.pointer?.startsWith('/distribution/')) {
          await this.repair(distribution[Number(e.pointer.split('/')[2])]?.to, e);
        } else if (e.code === 'RATE_LIMITED') {
          await this.port.sleep(e.retryAfterMs ?? 1000);
        } else {
          throw e;
        }
        record = (await this.port.store.getGroup(group)) ?? record;
      } finally {
        this.inFlight.delete(pending.idempotencyKey);
      }
    }
  }

  /** GROUP-056: the group goes inside, under the sender key's signature, whatever the caller set. */
  private naming(group: string, content: Content): Content {
    return { ...content, group };
  }

  /**
   * Sends one pending group send until accepted (dropped connections ridden out with the same
   * idempotency key), then forgets it and records who holds the sender key now.
   */
  private async deliver(pending: PendingGroupSend): Promise<ReplyTo<'message.send'>> {
    const reply = await this.request('message.send', {
      type: 'message.send',
      group: pending.group,
      groupVersion: pending.groupVersion,
      idempotencyKey: pending.idempotencyKey,
      body: pending.body,
      ...(pending.distribution.length > 0 ? { distribution: pending.distribution } : {}),
    });
    await this.port.store.deletePendingGroupSend(pending.idempotencyKey);
    const latest = await this.port.store.getGroup(pending.group);
    if (latest !== undefined)
      await this.port.store.saveGroup({
        ...latest,
        distributed: [...new Set([...latest.distributed, ...pending.distributedTo])],
      });
    return reply;
  }

  /**
   * Asks again for every persisted group creation not owned by a running `create` call, with its
   * original key, then sends every persisted group send not owned by a running `send` call, each
   * with its original key.
   */
  async flushPending(): Promise<void> {
    for (const pending of await this.port.store.listPendingGroupCreates()) {
      if (this.inFlight.has(pending.idempotencyKey)) continue;
      if (Date.now() - pending.createdAt > PENDING_CREATE_MAX_AGE_MS) {
        await this.port.store.deletePendingGroupCreate(pending.idempotencyKey);
        continue;
      }
      this.inFlight.add(pending.idempotencyKey);
      try {
        await this.createPending(pending);
      } catch (error) {
        this.port.problem(
          error instanceof ParleyError ? error : translate(error, 'pending group creation failed'),
        );
      } finally {
        this.inFlight.delete(pending.idempotencyKey);
      }
    }
    for (const pending of await this.port.store.listPendingGroupSends()) {
      if (this.inFlight.has(pending.idempotencyKey)) continue;
      this.inFlight.add(pending.idempotencyKey);
      try {
        await this.deliver(pending);
      } catch (error) {
        const e =
          error instanceof ParleyError ? error : translate(error, 'pending group send failed');
        if (e.code !== 'UNAVAILABLE')
          await this.port.store.deletePendingGroupSend(pending.idempotencyKey);
        this.port.problem(e);
      } finally {
        this.inFlight.delete(pending.idempotencyKey);
      }
    }
  }

  private async readRecord(group: string): Promise<GroupRecord> {
    await this.refresh(group);
    return (await this.port.store.getGroup(group))!;
  }

  /**
   * Sends one request that carries an idempotency key (a group `message.send`, a `group.create`),
   * riding out dropped connections with the same key.
   */
  private async request<T extends 'message.send' | 'group.create'>(
    type: T,
    body: RequestBody<T>,
  ): Promise<ReplyTo<T>> {
    for (let unavailable = 0; ; unavailable++) {
      try {
        return await this.port.request(type, body);
      } catch (error) {
        if (
          error instanceof ParleyError &&
          error.code === 'UNAVAILABLE' &&
          this.port.reconnectable() &&
          unavailable < MAX_UNAVAILABLE_RETRIES
        )
          continue;
        throw error;
      }
    }
  }

  /**
   * The 1:1 ciphertexts of the sender key for every member whose devices do not all hold it, each
   * entry covering every device of the member that we have a session with (the sender's own other
   * devices included, never the sending device). Members without sessions get them from a claim.
   */
  private async distribution(
    record: GroupRecord,
    self: ProtocolAddress,
    skdm: Uint8Array,
  ): Promise<MemberCiphertexts[]> {
    const out: MemberCiphertexts[] = [];
    for (const member of record.members) {
      if (member.state !== 'member') continue;
      const own = member.address === self.name;
      let devices = (await this.port.store.sessionDevices(member.address)).filter(
        (d) => !(own && d === self.deviceId),
      );
      if (devices.length === 0 && !own) {
        await this.port.sessions.buildAll(await this.port.claimKeys(member.address));
        devices = await this.port.store.sessionDevices(member.address);
      }
      const unanswered = await this.port.sessions.unanswered(member.address, devices);
      if (unanswered.length > 0)
        await this.port.sessions.buildAll(await this.port.claimKeys(member.address, unanswered));
      if (devices.length === 0) continue;
      if (devices.every((d) => record.distributed.includes(deviceKey(member.address, d)))) continue;
      out.push({
        to: member.address,
        messages: await this.port.sessions.encryptFor(member.address, devices, skdm),
      });
    }
    return out;
  }

  /**
   * GROUP-052: the provider named member devices that have not had this device's sender key (a
   * new device, the sender's own other devices, a member added back, a device id reused). Builds
   * sessions with those it has none with and forgets having distributed to them, so that the next
   * round carries the key to every device of those members.
   */
  private async reach(group: string, error: ParleyError): Promise<void> {
    const members = memberDevicesOf(error);
    if (members.length === 0) throw error;
    const forget = new Set<string>();
    for (const { address, missing } of members) {
      const none: number[] = [];
      for (const deviceId of missing) {
        forget.add(deviceKey(address, deviceId));
        if (!(await this.port.sessions.has({ name: address, deviceId }))) none.push(deviceId);
      }
      if (none.length > 0)
        await this.port.sessions.buildAll(await this.port.claimKeys(address, none));
    }
    const record = await this.port.store.getGroup(group);
    if (record !== undefined)
      await this.port.store.saveGroup({
        ...record,
        distributed: record.distributed.filter((d) => !forget.has(d)),
      });
  }

  /** DELIV-004 for one member of a distribution: drop extra and stale sessions, build missing ones. */
  private async repair(member: string | undefined, error: ParleyError): Promise<void> {
    if (member === undefined) throw error;
    const { missing, extra, stale } = deviceMismatchOf(error);
    for (const deviceId of [...extra, ...stale])
      await this.port.sessions.drop({ name: member, deviceId });
    const need = [...missing, ...stale];
    if (need.length > 0) await this.port.sessions.buildAll(await this.port.claimKeys(member, need));
  }

  // ---- receiving ----------------------------------------------------------------------------

  /**
   * Opens a group delivery: refused unless the sender is a member of the group as recorded (read
   * from the provider when the group is not known yet); the 1:1 distribution ciphertext first, whose
   * sender key is stored as that of the device that sent it (ENC-081); then the SenderKeyMessage,
   * discarded if its sender key opened a message of another group (GROUP-054), else decrypted
   * (signature, iteration and duplicate checks in the group cipher, ENC-084..086), and discarded
   * unless its Content names this group (GROUP-056), with the sender key's state put back as it
   * was. Only a message that passes records its key's group.
   */
  async open(frame: MessageFrame): Promise<OpenedGroupMessage> {
    const group = frame.group!;
    let record = await this.port.store.getGroup(group);
    if (record === undefined) {
      try {
        record = await this.readRecord(group);
      } catch (error) {
        if (error instanceof ParleyError && error.code === 'NOT_FOUND')
          return { ok: false, reason: 'not-member' };
        throw error;
      }
    }
    if (!isMember(record, frame.from)) return { ok: false, reason: 'not-member' };
    const sender = { name: frame.from, deviceId: frame.fromDevice };
    if (frame.distribution !== undefined) {
      try {
        const skdm = parseSenderKeyDistributionMessage(
          await this.port.sessions.decrypt(
            sender,
            frame.distribution.ciphertextType,
            frame.distribution.body,
          ),
        );
        // The key is the sender device's own (ENC-081) whichever group the provider delivered it
        // with; its group is recorded only once a message under it opens with a Content naming
        // the group it came in (below), so a provider cannot choose it by relaying (GROUP-056).
        await processSenderKeyDistributionMessage(sender, skdm, this.port.store);
      } catch (error) {
        // A distribution that does not open is dropped; the group body may still decrypt under a
        // key the sender distributed before.
        if (!(error instanceof ProtocolError)) throw error;
      }
    }
    let plaintext: Uint8Array;
    let distributionId: string;
    let before;
    try {
      const body = bytes(frame.body);
      distributionId = parseSenderKeyMessage(body).distributionId;
      const bound = await this.port.store.senderKeyGroup(sender, distributionId);
      // GROUP-054: a sender key that opened a message of another group opens none of this one.
      if (typeof bound === 'string' && bound !== group) return { ok: false, reason: 'wrong-group' };
      before = await this.port.store.loadSenderKey(sender, distributionId);
      plaintext = await groupDecrypt(body, sender, this.port.store);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return { ok: false, reason: 'decrypt', protocolError: error.code };
    }
    const decoded = decodePlaintext(plaintext);
    // GROUP-056: the Content names the group the sender sent it to. Another group, or none, and
    // the message was relayed out of its group: discarded, the key's state put back (so the
    // message still opens where it belongs) and its group not recorded. A plaintext discarded
    // for its form (ENC-037, ENC-038) names nothing and records nothing either.
    const named = decoded.ok ? decoded.content.group : decoded.group;
    if (decoded.ok || decoded.reason === 'unknown-kind') {
      if (named !== group) {
        if (before !== undefined)
          await this.port.store.storeSenderKey(sender, distributionId, before);
        return { ok: false, reason: 'wrong-group' };
      }
      // The first group a key opens a message of is its group from now on (GROUP-054).
      await this.port.store.bindSenderKeyGroup(sender, distributionId, group);
    }
    if (decoded.ok && decoded.content.kind === 'group') {
      const { name, avatar } = decoded.content;
      await this.keepContext(group, frame.from, frame, name, avatar);
    }
    return { ok: true, decoded };
  }

  /**
   * Records a group's name and avatar from a `group` content of a member (the caller checked the
   * membership), unless a later one is recorded already: group messages of different senders
   * carry no mutual order, so the provider's timestamp decides (GROUP-060).
   */
  private async keepContext(
    group: string,
    setBy: string,
    stamp: { messageId: string; serverTimestamp: number },
    name: string,
    avatar: AttachmentPointer | undefined,
  ): Promise<void> {
    const record = await this.port.store.getGroup(group);
    if (record === undefined || !later(stamp, record.context)) return;
    const context: GroupContextRecord = {
      name,
      ...(avatar === undefined ? {} : { avatar }),
      setBy,
      messageId: stamp.messageId,
      serverTimestamp: stamp.serverTimestamp,
    };
    await this.port.store.saveGroup({ ...record, context });
  }
}

/** A recorded group with one change applied (the change follows the recorded version). */
export function applyChange(old: GroupRecord, change: GroupChangedFrame): GroupRecord {
  let members = old.members.map((m) => ({ ...m }));
  let rotate = old.rotate;
  const named = new Set(change.members);
  switch (change.action) {
    case 'created':
    case 'added':
    case 'joined':
      members = members.filter((m) => !named.has(m.address));
      for (const address of change.members) {
        const before = old.members.find((m) => m.address === address);
        members.push({ address, role: before?.role ?? 'member', state: 'member' });
      }
      break;
    case 'invited':
      for (const address of change.members)
        if (!members.some((m) => m.address === address))
          members.push({ address, role: 'member', state: 'invited' });
      break;
    case 'removed':
    case 'left':
      rotate ||= members.some((m) => named.has(m.address) && m.state === 'member');
      members = members.filter((m) => !named.has(m.address));
      break;
    case 'role':
      members = members.map((m) =>
        named.has(m.address) && change.role !== undefined ? { ...m, role: change.role } : m,
      );
      break;
  }
  const still = new Set(members.filter((m) => m.state === 'member').map((m) => m.address));
  return {
    ...old,
    version: change.version,
    members,
    rotate,
    distributed: old.distributed.filter((d) => still.has(d.slice(0, d.lastIndexOf('.')))),
  };
}
