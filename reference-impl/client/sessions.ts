// Signal sessions with every device of a peer: built from bundles, fanned out, decrypted, under one
// lock so no two operations interleave on a record (spec/crypto.md "Sessions"; KEYS-016, ENC-040).
import {
  decrypt,
  encrypt,
  limits,
  parseCiphertext,
  processPreKeyBundle,
  ProtocolError,
  ProtocolErrorCode,
  type ProtocolAddress,
} from '../crypto/index.ts';
import type {
  DeviceBundle,
  DeviceCiphertext,
  KeysBundleFrame,
} from '../../schemas/frames/index.ts';
import { ParleyError } from './errors.ts';
import type { ClientStore } from './store.ts';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));
const b64 = (data: Uint8Array): string => Buffer.from(data).toString('base64url');

/** Called when a peer device's identity key changed; `trust` true means the SDK accepted it. */
export type IdentityChangeHandler = (address: ProtocolAddress) => void;

/** A mutex as a promise chain: `run` executes its tasks one at a time, in call order. */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Session operations over a ClientStore. */
export class Sessions {
  readonly lock = new Lock();

  constructor(
    private readonly store: ClientStore,
    /** Accept a peer's new identity key (and report it) instead of refusing it (ENC-033). */
    private readonly trustNewIdentities: boolean,
    private readonly onIdentityChange: IdentityChangeHandler,
    /** The client's clock (ENC-058: a session's first message unanswered for 30 days). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The devices of `deviceIds` whose session we started and whose first message has had no answer
   * for 30 days (ENC-058): the crypto core refuses to encrypt with them, so they need a fresh bundle.
   */
  async unanswered(name: string, deviceIds: readonly number[]): Promise<number[]> {
    const out: number[] = [];
    for (const deviceId of deviceIds) {
      const pending = (await this.store.loadSession({ name, deviceId }))?.current?.pendingPreKey;
      if (pending && pending.timestamp + limits.MAX_UNACKNOWLEDGED_SESSION_AGE_MS < this.now())
        out.push(deviceId);
    }
    return out;
  }

  /** Whether a session with the device exists. */
  async has(address: ProtocolAddress): Promise<boolean> {
    return (await this.store.loadSession(address))?.current != null;
  }

  /** The registration id the session with `address` holds for the peer. */
  async registrationIdOf(address: ProtocolAddress): Promise<number | undefined> {
    return (await this.store.loadSession(address))?.current?.remoteRegistrationId;
  }

  /**
   * Starts a PQXDH session from one bundle entry. Throws ParleyError BAD_SIGNATURE when the signed
   * prekey or the Kyber prekey signature does not verify (KEYS-016, ENC-050); an entry without a
   * one-time prekey starts without one (KEYS-020).
   */
  async build(name: string, entry: DeviceBundle): Promise<void> {
    const address = { name, deviceId: entry.deviceId };
    const bundle = {
      registrationId: entry.registrationId,
      deviceId: entry.deviceId,
      identityKey: bytes(entry.identityKey),
      signedPreKeyId: entry.signedPreKey.keyId,
      signedPreKey: bytes(entry.signedPreKey.publicKey),
      signedPreKeySignature: bytes(entry.signedPreKey.signature),
      kyberPreKeyId: entry.kyberPreKey.keyId,
      kyberPreKey: bytes(entry.kyberPreKey.publicKey),
      kyberPreKeySignature: bytes(entry.kyberPreKey.signature),
      ...(entry.oneTimePreKey === null
        ? {}
        : { preKeyId: entry.oneTimePreKey.keyId, preKey: bytes(entry.oneTimePreKey.publicKey) }),
    };
    await this.lock.run(async () => {
      try {
        await processPreKeyBundle(bundle, address, this.store, { now: this.now() });
      } catch (error) {
        if (this.isUntrusted(error) && this.trustNewIdentities) {
          await this.store.saveIdentity(address, bundle.identityKey);
          this.onIdentityChange(address);
          await processPreKeyBundle(bundle, address, this.store, { now: this.now() });
          return;
        }
        throw translate(error, `cannot start a session with ${name}.${entry.deviceId}`);
      }
    });
  }

  /** Builds a session with every device of a `keys.bundle`. */
  async buildAll(bundle: KeysBundleFrame): Promise<void> {
    for (const entry of bundle.devices) await this.build(bundle.address, entry);
  }

  /** Encrypts one padded plaintext for each listed device of `name` (ENC-040: the same Content). */
  async encryptFor(
    name: string,
    deviceIds: readonly number[],
    plaintext: Uint8Array,
  ): Promise<DeviceCiphertext[]> {
    return this.lock.run(async () => {
      const out: DeviceCiphertext[] = [];
      for (const deviceId of deviceIds) {
        const address = { name, deviceId };
        let message;
        try {
          message = await encrypt(plaintext, address, this.store, { now: this.now() });
        } catch (error) {
          throw translate(error, `cannot encrypt for ${name}.${deviceId}`);
        }
        const registrationId = await this.registrationIdOf(address);
        out.push({
          deviceId,
          registrationId: registrationId ?? 1,
          type: message.type,
          body: b64(message.body),
        });
      }
      return out;
    });
  }

  /**
   * Decrypts one delivered body. Throws the crypto core's ProtocolError for an undecryptable
   * message (DuplicatedMessage for a replay); an identity change of a prekey message is accepted
   * when `trustNewIdentities` is set.
   */
  async decrypt(
    address: ProtocolAddress,
    type: 'prekey' | 'whisper',
    body: string,
  ): Promise<Uint8Array> {
    const message = { type, body: bytes(body) };
    return this.lock.run(async () => {
      try {
        return await decrypt(message, address, this.store);
      } catch (error) {
        if (!(this.isUntrusted(error) && this.trustNewIdentities && type === 'prekey')) throw error;
        const parsed = parseCiphertext(type, message.body);
        if (parsed.type !== 'prekey') throw error;
        await this.store.saveIdentity(address, parsed.message.identityKey);
        this.onIdentityChange(address);
        return await decrypt(message, address, this.store);
      }
    });
  }

  /** Drops the session with a device. */
  async drop(address: ProtocolAddress): Promise<void> {
    await this.lock.run(() => this.store.deleteSession(address));
  }

  private isUntrusted(error: unknown): boolean {
    return error instanceof ProtocolError && error.code === ProtocolErrorCode.UntrustedIdentity;
  }
}

/** A crypto-core failure as a ParleyError (signature failures as BAD_SIGNATURE, others INTERNAL). */
export function translate(error: unknown, context: string): ParleyError {
  if (error instanceof ParleyError) return error;
  if (error instanceof ProtocolError) {
    const code =
      error.code === ProtocolErrorCode.SignatureValidationFailed ? 'BAD_SIGNATURE' : 'INTERNAL';
    return new ParleyError(code, `${context}: ${error.message}`, {
      details: { protocolError: error.code },
      cause: error,
    });
  }
  return new ParleyError('INTERNAL', `${context}: ${(error as Error).message}`, { cause: error });
}
