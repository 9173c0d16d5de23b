// Outgoing messages: one ciphertext per device, persisted, retried with the same idempotency key
// after drops, rate limits and device mismatches (spec/messages.md "Sending", "Idempotency").
import { randomUUID } from 'node:crypto';
import type { Content } from '../../schemas/content.ts';
import type { ClientFrameType } from '../../schemas/frame-types.ts';
import type {
  DeviceCiphertext,
  KeysBundleFrame,
  ProviderLimits,
} from '../../schemas/frames/index.ts';
import type { ReplyTo, RequestBody } from './connection.ts';
import { encodePlaintext } from './content.ts';
import { deviceMismatchOf, ParleyError } from './errors.ts';
import { translate, type Sessions } from './sessions.ts';
import { validator } from './validation.ts';
import type { ClientStore, PendingSend } from './store.ts';
import type { SendResult } from './types.ts';

/** Rounds of DEVICE_MISMATCH recovery before a send gives up (each round fixes every listed device). */
export const MAX_DEVICE_MISMATCH_ROUNDS = 3;
/** RATE_LIMITED refusals a send waits out (retryAfterMs each, CONSENT-027) before giving up. */
export const MAX_RATE_LIMIT_RETRIES = 3;
/** Dropped connections or timeouts a send rides out before it reports UNAVAILABLE. */
export const MAX_UNAVAILABLE_RETRIES = 10;

/** What the outbox needs from the client that owns it. */
export interface OutboxPort {
  readonly store: ClientStore;
  readonly sessions: Sessions;
  /** Sends a request on the live connection, waiting for a reconnect when there is none. */
  request<T extends ClientFrameType>(type: T, body: RequestBody<T>): Promise<ReplyTo<T>>;
  claimKeys(address: string, deviceIds?: number[]): Promise<KeysBundleFrame>;
  /** Resolves once an authenticated connection is open. */
  ready(): Promise<void>;
  limits(): ProviderLimits;
  /** Whether a request dropped with its connection can wait for a reconnect. */
  reconnectable(): boolean;
  connected(): boolean;
  /** Waits, or stops waiting when the client closes. */
  sleep(ms: number): Promise<void>;
  problem(error: ParleyError): void;
}

/** The sending half of a client. */
export class Outbox {
  private readonly inFlight = new Set<string>();

  constructor(private readonly port: OutboxPort) {}

  /** Encrypts and sends `content` to every device of `to`; see ParleyClient.send. */
  async send(to: string, content: Content): Promise<SendResult> {
    // ENC-036: only a Content its schema accepts goes out; a peer would discard anything else.
    const check = validator().validateAs('Content', content);
    if (!check.ok) {
      throw new ParleyError('SCHEMA_VIOLATION', `not a valid Content: ${check.message}`, {
        pointer: check.pointer,
      });
    }
    // spec/content.md: only a group message's Content names a group (GROUP-056).
    if (content.group !== undefined) {
      throw new ParleyError('SCHEMA_VIOLATION', 'a 1:1 Content carries no group', {
        pointer: '/group',
      });
    }
    if (
      (content.kind === 'receipt' || content.kind === 'typing') &&
      (await this.port.store.isRequestSender(to))
    ) {
      throw new ParleyError(
        'FORBIDDEN',
        `no ${content.kind} to ${to} before the message request is accepted`,
      );
    }
    await this.port.ready();
    const plaintext = encodePlaintext(content);
    if (plaintext.length > this.port.limits().maxMessageBytes) {
      throw new ParleyError('MESSAGE_TOO_LARGE', 'the content exceeds limits.maxMessageBytes');
    }
    const idempotencyKey = randomUUID();
    let devices = await this.port.store.sessionDevices(to);
    if (devices.length === 0) {
      await this.port.sessions.buildAll(await this.port.claimKeys(to));
      devices = await this.port.store.sessionDevices(to);
    }
    // ENC-058: a session whose first message has had no answer for 30 days starts afresh.
    const unanswered = await this.port.sessions.unanswered(to, devices);
    if (unanswered.length > 0)
      await this.port.sessions.buildAll(await this.port.claimKeys(to, unanswered));
    const pending: PendingSend = {
      idempotencyKey,
      to,
      content: JSON.stringify(content),
      messages: await this.port.sessions.encryptFor(to, devices, plaintext),
      createdAt: Date.now(),
    };
    const max = this.port.limits().maxMessageBytes;
    if (pending.messages.some((m) => Buffer.byteLength(m.body, 'base64url') > max)) {
      throw new ParleyError(
        'MESSAGE_TOO_LARGE',
        'a ciphertext would exceed limits.maxMessageBytes',
      );
    }
    await this.port.store.savePendingSend(pending);
    this.inFlight.add(idempotencyKey);
    try {
      const accepted = await this.deliver(pending, plaintext);
      if (content.kind !== 'receipt' && content.kind !== 'typing')
        await this.port.store.setRequestSender(to, false);
      return { ...accepted, content, idempotencyKey };
    } finally {
      this.inFlight.delete(idempotencyKey);
    }
  }

