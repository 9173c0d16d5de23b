/**
 * Message handlers: `message.send` (checks in the order of spec/messages.md "Sending", durable
 * acceptance, idempotency, fan-out) and `message.ack` (spec/messages.md, spec/crypto.md ENC-034/035,
 * spec/consent.md CONSENT-014..022 and 025/026).
 */
import { randomUUID } from 'node:crypto';
import type {
  DeviceCiphertext,
  DirectSendVariant,
  MessageAckFrame,
  MessageSendFrame,
} from '../../../schemas/frames/messages.ts';
import { LegacyVersionError, parseCiphertext } from '../../crypto/index.ts';
import { bytesEqual, sha256Hex } from '../codec.ts';
import {
  groupCommit,
  type ConnectionHandle,
  type Handler,
  type HandlerResult,
  type ProviderContext,
  type Session,
} from '../context.ts';
import { seqOf } from '../delivery.ts';
import type { DeviceRecord } from '../../store/types.ts';
import { ProviderError } from '../errors.ts';
import { gateRecipient, limitRate } from './consent-gate.ts';
import { sendToGroup } from './group-messages.ts';

/**
 * The `retryAfterMs` of a send refused at a full queue (DELIV-032): the queue drains when the
 * device reads it, which the provider cannot foresee; a minute keeps a client from hammering.
 */
export const QUEUE_FULL_RETRY_MS = 60_000;

function requestHash(f: DirectSendVariant): string {
  const messages = [...f.messages]
    .sort((a, b) => a.deviceId - b.deviceId)
    .map((m) => [m.deviceId, m.registrationId, m.type, m.body]);
  return sha256Hex(JSON.stringify([f.to, messages]));
}

function accepted(
  messageId: string,
  serverTimestamp: number,
  duplicate: boolean,
): HandlerResult['reply'] {
  return { type: 'message.accepted', messageId, serverTimestamp, duplicate };
}

async function send(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  frame: MessageSendFrame,
): Promise<HandlerResult> {
  if ('group' in frame) return sendToGroup(ctx, conn, frame); // spec/groups.md
  const f = frame;
  const session = conn.session!;
  const hash = requestHash(f);
  // Idempotency (DELIV-012/014) comes first: a retry of a stored send is answered as such, or as
  // CONFLICT, whatever the checks below would say today. The store's insert finds a used key when
  // the checks pass; only a refusal looks it up first, so a fresh send pays no extra read.
  let checked: ReturnType<typeof checkSend>;
  try {
    checked = checkSend(ctx, session, f);
  } catch (error) {
    const earlier = ctx.store.findIdempotent(session.address, session.deviceId, f.idempotencyKey);
    if (earlier === undefined) throw error;
    if (earlier.requestHash !== hash)
      throw new ProviderError('CONFLICT', 'the idempotency key names another message', {
        pointer: '/idempotencyKey',
      });
    return { reply: accepted(earlier.messageId, earlier.serverTimestamp, true) };
  }
  const { recipient, thirdParty } = checked;
  const now = ctx.now();
  const messageId = randomUUID();
  // DELIV-008: stored in the next group commit; the pushes and the reply leave only after it.
  const ciphertexts = f.messages.map((m) => ({ deviceId: m.deviceId, type: m.type, body: m.body }));
  const stored = groupCommit(ctx).submit(
    () => {
      // Declined or blocked senders are answered as if delivered, and nothing is queued
      // (CONSENT-021/022); decided inside the transaction, so a block committed just before holds.
      const suppressed =
        (!ctx.faults.has('ignore-block') && ctx.store.isBlocked(f.to, session.address)) ||
        (thirdParty && ctx.store.getContact(f.to, session.address)?.state === 'declined');
      return ctx.store.acceptMessage({
        messageId,
        sender: session.address,
        senderDevice: session.deviceId,
        origin: ctx.faults.has('spoofable-origin')
          ? { platform: ctx.domain, thirdParty: false } // fault injection: breaks CONSENT-010
          : session.origin,
        recipient: f.to,
        idempotencyKey: f.idempotencyKey,
        requestHash: hash,
        serverTimestamp: now,
        expiresAt: now + ctx.limits.advertised.queueTtlSeconds * 1000,
        ciphertexts: suppressed ? [] : ciphertexts,
        // DELIV-032 with CONSENT-022: a suppressed send is charged and bounded like a queued one.
        ...(suppressed ? { charged: ciphertexts } : {}),
        queueBound: ctx.limits.queuePerDevice,
        ...(thirdParty && !suppressed
          ? { openRequest: { platform: session.origin.platform } }
          : {}),
        ...(!thirdParty && recipient.kind === 'partner'
          ? { acceptContact: { platform: recipient.platform } }
          : {}),
      });
    },
    (done) => ctx.delivery.push(f.to, done.queued),
  );
  conn.release?.(); // its place in the commit order is taken: the next frame may start
  const result = await stored;
  if (result.queueFull)
    throw new ProviderError(
      'RATE_LIMITED',
      'a recipient device’s queue is full: it holds the most bytes or messages the provider queues for one device',
      { retryAfterMs: QUEUE_FULL_RETRY_MS },
    );
  if (result.conflict)
    throw new ProviderError('CONFLICT', 'the idempotency key names another message', {
      pointer: '/idempotencyKey',
    });
  return { reply: accepted(result.messageId, result.serverTimestamp, result.duplicate) };
}

