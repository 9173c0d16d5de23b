// Test parties that speak the Signal Protocol through Parley's core or through libsignal-client
// 0.103.0 (AGPL devDependency, used only here and in bench/), so one scenario runs across both.
// Names are ACI service ids (UUIDs) by default, so prekey messages carry field 6 both ways.
import { randomUUID } from 'node:crypto';
import * as Signal from '@signalapp/libsignal-client';
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  processPreKeyBundle,
  serializeSessionRecord,
  type CiphertextMessage,
  type KyberPreKeyRecord,
  type PreKeyBundle,
  type ProtocolAddress,
} from '../../../../reference-impl/crypto/index.ts';

/** One device in a conversation, whichever implementation drives it. */
export interface Party {
  readonly kind: 'parley' | 'libsignal';
  readonly address: ProtocolAddress;
  readonly identityKey: Uint8Array;
  /**
   * A fresh bundle: a one-time EC prekey unless `withOneTimePreKey` is false, and a one-time Kyber
   * prekey, or this party's last-resort one when `lastResortKyber` is true.
   */
  bundle(withOneTimePreKey?: boolean, lastResortKyber?: boolean): Promise<PreKeyBundle>;
  /** `now` (ms since the epoch) stands in for the clock, for the 30-day unanswered-session rule. */
  startSession(peer: ProtocolAddress, bundle: PreKeyBundle, now?: number): Promise<void>;
  encrypt(peer: ProtocolAddress, plaintext: Uint8Array, now?: number): Promise<CiphertextMessage>;
  decrypt(peer: ProtocolAddress, message: CiphertextMessage): Promise<Uint8Array>;
  /** Everything a decryption could change for `peer` (session record, identity, prekeys), as text. */
  stateOf(peer: ProtocolAddress): Promise<string>;
}

let nextKeyId = 1;

export class ParleyParty implements Party {
  readonly kind = 'parley';
  readonly store: InMemoryProtocolStore;
  /** `identity` is shared by the devices of one account (a session with oneself). */
  constructor(
    readonly address: ProtocolAddress,
    readonly identity: IdentityKeyPair = IdentityKeyPair.generate(),
  ) {
    this.store = new InMemoryProtocolStore(identity, generateRegistrationId());
  }

  get identityKey(): Uint8Array {
    return this.identity.publicKey;
  }

  private lastResort: KyberPreKeyRecord | undefined;

  async bundle(withOneTimePreKey = true, lastResortKyber = false): Promise<PreKeyBundle> {
    const signed = generateSignedPreKey(this.identity, nextKeyId++);
    await this.store.saveSignedPreKey(signed.keyId, signed);
    let kyber: KyberPreKeyRecord;
    if (lastResortKyber) {
      if (this.lastResort === undefined) {
        this.lastResort = generateKyberPreKey(this.identity, nextKeyId++);
        await this.store.saveKyberPreKey(this.lastResort.keyId, this.lastResort, {
          lastResort: true,
        });
      }
      kyber = this.lastResort;
    } else {
      kyber = generateKyberPreKey(this.identity, nextKeyId++);
      await this.store.saveKyberPreKey(kyber.keyId, kyber);
    }
    const bundle: PreKeyBundle = {
      registrationId: await this.store.getLocalRegistrationId(),
      deviceId: this.address.deviceId,
      identityKey: this.identity.publicKey,
      signedPreKeyId: signed.keyId,
      signedPreKey: signed.keyPair.publicKey,
      signedPreKeySignature: signed.signature,
      kyberPreKeyId: kyber.keyId,
      kyberPreKey: kyber.keyPair.publicKey,
      kyberPreKeySignature: kyber.signature,
    };
    if (!withOneTimePreKey) return bundle;
    const [preKey] = generatePreKeys(nextKeyId++, 1);
    await this.store.savePreKey(preKey!.keyId, preKey!);
    return { ...bundle, preKeyId: preKey!.keyId, preKey: preKey!.keyPair.publicKey };
  }

