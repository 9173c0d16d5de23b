// ParleyClient, what a partner platform builds a client on: connection lifecycle, auth, reconnect
// back-off, prekeys, devices and consent (spec/auth.md, keys.md, consent.md; messages.md via outbox/inbox).
import { EventEmitter } from 'node:events';
import { IdentityKeyPair, generateRegistrationId } from '../crypto/index.ts';
import type {
  AttachmentPointer,
  Content,
  ReceiptType,
  ReplyTarget,
  TypingState,
} from '../../schemas/content.ts';
import type { ClientFrameType } from '../../schemas/frame-types.ts';
import type { AttachmentKind } from '../../schemas/common.ts';
import { base64UrlLength, SCHEMA_LIMITS } from '../../schemas/limits.ts';
import type {
  AttachmentSlottedFrame,
  GroupRole,
  InteropSettings,
  KeysBundleFrame,
  KeysLowFrame,
  PendingRequest,
  ReportReason,
  RequestAction,
  WelcomeFrame,
} from '../../schemas/frames/index.ts';
import { authInput, tokenSourceFromKey, type PartnerKey, type TokenSource } from './auth.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { Connection, type PushFrame, type ReplyTo, type RequestBody } from './connection.ts';
import {
  deleteContent,
  editContent,
  groupContextContent,
  reactionContent,
  receiptContent,
  textContent,
  typingContent,
} from './content.ts';
import { Groups, type GroupInfo, type GroupSendResult } from './groups.ts';
import { ParleyError } from './errors.ts';
import { Inbox } from './inbox.ts';
import {
  currentLastResortKyberPreKey,
  currentSignedPreKey,
  INITIAL_PREKEY_BATCH,
  newOneTimeKyberPreKeys,
  newOneTimePreKeys,
  pruneLastResortKyberPreKeys,
  pruneSignedPreKeys,
  publishBody,
} from './keys.ts';
import { Outbox } from './outbox.ts';
import { Lock, Sessions, translate } from './sessions.ts';
import type { AccountRecord, ClientStore } from './store.ts';
import type {
  ClientEvents,
  DeviceLink,
  Enrolment,
  IncomingMessage,
  SendResult,
  Session,
} from './types.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** Processed message ids are kept this long, well beyond any provider's redelivery window. */
export const DEDUPE_RETENTION_MS = 60 * 24 * 3600 * 1000;

/** Options of a ParleyClient. */
export interface ParleyClientOptions {
  /** The provider's client endpoint, `wss://…` (or `ws://` on loopback). */
  url: string;
  /** Where keys, sessions and SDK state persist. */
  store: ClientStore;
  /** For partner accounts: the partner key to mint tokens with, or a token source. */
  partner?: PartnerKey | TokenSource;
  /** Reconnect back-off, or false to stay disconnected after a drop. */
  reconnect?: Partial<BackoffOptions> | false;
  /** How long a request waits for its reply (default 10 s). */
  requestTimeoutMs?: number;
  /** Accept a peer's changed identity key and emit `identityChanged` (default true), or refuse. */
  trustNewIdentities?: boolean;
  /**
   * Called with every incoming message before the SDK records it as processed and acks it; an
   * application stores the content durably here (DELIV-022). A throw leaves the delivery unacked.
   */
  onMessage?: (message: IncomingMessage) => void | Promise<void>;
  /** Name and version sent in `hello`. */
  clientInfo?: { name: string; version: string };
  /**
   * Headers for each connection's upgrade, asked anew for every connection: the login a
   * platform's proxy wants (spec/proxy.md; the reference proxy's `Parley-Login`), when `url` is
   * the proxy's.
   */
  upgradeHeaders?: () => Record<string, string> | Promise<Record<string, string>>;
  /**
   * The clock prekey ages and unanswered sessions (ENC-058) are measured by (default `Date.now`); a
   * test harness may move it on.
   */
  now?: () => number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** A Parley client for one device. */
/** The most bytes one one-time Kyber prekey adds to a `keys.publish` frame, comma included. */
const KYBER_ENTRY_BYTES =
  Buffer.byteLength(
    JSON.stringify({
      keyId: 4_294_967_295,
      publicKey: 'C'.repeat(base64UrlLength(SCHEMA_LIMITS.kyberPublicKeyBytes)),
      signature: 'A'.repeat(base64UrlLength(64)),
    }),
  ) + 1;

/** The one-time prekey counts a `keys.published` reported. */
interface PublishedCounts {
  oneTimePreKeyCount: number;
  oneTimeKyberPreKeyCount: number;
}

export class ParleyClient extends EventEmitter<ClientEvents> {
  private readonly store: ClientStore;
  private readonly sessions: Sessions;
  private readonly backoff: BackoffOptions | false;
  private readonly requestTimeoutMs: number;
  private readonly tokenSource: TokenSource | undefined;
  private connection: Connection | undefined;
  private welcomeFrame: WelcomeFrame | undefined;
  private sessionInfo: Session | undefined;
  private closing = false;
  private reconnecting = false;
  private abort = new AbortController();
  private waiters: { resolve(): void; reject(e: ParleyError): void }[] = [];
  private inbound: Promise<void> = Promise.resolve();
  private readonly keyLock = new Lock();
  private readonly outbox: Outbox;
  private readonly inbox: Inbox;
  private readonly groups: Groups;
  private publishedSeq = 0;
  private readonly notBefore = new Map<ClientFrameType, number>();
  private lastPreKeyCount = 0;
  private lastKyberPreKeyCount = 0;

