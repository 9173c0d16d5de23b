// The suite's peers in client cases: users of other platforms (or of the provider) with real Signal
// keys from the reference crypto core, so the suite can decrypt what the client under test sends
// and craft any ciphertext for it. The mock provider serves their bundles to the client.
import { createCipheriv } from 'node:crypto';
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  InMemorySenderKeyStore,
  processPreKeyBundle,
  type KyberPreKeyRecord,
  type PreKeyRecord,
  type SignedPreKeyRecord,
} from '../../reference-impl/crypto/index.ts';
import { messageKeys, nextChainKey } from '../../reference-impl/crypto/ratchet.ts';
import { spqrSend } from '../../reference-impl/crypto/spqr.ts';
import { encodeSignalMessage } from '../../reference-impl/crypto/wire.ts';
import type { SessionState } from '../../reference-impl/crypto/state.ts';
import type { Frame } from '../assert/match.ts';
import { HarnessError } from '../runner/signals.ts';
import { b64, unb64 } from '../transport/users.ts';

/** One-time prekeys each device holds for claims. */
export const PEER_ONE_TIME_PREKEYS = 10;

/** One-time Kyber prekeys each device holds for claims; its last-resort Kyber prekey serves after. */
export const PEER_ONE_TIME_KYBER_PREKEYS = 3;

/** The id of each peer device's last-resort Kyber prekey (one-time ones count up from 100 × device). */
export const PEER_LAST_RESORT_KYBER_ID = 1;

/** How the bundles a peer serves are spoiled (KEYS and ENC cases of clients). */
export interface BundleFaults {
  /** Flip a bit of the signed prekey signature. */
  badSignature?: boolean;
  /** Serve no one-time prekey (`oneTimePreKey: null`, `exhausted: true`). */
  noOneTimePreKey?: boolean;
  /** Flip a bit of the Kyber prekey signature. */
  badKyberSignature?: boolean;
}

/** One device of a suite peer. */
export class PeerDevice {
  readonly store: InMemoryProtocolStore;
  /** The device's sender keys: its own per group, and those the client distributed to it. */
  readonly senderKeys = new InMemorySenderKeyStore();
  readonly registrationId = generateRegistrationId();
  readonly signed: SignedPreKeyRecord;
  private readonly preKeys: PreKeyRecord[];
  readonly lastResortKyber: KyberPreKeyRecord;
  private readonly kyberPreKeys: KyberPreKeyRecord[];

  constructor(
    readonly deviceId: number,
    identity: IdentityKeyPair,
  ) {
    this.store = new InMemoryProtocolStore(identity, this.registrationId);
    this.signed = generateSignedPreKey(identity, 1);
    void this.store.saveSignedPreKey(this.signed.keyId, this.signed);
    this.preKeys = generatePreKeys(100 * deviceId, PEER_ONE_TIME_PREKEYS);
    for (const k of this.preKeys) void this.store.savePreKey(k.keyId, k);
    this.lastResortKyber = generateKyberPreKey(identity, PEER_LAST_RESORT_KYBER_ID);
    void this.store.saveKyberPreKey(this.lastResortKyber.keyId, this.lastResortKyber, {
      lastResort: true,
    });
    this.kyberPreKeys = Array.from({ length: PEER_ONE_TIME_KYBER_PREKEYS }, (_, i) =>
      generateKyberPreKey(identity, 100 * deviceId + i),
    );
    for (const k of this.kyberPreKeys) void this.store.saveKyberPreKey(k.keyId, k);
  }

