/**
 * The SQL helpers and row conversions shared by the SQLite store's layers (spec/messages.md
 * DELIV-008: every write runs in an IMMEDIATE transaction of a WAL database with synchronous FULL).
 */
import type Database from 'better-sqlite3';
import type { InteropSettings } from '../../../schemas/frames/consent.ts';
import type {
  AccountRecord,
  AttachmentSlot,
  ContactRecord,
  DeviceRecord,
  StoredSignedKey,
} from '../types.ts';

export type Row = Record<string, unknown>;

export function bytes(value: unknown): Uint8Array {
  return new Uint8Array(value as Buffer);
}

export function toAccount(r: Row): AccountRecord {
  return {
    address: r.address as string,
    kind: r.kind as AccountRecord['kind'],
    platform: r.platform as string,
    interop: {
      enabled: r.interop_enabled === 1,
      platforms: JSON.parse(r.interop_platforms as string) as InteropSettings['platforms'],
      inbox: r.interop_inbox as InteropSettings['inbox'],
    },
    createdAt: r.created_at as number,
  };
}

export function toDevice(r: Row): DeviceRecord {
  return {
    address: r.address as string,
    deviceId: r.device_id as number,
    registrationId: r.registration_id as number,
    identityKey: bytes(r.identity_key),
  };
}

export function toSigned(r: Row | undefined): StoredSignedKey | null {
  if (!r) return null;
  return {
    keyId: r.key_id as number,
    publicKey: bytes(r.public_key),
    signature: bytes(r.signature),
  };
}

export function toContact(r: Row): ContactRecord {
  return {
    recipient: r.recipient as string,
    sender: r.sender as string,
    platform: r.platform as string,
    state: r.state as ContactRecord['state'],
    firstSeen: r.first_seen as number,
  };
}

export function toSlot(r: Row): AttachmentSlot {
  return {
    blobId: r.blob_id as string,
    owner: r.owner as string,
    kind: r.kind as string,
    size: r.size as number,
    digest: r.digest as string,
    uploadToken: r.upload_token as string,
    capability: r.capability as string,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
  };
}

/** Whether settings let a platform's messages through (spec/consent.md CONSENT-005). */
export function allowed(settings: InteropSettings, platform: string): boolean {
  return (
    settings.enabled && (settings.platforms === 'all' || settings.platforms.includes(platform))
  );
}

/** The database handle and the statement helpers every layer uses. */
export class SqlBase {
  constructor(readonly db: Database.Database) {}

  close(): void {
    if (this.db.open) this.db.close();
  }

  protected get(sql: string, ...args: unknown[]): Row | undefined {
    return this.db.prepare(sql).get(...args) as Row | undefined;
  }

  protected all(sql: string, ...args: unknown[]): Row[] {
    return this.db.prepare(sql).all(...args) as Row[];
  }

  protected run(sql: string, ...args: unknown[]): number {
    return this.db.prepare(sql).run(...args).changes;
  }

  protected tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