  constructor(private readonly options: ParleyClientOptions) {
    super();
    this.store = options.store;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.backoff =
      options.reconnect === false ? false : { ...DEFAULT_BACKOFF, ...options.reconnect };
    const partner = options.partner;
    this.tokenSource =
      partner === undefined
        ? undefined
        : typeof partner === 'function'
          ? partner
          : tokenSourceFromKey(partner);
    this.sessions = new Sessions(
      this.store,
      options.trustNewIdentities ?? true,
      (address) =>
        this.emit('identityChanged', { address: address.name, deviceId: address.deviceId }),
      () => this.now(),
    );
    this.outbox = new Outbox({
      store: this.store,
      sessions: this.sessions,
      request: (type, body) => this.request(type, body),
      claimKeys: (address, deviceIds) => this.claimKeys(address, deviceIds),
      ready: () => this.ready(),
      limits: () => this.limits(),
      reconnectable: () => this.reconnecting || this.connected,
      connected: () => this.connected,
      sleep: (ms) => sleep(ms, this.abort.signal),
      problem: (error) => this.emit('problem', error),
    });
    this.groups = new Groups({
      store: this.store,
      sessions: this.sessions,
      request: (type, body) => this.request(type, body),
      claimKeys: (address, deviceIds) => this.claimKeys(address, deviceIds),
      ready: () => this.ready(),
      limits: () => this.limits(),
      reconnectable: () => this.reconnecting || this.connected,
      sleep: (ms) => sleep(ms, this.abort.signal),
      self: async () => {
        const account = await this.requireAccount();
        return { name: account.address, deviceId: account.deviceId };
      },
      groupChanged: (change) => this.emit('groupChanged', change),
      problem: (error) => this.emit('problem', error),
    });
    this.inbox = new Inbox({
      store: this.store,
      sessions: this.sessions,
      onMessage: options.onMessage,
      emitMessage: (message) => this.emit('message', message),
      emitUnreadable: (message) => this.emit('unreadable', message),
      openGroup: (frame) => this.groups.open(frame),
    });
  }

  /** The `welcome` of the current connection (limits, capabilities), once connected. */
  get welcome(): WelcomeFrame | undefined {
    return this.welcomeFrame;
  }

  /** The authenticated session, once connected. */
  get session(): Session | undefined {
    return this.sessionInfo;
  }

  /** Whether an authenticated connection is open. */
  get connected(): boolean {
    return this.connection?.isOpen === true && this.sessionInfo !== undefined;
  }

  /**
   * Connects and authenticates. Without `enrolment`, the store must already hold an account;
   * `register` creates a first-party account, `partner` a partner-platform device, `link` a
   * sibling device from a DeviceLink. Publishes prekeys when the device has none published,
   * then retries pending sends. Throws ParleyError (AUTH_FAILED, REGISTRATION_REFUSED, CONFLICT,
   * UNAVAILABLE, ...).
   */
  async connect(enrolment?: Enrolment): Promise<Session> {
    if (this.connected && enrolment === undefined) return this.sessionInfo!;
    this.closing = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    if (enrolment !== undefined) await this.prepareIdentity(enrolment);
    return this.establish(enrolment);
  }

