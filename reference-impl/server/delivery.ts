/**
 * Delivery: which connection serves which device, pushes of queued ciphertexts in acceptance order,
 * the backlog and `queue.empty` after `auth.ok`, and `keys.low` (spec/messages.md DELIV-015..031,
 * spec/keys.md KEYS-021/022/031/032, spec/consent.md CONSENT-010/011 folders).
 */
import type { GroupChangedFrame, GroupInvitedFrame } from '../../schemas/frames/groups.ts';
import type { Folder, MessageFrame } from '../../schemas/frames/messages.ts';
import type {
  AddressedDelivery,
  DeviceDelivery,
  GroupChangeBody,
  GroupInvitationBody,
  PreKeyCounts,
  ProviderStore,
  QueuedDelivery,
} from '../store/types.ts';
import type { ConnectionHandle } from './context.ts';

function deviceKey(address: string, deviceId: number): string {
  return `${deviceId}:${address}`;
}

/** The delivery id of a queued ciphertext: its queue sequence number, prefixed. */
export function deliveryId(seq: number): string {
  return `d.${seq}`;
}

/** The queue sequence number a delivery id names, or undefined for an id this provider never issued. */
export function seqOf(id: string): number | undefined {
  const m = /^d\.([1-9][0-9]{0,15})$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** Connected devices and their per-connection push cursors. */
export class Delivery {
  private readonly byDevice = new Map<string, ConnectionHandle>();
  /** Every authenticated connection of each device, push target or not (AUTH-035). */
  private readonly sessions = new Map<string, Set<ConnectionHandle>>();
  private readonly cursors = new WeakMap<ConnectionHandle, number>();
  private pushCounter = 0;
  /** Connections still owed `queue.empty` (DELIV-031: only after their whole backlog). */
  private readonly backlogOpen = new WeakSet<ConnectionHandle>();
  /** Connections whose pushes stopped at a congested buffer; only `flush` resumes them, in order. */
  private readonly behind = new WeakSet<ConnectionHandle>();

  constructor(
    private readonly store: ProviderStore,
    private readonly threshold: () => number,
    private readonly now: () => number,
    /** False only under the `low-ignores-kyber` fault (breaks KEYS-022 and KEYS-031). */
    private readonly countKyber = true,
    /** False only under the `group-folder-inbox` fault (breaks GROUP-024). */
    private readonly groupFolders = true,
  ) {}

  /** Whether either one-time pool is below `limits.lowPreKeyThreshold` (KEYS-022). */
  private preKeysLow(counts: PreKeyCounts): boolean {
    const threshold = this.threshold();
    return counts.oneTime < threshold || (this.countKyber && counts.oneTimeKyber < threshold);
  }

  /** A fresh push id (PROTO-011). */
  nextPushId(prefix: string): string {
    return `${prefix}.${++this.pushCounter}`;
  }

  /** Makes `conn` the device's only push target (DELIV-021) and pushes its backlog, then `queue.empty`. */
  attach(conn: ConnectionHandle): void {
    const s = conn.session!;
    const key = deviceKey(s.address, s.deviceId);
    this.byDevice.set(key, conn);
    let open = this.sessions.get(key);
    if (open === undefined) this.sessions.set(key, (open = new Set()));
    open.add(conn);
    this.cursors.set(conn, 0);
    const counts = this.store.countPreKeys(s.address, s.deviceId);
    if (this.preKeysLow(counts)) this.sendKeysLow(conn, counts); // KEYS-022
    this.backlogOpen.add(conn);
    this.flush(conn);
  }

  detach(conn: ConnectionHandle): void {
    const s = conn.session;
    if (!s) return;
    const key = deviceKey(s.address, s.deviceId);
    if (this.byDevice.get(key) === conn) this.byDevice.delete(key);
    const open = this.sessions.get(key);
    if (open?.delete(conn) && open.size === 0) this.sessions.delete(key);
  }

  /** Every open authenticated connection of a device, whether or not it is the push target. */
  connectionsOf(address: string, deviceId: number): ConnectionHandle[] {
    return [...(this.sessions.get(deviceKey(address, deviceId)) ?? [])];
  }

  connection(address: string, deviceId: number): ConnectionHandle | undefined {
    return this.byDevice.get(deviceKey(address, deviceId));
  }

  /**
   * Pushes deliveries just committed for `recipient` to its connected devices without reading them
   * back (DELIV-018). Called synchronously right after the commit, in `seq` order, so that every
   * earlier delivery of the device was already pushed by a previous call or by `attach`; one at
   * or below a connection's cursor went out with that connection's backlog.
   */
  push(recipient: string, queued: readonly DeviceDelivery[]): void {
    let combined: boolean | undefined;
    const mixed = new Map<string, boolean>();
    for (const { deviceId, delivery } of queued) {
      const conn = this.connection(recipient, deviceId);
      if (!conn || conn.state !== 'authenticated' || this.behind.has(conn)) continue;
      if (delivery.seq <= (this.cursors.get(conn) ?? 0)) continue;
      if (conn.congested?.()) {
        this.behind.add(conn); // PROTO-045: the connection flushes the rest once it drained
        continue;
      }
      if (delivery.origin.thirdParty || delivery.group !== undefined)
        combined ??= this.store.getAccount(recipient)?.interop.inbox === 'combined';
      conn.send(this.frameOf(recipient, delivery, combined ?? false, mixed));
      this.cursors.set(conn, delivery.seq);
    }
  }

  /**
   * Pushes what one commit queued for many recipients (a group message or membership change,
   * spec/groups.md GROUP-041): each recipient's deliveries in `seq` order, as `push` wants them.
   */
  pushAddressed(queued: readonly AddressedDelivery[]): void {
    const byRecipient = new Map<string, AddressedDelivery[]>();
    for (const q of queued) {
      const list = byRecipient.get(q.address);
      if (list) list.push(q);
      else byRecipient.set(q.address, [q]);
    }
    for (const [recipient, list] of byRecipient) this.push(recipient, list);
  }

  /** Pushes every unexpired queued delivery past the connection's cursor, in order (DELIV-026). */
  flush(conn: ConnectionHandle): void {
    const s = conn.session;
    if (!s || conn.state !== 'authenticated') return;
    const after = this.cursors.get(conn) ?? 0;
    const queued = this.store.pendingDeliveries(s.address, s.deviceId, after, this.now());
    if (queued.length > 0) {
      const account = this.store.getAccount(s.address);
      const combined = account?.interop.inbox === 'combined';
      for (const q of queued) {
        // PROTO-045: a client that has not read what it got gets the rest once it has.
        if (conn.congested?.()) {
          this.behind.add(conn);
          return;
        }
        conn.send(this.frameOf(s.address, q, combined, new Map()));
        this.cursors.set(conn, q.seq);
      }
    }
    this.behind.delete(conn);
    if (this.backlogOpen.delete(conn))
      conn.send({ v: 1, type: 'queue.empty', id: this.nextPushId('q') });
  }

  /** The frame of a queued item: a `message`, a `group.changed` (GROUP-013) or a `group.invited` (GROUP-025). */
  private frameOf(
    recipient: string,
    q: QueuedDelivery,
    combined: boolean,
    mixed: Map<string, boolean>,
  ): Record<string, unknown> {
    if (q.type === 'group.changed') {
      const change = JSON.parse(q.body) as GroupChangeBody;
      const frame: GroupChangedFrame = {
        v: 1,
        type: 'group.changed',
        id: deliveryId(q.seq),
        group: change.group,
        version: change.version,
        by: change.by,
        action: change.action,
        members: [...change.members],
        ...(change.role ? { role: change.role } : {}),
        serverTimestamp: q.serverTimestamp,
      };
      return frame as unknown as Record<string, unknown>;
    }
    if (q.type === 'group.invited') {
      const invitation = JSON.parse(q.body) as GroupInvitationBody;
      const frame: GroupInvitedFrame = {
        v: 1,
        type: 'group.invited',
        id: deliveryId(q.seq),
        group: invitation.group,
        by: invitation.by,
        origin: { platform: q.origin.platform, thirdParty: q.origin.thirdParty },
        serverTimestamp: q.serverTimestamp,
      };
      return frame as unknown as Record<string, unknown>;
    }
    return this.messageFrame(recipient, q, combined, mixed) as unknown as Record<string, unknown>;
  }

  private folder(
    recipient: string,
    q: QueuedDelivery,
    combined: boolean,
    mixed: Map<string, boolean>,
  ): Folder {
    if (q.group !== undefined) {
      if (!this.groupFolders) return 'inbox';
      // GROUP-024: a group with a member of another platform is a third-party chat.
      let hasThirdParty = mixed.get(q.group);
      if (hasThirdParty === undefined) {
        hasThirdParty = this.store.groupHasThirdParty(q.group);
        mixed.set(q.group, hasThirdParty);
      }
      return hasThirdParty && !combined ? 'third-party' : 'inbox';
    }
    if (!q.origin.thirdParty) return 'inbox';
    const contact = this.store.getContact(recipient, q.sender);
    if (contact?.state !== 'accepted') return 'requests';
    return combined ? 'inbox' : 'third-party';
  }

  private messageFrame(
    recipient: string,
    q: QueuedDelivery,
    combined: boolean,
    mixed: Map<string, boolean>,
  ): MessageFrame {
    return {
      v: 1,
      type: 'message',
      id: deliveryId(q.seq),
      messageId: q.messageId,
      from: q.sender,
      fromDevice: q.senderDevice,
      origin: { platform: q.origin.platform, thirdParty: q.origin.thirdParty },
      folder: this.folder(recipient, q, combined, mixed),
      ciphertextType: q.type as MessageFrame['ciphertextType'],
      body: q.body,
      ...(q.group !== undefined ? { group: q.group } : {}),
      ...(q.distribution
        ? { distribution: { ciphertextType: q.distribution.type, body: q.distribution.body } }
        : {}),
      serverTimestamp: q.serverTimestamp,
    };
  }

  /** Pushes `keys.low` with both one-time prekey counts (KEYS-032). */
  sendKeysLow(conn: ConnectionHandle, counts: PreKeyCounts): void {
    conn.send({
      v: 1,
      type: 'keys.low',
      id: this.nextPushId('k'),
      oneTimePreKeyCount: counts.oneTime,
      oneTimeKyberPreKeyCount: counts.oneTimeKyber,
      threshold: this.threshold(),
    });
  }

  /** Every connected connection, for shutdown. */
  connections(): ConnectionHandle[] {
    return [...this.byDevice.values()];
  }
}
