/**
 * Group handlers: `group.create`, `group.add`, `group.remove`, `group.leave`, `group.role`,
 * `group.get`, and the answer to a group invitation through `request.respond` (spec/groups.md
 * GROUP-001..033). Each change is decided and written in one write of the group commit, so that
 * it is ordered with every send: a removal committed before a send leaves the removed member out.
 */
import { randomUUID } from 'node:crypto';
import type {
  GroupAddFrame,
  GroupCreateFrame,
  GroupGetFrame,
  GroupLeaveFrame,
  GroupMember,
  GroupRemoveFrame,
  GroupRoleFrame,
} from '../../../schemas/frames/groups.ts';
import type { RequestRespondFrame } from '../../../schemas/frames/consent.ts';
import type {
  AddressedDelivery,
  GroupChange,
  GroupChangeResult,
  GroupMemberRecord,
  GroupRecord,
} from '../../store/types.ts';
import {
  groupCommit,
  type ConnectionHandle,
  type Handler,
  type HandlerResult,
  type ProviderContext,
  type Session,
} from '../context.ts';
import { sha256Hex } from '../codec.ts';
import { ProviderError } from '../errors.ts';
import { gateRecipient, limitRate } from './consent-gate.ts';

/** One message for an unknown group and a group the sender is not a member of (GROUP-004). */
export const GROUP_NOT_FOUND_MESSAGE = 'no such group';

/** The sender's membership row, or NOT_FOUND whether the group is unknown or the sender not in it. */
export function memberRow(
  group: GroupRecord | undefined,
  address: string,
): { group: GroupRecord; row: GroupMemberRecord } {
  const row = group?.members.find((m) => m.address === address && m.status === 'member');
  if (!group || !row) throw new ProviderError('NOT_FOUND', GROUP_NOT_FOUND_MESSAGE);
  return { group, row };
}

function adminRow(ctx: ProviderContext, group: GroupRecord | undefined, session: Session) {
  const found = memberRow(group, session.address);
  if (found.row.role !== 'admin' && !ctx.faults.has('members-act-as-admins'))
    throw new ProviderError('FORBIDDEN', 'only an admin of the group may make this change');
  return found;
}

/** The wire view of a group: declined invitations stay `invited` for everyone (GROUP-022). */
export function groupState(group: GroupRecord): HandlerResult['reply'] {
  const members: GroupMember[] = group.members.map((m) => ({
    address: m.address,
    role: m.role,
    state: m.status === 'member' ? 'member' : 'invited',
  }));
  return { type: 'group.state', group: group.groupId, version: group.version, members };
}

/** What a change needs besides its rows. */
function changeOf(
  ctx: ProviderContext,
  session: Session,
  groupId: string,
  fields: Pick<GroupChange, 'action' | 'put' | 'drop' | 'named'> &
    Partial<Pick<GroupChange, 'create' | 'role' | 'silent' | 'idempotency'>>,
): GroupChange {
  const now = ctx.now();
  return {
    groupId,
    actor: session.address,
    actorDevice: session.deviceId,
    origin: session.origin,
    now,
    expiresAt: now + ctx.limits.advertised.queueTtlSeconds * 1000,
    ...fields,
  };
}

/**
 * Runs `decide` (reads and checks, then store writes) as one write of the group commit and pushes
 * the `group.changed` frames it queued once it is durable (GROUP-013).
 */
async function commit<T>(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  decide: () => { value: T; results: readonly GroupChangeResult[] },
): Promise<T> {
  const stored = groupCommit(ctx).submit(decide, (done) => {
    for (const r of done.results) ctx.delivery.pushAddressed(r.queued);
  });
  conn.release?.();
  return (await stored).value;
}

/**
 * The rows for the addresses a `group.create` or `group.add` names (GROUP-010, GROUP-020..023):
 * each address passes the recipient gate of 1:1 sends, so an unknown address and one whose owner
 * does not accept the adder's platform are refused alike (GROUP-021); a first-party user added
 * by a third-party user who is not their accepted contact gets an invitation.
 */