  /** Closes the connection for good (no reconnect) and the store stays open; see `dispose`. */
  async close(): Promise<void> {
    this.closing = true;
    this.abort.abort();
    const connection = this.connection;
    this.connection = undefined;
    this.sessionInfo = undefined;
    connection?.close();
    await connection?.whenClosed();
    this.rejectWaiters(new ParleyError('UNAVAILABLE', 'the client was closed'));
    await this.inbound.catch(() => undefined);
  }

  /** Closes the connection and the store. */
  async dispose(): Promise<void> {
    await this.close();
    await this.store.close();
  }

  private async prepareIdentity(enrolment: Enrolment): Promise<void> {
    if (enrolment.method === 'link') {
      const { link } = enrolment;
      await this.store.setLocalIdentity({
        identityPrivateKey: link.identityPrivateKey,
        registrationId: link.registrationId,
        devicePrivateKey: link.devicePrivateKey,
      });
      await this.store.setAccount({
        address: link.address,
        deviceId: link.deviceId,
        mode: 'first-party',
      });
      return;
    }
    const local = await this.store.getLocalIdentity();
    if (local === undefined) {
      const identity = IdentityKeyPair.generate();
      await this.store.setLocalIdentity({
        identityPrivateKey: identity.privateKey,
        registrationId: generateRegistrationId(),
        devicePrivateKey: IdentityKeyPair.generate().privateKey, // AUTH-033: its own key
      });
    } else if (enrolment.method === 'register' && local.devicePrivateKey === undefined) {
      // A store from before device keys that registers anew gets its device key now.
      await this.store.setLocalIdentity({
        ...local,
        devicePrivateKey: IdentityKeyPair.generate().privateKey,
      });
    }
    if (enrolment.method === 'partner') {
      await this.store.setAccount({
        address: enrolment.address,
        deviceId: enrolment.deviceId ?? 1,
        mode: 'partner',
      });
    }
  }

  private async establish(enrolment?: Enrolment): Promise<Session> {
    const headers = await this.options.upgradeHeaders?.();
    const connection = await Connection.open(this.options.url, {
      requestTimeoutMs: this.requestTimeoutMs,
      ...(headers ? { headers } : {}),
    });
    try {
      connection.on('push', (frame) => this.onPush(connection, frame));
      connection.on('problem', (error) => this.emit('problem', error));
      const welcome = await connection.request('hello', {
        type: 'hello',
        versions: [1],
        ...(this.options.clientInfo ? { client: this.options.clientInfo } : {}),
      });
      connection.maxFrameBytes = welcome.limits.maxFrameBytes;
      this.welcomeFrame = welcome;
      if (enrolment?.method === 'register') await this.register(connection, enrolment);
      const session = await this.authenticate(connection, welcome);
      this.connection = connection;
      this.sessionInfo = session;
      connection.on('close', (code, reason) => this.onClose(connection, code, reason));
      await this.ensureKeys();
      this.emit('connected', session);
      this.resolveWaiters();
      void this.outbox.flushPending();
      void this.groups.flushPending();
      void this.store.pruneProcessed(Date.now() - DEDUPE_RETENTION_MS).catch(() => 0);
      return session;
    } catch (error) {
      if (this.connection === connection) {
        this.connection = undefined; // so that onClose does not start reconnecting
        this.sessionInfo = undefined;
      }
      connection.close();
      throw error;
    }
  }

  private async register(
    connection: Connection,
    enrolment: { registrationToken: string; name: string },
  ): Promise<void> {
    const identity = await this.store.getIdentityKeyPair();
    const registered = await connection.request('account.register', {
      type: 'account.register',
      registrationToken: enrolment.registrationToken,
      name: enrolment.name,
      identityKey: b64(identity.publicKey),
      registrationId: await this.store.getLocalRegistrationId(),
      deviceKey: b64((await this.store.getDeviceKeyPair()).publicKey),
    });
    await this.store.setAccount({
      address: registered.address,
      deviceId: registered.deviceId,
      mode: 'first-party',
    });
  }

  private async requireAccount(): Promise<AccountRecord> {
    const account = await this.store.getAccount();
    if (account === undefined) {
      throw new ParleyError(
        'NOT_AUTHENTICATED',
        'this store holds no account: connect with an enrolment first',
      );
    }
    return account;
  }

