// Test users with real Signal keys from the crypto core (spec/auth.md, keys.md, crypto.md,
// content.md): first-party accounts registered with the registration token and device proof,
// partner users authenticated by EdDSA token + device proof, prekeys, sessions and real ciphertexts.
import { randomUUID } from 'node:crypto';
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  processPreKeyBundle,
  type KyberPreKeyRecord,
} from '../../reference-impl/crypto/index.ts';
import { SCHEMA_LIMITS } from '../../schemas/limits.ts';
import type { Frame } from '../assert/match.ts';
import { show } from '../assert/match.ts';
import { HarnessError, TargetFault } from '../runner/signals.ts';
import { mintToken, type PartnerKey, type TokenClaims } from './partner.ts';
import { Peer, type PeerEnv, type UpgradeOptions } from './peer.ts';

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const unb64 = (text: string): Buffer => Buffer.from(text, 'base64url');

/** A Kyber prekey as `keys.publish` carries it. */
export function kyberFrame(k: KyberPreKeyRecord): Frame {
  return { keyId: k.keyId, publicKey: b64(k.keyPair.publicKey), signature: b64(k.signature) };
}

const AUTH_LABEL = Buffer.from('PARLEY-AUTH-v1', 'ascii');

/** `"PARLEY-AUTH-v1" ‖ challenge ‖ address ‖ deviceId (u32 BE)`: what a device proof signs (AUTH-005). */
export function authInput(challenge: Uint8Array, address: string, deviceId: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(deviceId);
  return Buffer.concat([AUTH_LABEL, challenge, Buffer.from(address, 'utf8'), id]);
}

/** `UTF-8(JSON(Content)) ‖ 0x80 ‖ 0x00×k` to a multiple of 160 bytes (spec/content.md#plaintext). */
export function padContent(content: Frame): Buffer {
  const json = Buffer.from(JSON.stringify(content), 'utf8');
  const length = Math.ceil((json.length + 1) / 160) * 160;
  const out = Buffer.alloc(length);
  json.copy(out);
  out[json.length] = 0x80;
  return out;
}

/** The Content of a padded plaintext; throws when the padding is malformed (ENC-037). */
export function unpadContent(plain: Uint8Array): Frame {
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  if (end === 0 || plain[end - 1] !== 0x80) throw new Error('malformed padding');
  return JSON.parse(Buffer.from(plain.subarray(0, end - 1)).toString('utf8')) as Frame;
}

/** A text Content with a fresh id (ENC-039). */
export function textContent(body: string): Frame {
  return { v: 1, id: randomUUID(), sentAt: Date.now(), kind: 'text', body };
}

/** One device of a test user: keys, protocol store, and its connection. */
export class TestUser {
  readonly store: InMemoryProtocolStore;
  peer!: Peer;
  welcome!: Frame;
  authOk: Frame | undefined;
  readonly known = new Map<string, { deviceId: number; registrationId: number }[]>();
  private nextKeyId = 1;
  /** Per connection, the messageIds nextMessage took: a second push of one is a duplicate (DELIV-023). */
  private readonly seenOn = new WeakMap<Peer, Set<string>>();

  constructor(
    readonly label: string,
    readonly address: string,
    readonly deviceId: number,
    readonly registrationId: number,
    readonly env: PeerEnv,
    readonly identity: IdentityKeyPair = IdentityKeyPair.generate(),
    /**
     * The key `auth` is signed with: a first-party device's own device key (AUTH-033), fresh by
     * default; a partner device's identity key (AUTH-019).
     */
    readonly authKey: IdentityKeyPair = IdentityKeyPair.generate(),
  ) {
    this.store = new InMemoryProtocolStore(this.identity, registrationId);
  }

  get identityKey(): string {
    return b64(this.identity.publicKey);
  }

  /** The public device key that `account.register` or `device.add` registers (AUTH-033). */
  get deviceKey(): string {
    return b64(this.authKey.publicKey);
  }

  /** Opens a new connection and says hello (PROTO-018). */
  async connect(upgrade?: UpgradeOptions): Promise<Frame> {
    this.peer = await Peer.open(this.label, this.env, upgrade);
    this.welcome = await this.peer.request('hello', { versions: [1] });
    if (this.welcome.type !== 'welcome')
      throw new TargetFault(undefined, 'hello answered with welcome', show(this.welcome));
    return this.welcome;
  }

