/**
 * The SQLite store's account layer: accounts, devices and the key directory, each claim selecting
 * and deleting its one-time prekey and one-time Kyber prekey in one transaction (spec/auth.md
 * accounts, spec/keys.md KEYS-012, KEYS-029).
 */
import type {
  AccountRecord,
  ClaimedBundle,
  DeviceRecord,
  NewLocalAccount,
  PreKeyCounts,
  PublishedKeys,
  StoredSignedKey,
} from '../types.ts';
import { MAX_DEVICE_ID } from '../../crypto/limits.ts';
import { bytes, SqlBase, toAccount, toDevice, toSigned, type Row } from './base.ts';

/** The kind under which signed_prekeys holds a device's last-resort Kyber prekey (migration 4). */
const LAST_RESORT_KYBER = 'kyber';

export class SqliteAccounts extends SqlBase {
  createLocalAccount(a: NewLocalAccount): boolean {
    return this.tx(() => {
      if (this.get('SELECT 1 FROM accounts WHERE address = ?', a.address)) return false;
      this.run(
        `INSERT INTO accounts (address, kind, platform, created_at) VALUES (?, 'local', ?, ?)`,
        a.address,
        a.platform,
        a.now,
      );
      this.run(
        `INSERT INTO devices
         (address, device_id, registration_id, identity_key, device_key, created_at)
         VALUES (?, 1, ?, ?, ?, ?)`,
        a.address,
        a.registrationId,
        Buffer.from(a.identityKey),
        Buffer.from(a.deviceKey),
        a.now,
      );
      return true;
    });
  }

  upsertPartnerDevice(d: DeviceRecord, platform: string, now: number): void {
    this.tx(() => {
      const known = this.getDevice(d.address, d.deviceId);
      if (known && !Buffer.from(known.identityKey).equals(Buffer.from(d.identityKey))) {
        const where = 'WHERE address = ? AND device_id = ?';
        this.run(`DELETE FROM signed_prekeys ${where}`, d.address, d.deviceId);
        this.run(`DELETE FROM one_time_prekeys ${where}`, d.address, d.deviceId);
        // Kyber prekeys signed by the replaced identity key would fail every claimer's check.
        this.run(`DELETE FROM one_time_kyber_prekeys ${where}`, d.address, d.deviceId);
      }
      // A reinstalled device (a new identity key or registration id) has new sender keys, which
      // nobody holds yet; what others distributed to it goes by its registration id (GROUP-052).
      if (
        known &&
        (known.registrationId !== d.registrationId ||
          !Buffer.from(known.identityKey).equals(Buffer.from(d.identityKey)))
      )
        this.forgetSendingDevice(d.address, d.deviceId);
      this.run(
        `INSERT OR IGNORE INTO accounts (address, kind, platform, created_at)
         VALUES (?, 'partner', ?, ?)`,
        d.address,
        platform,
        now,
      );
      this.run(
        `INSERT INTO devices
         (address, device_id, registration_id, identity_key, device_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (address, device_id) DO UPDATE
         SET registration_id = excluded.registration_id, identity_key = excluded.identity_key,
             device_key = excluded.device_key`,
        d.address,
        d.deviceId,
        d.registrationId,
        Buffer.from(d.identityKey),
        Buffer.from(d.deviceKey),
        now,
      );
    });
  }

  getAccount(address: string): AccountRecord | undefined {
    return this.cached(`account ${address}`, () => {
      const r = this.get('SELECT * FROM accounts WHERE address = ?', address);
      return r && toAccount(r);
    });
  }

  listDevices(address: string): DeviceRecord[] {
    return this.cached(`devices ${address}`, () =>
      this.all('SELECT * FROM devices WHERE address = ? ORDER BY device_id', address).map(toDevice),
    );
  }

  getDevice(address: string, deviceId: number): DeviceRecord | undefined {
    const r = this.get(
      'SELECT * FROM devices WHERE address = ? AND device_id = ?',
      address,
      deviceId,
    );
    return r && toDevice(r);
  }