  startSession(peer: ProtocolAddress, bundle: PreKeyBundle, now?: number): Promise<void> {
    return processPreKeyBundle(bundle, peer, this.store, { localAddress: this.address, now });
  }

  encrypt(peer: ProtocolAddress, plaintext: Uint8Array, now?: number): Promise<CiphertextMessage> {
    return encrypt(plaintext, peer, this.store, { localAddress: this.address, now });
  }

  decrypt(peer: ProtocolAddress, message: CiphertextMessage): Promise<Uint8Array> {
    return decrypt(message, peer, this.store, { localAddress: this.address });
  }

  async stateOf(peer: ProtocolAddress): Promise<string> {
    const record = await this.store.loadSession(peer);
    const identity = await this.store.getIdentity(peer);
    return JSON.stringify({
      record: record === undefined ? null : Buffer.from(serializeSessionRecord(record)).toString(),
      identity: identity === undefined ? null : Buffer.from(identity).toString('hex'),
    });
  }
}

const key = (address: Signal.ProtocolAddress): string => address.toString();

class LibsignalSessions extends Signal.SessionStore {
  readonly sessions = new Map<string, Signal.SessionRecord>();
  async saveSession(name: Signal.ProtocolAddress, record: Signal.SessionRecord): Promise<void> {
    this.sessions.set(key(name), record);
  }
  async getSession(name: Signal.ProtocolAddress): Promise<Signal.SessionRecord | null> {
    return this.sessions.get(key(name)) ?? null;
  }
  async getExistingSessions(addresses: Signal.ProtocolAddress[]): Promise<Signal.SessionRecord[]> {
    return addresses.map((address) => this.sessions.get(key(address))!);
  }
}

