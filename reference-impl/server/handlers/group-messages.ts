/**
 * `message.send` to a group (spec/groups.md "Group messages", GROUP-040..047, GROUP-052): one
 * sender-key ciphertext fanned out to every device of every current member in one transaction,
 * with 1:1 distribution ciphertexts for some members' devices beside it, refused while a member
 * device has had no distribution from the sending device, and the idempotency of 1:1 sends.
 */
import { randomUUID } from 'node:crypto';
import type { GroupSendVariant } from '../../../schemas/frames/messages.ts';
import type { GroupRecord, StoredCiphertext, UndistributedDevice } from '../../store/types.ts';
import { sha256Hex } from '../codec.ts';
import {
  groupCommit,
  type ConnectionHandle,
  type HandlerResult,
  type ProviderContext,
  type Session,
} from '../context.ts';
import { ProviderError } from '../errors.ts';
import { senderKeyShapeFault } from '../sender-key-shape.ts';
import { limitRate } from './consent-gate.ts';
import { memberRow } from './groups.ts';
import { checkCiphertexts, checkDevices, QUEUE_FULL_RETRY_MS } from './messages.ts';

function requestHash(f: GroupSendVariant): string {
  const distribution = [...(f.distribution ?? [])]
    .sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0))
    .map((d) => [
      d.to,
      [...d.messages]
        .sort((a, b) => a.deviceId - b.deviceId)
        .map((m) => [m.deviceId, m.registrationId, m.type, m.body]),
    ]);
  return sha256Hex(JSON.stringify(['group', f.group, f.groupVersion, f.body, distribution]));
}

/**
 * The sender's membership and the group's version (GROUP-042, GROUP-044), checked again in the
 * transaction that fans out: a removal or change committed in between wins.
 */
function checkMembership(ctx: ProviderContext, session: Session, f: GroupSendVariant): GroupRecord {
  const group = ctx.store.getGroup(f.group);
  if (!ctx.faults.has('accept-non-member-send')) memberRow(group, session.address);
  else if (!group) memberRow(group, session.address); // fault injection: breaks GROUP-042
  if (group!.version !== f.groupVersion && !ctx.faults.has('skip-group-version-check'))
    throw new ProviderError(
      'GROUP_VERSION_STALE',
      `the group is at version ${group!.version}; read it with group.get and send again`,
      { pointer: '/groupVersion' },
    );
  f.distribution?.forEach((d, i) => {
    if (
      !group!.members.some((m) => m.address === d.to && m.status === 'member') &&
      !ctx.faults.has('distribution-to-non-members') // fault injection: breaks GROUP-046
    )
      throw new ProviderError('NOT_FOUND', 'not a member of the group', {
        pointer: `/distribution/${i}/to`,
      });
  });
  return group!;
}

/**
 * GROUP-052: every member device the message is for holds the sending device's sender key, or
 * this send's `distribution` carries it there. `undistributed` is what the store read (in the
 * pre-check, and again in the transaction that accepts, for a device added in between); members
 * with an entry have had it checked against their devices already (GROUP-046), so what is left
 * names members without one, refused with pointer `/distribution` and those members' devices.
 */
function checkDistributed(
  undistributed: readonly UndistributedDevice[],
  distribution: ReadonlyMap<string, ReadonlyMap<number, StoredCiphertext>>,
): void {
  const members = new Map<string, number[]>();
  for (const d of undistributed) {
    if (distribution.get(d.address)?.has(d.deviceId)) continue;
    const missing = members.get(d.address) ?? [];
    members.set(d.address, [...missing, d.deviceId]);
  }
  if (members.size === 0) return;
  const named = [...members].map(([address, missing]) => ({
    address,
    missing: missing.sort((a, b) => a - b),
  }));
  throw new ProviderError(
    'DEVICE_MISMATCH',
    `the sender key of this device has not reached every device of ${named.map((m) => m.address).join(', ')}; distribute it to them`,
    {
      pointer: '/distribution',
      details: { missing: [], extra: [], stale: [], members: named },
    },
  );
}

/** The devices the group send is for that have not had the sending device's sender key (GROUP-052). */
function undistributed(
  ctx: ProviderContext,
  session: Session,
  f: GroupSendVariant,
): UndistributedDevice[] {
  return ctx.store.undistributedGroupDevices(
    f.group,
    session.address,
    session.deviceId,
    session.origin,
  );
}