/**
 * The checks of spec/messages.md "Sending" that follow idempotency, in their order; throws the
 * first refusal. Returns what the store write needs.
 */
function checkSend(
  ctx: ProviderContext,
  session: Session,
  f: DirectSendVariant,
): { recipient: ReturnType<typeof gateRecipient>; thirdParty: boolean } {
  // Recipient and consent before anything recipient-dependent (CONSENT-005..008).
  const recipient = gateRecipient(ctx, session, f.to);
  const thirdParty = session.origin.thirdParty;
  const contact = thirdParty ? ctx.store.getContact(f.to, session.address) : undefined;
  if (thirdParty) {
    const { rates } = ctx.limits;
    // CONSENT-026 counts every send to a recipient who has not accepted the sender, whether the
    // request is new, pending, declined or blocked: a block creates no contact, so counting only
    // sends without one would limit a blocked sender sooner than one whose request waits, and
    // tell it of the block (CONSENT-022). The fault counts the old way.
    const unanswered = ctx.faults.has('rate-limit-reveals-block')
      ? contact === undefined
      : contact?.state !== 'accepted';
    limitRate(ctx, [
      [`send:${session.address}`, rates.sendPerSender],
      [`send@${session.origin.platform}`, rates.sendPerPlatform],
      ...(unanswered ? [[`request:${session.address}`, rates.newRequestPerSender] as const] : []),
      // CONSENT-033: per recipient and sending platform, whoever sends.
      ...(unanswered && !ctx.faults.has('requests-limited-per-sender-only')
        ? [[`unanswered:${f.to}@${session.origin.platform}`, rates.unansweredPerRecipient] as const]
        : []),
    ]); // CONSENT-025/026/033
  }
  // Sizes (DELIV-005).
  const max = ctx.limits.advertised.maxMessageBytes;
  // A Buffer is a Uint8Array: no second copy of every body (fromB64 returns a plain one).
  const bodies = f.messages.map((m) => Buffer.from(m.body, 'base64url'));
  bodies.forEach((b, i) => {
    if (b.length > max && !ctx.faults.has('skip-size-check'))
      throw new ProviderError('MESSAGE_TOO_LARGE', `a body is longer than ${max} bytes`, {
        pointer: `/messages/${i}/body`,
      });
  });
  checkDevices(ctx, ctx.store.listDevices(f.to), f.messages, '/messages'); // DELIV-001..003
  checkCiphertexts(ctx, session, f.messages, bodies, '/messages');
  return { recipient, thirdParty };
}

/**
 * The device list (DELIV-001..003): `messages` address each of `devices` once, with its current
 * registration id, and no other; `pointer` is the array's. Also for a group send's distribution
 * ciphertexts, per member (GROUP-046).
 */