  /** Sends a pending send until accepted, repairing device lists and waiting out rate limits. */
  private async deliver(
    pending: PendingSend,
    plaintext: Uint8Array,
  ): Promise<{ messageId: string; serverTimestamp: number; duplicate: boolean }> {
    let mismatchRounds = 0;
    let rateLimited = 0;
    let unavailable = 0;
    for (;;) {
      try {
        if (pending.messages.length > this.port.limits().maxDevicesPerMessage) {
          throw new ParleyError(
            'DEVICE_MISMATCH',
            'the recipient has more devices than maxDevicesPerMessage',
          );
        }
        const reply = await this.port.request('message.send', {
          type: 'message.send',
          to: pending.to,
          idempotencyKey: pending.idempotencyKey,
          messages: pending.messages,
        });
        await this.port.store.deletePendingSend(pending.idempotencyKey);
        return {
          messageId: reply.messageId,
          serverTimestamp: reply.serverTimestamp,
          duplicate: reply.duplicate,
        };
      } catch (error) {
        const e = error instanceof ParleyError ? error : translate(error, 'send failed');
        if (e.code === 'UNAVAILABLE') {
          // The connection dropped: request() waits for the reconnect; same key (DELIV-011).
          if (this.port.reconnectable() && unavailable++ < MAX_UNAVAILABLE_RETRIES) continue;
          throw e; // stays pending: the next connect retries it with the same key
        }
        if (e.code === 'RATE_LIMITED' && rateLimited++ < MAX_RATE_LIMIT_RETRIES) {
          await this.port.sleep(e.retryAfterMs ?? 1000);
          continue;
        }
        if (
          e.code === 'DEVICE_MISMATCH' &&
          e.source === 'provider' &&
          mismatchRounds++ < MAX_DEVICE_MISMATCH_ROUNDS
        ) {
          pending.messages = await this.repairDevices(pending, e, plaintext);
          await this.port.store.savePendingSend(pending);
          continue;
        }
        await this.port.store.deletePendingSend(pending.idempotencyKey);
        throw e;
      }
    }
  }

  /** DELIV-004: claim keys for missing and stale devices, drop extra and stale sessions, re-encrypt. */
  private async repairDevices(
    pending: PendingSend,
    error: ParleyError,
    plaintext: Uint8Array,
  ): Promise<DeviceCiphertext[]> {
    const { missing, extra, stale } = deviceMismatchOf(error);
    for (const deviceId of [...extra, ...stale])
      await this.port.sessions.drop({ name: pending.to, deviceId });
    const drop = new Set([...extra, ...stale]);
    const kept = pending.messages.filter((m) => !drop.has(m.deviceId));
    const need = [...missing, ...stale];
    if (need.length === 0) return kept;
    const bundle = await this.port.claimKeys(pending.to, need);
    await this.port.sessions.buildAll(bundle);
    const fresh = await this.port.sessions.encryptFor(
      pending.to,
      bundle.devices.map((d) => d.deviceId),
      plaintext,
    );
    return [...kept, ...fresh].sort((a, b) => a.deviceId - b.deviceId);
  }

  /** Retries every persisted send not owned by a running `send` call, with its original key. */
  async flushPending(): Promise<void> {
    for (const pending of await this.port.store.listPendingSends()) {
      if (this.inFlight.has(pending.idempotencyKey) || !this.port.connected()) continue;
      this.inFlight.add(pending.idempotencyKey);
      try {
        await this.deliver(pending, encodePlaintext(JSON.parse(pending.content) as Content));
      } catch (error) {
        this.port.problem(
          error instanceof ParleyError ? error : translate(error, 'pending send failed'),
        );
      } finally {
        this.inFlight.delete(pending.idempotencyKey);
      }
    }
  }
}