  /**
   * This device's bundle entry, taking one one-time prekey unless `faults` say otherwise, and one
   * one-time Kyber prekey while there is one, else the last-resort one.
   */
  bundle(identityKey: string, faults: BundleFaults): Frame {
    const oneTime = faults.noOneTimePreKey ? undefined : this.preKeys.shift();
    const signature = Buffer.from(this.signed.signature);
    if (faults.badSignature) signature[0]! ^= 0x01;
    const kyber = this.kyberPreKeys.shift() ?? this.lastResortKyber;
    const kyberSignature = Buffer.from(kyber.signature);
    if (faults.badKyberSignature) kyberSignature[0]! ^= 0x01;
    return {
      deviceId: this.deviceId,
      registrationId: this.registrationId,
      identityKey,
      signedPreKey: {
        keyId: this.signed.keyId,
        publicKey: b64(this.signed.keyPair.publicKey),
        signature: b64(signature),
      },
      oneTimePreKey: oneTime
        ? { keyId: oneTime.keyId, publicKey: b64(oneTime.keyPair.publicKey) }
        : null,
      kyberPreKey: {
        keyId: kyber.keyId,
        publicKey: b64(kyber.keyPair.publicKey),
        signature: b64(kyberSignature),
      },
    };
  }
}

/** Where a peer comes from, as the mock provider stamps it on deliveries. */
export interface PeerOptions {
  /** Devices of the peer's account. Default 1. */
  devices?: number;
  /** The peer's platform; the mock provider's own domain makes a first-party peer. */
  platform: string;
  thirdParty: boolean;
  /** The inbox section deliveries are stamped with. Default `third-party` for third-party peers, else `inbox`. */
  folder?: 'inbox' | 'third-party' | 'requests';
}

/** A user the suite plays, with one or more devices sharing one identity key. */
export class SuitePeer {
  readonly identity = IdentityKeyPair.generate();
  readonly devices: PeerDevice[];
  readonly origin: { platform: string; thirdParty: boolean };
  folder: 'inbox' | 'third-party' | 'requests';
  /** Spoils the bundles served from now on. */
  bundleFaults: BundleFaults = {};
  /** Every bundle entry handed out, in order. */
  readonly claimed: Frame[] = [];

  constructor(
    readonly label: string,
    readonly address: string,
    options: PeerOptions,
  ) {
    this.devices = Array.from(
      { length: options.devices ?? 1 },
      (_, i) => new PeerDevice(i + 1, this.identity),
    );
    this.origin = { platform: options.platform, thirdParty: options.thirdParty };
    this.folder = options.folder ?? (options.thirdParty ? 'third-party' : 'inbox');
  }

  get identityKey(): string {
    return b64(this.identity.publicKey);
  }

  device(deviceId = 1): PeerDevice {
    const d = this.devices.find((x) => x.deviceId === deviceId);
    if (!d) throw new HarnessError(`${this.label} has no device ${deviceId}`);
    return d;
  }

  /** The `keys.bundle` body for a claim of `deviceIds` (all devices when absent). */
  claim(deviceIds?: readonly number[]): Frame {
    const chosen = this.devices.filter((d) => !deviceIds || deviceIds.includes(d.deviceId));
    const entries = chosen.map((d) => d.bundle(this.identityKey, this.bundleFaults));
    this.claimed.push(...entries);
    return {
      address: this.address,
      devices: entries,
      exhausted: entries.some((e) => e.oneTimePreKey === null),
    };
  }

  /** Whether `device` has a session with the client's device. */
  async hasSession(client: { address: string; deviceId: number }, device = 1): Promise<boolean> {
    const record = await this.device(device).store.loadSession({
      name: client.address,
      deviceId: client.deviceId,
    });
    return record?.current != null;
  }

  /** Starts a session of `device` with the client from a bundle entry of the client (PQXDH as initiator). */
  async startSession(
    client: { address: string; deviceId: number },
    entry: Frame,
    device = 1,
  ): Promise<void> {
    await processPreKeyBundle(
      {
        registrationId: entry.registrationId,
        deviceId: entry.deviceId,
        identityKey: unb64(entry.identityKey),
        signedPreKeyId: entry.signedPreKey.keyId,
        signedPreKey: unb64(entry.signedPreKey.publicKey),
        signedPreKeySignature: unb64(entry.signedPreKey.signature),
        kyberPreKeyId: entry.kyberPreKey.keyId,
        kyberPreKey: unb64(entry.kyberPreKey.publicKey),
        kyberPreKeySignature: unb64(entry.kyberPreKey.signature),
        ...(entry.oneTimePreKey
          ? { preKeyId: entry.oneTimePreKey.keyId, preKey: unb64(entry.oneTimePreKey.publicKey) }
          : {}),
      },
      { name: client.address, deviceId: client.deviceId },
      this.device(device).store,
    );
  }

