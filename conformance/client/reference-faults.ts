// Fault variants of the reference client for the suite's self-test only (CLIENT_FAULTS in
// reference-driver.ts): each hook breaks exactly one rule of keys, auth, framing or delivery, in
// the store, the client, the partner token or on the wire (through a rewriting loopback relay), so
// that test/conformance/client-faults-f.test.ts can show the cases catch it. No CLI flag reaches them.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { importJWK, SignJWT } from 'jose';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { decrypt } from '../../reference-impl/crypto/cipher.ts';
import {
  IdentityKeyPair,
  ProtocolError,
  ProtocolErrorCode,
  verifySignature,
  type ProtocolStores,
} from '../../reference-impl/crypto/index.ts';
import type { DecryptDeviations } from '../../reference-impl/crypto/test-deviations.ts';
import type {
  MemoryClientStore,
  ParleyClient,
  PartnerKey,
  TokenSource,
} from '../../reference-impl/client/index.ts';
import type { Sessions } from '../../reference-impl/client/sessions.ts';
import { groupRewrites } from './reference-group-faults.ts';

/** The fault names of the variant (CLIENT_FAULTS in reference-driver.ts). */
type Faults = ReadonlySet<string>;
type Json = Record<string, unknown>;
/** Rewrites one frame on the wire; undefined drops it. */
type Rewrite = (frame: Json) => Json | undefined;

/** The label that opens every auth-input (spec/auth.md "Device proof"). */
const AUTH_LABEL = Buffer.from('PARLEY-AUTH-v1', 'ascii');
/** The device id closes auth-input as a 32-bit big-endian integer. */
const DEVICE_ID_BYTES = 4;
/** The lifetime of the fault variant's partner tokens, as the SDK's own. */
const TOKEN_LIFETIME_SECONDS = 300;
/** The idempotency key every send of the `fixed-idempotency-key` variant carries. */
const FIXED_IDEMPOTENCY_KEY = 'fault-fixed-idempotency-key';
/** Limits the `ignore-advertised-limits` variant believes in, whatever `welcome` said. */
const GENEROUS_LIMITS = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxMessageBytes: 128 * 1024,
  maxDevicesPerMessage: 64,
  maxOneTimePreKeysPerPublish: 100,
};

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** Store faults: prekey ids that repeat (KEYS-008), no de-duplication by message id (DELIV-023), a device proof over less than auth-input (AUTH-005). */
export function breakStore(store: MemoryClientStore, faults: Faults): void {
  if (faults.has('reuse-prekey-ids')) {
    const setCounter = store.setCounter.bind(store);
    store.setCounter = async (name, value) =>
      name === 'nextPreKeyId' ? undefined : setCounter(name, value);
  }
  if (faults.has('no-message-id-dedupe')) store.hasProcessed = async () => false;
  if (faults.has('no-retry-after-reconnect')) store.listPendingSends = async () => [];
  if (faults.has('no-signed-prekey-rotation')) {
    // KEYS-009: a signed prekey that never ages.
    const save = store.saveSignedPreKey.bind(store);
    store.saveSignedPreKey = (keyId, record) =>
      save(keyId, { ...record, timestamp: Number.MAX_SAFE_INTEGER });
  }
  if (faults.has('drop-replaced-signed-prekey')) {
    // KEYS-010: the replaced signed prekey goes as soon as its successor is stored.
    const save = store.saveSignedPreKey.bind(store);
    store.saveSignedPreKey = async (keyId, record) => {
      for (const old of await store.listSignedPreKeys()) await store.removeSignedPreKey(old.keyId);
      await save(keyId, record);
    };
  }
  if (faults.has('no-kyber-prekey-rotation')) {
    // KEYS-027: a last-resort Kyber prekey that never ages.
    const save = store.saveKyberPreKey.bind(store);
    store.saveKyberPreKey = (keyId, record, options) =>
      save(
        keyId,
        options?.lastResort ? { ...record, timestamp: Number.MAX_SAFE_INTEGER } : record,
        options,
      );
  }
  if (faults.has('drop-replaced-kyber-prekey')) {
    // KEYS-027: the replaced last-resort Kyber prekey goes as soon as its successor is stored.
    const save = store.saveKyberPreKey.bind(store);
    store.saveKyberPreKey = async (keyId, record, options) => {
      if (options?.lastResort)
        for (const old of await store.listLastResortKyberPreKeys())
          await store.removeKyberPreKey(old.keyId);
      await save(keyId, record, options);
    };
  }
  if (faults.has('sign-auth-without-device-id')) {
    // Both signers of auth: the identity key (partner) and the device key (first party).
    const shorten = (get: () => Promise<IdentityKeyPair>) => async (): Promise<IdentityKeyPair> => {
      const pair = await get();
      const sign = (message: Uint8Array): Uint8Array =>
        Buffer.from(message.subarray(0, AUTH_LABEL.length)).equals(AUTH_LABEL)
          ? pair.sign(message.subarray(0, message.length - DEVICE_ID_BYTES))
          : pair.sign(message);
      return Object.assign(Object.create(pair) as IdentityKeyPair, { sign });
    };
    store.getIdentityKeyPair = shorten(store.getIdentityKeyPair.bind(store));
    store.getDeviceKeyPair = shorten(store.getDeviceKeyPair.bind(store));
  }
}

