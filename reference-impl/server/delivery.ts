/**
 * Delivery: which connection serves which device, pushes of queued ciphertexts in acceptance order,
 * the backlog and `queue.empty` after `auth.ok`, and `keys.low` (spec/messages.md DELIV-015..031,
 * spec/keys.md KEYS-021/022, spec/consent.md CONSENT-010/011 folders).
 */
import type { Folder, MessageFrame } from '../../schemas/frames/messages.ts';
import type { ProviderStore, QueuedDelivery } from '../store/types.ts';
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
  private readonly cursors = new WeakMap<ConnectionHandle, number>();
  private pushCounter = 0;

  constructor(
    private readonly store: ProviderStore,
    private readonly threshold: () => number,
    private readonly now: () => number,
  ) {}

  /** A fresh push id (PROTO-011). */
  nextPushId(prefix: string): string {
    return `${prefix}.${++this.pushCounter}`;
  }

  /** Makes `conn` the device's only push target (DELIV-021) and pushes its backlog, then `queue.empty`. */
  attach(conn: ConnectionHandle): void {
    const s = conn.session!;
    this.byDevice.set(deviceKey(s.address, s.deviceId), conn);
    this.cursors.set(conn, 0);
    const count = this.store.countOneTimePreKeys(s.address, s.deviceId);
    if (count < this.threshold()) this.sendKeysLow(conn, count);
    this.flush(conn);
    conn.send({ v: 1, type: 'queue.empty', id: this.nextPushId('q') });
  }

  detach(conn: ConnectionHandle): void {
    const s = conn.session;
    if (!s) return;
    const key = deviceKey(s.address, s.deviceId);
    if (this.byDevice.get(key) === conn) this.byDevice.delete(key);
  }

  connection(address: string, deviceId: number): ConnectionHandle | undefined {
    return this.byDevice.get(deviceKey(address, deviceId));
  }

  /** Pushes what was accepted for these devices since their connection's cursor (DELIV-018). */
  notify(address: string, deviceIds: readonly number[]): void {
    for (const d of deviceIds) {
      const conn = this.connection(address, d);
      if (conn) conn.flush();
    }
  }

  /** Pushes every unexpired queued delivery past the connection's cursor, in order (DELIV-026). */
  flush(conn: ConnectionHandle): void {
    const s = conn.session;
    if (!s || conn.state !== 'authenticated') return;
    const after = this.cursors.get(conn) ?? 0;
    const queued = this.store.pendingDeliveries(s.address, s.deviceId, after, this.now());
    if (queued.length === 0) return;
    const account = this.store.getAccount(s.address);
    const combined = account?.interop.inbox === 'combined';
    for (const q of queued)
      conn.send(this.messageFrame(s.address, q, combined) as unknown as Record<string, unknown>);
    this.cursors.set(conn, queued[queued.length - 1]!.seq);
  }

  private folder(recipient: string, q: QueuedDelivery, combined: boolean): Folder {
    if (!q.origin.thirdParty) return 'inbox';
    const contact = this.store.getContact(recipient, q.sender);
    if (contact?.state !== 'accepted') return 'requests';
    return combined ? 'inbox' : 'third-party';
  }

  private messageFrame(recipient: string, q: QueuedDelivery, combined: boolean): MessageFrame {
    return {
      v: 1,
      type: 'message',
      id: deliveryId(q.seq),
      messageId: q.messageId,
      from: q.sender,
      fromDevice: q.senderDevice,
      origin: { platform: q.origin.platform, thirdParty: q.origin.thirdParty },
      folder: this.folder(recipient, q, combined),
      ciphertextType: q.type,
      body: q.body,
      serverTimestamp: q.serverTimestamp,
    };
  }

  sendKeysLow(conn: ConnectionHandle, count: number): void {
    conn.send({
      v: 1,
      type: 'keys.low',
      id: this.nextPushId('k'),
      oneTimePreKeyCount: count,
      threshold: this.threshold(),
    });
  }

  /** Every connected connection, for shutdown. */
  connections(): ConnectionHandle[] {
    return [...this.byDevice.values()];
  }
}