class LibsignalIdentities extends Signal.IdentityKeyStore {
  readonly known = new Map<string, Signal.PublicKey>();
  constructor(
    readonly identity: Signal.IdentityKeyPair,
    readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey(): Promise<Signal.PrivateKey> {
    return this.identity.privateKey;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async saveIdentity(
    name: Signal.ProtocolAddress,
    identityKey: Signal.PublicKey,
  ): Promise<Signal.IdentityChange> {
    const known = this.known.get(key(name));
    this.known.set(key(name), identityKey);
    return known !== undefined && !known.equals(identityKey)
      ? Signal.IdentityChange.ReplacedExisting
      : Signal.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(
    name: Signal.ProtocolAddress,
    identityKey: Signal.PublicKey,
  ): Promise<boolean> {
    const known = this.known.get(key(name));
    return known === undefined || known.equals(identityKey);
  }
  async getIdentity(name: Signal.ProtocolAddress): Promise<Signal.PublicKey | null> {
    return this.known.get(key(name)) ?? null;
  }
}

class LibsignalPreKeys extends Signal.PreKeyStore {
  readonly keys = new Map<number, Signal.PreKeyRecord>();
  async savePreKey(id: number, record: Signal.PreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getPreKey(id: number): Promise<Signal.PreKeyRecord> {
    const record = this.keys.get(id);
    if (record === undefined) throw new Error(`no prekey ${id}`);
    return record;
  }
  async removePreKey(id: number): Promise<void> {
    this.keys.delete(id);
  }
}

class LibsignalSignedPreKeys extends Signal.SignedPreKeyStore {
  readonly keys = new Map<number, Signal.SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: Signal.SignedPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getSignedPreKey(id: number): Promise<Signal.SignedPreKeyRecord> {
    const record = this.keys.get(id);
    if (record === undefined) throw new Error(`no signed prekey ${id}`);
    return record;
  }
}

class LibsignalKyberPreKeys extends Signal.KyberPreKeyStore {
  readonly keys = new Map<number, Signal.KyberPreKeyRecord>();
  readonly lastResort = new Set<number>();
  readonly seen = new Set<string>();
  async saveKyberPreKey(id: number, record: Signal.KyberPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getKyberPreKey(id: number): Promise<Signal.KyberPreKeyRecord> {
    const record = this.keys.get(id);
    if (record === undefined) throw new Error(`no Kyber prekey ${id}`);
    return record;
  }
  async markKyberPreKeyUsed(
    id: number,
    signedPreKeyId: number,
    baseKey: Signal.PublicKey,
  ): Promise<void> {
    if (!this.lastResort.has(id)) {
      this.keys.delete(id);
      return;
    }
    const seen = `${id}/${signedPreKeyId}/${Buffer.from(baseKey.serialize()).toString('hex')}`;
    if (this.seen.has(seen)) throw new Error('reused base key');
    this.seen.add(seen);
  }
}

/** A copy on its own ArrayBuffer, the form libsignal-client 0.103.0's typings ask for. */
export const toBuffer = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(bytes);

export class LibsignalParty implements Party {
  readonly kind = 'libsignal';
  readonly identity = Signal.IdentityKeyPair.generate();
  readonly identities = new LibsignalIdentities(this.identity, generateRegistrationId());
  readonly sessions = new LibsignalSessions();
  readonly preKeys = new LibsignalPreKeys();
  readonly signedPreKeys = new LibsignalSignedPreKeys();
  readonly kyberPreKeys = new LibsignalKyberPreKeys();
  private readonly addresses = new Map<string, Signal.ProtocolAddress>();
  constructor(readonly address: ProtocolAddress) {}

  get identityKey(): Uint8Array {
    return new Uint8Array(this.identity.publicKey.serialize());
  }

  private signalAddress(address: ProtocolAddress): Signal.ProtocolAddress {
    const id = `${address.name}.${address.deviceId}`;
    let found = this.addresses.get(id);
    if (found === undefined) {
      found = Signal.ProtocolAddress.new(address.name, address.deviceId);
      this.addresses.set(id, found);
    }
    return found;
  }

  private lastResortKyberId: number | undefined;

  private async kyberPreKey(lastResort: boolean): Promise<Signal.KyberPreKeyRecord> {
    if (lastResort && this.lastResortKyberId !== undefined) {
      return this.kyberPreKeys.getKyberPreKey(this.lastResortKyberId);
    }
    const id = nextKeyId++;
    const keyPair = Signal.KEMKeyPair.generate();
    const signature = this.identity.privateKey.sign(keyPair.getPublicKey().serialize());
    const record = Signal.KyberPreKeyRecord.new(id, Date.now(), keyPair, signature);
    await this.kyberPreKeys.saveKyberPreKey(id, record);
    if (lastResort) {
      this.kyberPreKeys.lastResort.add(id);
      this.lastResortKyberId = id;
    }
    return record;
  }

  async bundle(withOneTimePreKey = true, lastResortKyber = false): Promise<PreKeyBundle> {
    const kyber = await this.kyberPreKey(lastResortKyber);
    const signedId = nextKeyId++;
    const signedPrivate = Signal.PrivateKey.generate();
    const signedPublic = signedPrivate.getPublicKey();
    const signature = this.identity.privateKey.sign(signedPublic.serialize());
    await this.signedPreKeys.saveSignedPreKey(
      signedId,
      Signal.SignedPreKeyRecord.new(signedId, Date.now(), signedPublic, signedPrivate, signature),
    );
    const bundle: PreKeyBundle = {
      registrationId: this.identities.registrationId,
      deviceId: this.address.deviceId,
      identityKey: this.identityKey,
      signedPreKeyId: signedId,
      signedPreKey: new Uint8Array(signedPublic.serialize()),
      signedPreKeySignature: new Uint8Array(signature),
      kyberPreKeyId: kyber.id(),
      kyberPreKey: new Uint8Array(kyber.publicKey().serialize()),
      kyberPreKeySignature: new Uint8Array(kyber.signature()),
    };
    if (!withOneTimePreKey) return bundle;
    const preKeyId = nextKeyId++;
    const preKeyPrivate = Signal.PrivateKey.generate();
    const preKeyPublic = preKeyPrivate.getPublicKey();
    await this.preKeys.savePreKey(
      preKeyId,
      Signal.PreKeyRecord.new(preKeyId, preKeyPublic, preKeyPrivate),
    );
    return { ...bundle, preKeyId, preKey: new Uint8Array(preKeyPublic.serialize()) };
  }

  async startSession(peer: ProtocolAddress, bundle: PreKeyBundle, now?: number): Promise<void> {
    const signalBundle = Signal.PreKeyBundle.new(
      bundle.registrationId,
      bundle.deviceId,
      bundle.preKeyId ?? null,
      bundle.preKey === undefined ? null : Signal.PublicKey.deserialize(toBuffer(bundle.preKey)),
      bundle.signedPreKeyId,
      Signal.PublicKey.deserialize(toBuffer(bundle.signedPreKey)),
      toBuffer(bundle.signedPreKeySignature),
      Signal.PublicKey.deserialize(toBuffer(bundle.identityKey)),
      bundle.kyberPreKeyId,
      Signal.KEMPublicKey.deserialize(toBuffer(bundle.kyberPreKey)),
      toBuffer(bundle.kyberPreKeySignature),
    );
    await Signal.processPreKeyBundle(
      signalBundle,
      this.signalAddress(peer),
      this.signalAddress(this.address),
      this.sessions,
      this.identities,
      now === undefined ? undefined : new Date(now),
    );
  }

  async encrypt(
    peer: ProtocolAddress,
    plaintext: Uint8Array,
    now?: number,
  ): Promise<CiphertextMessage> {
    const message = await Signal.signalEncrypt(
      toBuffer(plaintext),
      this.signalAddress(peer),
      this.signalAddress(this.address),
      this.sessions,
      this.identities,
      now === undefined ? undefined : new Date(now),
    );
    const type = message.type() === Signal.CiphertextMessageType.PreKey ? 'prekey' : 'whisper';
    return { type, body: new Uint8Array(message.serialize()) };
  }

  async decrypt(peer: ProtocolAddress, message: CiphertextMessage): Promise<Uint8Array> {
    const address = this.signalAddress(peer);
    const body = toBuffer(message.body);
    const plaintext =
      message.type === 'prekey'
        ? await Signal.signalDecryptPreKey(
            Signal.PreKeySignalMessage.deserialize(body),
            address,
            this.signalAddress(this.address),
            this.sessions,
            this.identities,
            this.preKeys,
            this.signedPreKeys,
            this.kyberPreKeys,
          )
        : await Signal.signalDecrypt(
            Signal.SignalMessage.deserialize(body),
            address,
            this.signalAddress(this.address),
            this.sessions,
            this.identities,
          );
    return new Uint8Array(plaintext);
  }

  async stateOf(peer: ProtocolAddress): Promise<string> {
    const address = this.signalAddress(peer);
    const record = this.sessions.sessions.get(key(address));
    const identity = this.identities.known.get(key(address));
    return JSON.stringify({
      record: record === undefined ? null : Buffer.from(record.serialize()).toString('hex'),
      identity: identity === undefined ? null : Buffer.from(identity.serialize()).toString('hex'),
      preKeys: [...this.preKeys.keys.keys()],
      kyberPreKeys: [...this.kyberPreKeys.keys.keys()],
    });
  }
}

/** A party; `name` defaults to a fresh ACI (a UUID), so that field 6 is produced and checked. */
export function makeParty(
  kind: 'parley' | 'libsignal',
  name: string = randomUUID(),
  deviceId = 1,
): Party {
  const address = { name, deviceId };
  return kind === 'parley' ? new ParleyParty(address) : new LibsignalParty(address);
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const untext = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
