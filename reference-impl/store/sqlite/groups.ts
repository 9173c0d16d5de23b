/**
 * The SQLite store's group layer: membership rows, versions, membership-change pushes and the
 * fan-out of group messages to every device of every current member in one transaction
 * (spec/groups.md GROUP-010..046).
 */
import { randomUUID } from 'node:crypto';
import type {
  AddressedDelivery,
  GroupAcceptResult,
  GroupChange,
  GroupChangeBody,
  GroupChangeResult,
  GroupInvitation,
  GroupInvitationBody,
  GroupMemberRecord,
  GroupRecord,
  NewGroupMessage,
  QueuedDelivery,
  StoredOrigin,
  UndistributedDevice,
} from '../types.ts';
import type { Row } from './base.ts';
import { SqliteQueue } from './queue.ts';

function toMember(r: Row): GroupMemberRecord {
  return {
    address: r.address as string,
    role: r.role as GroupMemberRecord['role'],
    status: r.status as GroupMemberRecord['status'],
    thirdParty: r.third_party === 1,
    addedBy: r.added_by as string,
    addedByPlatform: r.added_by_platform as string,
    since: r.since as number,
  };
}

/**
 * Whether member account `a` takes group messages from the sender (GROUP-048): two `?`s, 1 when
 * the sender is third-party, then the sender's platform.
 */
const ALLOWS_SENDER = `(? = 0 OR a.kind = 'partner' OR (a.interop_enabled = 1 AND (
    a.interop_platforms = '"all"'
    OR EXISTS (SELECT 1 FROM json_each(a.interop_platforms) WHERE value = ?))))`;