  /** Encrypts `plaintext` from `device` for the client's device; base64url body. */
  async encrypt(
    client: { address: string; deviceId: number },
    plaintext: Uint8Array,
    device = 1,
  ): Promise<{ type: 'prekey' | 'whisper'; body: string }> {
    const c = await encrypt(
      plaintext,
      { name: client.address, deviceId: client.deviceId },
      this.device(device).store,
    );
    return { type: c.type, body: b64(c.body) };
  }

  /** Decrypts a ciphertext the client sent to `device`; throws the crypto core's ProtocolError. */
  async decrypt(
    client: { address: string; deviceId: number },
    ciphertext: { type: 'prekey' | 'whisper'; body: string },
    device = 1,
  ): Promise<Uint8Array> {
    return decrypt(
      { type: ciphertext.type, body: unb64(ciphertext.body) },
      { name: client.address, deviceId: client.deviceId },
      this.device(device).store,
    );
  }
}

/** Session surgery for crafted ciphertexts (counters far ahead, a false `previous_counter`). */
export async function adjustSession(
  peer: SuitePeer,
  client: { address: string; deviceId: number },
  change: (state: SessionState) => void,
  device = 1,
): Promise<void> {
  const store = peer.device(device).store;
  const address = { name: client.address, deviceId: client.deviceId };
  const record = await store.loadSession(address);
  if (!record?.current) throw new HarnessError(`${peer.label} has no session with the client`);
  change(record.current);
  await store.storeSession(address, record);
}

/** Moves the sending chain `steps` message keys ahead without sending (those counters are skipped). */
export function skipSendingKeys(state: SessionState, steps: number): void {
  let chainKey = state.senderChain.chainKey;
  for (let i = 0; i < steps; i++) chainKey = nextChainKey(chainKey);
  state.senderChain = { ...state.senderChain, chainKey };
}

/** What a crafted SignalMessage changes: SPQR field 5 (given the honest one) and field 6. */
export interface CraftedFields {
  pqRatchet?: (honest: Uint8Array) => Uint8Array;
  addresses?: Uint8Array;
}

/**
 * A SignalMessage from `device` to the client, encrypted and MACed like the reference core's
 * (spec/crypto.md: SPQR key as the salt of the message keys), but with field 5 and field 6 as
 * `fields` say: the suite's way to send SPQR chunks, malformed SPQR data or a foreign `addresses`
 * field that still passes the MAC. Needs a session the client has answered (no pending prekey).
 */
export async function encryptCrafted(
  peer: SuitePeer,
  client: { address: string; deviceId: number },
  plaintext: Uint8Array,
  fields: CraftedFields,
  device = 1,
): Promise<{ type: 'whisper'; body: string }> {
  const store = peer.device(device).store;
  const address = { name: client.address, deviceId: client.deviceId };
  const record = await store.loadSession(address);
  const state = record?.current;
  if (!state || state.pendingPreKey !== null)
    throw new HarnessError(`${peer.label} has no answered session with the client`);
  const chainKey = state.senderChain.chainKey;
  const spqr = spqrSend(state.spqr);
  const keys = messageKeys(chainKey, spqr.key);
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const body = encodeSignalMessage({
    macKey: keys.macKey,
    ratchetKey: state.senderChain.ratchetKeyPair.publicKey,
    counter: chainKey.index,
    previousCounter: state.previousCounter,
    ciphertext: Buffer.concat([cipher.update(plaintext), cipher.final()]),
    pqRatchet: fields.pqRatchet ? fields.pqRatchet(spqr.message) : spqr.message,
    addresses: fields.addresses ?? null,
    senderIdentity: state.localIdentityKey,
    receiverIdentity: state.remoteIdentityKey,
  });
  await adjustSession(
    peer,
    client,
    (s) => {
      s.senderChain = { ...s.senderChain, chainKey: nextChainKey(chainKey) };
      s.spqr = spqr.state;
    },
    device,
  );
  return { type: 'whisper', body: b64(body) };
}