  /** The device proof for this connection's challenge (AUTH-005), by `authKey`. */
  proof(address = this.address, deviceId = this.deviceId, challenge?: string): string {
    const c = unb64(challenge ?? (this.welcome.challenge as string));
    return b64(this.authKey.sign(authInput(c, address, deviceId)));
  }

  authDevice(overrides: Frame = {}): Promise<Frame> {
    return this.peer.request('auth', {
      method: 'device',
      address: this.address,
      deviceId: this.deviceId,
      signature: this.proof(),
      ...overrides,
    });
  }

  async partnerAuthFrame(
    partner: PartnerKey,
    aud: string,
    claims: Partial<TokenClaims> = {},
  ): Promise<Frame> {
    return {
      method: 'partner',
      token: await mintToken(
        partner,
        { sub: this.address, aud, identityKey: this.identity.publicKey, ...claims },
        randomUUID(),
      ),
      deviceId: this.deviceId,
      registrationId: this.registrationId,
      identityKey: this.identityKey,
      signature: this.proof(),
    };
  }

  /**
   * Publishes a fresh signed prekey, `count` one-time prekeys, a fresh last-resort Kyber prekey and
   * `kyberCount` one-time Kyber prekeys, keeping the private halves; `tamper` edits the frame.
   */
  async publish(
    count = 5,
    tamper?: (frame: Frame) => void,
    kyberCount = Math.min(count, SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish),
  ): Promise<Frame> {
    const signed = generateSignedPreKey(this.identity, this.nextKeyId++);
    await this.store.saveSignedPreKey(signed.keyId, signed);
    const preKeys = generatePreKeys(this.nextKeyId, count);
    this.nextKeyId += count;
    for (const k of preKeys) await this.store.savePreKey(k.keyId, k);
    const lastResort = generateKyberPreKey(this.identity, this.nextKeyId++);
    await this.store.saveKyberPreKey(lastResort.keyId, lastResort, { lastResort: true });
    const kyberKeys = Array.from({ length: kyberCount }, () =>
      generateKyberPreKey(this.identity, this.nextKeyId++),
    );
    for (const k of kyberKeys) await this.store.saveKyberPreKey(k.keyId, k);
    const frame: Frame = {
      identityKey: this.identityKey,
      signedPreKey: {
        keyId: signed.keyId,
        publicKey: b64(signed.keyPair.publicKey),
        signature: b64(signed.signature),
      },
      oneTimePreKeys: preKeys.map((k) => ({ keyId: k.keyId, publicKey: b64(k.keyPair.publicKey) })),
      lastResortKyberPreKey: kyberFrame(lastResort),
      oneTimeKyberPreKeys: kyberKeys.map(kyberFrame),
    };
    tamper?.(frame);
    return this.peer.request('keys.publish', frame);
  }

  /** Claims `to`'s keys and builds a session with every device (PQXDH, ENC-009); returns the reply. */
  async startSessions(to: string): Promise<Frame> {
    const bundle = await this.peer.request('keys.claim', { address: to });
    if (bundle.type === 'keys.bundle') await this.adoptBundle(to, bundle);
    return bundle;
  }

  /**
   * Learns `to`'s devices for a reply without claiming when a session exists already (the
   * responder of a PreKeySignalMessage has one); claims otherwise.
   */
  async startSessionsIfNone(to: string, devices = [1]): Promise<void> {
    if (this.known.has(to)) return;
    const known: { deviceId: number; registrationId: number }[] = [];
    for (const deviceId of devices) {
      const record = await this.store.loadSession({ name: to, deviceId });
      const remote = record?.current?.remoteRegistrationId;
      if (remote === undefined) {
        await this.startSessions(to);
        return;
      }
      known.push({ deviceId, registrationId: remote });
    }
    this.known.set(to, known);
  }

  /** Builds sessions from a `keys.bundle` (claimed by anyone) with every device it lists. */
  async adoptBundle(to: string, bundle: Frame): Promise<void> {
    for (const d of bundle.devices as Frame[]) {
      await processPreKeyBundle(
        {
          registrationId: d.registrationId,
          deviceId: d.deviceId,
          identityKey: unb64(d.identityKey),
          signedPreKeyId: d.signedPreKey.keyId,
          signedPreKey: unb64(d.signedPreKey.publicKey),
          signedPreKeySignature: unb64(d.signedPreKey.signature),
          kyberPreKeyId: d.kyberPreKey.keyId,
          kyberPreKey: unb64(d.kyberPreKey.publicKey),
          kyberPreKeySignature: unb64(d.kyberPreKey.signature),
          ...(d.oneTimePreKey
            ? { preKeyId: d.oneTimePreKey.keyId, preKey: unb64(d.oneTimePreKey.publicKey) }
            : {}),
        },
        { name: to, deviceId: d.deviceId as number },
        this.store,
      );
    }
    this.known.set(
      to,
      (bundle.devices as Frame[]).map((d) => ({
        deviceId: d.deviceId as number,
        registrationId: d.registrationId as number,
      })),
    );
  }

