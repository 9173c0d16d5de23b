/**
 * Faults of the key directory and the device list as a store decorator, outside the production
 * paths: each breaks one MUST of spec/keys.md about Kyber prekeys (KEYS-028..030) or of
 * spec/auth.md about device ids and device keys (AUTH-032, AUTH-034, AUTH-036) for the
 * conformance suite's self-test.
 * Installed by `startProvider` only when one of these faults is asked for.
 */
import type {
  ClaimedBundle,
  ProviderStore,
  PublishedKeys,
  StoredSignedKey,
} from '../store/types.ts';
import type { Fault } from './faults.ts';

/** The faults this decorator realises. */
export const STORE_FAULTS: readonly Fault[] = [
  'serve-kyber-prekey-twice',
  'last-resort-kyber-first',
  'consume-last-resort-kyber',
  'number-devices-upward',
  'forget-removed-device-keys',
  'reused-id-keeps-removed-key',
];

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

const deviceKey = (address: string, deviceId: number): string => `${deviceId}:${address}`;

/** `store` with the Kyber faults of `faults` injected; `store` itself when there are none. */
export function withStoreFaults(store: ProviderStore, faults: ReadonlySet<Fault>): ProviderStore {
  if (!STORE_FAULTS.some((f) => faults.has(f))) return store;
  /** Each device's last-resort Kyber prekey as last published through this decorator. */
  const lastResort = new Map<string, StoredSignedKey>();
  /** Devices whose last-resort Kyber prekey the fault "consumed". */
  const consumed = new Set<string>();
  const putBack = (address: string, b: ClaimedBundle): void => {
    store.publishKeys(address, b.device.deviceId, {
      signedPreKey: b.signedPreKey,
      oneTimePreKeys: [],
      oneTimeKyberPreKeys: [b.kyberPreKey],
    });
  };
  /** Each account's next device id under the upward numbering of 'number-devices-upward'. */
  const nextDeviceId = new Map<string, number>();
  /** The device key each removed device had, for 'reused-id-keeps-removed-key'. */
  const removedKeys = new Map<string, Uint8Array>();
  return new Proxy(store, {
    get(target, property, receiver) {
      // breaks AUTH-034: only current devices' keys and the identity key are refused, so a
      // removed device's key can be added again
      if (property === 'deviceKeyUsed' && faults.has('forget-removed-device-keys'))
        return (address: string, key: Uint8Array) =>
          target
            .listDevices(address)
            .some((d) => sameBytes(d.deviceKey, key) || sameBytes(d.identityKey, key));
      // breaks AUTH-036: a device that gets a removed device's id keeps the removed device's key
      // (an upsert that never replaces the key column), so the removed device signs in again
      if (property === 'removeDevice' && faults.has('reused-id-keeps-removed-key'))
        return (address: string, deviceId: number, now?: number) => {
          const removed = target.getDevice(address, deviceId);
          const done = target.removeDevice(address, deviceId, now);
          if (done && removed) removedKeys.set(deviceKey(address, deviceId), removed.deviceKey);
          return done;
        };
      if (property === 'addDevice' && faults.has('reused-id-keeps-removed-key'))
        return (
          address: string,
          registrationId: number,
          key: Uint8Array,
          maxDevices: number,
          now: number,
        ) => {
          const deviceId = target.addDevice(address, registrationId, key, maxDevices, now);
          const old =
            deviceId === undefined ? undefined : removedKeys.get(deviceKey(address, deviceId));
          const added = deviceId === undefined ? undefined : target.getDevice(address, deviceId);
          const account = target.getAccount(address);
          if (old && added && account)
            target.upsertPartnerDevice({ ...added, deviceKey: old }, account.platform, now);
          return deviceId;
        };
      // breaks AUTH-032: ids count upward past 127; the device goes in through the one store
      // method that takes an id (upsertPartnerDevice, which leaves a local account local)
      if (property === 'addDevice' && faults.has('number-devices-upward'))
        return (
          address: string,
          registrationId: number,
          key: Uint8Array,
          maxDevices: number,
          now: number,
        ) => {
          const devices = target.listDevices(address);
          const account = target.getAccount(address);
          if (account?.kind !== 'local' || !devices[0] || devices.length >= maxDevices)
            return undefined;
          const highest = Math.max(...devices.map((d) => d.deviceId));
          const deviceId = Math.max(nextDeviceId.get(address) ?? 2, highest + 1);
          nextDeviceId.set(address, deviceId + 1);
          target.upsertPartnerDevice(
            {
              address,
              deviceId,
              registrationId,
              identityKey: devices[0].identityKey,
              deviceKey: key,
            },
            account.platform,
            now,
          );
          return deviceId;
        };
      if (property === 'publishKeys')
        return (address: string, deviceId: number, keys: PublishedKeys) => {
          if (keys.lastResortKyberPreKey) {
            lastResort.set(deviceKey(address, deviceId), keys.lastResortKyberPreKey);
            consumed.delete(deviceKey(address, deviceId));
          }
          return target.publishKeys(address, deviceId, keys);
        };
      if (property === 'claimKeys')
        return (address: string, deviceIds: readonly number[] | undefined): ClaimedBundle[] => {
          const out: ClaimedBundle[] = [];
          for (const claimed of target.claimKeys(address, deviceIds)) {
            const key = deviceKey(address, claimed.device.deviceId);
            let b = claimed;
            // breaks KEYS-029: the one-time Kyber prekey goes back into the pool
            if (faults.has('serve-kyber-prekey-twice') && !b.kyberLastResort) putBack(address, b);
            // breaks KEYS-028: the last-resort key is served while a one-time one is left
            const resort = lastResort.get(key);
            if (faults.has('last-resort-kyber-first') && !b.kyberLastResort && resort) {
              putBack(address, b);
              b = { ...b, kyberPreKey: resort, kyberLastResort: true };
            }
            // breaks KEYS-030: a served last-resort key is gone, so the device is left out after
            if (faults.has('consume-last-resort-kyber') && b.kyberLastResort) {
              if (consumed.has(key)) continue;
              consumed.add(key);
            }
            out.push(b);
          }
          return out;
        };
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