/**
 * The token source of the `partner-token-hs256` variant (AUTH-009) or of the
 * `unbound-partner-token` variant (an EdDSA token without cnf, AUTH-037), or undefined.
 */
export function partnerTokenFault(key: PartnerKey, faults: Faults): TokenSource | undefined {
  if (faults.has('unbound-partner-token'))
    return async ({ address, audience }) => {
      const iat = Math.floor(Date.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
        .setIssuer(key.domain)
        .setSubject(address)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + TOKEN_LIFETIME_SECONDS)
        .setJti(randomBytes(16).toString('base64url'))
        .sign(await importJWK(key.privateJwk, 'EdDSA'));
    };
  if (!faults.has('partner-token-hs256')) return undefined;
  return async ({ address, audience }) => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
      .setIssuer(key.domain)
      .setSubject(address)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + TOKEN_LIFETIME_SECONDS)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(unb64(String(key.privateJwk.d)));
  };
}

/**
 * Bundle faults: entries whose signed prekey or Kyber prekey signature does not verify are made
 * to pass (both re-signed under a stand-in identity, KEYS-016), or an entry without a one-time prekey is refused (KEYS-020).
 */
export function breakClient(client: ParleyClient, faults: Faults): void {
  const forge = faults.has('accept-bad-bundle-signature');
  const refuse = faults.has('refuse-exhausted-bundles');
  if (!forge && !refuse) return;
  const claim = client.claimKeys.bind(client);
  client.claimKeys = async (address, deviceIds) => {
    const bundle = await claim(address, deviceIds);
    if (refuse && bundle.devices.some((d) => d.oneTimePreKey === null))
      throw new Error(`${address} has no one-time prekey left`);
    if (forge)
      for (const d of bundle.devices) {
        const identity = unb64(d.identityKey);
        const valid = [d.signedPreKey, d.kyberPreKey].every((k) =>
          verifySignature(identity, unb64(k.publicKey), unb64(k.signature)),
        );
        if (valid) continue;
        const standIn = IdentityKeyPair.generate();
        d.identityKey = b64(standIn.publicKey);
        for (const k of [d.signedPreKey, d.kyberPreKey])
          k.signature = b64(standIn.sign(unb64(k.publicKey)));
      }
    return bundle;
  };
}