  /** Encrypts `content` for every known device of `to` into `message.send` entries. */
  async encryptFor(to: string, content: Frame | Uint8Array): Promise<Frame[]> {
    const devices = this.known.get(to);
    if (!devices) throw new HarnessError(`${this.label} has no session with ${to}`);
    const plain = content instanceof Uint8Array ? content : padContent(content);
    const out: Frame[] = [];
    for (const d of devices) {
      const c = await encrypt(plain, { name: to, deviceId: d.deviceId }, this.store);
      out.push({
        deviceId: d.deviceId,
        registrationId: d.registrationId,
        type: c.type,
        body: b64(c.body),
      });
    }
    return out;
  }

  /** Claims keys the first time, encrypts a text for every device of `to` and sends it. */
  async sendText(to: string, text: string, idempotencyKey: string = randomUUID()): Promise<Frame> {
    if (!this.known.has(to)) {
      const bundle = await this.startSessions(to);
      if (bundle.type !== 'keys.bundle') return bundle;
    }
    const messages = await this.encryptFor(to, textContent(text));
    return this.peer.request('message.send', { to, idempotencyKey, messages });
  }

  /**
   * Decrypts a pushed `message` frame to its Content. The suite's users encrypt correctly, so a
   * push that does not decrypt (a body altered, or a `ciphertextType` changed) is the target's
   * failure on ENC-003 (every ciphertext delivered byte for byte, with its type: DELIV-015).
   */
  async open(frame: Frame): Promise<Frame> {
    try {
      const plain = await decrypt(
        { type: frame.ciphertextType, body: unb64(frame.body) },
        { name: frame.from, deviceId: frame.fromDevice },
        this.store,
      );
      return unpadContent(plain);
    } catch (error) {
      throw new TargetFault(
        'ENC-003',
        `a pushed ciphertext that decrypts as its sender submitted it, with its ciphertextType (ENC-003, DELIV-015)`,
        `${show(frame.ciphertextType)} message ${show(frame.messageId)} from ${show(frame.from)} does not decrypt: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Waits for the next pushed `message` the target promised (DELIV-015: every accepted ciphertext
   * is pushed; DELIV-018: at once to a connected device). A push already seen (same `messageId`)
   * on this connection is acknowledged again and skipped, as DELIV-023 requires of clients (a
   * redelivery after a reconnection is taken: DELIV-019 promises it).
   */
  async nextMessage(waitMs?: number): Promise<Frame> {
    const deadline = Date.now() + (waitMs ?? this.env.waitMs);
    const seen = this.seenOn.get(this.peer) ?? new Set<string>();
    this.seenOn.set(this.peer, seen);
    for (;;) {
      const frame = await this.peer.next(
        (f) => f.type === 'message',
        Math.max(0, deadline - Date.now()),
        'a message push the target accepted',
        'DELIV-015',
      );
      const key = typeof frame.messageId === 'string' ? frame.messageId : undefined;
      if (key === undefined || !seen.has(key)) {
        if (key !== undefined) seen.add(key);
        return frame;
      }
      this.peer.send({ v: 1, type: 'message.ack', id: this.peer.newId(), deliveryIds: [frame.id] });
    }
  }

  /**
   * A pushed `message` on this connection that nextMessage has not taken yet, left in place; a
   * repeat of one it took is a duplicate the user ignores (DELIV-023), not a new delivery.
   */
  peekNewMessage(): Frame | undefined {
    const seen = this.seenOn.get(this.peer);
    return this.peer.peek(
      (f) => f.type === 'message' && !(typeof f.messageId === 'string' && seen?.has(f.messageId)),
    );
  }

  /** Acknowledges deliveries. */
  ack(...frames: Frame[]): Promise<Frame> {
    return this.peer.request('message.ack', { deliveryIds: frames.map((f) => f.id as string) });
  }
}
