// Storage behind one documented interface per concern, plus the in-memory implementation the tests
// use (spec: Cryptography — sessions; libsignal storage/traits.rs and storage/inmem.rs).
import { bytesEqual } from './curve.ts';
import { ReusedBaseKeyError } from './errors.ts';
import type {
  IdentityKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  SignedPreKeyRecord,
} from './keys.ts';
import type { SenderKeyRecord } from './group/state.ts';
import type { SessionRecord } from './state.ts';

/** A peer device: one session exists per (name, deviceId). */
export interface ProtocolAddress {
  readonly name: string;
  readonly deviceId: number;
}

/** The map key of an address: "name.deviceId", as libsignal prints a ProtocolAddress. */
export function addressKey(address: ProtocolAddress): string {
  return `${address.name}.${address.deviceId}`;
}

/** Whether an identity key is being checked for sending to, or receiving from, the peer. */
export type Direction = 'sending' | 'receiving';

/** Our identity and the identities we have seen (libsignal IdentityKeyStore). */
export interface IdentityKeyStore {
  /** Our own long-term identity key pair. */
  getIdentityKeyPair(): Promise<IdentityKeyPair>;
  /** Our registration id (1..16380). */
  getLocalRegistrationId(): Promise<number>;
  /** Records `identityKey` for `address`; resolves true when it replaced a different key. */
  saveIdentity(address: ProtocolAddress, identityKey: Uint8Array): Promise<boolean>;
  /**
   * Whether `identityKey` may be used with `address`. Trust-on-first-use: an unknown address is
   * trusted; a known one only with the same key. Applications may add their own policy.
   */
  isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: Uint8Array,
    direction: Direction,
  ): Promise<boolean>;
  /** The identity key on record for `address`, if any. */
  getIdentity(address: ProtocolAddress): Promise<Uint8Array | undefined>;
}

/** One-time prekeys (libsignal PreKeyStore). A used prekey is removed after the first decryption. */
export interface PreKeyStore {
  getPreKey(keyId: number): Promise<PreKeyRecord | undefined>;
  savePreKey(keyId: number, record: PreKeyRecord): Promise<void>;
  removePreKey(keyId: number): Promise<void>;
}

/** Signed prekeys (libsignal SignedPreKeyStore). */
export interface SignedPreKeyStore {
  getSignedPreKey(keyId: number): Promise<SignedPreKeyRecord | undefined>;
  saveSignedPreKey(keyId: number, record: SignedPreKeyRecord): Promise<void>;
}

/**
 * Signed Kyber prekeys (libsignal KyberPreKeyStore): one-time ones and a last-resort one, which the
 * bundle hands out when the one-time ones have run out.
 */
export interface KyberPreKeyStore {
  getKyberPreKey(keyId: number): Promise<KyberPreKeyRecord | undefined>;
  /** Stores a Kyber prekey; `lastResort` keeps it after use (default: one-time). */
  saveKyberPreKey(
    keyId: number,
    record: KyberPreKeyRecord,
    options?: { readonly lastResort?: boolean },
  ): Promise<void>;
  /**
   * Called once a prekey message built on Kyber prekey `keyId` has decrypted, before its session is
   * stored. A one-time Kyber prekey is removed. A last-resort one stays, but the store remembers
   * the base key with (keyId, signedPreKeyId) and throws ReusedBaseKeyError when the same
   * combination comes again: a replayed first message must not build a second session from a
   * prekey that is never consumed (libsignal's mark_kyber_pre_key_used contract).
   */
  markKyberPreKeyUsed(keyId: number, signedPreKeyId: number, baseKey: Uint8Array): Promise<void>;
}

/**
 * Session records, one per address (libsignal SessionStore). The cipher hands a record to
 * storeSession only after a fully successful operation; a failed one never calls it.
 */
export interface SessionStore {
  loadSession(address: ProtocolAddress): Promise<SessionRecord | undefined>;
  storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void>;
}

/** Everything encrypt/decrypt need. */
export interface ProtocolStores
  extends IdentityKeyStore, PreKeyStore, SignedPreKeyStore, KyberPreKeyStore, SessionStore {}

/**
 * Kyber prekeys held in memory, with the base keys seen per last-resort (Kyber id, signed prekey id)
 * combination: the part of a KyberPreKeyStore that every in-memory store shares.
 */
export class MemoryKyberPreKeys {
  private readonly entries = new Map<number, { record: KyberPreKeyRecord; lastResort: boolean }>();
  /** Base keys seen per "kyberKeyId/signedPreKeyId" of a last-resort Kyber prekey, as hex. */
  private readonly baseKeysSeen = new Map<string, Set<string>>();

  get(keyId: number): KyberPreKeyRecord | undefined {
    return this.entries.get(keyId)?.record;
  }

  save(keyId: number, record: KyberPreKeyRecord, lastResort: boolean): void {
    this.entries.set(keyId, { record, lastResort });
  }

