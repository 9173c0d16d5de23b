/**
 * The SQLite store's queue layer: idempotency records and the per-device deliveries of accepted
 * messages, with their expiry (spec/messages.md DELIV-007..028).
 */
import type {
  AcceptResult,
  GroupAcceptResult,
  IdempotencyRecord,
  NewMessage,
  PurgeResult,
  QueuedDelivery,
} from '../types.ts';
import { SqliteAccounts } from './accounts.ts';

/** What identifies a send for its idempotency key (DELIV-012). */
type SendKey = Pick<
  NewMessage,
  'sender' | 'senderDevice' | 'idempotencyKey' | 'requestHash' | 'messageId' | 'serverTimestamp'
>;

export class SqliteQueue extends SqliteAccounts {
  findIdempotent(sender: string, senderDevice: number, key: string): IdempotencyRecord | undefined {
    const r = this.get(
      'SELECT * FROM idempotency WHERE sender = ? AND sender_device = ? AND idem_key = ?',
      sender,
      senderDevice,
      key,
    );
    return (
      r && {
        requestHash: r.request_hash as string,
        messageId: r.message_id as string,
        serverTimestamp: r.server_ts as number,
      }
    );
  }

  /**
   * Whether the send would pass the bound of one of the recipient's device queues (DELIV-032): the
   * bodies queued for the device, plus, for a suppressed send, what the sender's earlier suppressed
   * sends to it were charged (CONSENT-022). Primary-key reads only.
   */
  private wouldOverflow(m: NewMessage): boolean {
    const bound = m.queueBound;
    if (bound === undefined) return false;
    const suppressed = m.charged !== undefined;
    for (const c of suppressed ? m.charged! : m.ciphertexts) {
      const queued = this.get(
        'SELECT bytes, count FROM queue_totals WHERE recipient = ? AND device_id = ?',
        m.recipient,
        c.deviceId,
      );
      const dropped = suppressed
        ? this.get(
            `SELECT bytes, count FROM dropped_totals
             WHERE recipient = ? AND device_id = ? AND sender = ? AND expires_at > ?`,
            m.recipient,
            c.deviceId,
            m.sender,
            m.serverTimestamp,
          )
        : undefined;
      const bytes = ((queued?.bytes as number) ?? 0) + ((dropped?.bytes as number) ?? 0);
      const count = ((queued?.count as number) ?? 0) + ((dropped?.count as number) ?? 0);
      if (bytes + c.body.length > bound.maxBytes || count + 1 > bound.maxMessages) return true;
    }
    return false;
  }

