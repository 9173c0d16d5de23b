// Test harness for the provider: starts it through startProvider, and drives it with raw `ws`
// frames from devices holding real keys of the crypto core (spec/framing.md, spec/auth.md).
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import WebSocket from 'ws';
import {
  encrypt,
  generateKyberPreKey,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  InMemoryProtocolStore,
  processPreKeyBundle,
  decrypt,
  type KyberPreKeyRecord,
} from '../../../../reference-impl/crypto/index.ts';
import {
  silentLogger,
  startProvider,
  type EnlistedPartnerKey,
  type RunningProvider,
} from '../../../../reference-impl/server/index.ts';
import type { ProviderOptions } from '../../../../reference-impl/server/index.ts';
import { authInput } from '../../../../reference-impl/server/auth.ts';
import { createFrameValidator, SCHEMA_DIR } from '../../../../schemas/validator.ts';

const validator = createFrameValidator(SCHEMA_DIR);

/**
 * Every frame the provider sends in these tests is checked against its schema (PROTO-002, -007, -011,
 * -013, -017 and closed frames, PROTO-035); a fault fails the test that received it.
 */
export const schemaFaults: string[] = [];

afterEach(function () {
  if (schemaFaults.length === 0) return;
  const faults = schemaFaults.splice(0);
  throw new Error(`the provider sent frames that fail their schema:\n${faults.join('\n')}`);
});

export const DOMAIN = 'wa.example';
export const TOKEN = 'test-registration-token';
export const PARTNER_DOMAIN = 'chat.example';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFrame = Record<string, any>;

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** A partner platform: its signing key and enlisted public JWK. */
export interface Partner {
  readonly domain: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly enlisted: EnlistedPartnerKey;
}

export async function makePartner(domain = PARTNER_DOMAIN): Promise<Partner> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { domain, kid, privateKey, enlisted: { ...jwk, kid, domain, alg: 'EdDSA' } };
}

/** Claims of a partner token; override any to break one rule. */
export interface TokenClaims {
  iss?: string;
  sub: string;
  aud?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  /** The identity key the token is bound to by cnf.jkt (AUTH-037); no cnf when absent. */
  identityKey?: Uint8Array;
}

/** A fresh device key in base64url, for a device.add whose device is never used. */
export function freshDeviceKey(): string {
  return b64(IdentityKeyPair.generate().publicKey);
}

/** cnf.jkt of an identity key: RFC 7638 thumbprint of it as an X25519 OKP JWK (AUTH-037). */
export function keyThumbprint(identityKey: Uint8Array): Promise<string> {
  const x = Buffer.from(identityKey.subarray(1)).toString('base64url');
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x }, 'sha256');
}

export async function partnerToken(
  partner: Partner,
  claims: TokenClaims,
  kid = partner.kid,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const cnf =
    claims.identityKey === undefined
      ? {}
      : { cnf: { jkt: await keyThumbprint(claims.identityKey) } };
  return new SignJWT(cnf)
    .setProtectedHeader({ alg: 'EdDSA', kid })
    .setIssuer(claims.iss ?? partner.domain)
    .setSubject(claims.sub)
    .setAudience(claims.aud ?? DOMAIN)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300)
    .setJti(claims.jti ?? randomUUID())
    .sign(partner.privateKey);
}

/** A provider on a free port with an in-memory store, one registration token and one partner. */
export async function startTestProvider(
  partners: readonly Partner[],
  options: ProviderOptions = {},
): Promise<RunningProvider> {
  return startProvider({
    port: 0,
    dbPath: ':memory:',
    domain: DOMAIN,
    registrationTokens: [TOKEN],
    partners: partners.map((p) => p.enlisted),
    logger: silentLogger,
    ...options,
  });
}

let nextId = 0;

