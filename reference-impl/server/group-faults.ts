/**
 * Faults of groups as a store decorator, outside the production paths: each breaks one rule of
 * spec/groups.md for the conformance suite's self-test (GROUP-001, -010, -012, -013, -023, -040,
 * -041, -043, -048, -052, -061, -062). Installed by `startProvider` only when one of these faults
 * is asked for.
 */
import type {
  GroupAcceptResult,
  GroupChange,
  GroupChangeBody,
  GroupChangeResult,
  GroupMemberRecord,
  GroupRecord,
  NewGroupMessage,
  QueuedDelivery,
  ProviderStore,
  UndistributedDevice,
} from '../store/types.ts';
import type { Fault } from './faults.ts';

/** The faults this decorator realises. */
export const GROUP_STORE_FAULTS: readonly Fault[] = [
  'deliver-to-removed',
  'fan-out-first-device-only',
  'group-changes-to-actor-only',
  'group-create-not-idempotent',
  'unbounded-group-queue',
  'undistributed-devices-accepted',
  'groups-start-at-version-2',
  'group-adds-skip-partners',
  'role-change-counts-twice',
  'deliver-to-invitees',
  'group-sends-not-idempotent',
  'group-fan-out-ignores-consent',
];

/** The provider's group ids start so (handlers/groups.ts); a send's message ids never do. */
const GROUP_ID_PREFIX = 'g.';

/** A `group.changed` delivery with its body's version raised by one (groups-start-at-version-2). */
function raised(d: QueuedDelivery): QueuedDelivery {
  if (d.type !== 'group.changed') return d;
  const body = JSON.parse(d.body) as GroupChangeBody;
  return { ...d, body: JSON.stringify({ ...body, version: body.version + 1 }) };
}