  acceptMessage(m: NewMessage): AcceptResult {
    return this.queueTx(() => {
      if (this.wouldOverflow(m)) return this.refusedForRoom(m);
      const earlier = this.claimKey(m);
      if (earlier) return earlier;
      const put = this.statement(
        `INSERT INTO deliveries (message_id, sender, sender_device, origin_platform, third_party,
           recipient, device_id, type, body, server_ts, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const queued = m.ciphertexts.map((c) => ({
        deviceId: c.deviceId,
        delivery: {
          seq: Number(
            put.run(
              m.messageId,
              m.sender,
              m.senderDevice,
              m.origin.platform,
              m.origin.thirdParty ? 1 : 0,
              m.recipient,
              c.deviceId,
              c.type,
              c.body,
              m.serverTimestamp,
              m.expiresAt,
            ).lastInsertRowid,
          ),
          messageId: m.messageId,
          sender: m.sender,
          senderDevice: m.senderDevice,
          origin: m.origin,
          type: c.type,
          body: c.body,
          serverTimestamp: m.serverTimestamp,
        },
      }));
      if (m.charged) {
        const charge = this.statement(
          `INSERT INTO dropped_totals VALUES (?, ?, ?, ?, 1, ?)
           ON CONFLICT (recipient, device_id, sender) DO UPDATE SET
             bytes = CASE WHEN expires_at > ? THEN bytes ELSE 0 END + excluded.bytes,
             count = CASE WHEN expires_at > ? THEN count ELSE 0 END + 1,
             expires_at = excluded.expires_at`,
        );
        for (const c of m.charged)
          charge.run(
            m.recipient,
            c.deviceId,
            m.sender,
            c.body.length,
            m.expiresAt,
            m.serverTimestamp,
            m.serverTimestamp,
          );
      }
      if (m.openRequest)
        this.run(
          `INSERT OR IGNORE INTO contacts VALUES (?, ?, ?, 'pending', ?)`,
          m.recipient,
          m.sender,
          m.openRequest.platform,
          m.serverTimestamp,
        );
      if (m.acceptContact)
        this.run(
          `INSERT INTO contacts VALUES (?, ?, ?, 'accepted', ?)
           ON CONFLICT (recipient, sender) DO UPDATE SET state = 'accepted'`,
          m.sender,
          m.recipient,
          m.acceptContact.platform,
          m.serverTimestamp,
        );
      return {
        messageId: m.messageId,
        serverTimestamp: m.serverTimestamp,
        duplicate: false,
        conflict: false,
        queued,
      };
    });
  }

  pendingDeliveries(
    address: string,
    deviceId: number,
    afterSeq: number,
    now: number,
  ): QueuedDelivery[] {
    return this.all(
      `SELECT seq, message_id, type, body, sender, sender_device, origin_platform, third_party,
              server_ts, group_id, distribution_type, distribution_body
       FROM deliveries
       WHERE recipient = ? AND device_id = ? AND seq > ? AND expires_at > ?
       ORDER BY seq`,
      address,
      deviceId,
      afterSeq,
      now,
    ).map((r) => ({
      seq: r.seq as number,
      messageId: r.message_id as string,
      sender: r.sender as string,
      senderDevice: r.sender_device as number,
      origin: { platform: r.origin_platform as string, thirdParty: r.third_party === 1 },
      type: r.type as QueuedDelivery['type'],
      body: r.body as string,
      serverTimestamp: r.server_ts as number,
      ...(r.group_id === null ? {} : { group: r.group_id as string }),
      ...(r.distribution_type === null
        ? {}
        : {
            distribution: {
              type: r.distribution_type as 'prekey' | 'whisper',
              body: r.distribution_body as string,
            },
          }),
    }));
  }

  ackDeliveries(address: string, deviceId: number, seqs: readonly number[]): number {
    return this.queueTx(() => {
      const del = this.statement(
        'DELETE FROM deliveries WHERE seq = ? AND recipient = ? AND device_id = ?',
      );
      let n = 0;
      for (const seq of seqs) n += del.run(seq, address, deviceId).changes;
      return n;
    });
  }

  purgeExpired(now: number, idempotencyBefore: number, maxRows: number): PurgeResult {
    return this.tx(() => {
      // Each table through its time index, at most `maxRows` rows: a step stays short however
      // much has piled up, and the caller runs the next one.
      const deliveries = this.run(
        `DELETE FROM deliveries WHERE seq IN
         (SELECT seq FROM deliveries WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
        now,
        maxRows,
      );
      const keys = this.run(
        `DELETE FROM idempotency WHERE (sender, sender_device, idem_key) IN
         (SELECT sender, sender_device, idem_key FROM idempotency
          WHERE server_ts < ? ORDER BY server_ts LIMIT ?)`,
        idempotencyBefore,
        maxRows,
      );
      // Suppressed sends' charges (DELIV-032), once the last of a sender's has expired.
      const charges = this.run(
        `DELETE FROM dropped_totals WHERE (recipient, device_id, sender) IN
         (SELECT recipient, device_id, sender FROM dropped_totals
          WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
        now,
        maxRows,
      );
      const tokens = this.run(
        `DELETE FROM partner_tokens WHERE rowid IN
         (SELECT rowid FROM partner_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
        now,
        maxRows,
      );
      return { deliveries, more: Math.max(deliveries, keys, tokens, charges) >= maxRows };
    });
  }

  /**
   * The answer to a send that would pass a queue bound (DELIV-032, GROUP-062): nothing is written,
   * and a retry of a stored send is still answered as such (DELIV-012/014).
   */
  protected refusedForRoom(m: SendKey): AcceptResult & GroupAcceptResult {
    const earlier = this.findIdempotent(m.sender, m.senderDevice, m.idempotencyKey);
    return {
      messageId: earlier?.messageId ?? m.messageId,
      serverTimestamp: earlier?.serverTimestamp ?? m.serverTimestamp,
      duplicate: earlier !== undefined,
      conflict: earlier !== undefined && earlier.requestHash !== m.requestHash,
      queued: [],
      ...(earlier === undefined ? { queueFull: true } : {}),
    };
  }

  /**
   * Records a send's idempotency key (DELIV-012); when the key was used before, nothing is written
   * and the earlier send's answer is returned, flagged a conflict when its content differs
   * (DELIV-014). The key's uniqueness check is the insert's own: a lookup only for a used key.
   */
  protected claimKey(m: SendKey): (AcceptResult & GroupAcceptResult) | undefined {
    const fresh = this.run(
      'INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      m.sender,
      m.senderDevice,
      m.idempotencyKey,
      m.requestHash,
      m.messageId,
      m.serverTimestamp,
    );
    if (fresh !== 0) return undefined;
    const earlier = this.findIdempotent(m.sender, m.senderDevice, m.idempotencyKey)!;
    return {
      messageId: earlier.messageId,
      serverTimestamp: earlier.serverTimestamp,
      duplicate: true,
      conflict: earlier.requestHash !== m.requestHash,
      queued: [],
    };
  }

  protected dropQueued(recipient: string, sender: string): void {
    // What the dropped messages took of each device's bound stays charged to the sender until they
    // would have expired (DELIV-032), so that a block does not free the sender's share (CONSENT-022).
    this.run(
      `INSERT INTO dropped_totals
         SELECT recipient, device_id, sender,
                SUM(length(body) + COALESCE(length(distribution_body), 0)), COUNT(*), MAX(expires_at)
         FROM deliveries WHERE recipient = ? AND sender = ? GROUP BY device_id
       ON CONFLICT (recipient, device_id, sender) DO UPDATE SET
         bytes = bytes + excluded.bytes, count = count + excluded.count,
         expires_at = MAX(expires_at, excluded.expires_at)`,
      recipient,
      sender,
    );
    this.run('DELETE FROM deliveries WHERE recipient = ? AND sender = ?', recipient, sender);
  }
}