  private async authenticate(connection: Connection, welcome: WelcomeFrame): Promise<Session> {
    const account = await this.requireAccount();
    const identity = await this.store.getIdentityKeyPair();
    const challenge = new Uint8Array(Buffer.from(welcome.challenge, 'base64url'));
    // A first-party device proves its device key (AUTH-033), a partner device its identity key,
    // which its token names (AUTH-019, AUTH-037).
    const signer = account.mode === 'first-party' ? await this.store.getDeviceKeyPair() : identity;
    const signature = b64(signer.sign(authInput(challenge, account.address, account.deviceId)));
    let ok: ReplyTo<'auth'>;
    if (account.mode === 'first-party') {
      ok = await connection.request('auth', {
        type: 'auth',
        method: 'device',
        address: account.address,
        deviceId: account.deviceId,
        signature,
      });
    } else {
      if (this.tokenSource === undefined) {
        throw new ParleyError(
          'AUTH_FAILED',
          'a partner account needs options.partner to mint its token',
        );
      }
      const token = await this.tokenSource({
        address: account.address,
        audience: welcome.provider.domain,
        identityKey: identity.publicKey,
      });
      ok = await connection.request('auth', {
        type: 'auth',
        method: 'partner',
        token,
        deviceId: account.deviceId,
        registrationId: await this.store.getLocalRegistrationId(),
        identityKey: b64(identity.publicKey),
        signature,
      });
    }
    return { address: ok.address, deviceId: ok.deviceId, origin: ok.origin };
  }

  /** Sends a request on the live connection, waiting for a reconnect when there is none. */
  private async request<T extends ClientFrameType>(
    type: T,
    body: RequestBody<T>,
  ): Promise<ReplyTo<T>> {
    // CONSENT-027: after RATE_LIMITED, the same request type waits out retryAfterMs.
    const wait = (this.notBefore.get(type) ?? 0) - Date.now();
    if (wait > 0) {
      throw new ParleyError('RATE_LIMITED', `${type} was rate-limited; retry in ${wait} ms`, {
        retryAfterMs: wait,
      });
    }
    await this.ready();
    try {
      return await this.connection!.request(type, body);
    } catch (error) {
      if (error instanceof ParleyError && error.code === 'RATE_LIMITED') {
        this.notBefore.set(type, Date.now() + (error.retryAfterMs ?? 0));
      }
      throw error;
    }
  }

  /** Resolves once an authenticated connection is open; rejects when the client is closed or will not reconnect. */
  ready(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closing) return Promise.reject(new ParleyError('UNAVAILABLE', 'the client is closed'));
    if (!this.reconnecting) return Promise.reject(new ParleyError('UNAVAILABLE', 'not connected'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private resolveWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  private rejectWaiters(error: ParleyError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.sessionInfo = undefined;
    this.emit('disconnected', { code, reason });
    // 4410: this device was removed from its account (AUTH-035); it will never sign in again.
    if (this.closing || this.backoff === false || code === 4401 || code === 4000 || code === 4410) {
      this.rejectWaiters(
        new ParleyError('UNAVAILABLE', `disconnected (${code}) and not reconnecting`),
      );
      return;
    }
    void this.reconnectLoop(this.backoff);
  }

  private async reconnectLoop(backoff: BackoffOptions): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; attempt < backoff.maxAttempts && !this.closing; attempt++) {
        const delayMs = backoffDelay(backoff, attempt);
        this.emit('reconnecting', { attempt: attempt + 1, delayMs });
        await sleep(delayMs, this.abort.signal);
        if (this.closing) break;
        try {
          await this.establish();
          return;
        } catch (error) {
          const e = error instanceof ParleyError ? error : translate(error, 'reconnect failed');
          if (e.code === 'AUTH_FAILED' || e.code === 'UNSUPPORTED_VERSION') {
            this.emit('problem', e);
            break;
          }
        }
      }
      this.rejectWaiters(new ParleyError('UNAVAILABLE', 'gave up reconnecting'));
    } finally {
      this.reconnecting = false;
    }
  }

  // ---- keys -------------------------------------------------------------------------------