/** A raw WebSocket client that records every frame and waits on them with timeouts. */
export class Wire {
  readonly frames: AnyFrame[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) schemaFaults.push('a binary frame (PROTO-002)');
      const frame = JSON.parse(String(data)) as AnyFrame;
      const valid = validator.validate(frame);
      if (!valid.ok)
        schemaFaults.push(`${valid.pointer} ${valid.message}: ${String(data).slice(0, 200)}`);
      this.frames.push(frame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Wire> {
    const ws = new WebSocket(url, { headers });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Wire(ws);
  }

  raw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  send(frame: AnyFrame): void {
    this.raw(JSON.stringify(frame));
  }

  /** Waits for (and removes) the first recorded frame matching `match`. */
  async next(match: (f: AnyFrame) => boolean, timeoutMs = 3000): Promise<AnyFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined)
        throw new Error(`no matching frame; have ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a request with a fresh id and resolves its reply or error. */
  async request(type: string, body: AnyFrame = {}, timeoutMs = 3000): Promise<AnyFrame> {
    const id = `r${++nextId}`;
    this.send({ v: 1, type, id, ...body });
    return this.next((f) => f.re === id, timeoutMs);
  }

  /** Whether a frame matching `match` arrives within `ms` (without consuming it). */
  async sees(match: (f: AnyFrame) => boolean, ms = 200): Promise<boolean> {
    try {
      const f = await this.next(match, ms);
      this.frames.unshift(f);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** One device with real Signal keys, connected to a provider. */
export class Device {
  readonly store: InMemoryProtocolStore;
  wire!: Wire;
  welcome!: AnyFrame;
  private nextKeyId = 1;

  constructor(
    readonly address: string,
    readonly deviceId: number,
    readonly identity: IdentityKeyPair,
    readonly registrationId: number = generateRegistrationId(),
    /** The key `auth` is signed with: the device's own device key (AUTH-033), or for a partner device its identity key. */
    readonly authKey: IdentityKeyPair = IdentityKeyPair.generate(),
  ) {
    this.store = new InMemoryProtocolStore(identity, registrationId);
  }

  get identityKey(): string {
    return b64(this.identity.publicKey);
  }

  /** The public device key that account.register or device.add registers (AUTH-033). */
  get deviceKey(): string {
    return b64(this.authKey.publicKey);
  }

  /** Opens a connection (with `headers` on its upgrade: a proxy's token) and says hello. */
  async connect(
    provider: RunningProvider,
    headers: Record<string, string> = {},
  ): Promise<AnyFrame> {
    this.wire = await Wire.open(provider.wsUrl, headers);
    this.welcome = await this.wire.request('hello', { versions: [1] });
    return this.welcome;
  }

  proof(
    address = this.address,
    deviceId = this.deviceId,
    challenge = this.welcome.challenge as string,
  ): string {
    return b64(
      this.authKey.sign(authInput(Buffer.from(challenge, 'base64url'), address, deviceId)),
    );
  }

  async authDevice(): Promise<AnyFrame> {
    return this.wire.request('auth', {
      method: 'device',
      address: this.address,
      deviceId: this.deviceId,
      signature: this.proof(),
    });
  }

  /** A partner device's proof: by its identity key, which its token names (AUTH-019, AUTH-037). */
  identityProof(): string {
    const challenge = Buffer.from(this.welcome.challenge as string, 'base64url');
    return b64(this.identity.sign(authInput(challenge, this.address, this.deviceId)));
  }

  async authPartner(partner: Partner, claims: Partial<TokenClaims> = {}): Promise<AnyFrame> {
    return this.wire.request('auth', {
      method: 'partner',
      token: await partnerToken(partner, {
        sub: this.address,
        identityKey: this.identity.publicKey,
        ...claims,
      }),
      deviceId: this.deviceId,
      registrationId: this.registrationId,
      identityKey: this.identityKey,
      signature: this.identityProof(),
    });
  }

  /**
   * Adds a sibling device of this first-party account with a fresh device key (AUTH-033): the
   * reply and, when it is device.added, the new device (not connected).
   */
  async addSibling(
    registrationId: number = generateRegistrationId(),
  ): Promise<{ reply: AnyFrame; device: Device }> {
    const authKey = IdentityKeyPair.generate();
    const reply = await this.wire.request('device.add', {
      registrationId,
      deviceKey: b64(authKey.publicKey),
    });
    const device = new Device(
      this.address,
      reply.deviceId as number,
      this.identity,
      registrationId,
      authKey,
    );
    return { reply, device };
  }

  /**
   * Publishes a fresh signed prekey, `count` one-time prekeys, a fresh last-resort Kyber prekey and
   * `kyberCount` one-time Kyber prekeys, keeping the private halves.
   */
  async publish(count = 5, kyberCount = count): Promise<AnyFrame> {
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
    const kyberOut = (k: KyberPreKeyRecord) => ({
      keyId: k.keyId,
      publicKey: b64(k.keyPair.publicKey),
      signature: b64(k.signature),
    });
    return this.wire.request('keys.publish', {
      identityKey: this.identityKey,
      signedPreKey: {
        keyId: signed.keyId,
        publicKey: b64(signed.keyPair.publicKey),
        signature: b64(signed.signature),
      },
      oneTimePreKeys: preKeys.map((k) => ({ keyId: k.keyId, publicKey: b64(k.keyPair.publicKey) })),
      lastResortKyberPreKey: kyberOut(lastResort),
      oneTimeKyberPreKeys: kyberKeys.map(kyberOut),
    });
  }

  /** Claims `to`'s bundles and starts a session with every device that has none. */
  async startSessions(to: string): Promise<AnyFrame> {
    const bundle = await this.wire.request('keys.claim', { address: to });
    if (bundle.type !== 'keys.bundle') return bundle;
    for (const d of bundle.devices as AnyFrame[]) {
      const addr = { name: to, deviceId: d.deviceId as number };
      if (await this.store.loadSession(addr)) continue;
      await processPreKeyBundle(
        {
          registrationId: d.registrationId,
          deviceId: d.deviceId,
          identityKey: Buffer.from(d.identityKey, 'base64url'),
          signedPreKeyId: d.signedPreKey.keyId,
          signedPreKey: Buffer.from(d.signedPreKey.publicKey, 'base64url'),
          signedPreKeySignature: Buffer.from(d.signedPreKey.signature, 'base64url'),
          kyberPreKeyId: d.kyberPreKey.keyId,
          kyberPreKey: Buffer.from(d.kyberPreKey.publicKey, 'base64url'),
          kyberPreKeySignature: Buffer.from(d.kyberPreKey.signature, 'base64url'),
          ...(d.oneTimePreKey
            ? {
                preKeyId: d.oneTimePreKey.keyId,
                preKey: Buffer.from(d.oneTimePreKey.publicKey, 'base64url'),
              }
            : {}),
        },
        addr,
        this.store,
      );
    }
    return bundle;
  }

  /** Encrypts `text` for each of `to`'s devices (registration ids as given) into message entries. */
  async ciphertexts(
    to: string,
    devices: readonly { deviceId: number; registrationId: number }[],
    text: string,
  ): Promise<AnyFrame[]> {
    const out: AnyFrame[] = [];
    for (const d of devices) {
      const c = await encrypt(Buffer.from(text), { name: to, deviceId: d.deviceId }, this.store);
      out.push({
        deviceId: d.deviceId,
        registrationId: d.registrationId,
        type: c.type,
        body: b64(c.body),
      });
    }
    return out;
  }

  /** Claims (first time), encrypts for every device of `to` and sends; resolves the reply. */
  async sendText(
    to: string,
    text: string,
    idempotencyKey: string = randomUUID(),
  ): Promise<AnyFrame> {
    let devices = this.known.get(to);
    if (!devices) {
      const bundle = await this.startSessions(to);
      if (bundle.type !== 'keys.bundle') return bundle;
      devices = (bundle.devices as AnyFrame[]).map((d) => ({
        deviceId: d.deviceId as number,
        registrationId: d.registrationId as number,
      }));
      this.known.set(to, devices);
    }
    const messages = await this.ciphertexts(to, devices, text);
    return this.wire.request('message.send', { to, idempotencyKey, messages });
  }

  readonly known = new Map<string, { deviceId: number; registrationId: number }[]>();

  /** Decrypts a pushed `message` frame. */
  async open(frame: AnyFrame): Promise<string> {
    const plain = await decrypt(
      { type: frame.ciphertextType, body: Buffer.from(frame.body, 'base64url') },
      { name: frame.from, deviceId: frame.fromDevice },
      this.store,
    );
    return Buffer.from(plain).toString('utf8');
  }

  async nextMessage(timeoutMs = 3000): Promise<AnyFrame> {
    return this.wire.next((f) => f.type === 'message', timeoutMs);
  }
}

/** Registers `name` on the provider with device 1, authenticates and publishes prekeys. */
export async function firstParty(
  provider: RunningProvider,
  name: string,
  preKeys = 5,
): Promise<Device> {
  const device = new Device(`${name}@${DOMAIN}`, 1, IdentityKeyPair.generate());
  await device.connect(provider);
  const reg = await device.wire.request('account.register', {
    registrationToken: TOKEN,
    name,
    identityKey: device.identityKey,
    registrationId: device.registrationId,
    deviceKey: device.deviceKey,
  });
  if (reg.type !== 'account.registered') throw new Error(JSON.stringify(reg));
  const ok = await device.authDevice();
  if (ok.type !== 'auth.ok') throw new Error(JSON.stringify(ok));
  await device.wire.next((f) => f.type === 'queue.empty');
  if (preKeys > 0) await device.publish(preKeys);
  return device;
}

/** Connects a partner platform's user directly with a partner token and publishes prekeys. */
export async function thirdParty(
  provider: RunningProvider,
  partner: Partner,
  name: string,
  preKeys = 5,
): Promise<Device> {
  const identity = IdentityKeyPair.generate();
  // A partner device proves its identity key, which its token names (AUTH-019, AUTH-037).
  const device = new Device(`${name}@${partner.domain}`, 1, identity, undefined, identity);
  await device.connect(provider);
  const ok = await device.authPartner(partner);
  if (ok.type !== 'auth.ok') throw new Error(JSON.stringify(ok));
  await device.wire.next((f) => f.type === 'queue.empty');
  if (preKeys > 0) await device.publish(preKeys);
  return device;
}

/** Reconnects a device on a new connection and authenticates it the same way as before. */
export async function reconnect(
  provider: RunningProvider,
  device: Device,
  partner?: Partner,
): Promise<AnyFrame> {
  await device.connect(provider);
  return partner ? device.authPartner(partner) : device.authDevice();
}

/** Turns interop on for a first-party user. */
export async function optIn(
  device: Device,
  platforms: 'all' | string[] = 'all',
  inbox: 'separate' | 'combined' = 'separate',
): Promise<AnyFrame> {
  return device.wire.request('consent.set', { interop: { enabled: true, platforms, inbox } });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