  addDevice(
    address: string,
    registrationId: number,
    deviceKey: Uint8Array,
    maxDevices: number,
    now: number,
  ): number | undefined {
    return this.tx(() => {
      const account = this.get(
        `SELECT 1 FROM accounts WHERE address = ? AND kind = 'local'`,
        address,
      );
      const devices = this.all(
        'SELECT device_id, identity_key FROM devices WHERE address = ? ORDER BY device_id',
        address,
      );
      const first = devices[0];
      if (!account || !first || devices.length >= maxDevices) return undefined;
      // AUTH-032: the lowest id in 1..127 that no current device holds (a removed device's id is
      // reused), none when all 127 are taken.
      const taken = new Set(devices.map((d) => d.device_id as number));
      let deviceId = 1;
      while (taken.has(deviceId)) deviceId += 1;
      if (deviceId > MAX_DEVICE_ID) return undefined;
      this.run(
        `INSERT INTO devices
         (address, device_id, registration_id, identity_key, device_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        address,
        deviceId,
        registrationId,
        first.identity_key,
        Buffer.from(deviceKey),
        now,
      );
      return deviceId;
    });
  }

  removeDevice(address: string, deviceId: number, now: number = Date.now()): boolean {
    return this.tx(() => {
      const where = 'WHERE address = ? AND device_id = ?';
      const removed = this.get(
        `DELETE FROM devices ${where} RETURNING device_key`,
        address,
        deviceId,
      );
      if (removed === undefined) return false;
      // AUTH-036: the key is revoked for good, so no later device of the account can carry it.
      this.run(
        `INSERT OR IGNORE INTO revoked_device_keys (address, device_key, device_id, revoked_at)
         VALUES (?, ?, ?, ?)`,
        address,
        removed.device_key,
        deviceId,
        now,
      );
      this.run(`DELETE FROM signed_prekeys ${where}`, address, deviceId);
      this.run(`DELETE FROM one_time_prekeys ${where}`, address, deviceId);
      this.run(`DELETE FROM one_time_kyber_prekeys ${where}`, address, deviceId);
      this.run('DELETE FROM deliveries WHERE recipient = ? AND device_id = ?', address, deviceId);
      // GROUP-052: a later device under this id holds no sender key, and has none of its own yet.
      this.run(
        'DELETE FROM group_distributions WHERE recipient = ? AND device_id = ?',
        address,
        deviceId,
      );
      this.forgetSendingDevice(address, deviceId);
      // Blocked senders' charges go with the device, as the deliveries above free the bound for
      // everyone else: a device that later gets the same id starts even for all (CONSENT-022).
      this.run(
        'DELETE FROM dropped_totals WHERE recipient = ? AND device_id = ?',
        address,
        deviceId,
      );
      return true;
    });
  }

  /** Forgets whom a device's sender keys reached, in every group of its account (GROUP-052). */
  private forgetSendingDevice(address: string, deviceId: number): void {
    this.run(
      `DELETE FROM group_distributions WHERE sender = ? AND sender_device = ?
         AND group_id IN (SELECT group_id FROM group_members WHERE address = ?)`,
      address,
      deviceId,
      address,
    );
  }

  deviceKeyUsed(address: string, deviceKey: Uint8Array): boolean {
    const key = Buffer.from(deviceKey);
    return (
      this.get(
        `SELECT 1 FROM devices WHERE address = ? AND (device_key = ? OR identity_key = ?)
         UNION ALL SELECT 1 FROM revoked_device_keys WHERE address = ? AND device_key = ?
         LIMIT 1`,
        address,
        key,
        key,
        address,
        key,
      ) !== undefined
    );
  }

  publishKeys(address: string, deviceId: number, keys: PublishedKeys): PreKeyCounts {
    return this.tx(() => {
      const putSigned = (kind: string, k: StoredSignedKey): void => {
        this.run(
          `INSERT OR REPLACE INTO signed_prekeys
           (address, device_id, kind, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)`,
          address,
          deviceId,
          kind,
          k.keyId,
          Buffer.from(k.publicKey),
          Buffer.from(k.signature),
        );
      };
      putSigned('signed', keys.signedPreKey);
      if (keys.lastResortKyberPreKey) putSigned(LAST_RESORT_KYBER, keys.lastResortKyberPreKey);
      const put = this.statement(
        `INSERT OR REPLACE INTO one_time_prekeys (address, device_id, key_id, public_key)
         VALUES (?, ?, ?, ?)`,
      );
      for (const k of keys.oneTimePreKeys)
        put.run(address, deviceId, k.keyId, Buffer.from(k.publicKey));
      const putKyber = this.statement(
        `INSERT OR REPLACE INTO one_time_kyber_prekeys
         (address, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)`,
      );
      for (const k of keys.oneTimeKyberPreKeys ?? [])
        putKyber.run(
          address,
          deviceId,
          k.keyId,
          Buffer.from(k.publicKey),
          Buffer.from(k.signature),
        );
      return this.countPreKeys(address, deviceId);
    });
  }

  countOneTimeKyberPreKeys(address: string, deviceId: number): number {
    return this.get(
      'SELECT count(*) AS n FROM one_time_kyber_prekeys WHERE address = ? AND device_id = ?',
      address,
      deviceId,
    )!.n as number;
  }

  countPreKeys(address: string, deviceId: number): PreKeyCounts {
    return {
      oneTime: this.countOneTimePreKeys(address, deviceId),
      oneTimeKyber: this.countOneTimeKyberPreKeys(address, deviceId),
    };
  }

  countOneTimePreKeys(address: string, deviceId: number): number {
    return this.get(
      'SELECT count(*) AS n FROM one_time_prekeys WHERE address = ? AND device_id = ?',
      address,
      deviceId,
    )!.n as number;
  }

  claimKeys(address: string, deviceIds: readonly number[] | undefined): ClaimedBundle[] {
    return this.tx(() => {
      const out: ClaimedBundle[] = [];
      for (const device of this.listDevices(address)) {
        if (deviceIds && !deviceIds.includes(device.deviceId)) continue;
        const key = (kind: string): Row | undefined =>
          this.get(
            'SELECT * FROM signed_prekeys WHERE address = ? AND device_id = ? AND kind = ?',
            address,
            device.deviceId,
            kind,
          );
        const signedPreKey = toSigned(key('signed'));
        const lastResort = toSigned(key(LAST_RESORT_KYBER));
        // A device without both keys cannot be sent a PQXDH session; it has not published (KEYS-011).
        if (!signedPreKey || !lastResort) continue;
        const otk = this.get(
          `SELECT key_id, public_key FROM one_time_prekeys WHERE address = ? AND device_id = ?
           ORDER BY key_id LIMIT 1`,
          address,
          device.deviceId,
        );
        if (otk)
          this.run(
            'DELETE FROM one_time_prekeys WHERE address = ? AND device_id = ? AND key_id = ?',
            address,
            device.deviceId,
            otk.key_id,
          );
        // One statement selects and deletes, so no other claim can be handed the same key (KEYS-029).
        const kyber = toSigned(
          this.get(
            `DELETE FROM one_time_kyber_prekeys
             WHERE address = ? AND device_id = ? AND key_id = (
               SELECT key_id FROM one_time_kyber_prekeys WHERE address = ? AND device_id = ?
               ORDER BY key_id LIMIT 1)
             RETURNING key_id, public_key, signature`,
            address,
            device.deviceId,
            address,
            device.deviceId,
          ),
        );
        out.push({
          device,
          signedPreKey,
          oneTimePreKey: otk
            ? { keyId: otk.key_id as number, publicKey: bytes(otk.public_key) }
            : null,
          kyberPreKey: kyber ?? lastResort, // KEYS-028, KEYS-030
          kyberLastResort: kyber === null,
          remaining: this.countPreKeys(address, device.deviceId),
        });
      }
      return out;
    });
  }
}