  /**
   * Publishes a first set of keys when the device has none (or, in a store from before PQXDH, no
   * Kyber prekeys), and rotates an old signed prekey or last-resort Kyber prekey (KEYS-009, KEYS-027).
   */
  private async ensureKeys(): Promise<void> {
    await this.keyLock.run(async () => {
      const fresh = (await this.store.listSignedPreKeys()).length === 0;
      const freshKyber = (await this.store.listLastResortKyberPreKeys()).length === 0;
      const { record, rotated } = await currentSignedPreKey(this.store, this.now());
      const kyber = await currentLastResortKyberPreKey(this.store, this.now());
      if (!fresh && !freshKyber && !rotated && !kyber.rotated) return;
      const batch = Math.min(INITIAL_PREKEY_BATCH, this.limits().maxOneTimePreKeysPerPublish);
      const oneTime = fresh ? await newOneTimePreKeys(this.store, batch) : [];
      // PROTO-024: as many one-time Kyber prekeys (about 2.2 KB each) as the frame limit leaves room for.
      const kyberBatch = Math.min(
        INITIAL_PREKEY_BATCH,
        SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish,
        this.kyberRoom(await publishBody(this.store, record, oneTime, kyber.record, [])),
      );
      const oneTimeKyber = freshKyber
        ? await newOneTimeKyberPreKeys(this.store, kyberBatch, this.now())
        : [];
      const reply = await this.connection!.request(
        'keys.publish',
        await publishBody(this.store, record, oneTime, kyber.record, oneTimeKyber),
      );
      this.emit('keysPublished', this.notePublished(reply));
      const retainMs = this.limits().queueTtlSeconds * 1000;
      await pruneSignedPreKeys(this.store, retainMs, this.now());
      await pruneLastResortKyberPreKeys(this.store, retainMs, this.now());
    });
  }

  /**
   * Publishes `count` fresh one-time prekeys and `kyberCount` fresh one-time Kyber prekeys (in
   * frames of at most maxOneTimePreKeysPerPublish and 100 of each, PROTO-024, KEYS-024) with the
   * current signed prekey and last-resort Kyber prekey; resolves with the one-time prekey count the
   * provider now holds.
   */
  async publishPreKeys(count: number, kyberCount = count): Promise<number> {
    return this.keyLock.run(
      async () => (await this.publishUnlocked(count, kyberCount)).oneTimePreKeyCount,
    );
  }

  private async publishUnlocked(count: number, kyberCount: number): Promise<PublishedCounts> {
    const max = this.limits().maxOneTimePreKeysPerPublish;
    const maxKyber = SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish;
    let stored: PublishedCounts;
    let remaining = count;
    let remainingKyber = kyberCount;
    do {
      const { record } = await currentSignedPreKey(this.store, this.now());
      const kyber = await currentLastResortKyberPreKey(this.store, this.now());
      const oneTime = await newOneTimePreKeys(this.store, Math.min(max, remaining));
      const room = this.kyberRoom(await publishBody(this.store, record, oneTime, kyber.record, []));
      const oneTimeKyber = await newOneTimeKyberPreKeys(
        this.store,
        Math.min(maxKyber, remainingKyber, room),
        this.now(),
      );
      const reply = await this.request(
        'keys.publish',
        await publishBody(this.store, record, oneTime, kyber.record, oneTimeKyber),
      );
      stored = this.notePublished(reply);
      remaining -= oneTime.length;
      remainingKyber -= oneTimeKyber.length;
      if (oneTime.length === 0 && oneTimeKyber.length === 0) break; // nothing more fits a frame
    } while (remaining > 0 || remainingKyber > 0);
    this.emit('keysPublished', stored);
    return stored;
  }

