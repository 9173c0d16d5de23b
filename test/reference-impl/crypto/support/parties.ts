// Test parties that speak the Signal Protocol through Parley's core or through libsignal-client
// 0.72.1 (AGPL devDependency, used only here and in bench/), so one scenario runs across both.
import * as Signal from '@signalapp/libsignal-client';
import {
  decrypt,
  encrypt,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  processPreKeyBundle,
  type CiphertextMessage,
  type PreKeyBundle,
  type ProtocolAddress,
} from '../../../../reference-impl/crypto/index.ts';

/** One device in a conversation, whichever implementation drives it. */
export interface Party {
  readonly kind: 'parley' | 'libsignal';
  readonly address: ProtocolAddress;
  readonly identityKey: Uint8Array;
  /** A fresh bundle (with a one-time prekey unless `withOneTimePreKey` is false). */
  bundle(withOneTimePreKey?: boolean): Promise<PreKeyBundle>;
  startSession(peer: ProtocolAddress, bundle: PreKeyBundle): Promise<void>;
  encrypt(peer: ProtocolAddress, plaintext: Uint8Array): Promise<CiphertextMessage>;
  decrypt(peer: ProtocolAddress, message: CiphertextMessage): Promise<Uint8Array>;
}

let nextKeyId = 1;

export class ParleyParty implements Party {
  readonly kind = 'parley';
  readonly identity = IdentityKeyPair.generate();
  readonly store = new InMemoryProtocolStore(this.identity, generateRegistrationId());
  constructor(readonly address: ProtocolAddress) {}

  get identityKey(): Uint8Array {
    return this.identity.publicKey;
  }

  async bundle(withOneTimePreKey = true): Promise<PreKeyBundle> {
    const signed = generateSignedPreKey(this.identity, nextKeyId++);
    await this.store.saveSignedPreKey(signed.keyId, signed);
    const bundle: PreKeyBundle = {
      registrationId: await this.store.getLocalRegistrationId(),
      deviceId: this.address.deviceId,
      identityKey: this.identity.publicKey,
      signedPreKeyId: signed.keyId,
      signedPreKey: signed.keyPair.publicKey,
      signedPreKeySignature: signed.signature,
    };
    if (!withOneTimePreKey) return bundle;
    const [preKey] = generatePreKeys(nextKeyId++, 1);
    await this.store.savePreKey(preKey!.keyId, preKey!);
    return { ...bundle, preKeyId: preKey!.keyId, preKey: preKey!.keyPair.publicKey };
  }

  startSession(peer: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    return processPreKeyBundle(bundle, peer, this.store);
  }

  encrypt(peer: ProtocolAddress, plaintext: Uint8Array): Promise<CiphertextMessage> {
    return encrypt(plaintext, peer, this.store);
  }

  decrypt(peer: ProtocolAddress, message: CiphertextMessage): Promise<Uint8Array> {
    return decrypt(message, peer, this.store);
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
    return known !== undefined && known.compare(identityKey) !== 0
      ? Signal.IdentityChange.ReplacedExisting
      : Signal.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(
    name: Signal.ProtocolAddress,
    identityKey: Signal.PublicKey,
  ): Promise<boolean> {
    const known = this.known.get(key(name));
    return known === undefined || known.compare(identityKey) === 0;
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
  async saveKyberPreKey(): Promise<void> {
    throw new Error('X3DH only: no Kyber prekeys');
  }
  async getKyberPreKey(): Promise<Signal.KyberPreKeyRecord> {
    throw new Error('X3DH only: no Kyber prekeys');
  }
  async markKyberPreKeyUsed(): Promise<void> {
    throw new Error('X3DH only: no Kyber prekeys');
  }
}

export const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

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

  async bundle(withOneTimePreKey = true): Promise<PreKeyBundle> {
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

  async startSession(peer: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    const signalBundle = Signal.PreKeyBundle.new(
      bundle.registrationId,
      bundle.deviceId,
      bundle.preKeyId ?? null,
      bundle.preKey === undefined ? null : Signal.PublicKey.deserialize(toBuffer(bundle.preKey)),
      bundle.signedPreKeyId,
      Signal.PublicKey.deserialize(toBuffer(bundle.signedPreKey)),
      toBuffer(bundle.signedPreKeySignature),
      Signal.PublicKey.deserialize(toBuffer(bundle.identityKey)),
    );
    await Signal.processPreKeyBundle(
      signalBundle,
      this.signalAddress(peer),
      this.sessions,
      this.identities,
    );
  }

  async encrypt(peer: ProtocolAddress, plaintext: Uint8Array): Promise<CiphertextMessage> {
    const message = await Signal.signalEncrypt(
      toBuffer(plaintext),
      this.signalAddress(peer),
      this.sessions,
      this.identities,
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
            this.sessions,
            this.identities,
            this.preKeys,
            this.signedPreKeys,
            this.kyberPreKeys,
          )
        : await Signal.signalDecrypt(
            Signal.SignalMessage.deserialize(body),
            address,
            this.sessions,
            this.identities,
          );
    return new Uint8Array(plaintext);
  }
}

export function makeParty(kind: 'parley' | 'libsignal', name: string, deviceId = 1): Party {
  const address = { name, deviceId };
  return kind === 'parley' ? new ParleyParty(address) : new LibsignalParty(address);
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const untext = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