export function checkDevices(
  ctx: ProviderContext,
  devices: readonly DeviceRecord[],
  messages: readonly DeviceCiphertext[],
  pointer: string,
): void {
  const byId = new Map(devices.map((d) => [d.deviceId, d]));
  const named = new Set<number>();
  const extra: number[] = [];
  const stale: number[] = [];
  messages.forEach((m, i) => {
    if (named.has(m.deviceId))
      throw new ProviderError('SCHEMA_VIOLATION', 'a device is addressed twice', {
        pointer: `${pointer}/${i}/deviceId`,
      });
    named.add(m.deviceId);
    const d = byId.get(m.deviceId);
    if (!d) extra.push(m.deviceId);
    else if (d.registrationId !== m.registrationId) stale.push(m.deviceId);
  });
  const missing = devices.map((d) => d.deviceId).filter((id) => !named.has(id));
  if (missing.length + extra.length + stale.length > 0 && !ctx.faults.has('skip-device-check')) {
    const asc = (a: number, b: number): number => a - b;
    throw new ProviderError(
      'DEVICE_MISMATCH',
      'the ciphertexts do not match the recipient’s devices',
      {
        ...(pointer === '/messages' ? {} : { pointer }),
        details: { missing: missing.sort(asc), extra: extra.sort(asc), stale: stale.sort(asc) },
      },
    );
  }
}

/**
 * Ciphertext structure (ENC-034/035/057) of 1:1 bodies, for `message.send` to a recipient and for
 * the distribution ciphertexts of a group send (GROUP-046); `pointer` is the array's.
 */
export function checkCiphertexts(
  ctx: ProviderContext,
  session: Session,
  messages: readonly DeviceCiphertext[],
  bodies: readonly Uint8Array[],
  pointer: string,
): void {
  // The sender device's identity key, read only when a prekey body needs it (ENC-035).
  let senderKey: Uint8Array | undefined;
  const senderIdentity = (): Uint8Array =>
    (senderKey ??=
      ctx.store.getDevice(session.address, session.deviceId)?.identityKey ?? new Uint8Array(0));
  messages.forEach((m, i) => {
    let parsed;
    try {
      parsed = parseCiphertext(m.type, bodies[i]!);
    } catch (error) {
      if (ctx.faults.has('accept-plaintext')) return; // fault injection: breaks ENC-034
      if (
        error instanceof LegacyVersionError &&
        error.version === X3DH_SESSION_VERSION &&
        !ctx.faults.has('untyped-legacy-refusal') // fault injection: breaks ENC-057
      )
        throw new ProviderError(
          'LEGACY_SIGNAL_VERSION',
          `the body is an X3DH (version 3) Signal ${m.type} message; PQXDH (version 4) is required`,
          { pointer: `${pointer}/${i}/body` },
        );
      throw new ProviderError(
        'NOT_SIGNAL_CIPHERTEXT',
        `the body is not a Signal ${m.type} message`,
        {
          pointer: `${pointer}/${i}/body`,
        },
      );
    }
    if (
      !ctx.faults.has('foreign-prekey-identity') && // fault injection: breaks ENC-035
      parsed.type === 'prekey' &&
      !bytesEqual(parsed.message.identityKey, senderIdentity())
    )
      throw new ProviderError(
        'NOT_SIGNAL_CIPHERTEXT',
        'the prekey message carries another identity key',
        {
          pointer: `${pointer}/${i}/body`,
        },
      );
  });
}

/** The session version of X3DH, refused with its own code so that its sender learns why (ENC-057). */
const X3DH_SESSION_VERSION = 3;

async function ack(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: MessageAckFrame,
): Promise<HandlerResult> {
  const { address, deviceId } = conn.session!;
  const seqs = f.deliveryIds.map(seqOf).filter((s): s is number => s !== undefined);
  if (ctx.faults.has('redeliver-acked'))
    return { reply: { type: 'message.acked', count: seqs.length } }; // fault injection: breaks DELIV-025
  const acked = groupCommit(ctx).submit(() => ctx.store.ackDeliveries(address, deviceId, seqs)); // DELIV-024/025
  conn.release?.();
  return { reply: { type: 'message.acked', count: await acked } };
}

export const messageHandlers = {
  'message.send': send as Handler,
  'message.ack': ack as Handler,
};