  /** How many one-time Kyber prekeys fit beside `body` in one frame of `limits.maxFrameBytes`. */
  private kyberRoom(body: RequestBody<'keys.publish'>): number {
    const used = Buffer.byteLength(JSON.stringify({ v: 1, id: 'c4294967295', ...body }));
    return Math.max(0, Math.floor((this.limits().maxFrameBytes - used) / KYBER_ENTRY_BYTES));
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private notePublished(reply: PublishedCounts): PublishedCounts {
    this.publishedSeq++;
    this.lastPreKeyCount = reply.oneTimePreKeyCount;
    this.lastKyberPreKeyCount = reply.oneTimeKyberPreKeyCount;
    return {
      oneTimePreKeyCount: reply.oneTimePreKeyCount,
      oneTimeKyberPreKeyCount: reply.oneTimeKyberPreKeyCount,
    };
  }

  /**
   * Answers `keys.low` by publishing one-time prekeys and one-time Kyber prekeys, each kind whose
   * count is under the threshold, until at least the threshold is stored (KEYS-023), unless a
   * publish answered after the push already brought the counts up to the threshold.
   */
  private async onKeysLow(frame: KeysLowFrame): Promise<void> {
    const seenAtPush = this.publishedSeq;
    await this.keyLock.run(async () => {
      const refilled = this.publishedSeq > seenAtPush;
      const ec = refilled ? this.lastPreKeyCount : frame.oneTimePreKeyCount;
      const kyber = refilled ? this.lastKyberPreKeyCount : frame.oneTimeKyberPreKeyCount;
      const missing = frame.threshold - ec;
      const missingKyber = frame.threshold - kyber;
      if (missing <= 0 && missingKyber <= 0) return;
      const batch = Math.min(this.limits().maxOneTimePreKeysPerPublish, INITIAL_PREKEY_BATCH);
      const kyberBatch = Math.min(
        SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish,
        INITIAL_PREKEY_BATCH,
      );
      await this.publishUnlocked(
        missing > 0 ? Math.max(missing, batch) : 0,
        missingKyber > 0 ? Math.max(missingKyber, kyberBatch) : 0,
      ); // KEYS-023
    });
  }

  /** Claims prekey bundles of `address` (all devices, or `deviceIds`). Throws NOT_FOUND, RATE_LIMITED, ... */
  async claimKeys(address: string, deviceIds?: number[]): Promise<KeysBundleFrame> {
    return this.request('keys.claim', {
      type: 'keys.claim',
      address,
      ...(deviceIds && deviceIds.length > 0 ? { deviceIds } : {}),
    });
  }

  // ---- attachments (spec/attachments.md "Slot"; bytes travel over HTTP, see attachments.ts) ----

  /**
   * Reserves an upload slot for an encrypted blob of `size` ciphertext bytes with SHA-256 `digest`
   * (base64url). Throws ATTACHMENT_TOO_LARGE or QUOTA_EXCEEDED. `uploadAttachment` calls this.
   */
  async slotAttachment(
    kind: AttachmentKind,
    size: number,
    digest: string,
  ): Promise<AttachmentSlottedFrame> {
    return this.request('attachment.slot', { type: 'attachment.slot', kind, size, digest });
  }

  private limits(): WelcomeFrame['limits'] {
    if (this.welcomeFrame === undefined) throw new ParleyError('UNAVAILABLE', 'not connected');
    return this.welcomeFrame.limits;
  }

  // ---- devices ----------------------------------------------------------------------------

  /**
   * Adds a sibling device to this first-party account and returns what the new device needs
   * (hand it over out of band, then `connect({method: 'link', link})` on the new device's store).
   * This device approves the new one: it generates the new device's own device key and registers
   * its public half (AUTH-033). Throws FORBIDDEN for a partner session.
   */
  async addDevice(): Promise<DeviceLink> {
    const account = await this.requireAccount();
    const registrationId = generateRegistrationId();
    const deviceKey = IdentityKeyPair.generate();
    const added = await this.request('device.add', {
      type: 'device.add',
      registrationId,
      deviceKey: b64(deviceKey.publicKey),
    });
    const identity = await this.store.getIdentityKeyPair();
    return {
      address: account.address,
      deviceId: added.deviceId,
      registrationId,
      identityPrivateKey: identity.privateKey,
      devicePrivateKey: deviceKey.privateKey,
    };
  }

  /** Removes a device of this first-party account. */
  async removeDevice(deviceId: number): Promise<void> {
    await this.request('device.remove', { type: 'device.remove', deviceId });
  }

  // ---- sending ----------------------------------------------------------------------------

  /**
   * Encrypts `content` for every device of `to` and sends it with a fresh idempotency key that
   * every retry reuses (DELIV-010): after a dropped connection (DELIV-011), after RATE_LIMITED
   * once `retryAfterMs` passed (CONSENT-027), and after DEVICE_MISMATCH once sessions with missing
   * and stale devices are built and those with extra devices dropped (DELIV-004).
   * Throws ParleyError: NOT_FOUND, RATE_LIMITED (after retries), FORBIDDEN (a receipt or typing
   * indicator to an unaccepted request, CONSENT-017), UNAVAILABLE (the send then stays persisted
   * and the next connect retries it with the same key), ...
   */
  send(to: string, content: Content): Promise<SendResult> {
    return this.outbox.send(to, content);
  }

  /** Sends a text, optionally as a reply. */
  sendText(to: string, body: string, replyTo?: ReplyTarget): Promise<SendResult> {
    return this.send(to, textContent(body, replyTo));
  }

  /** Reacts to a message (or removes the reaction). */
  react(to: string, target: ReplyTarget, emoji: string, remove = false): Promise<SendResult> {
    return this.send(to, reactionContent(target, emoji, remove));
  }

  /** Sends a delivery or read receipt. Refused (FORBIDDEN) for an unaccepted request (CONSENT-017). */
  sendReceipt(to: string, receipt: ReceiptType, messageIds: string[]): Promise<SendResult> {
    return this.send(to, receiptContent(receipt, messageIds));
  }

  /** Sends a typing indicator. Refused (FORBIDDEN) for an unaccepted request (CONSENT-017). */
  sendTyping(to: string, state: TypingState): Promise<SendResult> {
    return this.send(to, typingContent(state));
  }

  // ---- receiving --------------------------------------------------------------------------

  private onPush(connection: Connection, frame: PushFrame): void {
    if (frame.type === 'message') {
      this.inOrder(() => this.inbox.receive(connection, frame), 'receive failed');
    } else if (frame.type === 'keys.low') {
      this.onKeysLow(frame).catch((error: unknown) => this.problem(error, 'replenish failed'));
    } else if (frame.type === 'group.changed') {
      this.inOrder(async () => {
        await this.groups.onChanged(frame);
        await this.ack(connection, frame.id); // GROUP-013, GROUP-051
      }, 'group change failed');
    } else if (frame.type === 'group.invited') {
      this.inOrder(async () => {
        this.emit('groupInvited', frame);
        await this.ack(connection, frame.id); // GROUP-025
      }, 'group invitation failed');
    } else if (frame.type === 'queue.empty') {
      this.inbound = this.inbound.then(() => void this.emit('queueEmpty'));
    }
  }

  /** Runs `task` after every push before it, reporting its failure as a problem. */
  private inOrder(task: () => Promise<void>, what: string): void {
    this.inbound = this.inbound.then(task).catch((error: unknown) => this.problem(error, what));
  }

  private problem(error: unknown, what: string): void {
    this.emit('problem', error instanceof ParleyError ? error : translate(error, what));
  }

  /** Acknowledges a push that is not a `message` as a `message` is acknowledged. */
  private async ack(connection: Connection, deliveryId: string): Promise<void> {
    if (connection.isOpen)
      await connection
        .request('message.ack', { type: 'message.ack', deliveryIds: [deliveryId] })
        .catch(() => undefined);
  }

  // ---- groups (spec/groups.md) ---------------------------------------------------------------

  /** Creates a group with this user as its admin and `members` added. Throws RATE_LIMITED, GROUP_FULL, NOT_FOUND, ... */
  createGroup(members: string[] = []): Promise<GroupInfo> {
    return this.groups.create(members);
  }

  /** Adds members to a group (admins only). Throws FORBIDDEN, GROUP_FULL, NOT_FOUND, RATE_LIMITED. */
  addToGroup(group: string, members: string[]): Promise<GroupInfo> {
    return this.groups.add(group, members);
  }

  /**
   * Removes members or invitations (admins only); the next group send uses a new sender key that
   * only the remaining members receive (ENC-089). Throws FORBIDDEN, NOT_FOUND.
   */
  removeFromGroup(group: string, members: string[]): Promise<GroupInfo> {
    return this.groups.remove(group, members);
  }

  /** Sets a member's role (admins only). Throws FORBIDDEN, CONFLICT (no admin would remain). */
  setGroupRole(group: string, member: string, role: GroupRole): Promise<GroupInfo> {
    return this.groups.setRole(group, member, role);
  }

  /** Leaves a group. */
  leaveGroup(group: string): Promise<void> {
    return this.groups.leave(group);
  }

  /** Reads a group's members and version from the provider. Throws NOT_FOUND when not a member. */
  getGroup(group: string): Promise<GroupInfo> {
    return this.groups.refresh(group);
  }

  /** The group as this device last learnt it, without asking the provider. */
  knownGroup(group: string): Promise<GroupInfo | undefined> {
    return this.groups.known(group);
  }

  /**
   * Sends any Content to a group (text, attachments, reactions, replies, edits, deletes, receipts),
   * encrypted once with this device's sender key, its `group` set to `group` (GROUP-056); see
   * Groups.send.
   */
  sendToGroup(group: string, content: Content): Promise<GroupSendResult> {
    return this.groups.send(group, content);
  }

  /**
   * Names the group and sets its avatar (an uploaded image, as `slotAttachment` and an attachment
   * upload give it; none removes it) for every member: a `group` content sent as a group message,
   * which the provider never reads (GROUP-060). The group's record here takes it once accepted.
   */
  setGroupInfo(
    group: string,
    info: { name: string; avatar?: AttachmentPointer },
  ): Promise<GroupSendResult> {
    return this.sendToGroup(group, groupContextContent(info.name, info.avatar));
  }

  /** Sends a text to a group, optionally as a reply. */
  sendGroupText(group: string, body: string, replyTo?: ReplyTarget): Promise<GroupSendResult> {
    return this.sendToGroup(group, textContent(body, replyTo));
  }

  /** Reacts in a group to a message (or removes the reaction). */
  reactInGroup(
    group: string,
    target: ReplyTarget,
    emoji: string,
    remove = false,
  ): Promise<GroupSendResult> {
    return this.sendToGroup(group, reactionContent(target, emoji, remove));
  }

  /** Edits one's own text message in a group. */
  editInGroup(group: string, targetId: string, body: string): Promise<GroupSendResult> {
    return this.sendToGroup(group, editContent(targetId, body));
  }

  /** Deletes one's own message in a group for everyone. */
  deleteInGroup(group: string, targetId: string): Promise<GroupSendResult> {
    return this.sendToGroup(group, deleteContent(targetId));
  }

  /** Sends a delivery or read receipt to a group. */
  sendGroupReceipt(
    group: string,
    receipt: ReceiptType,
    messageIds: string[],
  ): Promise<GroupSendResult> {
    return this.sendToGroup(group, receiptContent(receipt, messageIds));
  }

  // ---- consent ----------------------------------------------------------------------------

  /** The user's interop settings (first-party only). */
  async getConsent(): Promise<InteropSettings> {
    return (await this.request('consent.get', { type: 'consent.get' })).interop;
  }

  /**
   * Replaces the interop settings. Call it only on an explicit action of the user (CONSENT-002).
   * Resolves with the settings now in force.
   */
  async setConsent(interop: InteropSettings): Promise<InteropSettings> {
    return (await this.request('consent.set', { type: 'consent.set', interop })).interop;
  }

  /** Pending message requests, oldest first. */
  async listRequests(): Promise<PendingRequest[]> {
    return (await this.request('requests.list', { type: 'requests.list' })).pending;
  }

  /**
   * Accepts, declines or blocks a message request, or with `group` a group invitation from `from`
   * (spec/groups.md#invitations). Accepting an invitation joins the group and records it.
   */
  async respondToRequest(from: string, action: RequestAction, group?: string): Promise<void> {
    await this.request('request.respond', {
      type: 'request.respond',
      from,
      action,
      ...(group === undefined ? {} : { group }),
    });
    if (group === undefined) await this.store.setRequestSender(from, action !== 'accept');
    else if (action === 'accept') await this.groups.refresh(group);
  }

  /** Blocks (or unblocks) an address. */
  async block(address: string, blocked = true): Promise<boolean> {
    return (await this.request('block.set', { type: 'block.set', address, blocked })).blocked;
  }

  /**
   * Reports an address. Only provider message ids and the user's own comment travel: never put
   * decrypted content in `comment` unless the user chose to (CONSENT-024). Resolves with the report id.
   */
  async report(
    address: string,
    reason: ReportReason,
    extra: { messageIds?: string[]; comment?: string } = {},
  ): Promise<string> {
    return (await this.request('report', { type: 'report', address, reason, ...extra })).reportId;
  }
}