function additions(
  ctx: ProviderContext,
  session: Session,
  group: GroupRecord | undefined,
  addresses: readonly string[],
): { members: GroupMemberRecord[]; invited: GroupMemberRecord[] } {
  const members: GroupMemberRecord[] = [];
  const invited: GroupMemberRecord[] = [];
  const now = ctx.now();
  const isNew = (address: string): boolean =>
    address !== session.address && !group?.members.some((m) => m.address === address);
  // The size first (GROUP-031): it depends on how many addresses are named, never on who they
  // are, so a refusal for size says nothing about any address.
  const size = (group?.members.length ?? 1) + addresses.filter(isNew).length;
  const max = ctx.limits.advertised.maxGroupMembers ?? 1024;
  if (size > max && !ctx.faults.has('no-group-size-limit'))
    throw new ProviderError('GROUP_FULL', `a group holds at most ${max} members and invitations`, {
      pointer: '/members',
    });
  addresses.forEach((address, i) => {
    if (!isNew(address)) return; // the sender, or already in: nothing to do
    let account;
    try {
      account = gateRecipient(ctx, session, address);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // fault injection: breaks GROUP-021 (a refusal for consent reads apart from an unknown address)
      const reveal = ctx.faults.has('group-add-reveals-consent') && ctx.store.getAccount(address);
      throw new ProviderError(error.code, reveal ? 'not accepting additions' : error.message, {
        pointer: `/members/${i}`,
      });
    }
    let status: GroupMemberRecord['status'] = 'member';
    if (
      session.origin.thirdParty &&
      account.kind === 'local' &&
      !ctx.faults.has('third-party-adds-directly')
    ) {
      const accepted = ctx.store.getContact(address, session.address)?.state === 'accepted';
      // A user who blocked the adder gets an invitation nobody shows them (GROUP-022, CONSENT-022).
      if (ctx.store.isBlocked(address, session.address)) status = 'declined';
      else if (!accepted) status = 'invited';
    }
    const row: GroupMemberRecord = {
      address,
      role: 'member',
      status,
      thirdParty: account.kind === 'partner',
      addedBy: session.address,
      addedByPlatform: session.origin.platform,
      since: now,
    };
    (status === 'member' ? members : invited).push(row);
  });
  return { members, invited };
}

/**
 * GROUP-025: a `group.invited` push for every device of each user invited, queued in the commit
 * that files the invitation; none for a user who blocked the adder (their row is `declined`).
 */
function queueInvitations(
  ctx: ProviderContext,
  session: Session,
  groupId: string,
  rows: readonly GroupMemberRecord[],
): AddressedDelivery[] {
  if (ctx.faults.has('no-invitation-push')) return []; // fault injection: breaks GROUP-025
  const now = ctx.now();
  return rows
    .filter((r) => r.status === 'invited')
    .flatMap((r) =>
      ctx.store.queueGroupInvitation({
        groupId,
        invitee: r.address,
        by: session.address,
        byDevice: session.deviceId,
        origin: session.origin,
        now,
        expiresAt: now + ctx.limits.advertised.queueTtlSeconds * 1000,
      }),
    );
}

/** Rate limits on additions by third-party users (GROUP-033), counted per address named. */
function limitAdditions(ctx: ProviderContext, session: Session, count: number): void {
  if (!session.origin.thirdParty || count === 0 || ctx.faults.has('unlimited-group-additions'))
    return;
  const { rates } = ctx.limits;
  limitRate(ctx, [
    [`groupAdd:${session.address}`, rates.groupAddPerSender, count],
    [`groupAdd@${session.origin.platform}`, rates.groupAddPerPlatform, count],
  ]);
}

/**
 * The answer to a `group.create` whose idempotency key this device used before (GROUP-061): the
 * group it created, as it is now, for the same members; CONFLICT for other members (or a key a
 * `message.send` used); NOT_FOUND, as for any group, once the sender is no longer a member.
 */
function createdBefore(
  ctx: ProviderContext,
  session: Session,
  earlier: { requestHash: string; messageId: string },
  hash: string,
): HandlerResult {
  if (earlier.requestHash !== hash)
    throw new ProviderError('CONFLICT', 'the idempotency key names another request', {
      pointer: '/idempotencyKey',
    });
  return {
    reply: groupState(memberRow(ctx.store.getGroup(earlier.messageId), session.address).group),
  };
}