/** The SQL that queues one delivery of any type; `?`s in the column order below. */
const PUT_DELIVERY = `INSERT INTO deliveries (message_id, sender, sender_device, origin_platform,
    third_party, recipient, device_id, type, body, server_ts, expires_at, group_id,
    distribution_type, distribution_body)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export class SqliteGroups extends SqliteQueue {
  getGroup(groupId: string): GroupRecord | undefined {
    const g = this.get('SELECT * FROM groups WHERE group_id = ?', groupId);
    if (!g) return undefined;
    const members = this.all(
      'SELECT * FROM group_members WHERE group_id = ? ORDER BY ord',
      groupId,
    ).map(toMember);
    return {
      groupId,
      version: g.version as number,
      createdAt: g.created_at as number,
      members,
    };
  }

  writeGroupChange(c: GroupChange): GroupChangeResult {
    return this.queueTx(() => {
      if (c.create)
        this.run(
          'INSERT INTO groups (group_id, version, created_at) VALUES (?, 0, ?)',
          c.groupId,
          c.now,
        );
      if (c.create && c.idempotency)
        // A plain insert: the handler found no record of the key in this transaction (GROUP-061).
        this.run(
          'INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?)',
          c.actor,
          c.actorDevice,
          c.idempotency.key,
          c.idempotency.requestHash,
          c.groupId,
          c.now,
        );
      const before = this.getGroup(c.groupId);
      if (!before) throw new Error(`no group ${c.groupId}`);
      if (c.expectedVersion !== undefined && before.version !== c.expectedVersion)
        throw new Error(`group ${c.groupId} moved on to version ${before.version}`);
      const was = new Set(
        before.members.filter((m) => m.status === 'member').map((m) => m.address),
      );
      for (const address of c.drop) {
        this.run(
          'DELETE FROM group_members WHERE group_id = ? AND address = ?',
          c.groupId,
          address,
        );
        // GROUP-052: a member who comes back, and every sender after their return, starts afresh.
        this.run(
          'DELETE FROM group_distributions WHERE group_id = ? AND sender = ?',
          c.groupId,
          address,
        );
        this.run(
          'DELETE FROM group_distributions WHERE recipient = ? AND group_id = ?',
          address,
          c.groupId,
        );
      }
      for (const m of c.put) {
        // A row keeps its place in the order when it is rewritten (a role change, a join).
        const updated = this.run(
          `UPDATE group_members SET role = ?, status = ?, third_party = ?, added_by = ?,
             added_by_platform = ?, since = ? WHERE group_id = ? AND address = ?`,
          m.role,
          m.status,
          m.thirdParty ? 1 : 0,
          m.addedBy,
          m.addedByPlatform,
          m.since,
          c.groupId,
          m.address,
        );
        if (updated === 0) {
          const ord = this.get(
            'UPDATE groups SET next_ord = next_ord + 1 WHERE group_id = ? RETURNING next_ord - 1 AS ord',
            c.groupId,
          )!.ord as number;
          this.run(
            'INSERT INTO group_members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            c.groupId,
            m.address,
            m.role,
            m.status,
            m.thirdParty ? 1 : 0,
            m.addedBy,
            m.addedByPlatform,
            m.since,
            ord,
          );
        }
      }
      const remaining = this.get(
        "SELECT COUNT(*) AS n FROM group_members WHERE group_id = ? AND status = 'member'",
        c.groupId,
      )!.n as number;
      if (c.silent) return { group: this.getGroup(c.groupId), queued: [] };
      const version = before.version + 1;
      this.run('UPDATE groups SET version = ? WHERE group_id = ?', version, c.groupId);
      const after = this.getGroup(c.groupId)!;
      for (const m of after.members) if (m.status === 'member') was.add(m.address);
      const body: GroupChangeBody = {
        group: c.groupId,
        version,
        by: c.actor,
        action: c.action,
        members: c.named,
        ...(c.role ? { role: c.role } : {}),
      };
      const queued = this.queueToDevices(
        [...was],
        {
          messageId: randomUUID(),
          sender: c.actor,
          senderDevice: c.actorDevice,
          origin: c.origin,
          type: 'group.changed',
          body: JSON.stringify(body),
          serverTimestamp: c.now,
          group: c.groupId,
        },
        c.expiresAt,
      );
      if (remaining === 0) {
        // The last member left: nothing is kept of the group but the pushes already queued.
        this.run('DELETE FROM groups WHERE group_id = ?', c.groupId);
        return { group: undefined, queued };
      }
      return { group: after, queued };
    });
  }

  queueGroupInvitation(i: GroupInvitation): AddressedDelivery[] {
    const body: GroupInvitationBody = { group: i.groupId, by: i.by };
    return this.queueToDevices(
      [i.invitee],
      {
        messageId: randomUUID(),
        sender: i.by,
        senderDevice: i.byDevice,
        origin: i.origin,
        type: 'group.invited',
        body: JSON.stringify(body),
        serverTimestamp: i.now,
      },
      i.expiresAt,
    );
  }

  /**
   * Queues one item for every device of `addresses`, in address then device order, but the
   * sender's own device (it learns of its change from the reply).
   */
  private queueToDevices(
    addresses: readonly string[],
    item: Omit<QueuedDelivery, 'seq'>,
    expiresAt: number,
  ): AddressedDelivery[] {
    const put = this.statement(PUT_DELIVERY);
    const devices = this.statement(
      'SELECT device_id FROM devices WHERE address = ? ORDER BY device_id',
    );
    const out: AddressedDelivery[] = [];
    for (const address of addresses)
      for (const d of devices.all(address) as Row[]) {
        const deviceId = d.device_id as number;
        if (address === item.sender && deviceId === item.senderDevice) continue;
        const seq = Number(
          put.run(
            item.messageId,
            item.sender,
            item.senderDevice,
            item.origin.platform,
            item.origin.thirdParty ? 1 : 0,
            address,
            deviceId,
            item.type,
            item.body,
            item.serverTimestamp,
            expiresAt,
            item.group ?? null,
            null,
            null,
          ).lastInsertRowid,
        );
        out.push({ address, deviceId, delivery: { ...item, seq } });
      }
    return out;
  }

  acceptGroupMessage(m: NewGroupMessage): GroupAcceptResult {
    return this.queueTx(() => {
      // Membership is read in the transaction that queues: a removal committed before this send
      // leaves the removed member out, whatever the sender believed (GROUP-043). A member who
      // blocked the sender (CONSENT-019), or a first-party member whose interop settings do not
      // allow a third-party sender's platform (GROUP-048), is suppressed: nothing is queued for
      // their devices, but the send is counted against their bound as if it were, as DELIV-032
      // counts a suppressed 1:1 send, so that the bound reveals neither (GROUP-062). Each device's
      // queue totals, and what this sender was charged on it, come with the row. A distribution
      // addressed to a member who blocked the sender is recorded as if delivered (GROUP-052), so
      // that what the sender is asked to distribute never reveals the block either.
      const devices = (
        this.statement(
          `SELECT gm.address AS address, d.device_id AS device_id,
                  d.registration_id AS registration_id,
                  COALESCE(qt.bytes, 0) AS queued_bytes, COALESCE(qt.count, 0) AS queued_count,
                  EXISTS (SELECT 1 FROM blocks b WHERE b.address = gm.address AND b.blocked = ?)
                    AS blocked,
                  ${ALLOWS_SENDER} AS allowed,
                  COALESCE(dt.bytes, 0) AS charged_bytes, COALESCE(dt.count, 0) AS charged_count
           FROM group_members gm JOIN devices d ON d.address = gm.address
           JOIN accounts a ON a.address = gm.address
           LEFT JOIN queue_totals qt ON qt.recipient = gm.address AND qt.device_id = d.device_id
           LEFT JOIN dropped_totals dt ON dt.recipient = gm.address AND dt.device_id = d.device_id
             AND dt.sender = ? AND dt.expires_at > ?
           WHERE gm.group_id = ? AND gm.status = 'member'
             AND NOT (gm.address = ? AND d.device_id = ?)
           ORDER BY gm.ord, d.device_id`,
        ).all(
          m.sender,
          m.origin.thirdParty ? 1 : 0,
          m.origin.platform,
          m.sender,
          m.serverTimestamp,
          m.groupId,
          m.sender,
          m.senderDevice,
        ) as Row[]
      ).map((t): Row => ({ ...t, suppressed: t.blocked === 1 || t.allowed !== 1 ? 1 : 0 }));
      /** What the send queues, or would queue, on a device: the body and its distribution. */
      const charsFor = (t: Row): number =>
        m.body.length +
        (m.distribution.get(t.address as string)?.get(t.device_id as number)?.body.length ?? 0);
      const bound = m.queueBound;
      const overflows =
        bound !== undefined &&
        devices.some((t) => {
          const bytes =
            (t.queued_bytes as number) + (t.charged_bytes as number) * (t.suppressed as number);
          const count =
            (t.queued_count as number) + (t.charged_count as number) * (t.suppressed as number);
          return bytes + charsFor(t) > bound.maxBytes || count + 1 > bound.maxMessages;
        });
      if (overflows) return this.refusedForRoom(m);
      const earlier = this.claimKey(m);
      if (earlier) return earlier;
      const charge = this.statement(
        `INSERT INTO dropped_totals VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (recipient, device_id, sender) DO UPDATE SET
           bytes = CASE WHEN expires_at > ? THEN bytes ELSE 0 END + excluded.bytes,
           count = CASE WHEN expires_at > ? THEN count ELSE 0 END + 1,
           expires_at = excluded.expires_at`,
      );
      for (const t of devices)
        if (t.suppressed === 1)
          charge.run(
            t.address,
            t.device_id,
            m.sender,
            charsFor(t),
            m.expiresAt,
            m.serverTimestamp,
            m.serverTimestamp,
          );
      const put = this.statement(PUT_DELIVERY);
      const reached = this.statement(
        `INSERT INTO group_distributions VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET registration_id = excluded.registration_id`,
      );
      const origin: StoredOrigin = m.origin;
      const queued: AddressedDelivery[] = [];
      for (const t of devices) {
        if (t.allowed !== 1) continue; // GROUP-048: not a device this sender's messages are for
        const address = t.address as string;
        const deviceId = t.device_id as number;
        const dist = m.distribution.get(address)?.get(deviceId);
        if (dist)
          reached.run(
            m.groupId,
            m.sender,
            m.senderDevice,
            address,
            deviceId,
            t.registration_id as number,
          );
        if (t.suppressed === 1) continue;
        const seq = Number(
          put.run(
            m.messageId,
            m.sender,
            m.senderDevice,
            origin.platform,
            origin.thirdParty ? 1 : 0,
            address,
            deviceId,
            'senderkey',
            m.body,
            m.serverTimestamp,
            m.expiresAt,
            m.groupId,
            dist?.type ?? null,
            dist?.body ?? null,
          ).lastInsertRowid,
        );
        queued.push({
          address,
          deviceId,
          delivery: {
            seq,
            messageId: m.messageId,
            sender: m.sender,
            senderDevice: m.senderDevice,
            origin,
            type: 'senderkey',
            body: m.body,
            serverTimestamp: m.serverTimestamp,
            group: m.groupId,
            ...(dist ? { distribution: { type: dist.type, body: dist.body } } : {}),
          },
        });
      }
      return {
        messageId: m.messageId,
        serverTimestamp: m.serverTimestamp,
        duplicate: false,
        conflict: false,
        queued,
      };
    });
  }

  undistributedGroupDevices(
    groupId: string,
    sender: string,
    senderDevice: number,
    origin: StoredOrigin,
  ): UndistributedDevice[] {
    return (
      this.statement(
        `SELECT gm.address AS address, d.device_id AS device_id,
           d.registration_id AS registration_id
         FROM group_members gm JOIN devices d ON d.address = gm.address
         JOIN accounts a ON a.address = gm.address
         WHERE gm.group_id = ? AND gm.status = 'member'
           AND NOT (gm.address = ? AND d.device_id = ?)
           AND ${ALLOWS_SENDER}
           AND NOT EXISTS (SELECT 1 FROM group_distributions r
             WHERE r.group_id = gm.group_id AND r.sender = ? AND r.sender_device = ?
               AND r.recipient = d.address AND r.device_id = d.device_id
               AND r.registration_id = d.registration_id)
         ORDER BY gm.ord, d.device_id`,
      ).all(
        groupId,
        sender,
        senderDevice,
        origin.thirdParty ? 1 : 0,
        origin.platform,
        sender,
        senderDevice,
      ) as Row[]
    ).map((r) => ({
      address: r.address as string,
      deviceId: r.device_id as number,
      registrationId: r.registration_id as number,
    }));
  }

  shareGroup(a: string, b: string): boolean {
    return !!this.get(
      `SELECT 1 FROM group_members x JOIN group_members y ON y.group_id = x.group_id
       WHERE x.address = ? AND x.status = 'member' AND y.address = ? AND y.status = 'member'
       LIMIT 1`,
      a,
      b,
    );
  }

  groupHasThirdParty(groupId: string): boolean {
    return !!this.get(
      `SELECT 1 FROM group_members WHERE group_id = ? AND status = 'member' AND third_party = 1
       LIMIT 1`,
      groupId,
    );
  }
}