/** The checks that follow membership, in the order of spec/groups.md; returns the distribution. */
function checkSend(
  ctx: ProviderContext,
  session: Session,
  f: GroupSendVariant,
): Map<string, Map<number, StoredCiphertext>> {
  checkMembership(ctx, session, f);
  if (session.origin.thirdParty) {
    const { rates } = ctx.limits;
    limitRate(ctx, [
      [`send:${session.address}`, rates.sendPerSender],
      [`send@${session.origin.platform}`, rates.sendPerPlatform],
    ]); // CONSENT-025: a group send counts as one send
  }
  const max = ctx.limits.advertised.maxMessageBytes;
  const body = Buffer.from(f.body, 'base64url');
  if (body.length > max)
    throw new ProviderError('MESSAGE_TOO_LARGE', `the body is longer than ${max} bytes`, {
      pointer: '/body',
    });
  const fault = senderKeyShapeFault(body);
  if (fault !== undefined && !ctx.faults.has('accept-non-sender-key'))
    throw new ProviderError(
      'NOT_SIGNAL_CIPHERTEXT',
      `the body is not a SenderKeyMessage: ${fault}`,
      {
        pointer: '/body',
      },
    );
  const distribution = new Map<string, Map<number, StoredCiphertext>>();
  f.distribution?.forEach((d, i) => {
    const pointer = `/distribution/${i}`;
    if (distribution.has(d.to))
      throw new ProviderError('SCHEMA_VIOLATION', 'a member is addressed twice', {
        pointer: `${pointer}/to`,
      });
    const bodies = d.messages.map((m) => Buffer.from(m.body, 'base64url'));
    bodies.forEach((b, j) => {
      if (b.length > max)
        throw new ProviderError('MESSAGE_TOO_LARGE', `a body is longer than ${max} bytes`, {
          pointer: `${pointer}/messages/${j}/body`,
        });
    });
    // The sender's own other devices take its sender key too; never the sending device.
    const devices = ctx.store
      .listDevices(d.to)
      .filter((x) => !(d.to === session.address && x.deviceId === session.deviceId));
    checkDevices(ctx, devices, d.messages, `${pointer}/messages`);
    checkCiphertexts(ctx, session, d.messages, bodies, `${pointer}/messages`);
    distribution.set(
      d.to,
      new Map(
        d.messages.map((m) => [m.deviceId, { deviceId: m.deviceId, type: m.type, body: m.body }]),
      ),
    );
  });
  checkDistributed(undistributed(ctx, session, f), distribution);
  return distribution;
}

function accepted(messageId: string, serverTimestamp: number, duplicate: boolean) {
  return { type: 'message.accepted', messageId, serverTimestamp, duplicate };
}

/** Answers a refused send as a retry of a stored one when its idempotency key names one (DELIV-012/014). */
function retryOrThrow(
  ctx: ProviderContext,
  session: Session,
  f: GroupSendVariant,
  hash: string,
  error: unknown,
): HandlerResult {
  const earlier = ctx.store.findIdempotent(session.address, session.deviceId, f.idempotencyKey);
  if (earlier === undefined) throw error;
  if (earlier.requestHash !== hash)
    throw new ProviderError('CONFLICT', 'the idempotency key names another message', {
      pointer: '/idempotencyKey',
    });
  return { reply: accepted(earlier.messageId, earlier.serverTimestamp, true) };
}

export async function sendToGroup(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupSendVariant,
): Promise<HandlerResult> {
  const session = conn.session!;
  const hash = requestHash(f);
  let distribution: Map<string, Map<number, StoredCiphertext>>;
  try {
    distribution = checkSend(ctx, session, f);
  } catch (error) {
    return retryOrThrow(ctx, session, f, hash, error);
  }
  const now = ctx.now();
  const stored = groupCommit(ctx).submit(
    () => {
      checkMembership(ctx, session, f);
      checkDistributed(undistributed(ctx, session, f), distribution);
      return ctx.store.acceptGroupMessage({
        messageId: randomUUID(),
        groupId: f.group,
        sender: session.address,
        senderDevice: session.deviceId,
        origin: session.origin,
        idempotencyKey: f.idempotencyKey,
        requestHash: hash,
        serverTimestamp: now,
        expiresAt: now + ctx.limits.advertised.queueTtlSeconds * 1000,
        body: f.body,
        distribution,
        queueBound: ctx.limits.queuePerDevice, // GROUP-062: DELIV-032's bound, per member device
      });
    },
    (done) => ctx.delivery.pushAddressed(done.queued),
  );
  conn.release?.();
  let result;
  try {
    result = await stored;
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return retryOrThrow(ctx, session, f, hash, error);
  }
  if (result.queueFull)
    throw new ProviderError(
      'RATE_LIMITED',
      'a member device’s queue is full: it holds the most bytes or messages the provider queues for one device',
      { retryAfterMs: QUEUE_FULL_RETRY_MS },
    );
  if (result.conflict)
    throw new ProviderError('CONFLICT', 'the idempotency key names another message', {
      pointer: '/idempotencyKey',
    });
  return { reply: accepted(result.messageId, result.serverTimestamp, result.duplicate) };
}