/** `store` with the group faults of `faults` injected; `store` itself when there are none. */
export function withGroupFaults(store: ProviderStore, faults: ReadonlySet<Fault>): ProviderStore {
  if (!GROUP_STORE_FAULTS.some((f) => faults.has(f))) return store;
  /** Removed members the fault keeps in the fan-out, hidden from every read of the group. */
  const kept = new Map<string, Set<string>>();
  const hide = (g: GroupRecord | undefined): GroupRecord | undefined =>
    g && { ...g, members: g.members.filter((m) => !kept.get(g.groupId)?.has(m.address)) };
  return new Proxy(store, {
    get(target, property, receiver) {
      // breaks GROUP-043: removed rows stay, so the fan-out still reads them as members
      if (property === 'writeGroupChange' && faults.has('deliver-to-removed'))
        return (c: GroupChange): GroupChangeResult => {
          if (c.action !== 'removed') return target.writeGroupChange(c);
          const set = kept.get(c.groupId) ?? new Set<string>();
          kept.set(c.groupId, set);
          for (const address of c.drop) set.add(address);
          const result = target.writeGroupChange({ ...c, drop: [] });
          return { ...result, group: hide(result.group) };
        };
      if (property === 'getGroup' && faults.has('deliver-to-removed'))
        return (groupId: string) => hide(target.getGroup(groupId));
      if (property === 'undistributedGroupDevices' && faults.has('deliver-to-removed'))
        return (...args: Parameters<ProviderStore['undistributedGroupDevices']>) =>
          target
            .undistributedGroupDevices(...args)
            .filter((d) => !kept.get(args[0])?.has(d.address));
      // breaks GROUP-013: the pushes for everyone but the actor are deleted in the same transaction
      if (property === 'writeGroupChange' && faults.has('group-changes-to-actor-only'))
        return (c: GroupChange): GroupChangeResult => {
          const result = target.writeGroupChange(c);
          const others = result.queued.filter((q) => q.address !== c.actor);
          for (const q of others) target.ackDeliveries(q.address, q.deviceId, [q.delivery.seq]);
          return { ...result, queued: result.queued.filter((q) => q.address === c.actor) };
        };
      // breaks GROUP-041: copies for devices other than 1 are deleted in the same transaction
      if (property === 'acceptGroupMessage' && faults.has('fan-out-first-device-only'))
        return (m: NewGroupMessage): GroupAcceptResult => {
          const result = target.acceptGroupMessage(m);
          const dropped = result.queued.filter((q) => q.deviceId !== 1);
          for (const q of dropped) target.ackDeliveries(q.address, q.deviceId, [q.delivery.seq]);
          return { ...result, queued: result.queued.filter((q) => q.deviceId === 1) };
        };
      // breaks GROUP-061: the key of a group.create is neither recorded nor found again
      if (property === 'writeGroupChange' && faults.has('group-create-not-idempotent'))
        return (c: GroupChange): GroupChangeResult => {
          return target.writeGroupChange({ ...c, idempotency: undefined });
        };
      if (property === 'findIdempotent' && faults.has('group-create-not-idempotent'))
        return (sender: string, senderDevice: number, key: string) => {
          const found = target.findIdempotent(sender, senderDevice, key);
          return found?.messageId.startsWith(GROUP_ID_PREFIX) ? undefined : found;
        };
      // breaks GROUP-062: the fan-out takes no notice of the member devices' queue bound
      if (property === 'acceptGroupMessage' && faults.has('unbounded-group-queue'))
        return (m: NewGroupMessage): GroupAcceptResult => {
          return target.acceptGroupMessage({ ...m, queueBound: undefined });
        };
      // breaks GROUP-001: every version the provider shows is one higher, from 2 at creation
      if (faults.has('groups-start-at-version-2')) {
        const shown = (g: GroupRecord | undefined) => g && { ...g, version: g.version + 1 };
        if (property === 'getGroup') return (groupId: string) => shown(target.getGroup(groupId));
        if (property === 'writeGroupChange')
          return (c: GroupChange): GroupChangeResult => {
            const expected =
              c.expectedVersion === undefined ? {} : { expectedVersion: c.expectedVersion - 1 };
            const result = target.writeGroupChange({ ...c, ...expected });
            return {
              group: shown(result.group),
              queued: result.queued.map((q) => ({ ...q, delivery: raised(q.delivery) })),
            };
          };
        if (property === 'pendingDeliveries')
          return (...args: Parameters<ProviderStore['pendingDeliveries']>) =>
            target.pendingDeliveries(...args).map(raised);
      }
      // breaks GROUP-010: partner users named in a creation or an addition are left out
      if (property === 'writeGroupChange' && faults.has('group-adds-skip-partners'))
        return (c: GroupChange): GroupChangeResult =>
          target.writeGroupChange(
            c.action === 'created' || c.action === 'added'
              ? { ...c, put: c.put.filter((m) => !m.thirdParty || m.address === c.actor) }
              : c,
          );
      // breaks GROUP-012: a role change is committed twice, two versions up
      if (property === 'writeGroupChange' && faults.has('role-change-counts-twice'))
        return (c: GroupChange): GroupChangeResult => {
          if (c.action !== 'role') return target.writeGroupChange(c);
          const first = target.writeGroupChange(c);
          const second = target.writeGroupChange({ ...c, expectedVersion: undefined });
          return { group: second.group, queued: [...first.queued, ...second.queued] };
        };
      // breaks GROUP-023: invitees are members for the fan-out, in the transaction that accepts
      if (property === 'acceptGroupMessage' && faults.has('deliver-to-invitees'))
        return (m: NewGroupMessage): GroupAcceptResult => {
          const invited = target.getGroup(m.groupId)?.members.filter((r) => r.status !== 'member');
          if (!invited?.length) return target.acceptGroupMessage(m);
          const rows = (put: readonly GroupMemberRecord[]): GroupChange => ({
            groupId: m.groupId,
            actor: m.sender,
            actorDevice: m.senderDevice,
            origin: m.origin,
            action: 'joined',
            put,
            drop: [],
            named: [],
            silent: true,
            now: m.serverTimestamp,
            expiresAt: m.expiresAt,
          });
          target.writeGroupChange(rows(invited.map((r) => ({ ...r, status: 'member' }))));
          const result = target.acceptGroupMessage(m);
          target.writeGroupChange(rows(invited));
          return result;
        };
      // breaks GROUP-040: each send is stored under a key of its own, so a retry is a new message
      if (property === 'acceptGroupMessage' && faults.has('group-sends-not-idempotent'))
        return (m: NewGroupMessage): GroupAcceptResult =>
          target.acceptGroupMessage({ ...m, idempotencyKey: `${m.idempotencyKey}.${m.messageId}` });
      // breaks GROUP-048: the fan-out takes every sender for first-party (pushes keep the origin)
      if (property === 'acceptGroupMessage' && faults.has('group-fan-out-ignores-consent'))
        return (m: NewGroupMessage): GroupAcceptResult => {
          const result = target.acceptGroupMessage({
            ...m,
            origin: { ...m.origin, thirdParty: false },
          });
          return {
            ...result,
            queued: result.queued.map((q) => ({
              ...q,
              delivery: { ...q.delivery, origin: m.origin },
            })),
          };
        };
      // breaks GROUP-052: every member device reads as holding the sender's key already
      if (property === 'undistributedGroupDevices' && faults.has('undistributed-devices-accepted'))
        return (): UndistributedDevice[] => [];
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