/** The decrypt deviations (reference-impl/crypto/test-deviations.ts) each receiving fault asks for. */
const DECRYPT_FAULTS: Readonly<Record<string, DecryptDeviations>> = {
  'late-messages-salted-with-next-spqr-key': { lateSpqrKeysFromHead: true }, // ENC-053
  'refuse-spqr-chunks': { refuseSpqrChunks: true }, // ENC-054
  'accept-bad-spqr-data': { acceptBadSpqrData: true }, // ENC-055
  'ignore-addresses': { ignoreAddresses: true }, // ENC-056
  'ignore-braid-chunks': { ignoreBraidChunks: true }, // ENC-060
  'ignore-parity-chunks': { ignoreParityChunks: true }, // ENC-061
};

/**
 * Receiving faults of the SPQR chain and field 6: the SDK's per-client decryption (reached through
 * its private members, in this test-only code path) calls the crypto core with the deviations of
 * the variant. A peer's changed identity still goes through the SDK's own path.
 */
export function breakDecryption(client: ParleyClient, faults: Faults): void {
  const deviations: DecryptDeviations = Object.assign(
    {},
    ...Object.entries(DECRYPT_FAULTS)
      .filter(([fault]) => faults.has(fault))
      .map(([, d]) => d),
  ) as DecryptDeviations;
  if (Object.keys(deviations).length === 0) return;
  const sessions = (client as unknown as { sessions: Sessions }).sessions;
  const store = (sessions as unknown as { store: ProtocolStores }).store;
  const honest = sessions.decrypt.bind(sessions);
  sessions.decrypt = async (address, type, body) => {
    try {
      return await sessions.lock.run(() =>
        decrypt({ type, body: unb64(body) }, address, store, {}, deviations),
      );
    } catch (error) {
      if (error instanceof ProtocolError && error.code === ProtocolErrorCode.UntrustedIdentity)
        return honest(address, type, body);
      throw error;
    }
  };
}

/**
 * The `sessions-on-wall-clock` variant (ENC-058): the SDK's sessions are timed by the machine's
 * clock, not the client's own, so a session left unanswered while the client's clock moved a month
 * on is used again.
 */
export function breakSessionClock(client: ParleyClient, faults: Faults): void {
  if (!faults.has('sessions-on-wall-clock')) return;
  const sessions = (client as unknown as { sessions: Sessions }).sessions;
  (sessions as unknown as { now: () => number }).now = Date.now;
}

/** Whether the `unknown-error-as-success` variant reports `error` as a success (PROTO-043). */
export function unknownErrorIgnored(error: unknown, faults: Faults): boolean {
  const details = (error as { details?: unknown }).details;
  return (
    faults.has('unknown-error-as-success') &&
    typeof details === 'object' &&
    details !== null &&
    'unknownCode' in details
  );
}

/** The version byte libsignal 0.72 wrote for an X3DH session. */
const X3DH_VERSION_BYTE = 0x34;