async function create(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupCreateFrame,
): Promise<HandlerResult> {
  const session = conn.session!;
  const named = f.members ?? [];
  // Idempotency first (GROUP-061), as for message.send: a retry is answered whatever the rate
  // limits would say today, and is not counted against them.
  const hash = sha256Hex(JSON.stringify(['group.create', named]));
  const earlier = ctx.store.findIdempotent(session.address, session.deviceId, f.idempotencyKey);
  if (earlier !== undefined) return createdBefore(ctx, session, earlier, hash);
  limitRate(ctx, [[`groupCreate:${session.address}`, ctx.limits.rates.groupCreatePerAccount]]);
  limitAdditions(ctx, session, named.length);
  const groupId = `g.${randomUUID()}`;
  const outcome = await commit<GroupRecord | HandlerResult>(ctx, conn, () => {
    // Read again in the write: a retry that raced the first request finds its group here.
    const raced = ctx.store.findIdempotent(session.address, session.deviceId, f.idempotencyKey);
    if (raced !== undefined)
      return { value: createdBefore(ctx, session, raced, hash), results: [] };
    const { members, invited } = additions(ctx, session, undefined, named);
    const creator: GroupMemberRecord = {
      address: session.address,
      role: 'admin',
      status: 'member',
      thirdParty: session.origin.thirdParty,
      addedBy: session.address,
      addedByPlatform: session.origin.platform,
      since: ctx.now(),
    };
    const rows = [creator, ...members, ...invited];
    const result = ctx.store.writeGroupChange(
      changeOf(ctx, session, groupId, {
        create: true,
        idempotency: { key: f.idempotencyKey, requestHash: hash },
        action: 'created',
        put: rows,
        drop: [],
        named: rows.map((r) => r.address),
      }),
    );
    const invitations = queueInvitations(ctx, session, groupId, invited);
    return {
      value: result.group!,
      results: [{ ...result, queued: [...result.queued, ...invitations] }],
    };
  });
  if ('reply' in outcome) return outcome;
  ctx.logger.log('info', 'group.created', { group: groupId, members: outcome.members.length });
  return { reply: groupState(outcome) };
}

async function add(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupAddFrame,
): Promise<HandlerResult> {
  const session = conn.session!;
  limitAdditions(ctx, session, f.members.length);
  const group = await commit(ctx, conn, () => {
    const { group } = adminRow(ctx, ctx.store.getGroup(f.group), session);
    const { members, invited } = additions(ctx, session, group, f.members);
    const results: GroupChangeResult[] = [];
    // Members and invitations are two changes, each with its version and push (GROUP-011).
    if (members.length > 0)
      results.push(
        ctx.store.writeGroupChange(
          changeOf(ctx, session, f.group, {
            action: 'added',
            put: members,
            drop: [],
            named: members.map((m) => m.address),
          }),
        ),
      );
    if (invited.length > 0) {
      const change = ctx.store.writeGroupChange(
        changeOf(ctx, session, f.group, {
          action: 'invited',
          put: invited,
          drop: [],
          named: invited.map((m) => m.address),
        }),
      );
      const invitations = queueInvitations(ctx, session, f.group, invited);
      results.push({ ...change, queued: [...change.queued, ...invitations] });
    }
    return { value: results.at(-1)?.group ?? group, results };
  });
  return { reply: groupState(group) };
}

async function remove(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupRemoveFrame,
): Promise<HandlerResult> {
  const session = conn.session!;
  const group = await commit(ctx, conn, () => {
    const { group } = adminRow(ctx, ctx.store.getGroup(f.group), session);
    f.members.forEach((address, i) => {
      if (address === session.address)
        throw new ProviderError('FORBIDDEN', 'an admin leaves with group.leave', {
          pointer: `/members/${i}`,
        });
      if (!group.members.some((m) => m.address === address))
        throw new ProviderError('NOT_FOUND', 'not a member or invitation of the group', {
          pointer: `/members/${i}`,
        });
    });
    const result = ctx.store.writeGroupChange(
      changeOf(ctx, session, f.group, {
        action: 'removed',
        put: [],
        drop: f.members,
        named: f.members,
      }),
    );
    return { value: result.group!, results: [result] };
  });
  return { reply: groupState(group) };
}

async function leave(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupLeaveFrame,
): Promise<HandlerResult> {
  const session = conn.session!;
  if (ctx.faults.has('refuse-group-leave'))
    // fault injection: breaks GROUP-014
    throw new ProviderError('FORBIDDEN', 'members may not leave this group');
  await commit(ctx, conn, () => {
    const { group, row } = memberRow(ctx.store.getGroup(f.group), session.address);
    const results = [
      ctx.store.writeGroupChange(
        changeOf(ctx, session, f.group, {
          action: 'left',
          put: [],
          drop: [session.address],
          named: [session.address],
        }),
      ),
    ];
    // A group keeps an admin (GROUP-015): the last admin's leaving promotes the longest member.
    const others = group.members.filter((m) => m.status === 'member' && m !== row);
    if (
      row.role === 'admin' &&
      others.length > 0 &&
      !others.some((m) => m.role === 'admin') &&
      !ctx.faults.has('no-admin-heir') // fault injection: breaks GROUP-015
    ) {
      const heir = { ...others[0]!, role: 'admin' as const };
      results.push(
        ctx.store.writeGroupChange(
          changeOf(ctx, session, f.group, {
            action: 'role',
            put: [heir],
            drop: [],
            named: [heir.address],
            role: 'admin',
          }),
        ),
      );
    }
    return { value: undefined, results };
  });
  return { reply: { type: 'group.left', group: f.group } };
}

