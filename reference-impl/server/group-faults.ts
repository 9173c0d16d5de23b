/**
 * Faults of the group fan-out as a store decorator, outside the production paths: each breaks one
 * MUST of spec/groups.md for the conformance suite's self-test (GROUP-013, GROUP-041, GROUP-043,
 * GROUP-052). Installed by `startProvider` only when one of these faults is asked for.
 */
import type {
  GroupAcceptResult,
  GroupChange,
  GroupChangeResult,
  GroupRecord,
  NewGroupMessage,
  ProviderStore,
  UndistributedDevice,
} from '../store/types.ts';
import type { Fault } from './faults.ts';

/** The faults this decorator realises. */
export const GROUP_STORE_FAULTS: readonly Fault[] = [
  'deliver-to-removed',
  'fan-out-first-device-only',
  'group-changes-to-actor-only',
  'undistributed-devices-accepted',
];

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
      // breaks GROUP-052: every member device reads as holding the sender's key already
      if (property === 'undistributedGroupDevices' && faults.has('undistributed-devices-accepted'))
        return (): UndistributedDevice[] => [];
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