/** The frame rewrites of the wire faults: `up` client → provider, `down` provider → client. */
function rewritesFor(faults: Faults): { up: Rewrite[]; down: Rewrite[] } {
  const { up, down } = groupRewrites(faults);
  if (faults.has('bad-request-ids')) {
    // PROTO-008: a space is outside [A-Za-z0-9._:-]; replies are mapped back so the client works on.
    up.push((f) => (typeof f.id === 'string' ? { ...f, id: `${f.id} x` } : f));
    down.push((f) => (typeof f.re === 'string' ? { ...f, re: f.re.replace(/ x$/, '') } : f));
  }
  if (faults.has('extra-frame-member')) up.push((f) => ({ ...f, trace: 'debug' }));
  if (faults.has('frame-without-v')) up.push(({ v: _, ...f }) => f);
  if (faults.has('fixed-idempotency-key'))
    up.push((f) =>
      f.type === 'message.send' ? { ...f, idempotencyKey: FIXED_IDEMPOTENCY_KEY } : f,
    );
  if (faults.has('ignore-advertised-limits'))
    down.push((f) =>
      f.type === 'welcome' ? { ...f, limits: { ...(f.limits as Json), ...GENEROUS_LIMITS } } : f,
    );
  if (faults.has('ignore-keys-low')) down.push((f) => (f.type === 'keys.low' ? undefined : f));
  if (faults.has('send-x3dh-version'))
    // ENC-022: every 1:1 body goes out with the version byte of an X3DH session (a group send
    // carries no `messages`: it passes as it is).
    up.push((f) =>
      f.type === 'message.send' && Array.isArray(f.messages)
        ? {
            ...f,
            messages: (f.messages as Json[]).map((m) => {
              const body = Buffer.from(String(m.body), 'base64url');
              body[0] = X3DH_VERSION_BYTE;
              return { ...m, body: body.toString('base64url') };
            }),
          }
        : f,
    );
  if (faults.has('reuse-unanswered-ids')) {
    // PROTO-009: a message.ack sent while a message.send is unanswered goes out under the send's
    // id. Its message.acked reply is mapped back to the ack's own id, so the client works on.
    const unansweredSends = new Set<string>();
    const ackIds = new Map<string, string[]>();
    up.push((f) => {
      if (typeof f.id !== 'string') return f;
      if (f.type === 'message.send') unansweredSends.add(f.id);
      const [send] = unansweredSends;
      if (f.type !== 'message.ack' || send === undefined) return f;
      ackIds.set(send, [...(ackIds.get(send) ?? []), f.id]);
      return { ...f, id: send };
    });
    down.push((f) => {
      if (typeof f.re !== 'string') return f;
      const acks = ackIds.get(f.re);
      if (f.type === 'message.acked' && acks && acks.length > 0) return { ...f, re: acks.shift() };
      unansweredSends.delete(f.re);
      return f;
    });
  }
  if (faults.has('give-up-on-device-mismatch'))
    down.push((f) =>
      f.type === 'error' && f.code === 'DEVICE_MISMATCH'
        ? { v: f.v, type: f.type, re: f.re, code: 'INTERNAL', message: f.message }
        : f,
    );
  return { up, down };
}

/**
 * Applies `rewrites` to a text frame that is a JSON object (undefined: the frame is dropped);
 * anything else passes unchanged.
 */
function rewritten(data: RawData, rewrites: Rewrite[]): string | undefined {
  const text = String(data);
  if (rewrites.length === 0) return text;
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return text;
  let out: Json | undefined = frame as Json;
  for (const rewrite of rewrites) out = out && rewrite(out);
  return out && JSON.stringify(out);
}

/** A loopback relay between the client and the provider at `upstream` that rewrites frames. */
export class WireRelay {
  private constructor(private readonly server: WebSocketServer) {}

  /** Starts a relay when the variant has a wire fault; undefined otherwise. */
  static async startFor(upstream: string, faults: Faults): Promise<WireRelay | undefined> {
    const { up, down } = rewritesFor(faults);
    if (up.length === 0 && down.length === 0) return undefined;
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('connection', (client) => {
      const provider = new WebSocket(upstream);
      const queued: string[] = [];
      provider.on('open', () => {
        for (const text of queued.splice(0)) provider.send(text);
      });
      client.on('message', (data) => {
        const text = rewritten(data, up);
        if (text === undefined) return;
        if (provider.readyState === WebSocket.OPEN) provider.send(text);
        else queued.push(text);
      });
      provider.on('message', (data) => {
        const text = rewritten(data, down);
        if (text !== undefined) client.send(text);
      });
      // A drop on either side drops the other, as on a direct connection.
      provider.on('close', () => client.terminate());
      client.on('close', () => provider.terminate());
      provider.on('error', () => undefined);
      client.on('error', () => undefined);
    });
    return new WireRelay(server);
  }

  /** The relay's endpoint, `ws://127.0.0.1:<port>/`. */
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** Drops every relayed connection and stops listening. */
  async close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