async function role(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: GroupRoleFrame,
): Promise<HandlerResult> {
  const session = conn.session!;
  const group = await commit(ctx, conn, () => {
    const { group } = adminRow(ctx, ctx.store.getGroup(f.group), session);
    const target = group.members.find((m) => m.address === f.member && m.status === 'member');
    if (!target)
      throw new ProviderError('NOT_FOUND', 'not a member of the group', { pointer: '/member' });
    if (target.role === f.role) return { value: group, results: [] };
    const admins = group.members.filter((m) => m.status === 'member' && m.role === 'admin');
    if (f.role === 'member' && admins.length === 1)
      throw new ProviderError(
        'CONFLICT',
        'the group’s last admin cannot step down; promote another member first',
        { pointer: '/role' },
      );
    const result = ctx.store.writeGroupChange(
      changeOf(ctx, session, f.group, {
        action: 'role',
        put: [{ ...target, role: f.role }],
        drop: [],
        named: [f.member],
        role: f.role,
      }),
    );
    return { value: result.group!, results: [result] };
  });
  return { reply: groupState(group) };
}

function get(ctx: ProviderContext, conn: ConnectionHandle, f: GroupGetFrame): HandlerResult {
  const found = ctx.store.getGroup(f.group);
  if (found && ctx.faults.has('group-get-reveals-membership')) {
    // fault injection: breaks GROUP-004, an existence oracle for groups
    if (!found.members.some((m) => m.address === conn.session!.address && m.status === 'member'))
      throw new ProviderError('NOT_FOUND', 'not a member of this group');
  }
  const { group } = memberRow(found, conn.session!.address);
  if (ctx.faults.has('group-get-members-only'))
    // fault injection: breaks GROUP-003, invitations left out of group.get
    return {
      reply: groupState({ ...group, members: group.members.filter((m) => m.status === 'member') }),
    };
  return { reply: groupState(group) };
}

/**
 * `request.respond` naming a group (GROUP-020, GROUP-022): accept joins the group (a change with
 * its version and push), decline and block end the invitation unseen by the other members.
 */
export async function respondInvitation(
  ctx: ProviderContext,
  conn: ConnectionHandle,
  f: RequestRespondFrame & { group: string },
): Promise<HandlerResult> {
  const session = conn.session!;
  await commit(ctx, conn, () => {
    const group = ctx.store.getGroup(f.group);
    const row = group?.members.find(
      (m) => m.address === session.address && m.status === 'invited' && m.addedBy === f.from,
    );
    if (!group || !row)
      throw new ProviderError('NOT_FOUND', 'no such invitation', { pointer: '/group' });
    if (f.action === 'block') ctx.store.setBlock(session.address, f.from, true, ctx.now());
    const joined = f.action === 'accept';
    if (!joined && ctx.faults.has('decline-reveals')) {
      // fault injection: breaks GROUP-022 (the row goes, and the members see the decline)
      const gone = ctx.store.writeGroupChange(
        changeOf(ctx, session, f.group, {
          action: 'left',
          put: [],
          drop: [session.address],
          named: [session.address],
        }),
      );
      return { value: undefined, results: [gone] };
    }
    const result = ctx.store.writeGroupChange(
      changeOf(ctx, session, f.group, {
        action: 'joined',
        put: [{ ...row, status: joined ? 'member' : 'declined', since: ctx.now() }],
        drop: [],
        named: [session.address],
        silent: !joined,
      }),
    );
    return { value: undefined, results: [result] };
  });
  return { reply: { type: 'request.responded', from: f.from, action: f.action, group: f.group } };
}

export const groupHandlers = {
  'group.create': create as Handler,
  'group.add': add as Handler,
  'group.remove': remove as Handler,
  'group.leave': leave as Handler,
  'group.role': role as Handler,
  'group.get': get as Handler,
};