  /** KyberPreKeyStore.markKyberPreKeyUsed: a one-time prekey goes (ENC-049), a last-resort one remembers the base key. */
  markUsed(keyId: number, signedPreKeyId: number, baseKey: Uint8Array): void {
    const entry = this.entries.get(keyId);
    if (entry !== undefined && !entry.lastResort) {
      this.entries.delete(keyId);
      return;
    }
    const combination = `${keyId}/${signedPreKeyId}`;
    const seen = this.baseKeysSeen.get(combination) ?? new Set<string>();
    const key = Buffer.from(baseKey).toString('hex');
    if (seen.has(key)) throw new ReusedBaseKeyError(keyId);
    seen.add(key);
    this.baseKeysSeen.set(combination, seen);
  }

  /** The last-resort prekeys, oldest first. */
  lastResort(): KyberPreKeyRecord[] {
    return [...this.entries.values()]
      .filter((e) => e.lastResort)
      .map((e) => e.record)
      .sort((a, b) => a.timestamp - b.timestamp);
  }

  remove(keyId: number): void {
    this.entries.delete(keyId);
    for (const combination of this.baseKeysSeen.keys())
      if (combination.startsWith(`${keyId}/`)) this.baseKeysSeen.delete(combination);
  }

  /** How many one-time prekeys are held. */
  countOneTime(): number {
    return [...this.entries.values()].filter((e) => !e.lastResort).length;
  }
}

/** All five stores in memory (libsignal InMemSignalProtocolStore). */
export class InMemoryProtocolStore implements ProtocolStores {
  private readonly identities = new Map<string, Uint8Array>();
  private readonly preKeys = new Map<number, PreKeyRecord>();
  private readonly signedPreKeys = new Map<number, SignedPreKeyRecord>();
  private readonly kyberPreKeys = new MemoryKyberPreKeys();
  private readonly sessions = new Map<string, SessionRecord>();

  constructor(
    private readonly identityKeyPair: IdentityKeyPair,
    private readonly registrationId: number,
  ) {}

  async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return this.identityKeyPair;
  }

  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }

  async saveIdentity(address: ProtocolAddress, identityKey: Uint8Array): Promise<boolean> {
    const key = addressKey(address);
    const known = this.identities.get(key);
    this.identities.set(key, identityKey);
    return known !== undefined && !bytesEqual(known, identityKey);
  }

  async isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: Uint8Array,
    _direction: Direction,
  ): Promise<boolean> {
    const known = this.identities.get(addressKey(address));
    return known === undefined || bytesEqual(known, identityKey);
  }

  async getIdentity(address: ProtocolAddress): Promise<Uint8Array | undefined> {
    return this.identities.get(addressKey(address));
  }

  async getPreKey(keyId: number): Promise<PreKeyRecord | undefined> {
    return this.preKeys.get(keyId);
  }

  async savePreKey(keyId: number, record: PreKeyRecord): Promise<void> {
    this.preKeys.set(keyId, record);
  }

  async removePreKey(keyId: number): Promise<void> {
    this.preKeys.delete(keyId);
  }

  async getSignedPreKey(keyId: number): Promise<SignedPreKeyRecord | undefined> {
    return this.signedPreKeys.get(keyId);
  }

  async saveSignedPreKey(keyId: number, record: SignedPreKeyRecord): Promise<void> {
    this.signedPreKeys.set(keyId, record);
  }

  async getKyberPreKey(keyId: number): Promise<KyberPreKeyRecord | undefined> {
    return this.kyberPreKeys.get(keyId);
  }

  async saveKyberPreKey(
    keyId: number,
    record: KyberPreKeyRecord,
    options: { readonly lastResort?: boolean } = {},
  ): Promise<void> {
    this.kyberPreKeys.save(keyId, record, options.lastResort === true);
  }

  async markKyberPreKeyUsed(
    keyId: number,
    signedPreKeyId: number,
    baseKey: Uint8Array,
  ): Promise<void> {
    this.kyberPreKeys.markUsed(keyId, signedPreKeyId, baseKey);
  }

  async loadSession(address: ProtocolAddress): Promise<SessionRecord | undefined> {
    return this.sessions.get(addressKey(address));
  }

  async storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.sessions.set(addressKey(address), record);
  }
}

/**
 * Sender-key records, one per (sender address, distribution id) (libsignal SenderKeyStore): our
 * own sender keys under our own address, and those other members distributed to us. Distribution
 * ids arrive in lowercase UUID form. The group cipher hands a record to storeSenderKey only after a
 * fully successful operation; a refused message never calls it.
 */
export interface SenderKeyStore {
  loadSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<SenderKeyRecord | undefined>;
  storeSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void>;
}

/** Sender-key records in memory (libsignal InMemSenderKeyStore). */
export class InMemorySenderKeyStore implements SenderKeyStore {
  private readonly records = new Map<string, SenderKeyRecord>();

  async loadSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<SenderKeyRecord | undefined> {
    return this.records.get(`${addressKey(sender)}/${distributionId}`);
  }

  async storeSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void> {
    this.records.set(`${addressKey(sender)}/${distributionId}`, record);
  }
}
