/**
 * A load process for bench/connections.ts: registers test accounts, then opens and authenticates
 * its slice of idle connections and holds them, and times deliveries to randomly chosen ones
 * (spec/auth.md, spec/messages.md). The parent drives it over the IPC channel: each command
 * `{id, op, ...}` is answered by `{id, ok, result}` or `{id, ok: false, error}`.
 *
 * It runs in its own process because every process has its own open-file limit, and so that the
 * provider under test competes with its load only for CPU, as it would on a real machine.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  decrypt,
  encrypt,
  generateKyberPreKey,
  generateSignedPreKey,
  InMemoryProtocolStore,
  processPreKeyBundle,
} from '../../reference-impl/crypto/index.ts';
import {
  decodePlaintext,
  encodePlaintext,
  textContent,
} from '../../reference-impl/client/index.ts';
import { benchAccount, WireClient, WireError, type WireFrame } from './wire-client.ts';

/** Registrations in flight at once on one registering connection. */
const REGISTER_WINDOW = 32;
/** Connections that register in parallel. */
const REGISTER_CONNECTIONS = 4;

/** Registers accounts `from` ≤ index < `to` of `seed` (AUTH-023). */
export interface RegisterCommand {
  op: 'register';
  url: string;
  registrationToken: string;
  seed: string;
  from: number;
  to: number;
  timeoutMs: number;
}

/** Opens and authenticates one connection per account `from` ≤ index < `to`, and holds them. */
export interface ConnectCommand {
  op: 'connect';
  url: string;
  domain: string;
  seed: string;
  from: number;
  to: number;
  /** The sending device for probes: an account index outside [from, to). */
  sender: number;
  localAddress?: string;
  /** Handshakes (open + hello + auth) in flight at once. */
  concurrency: number;
  timeoutMs: number;
}

/**
 * Opens `count` bare WebSocket connections (the baseline server speaks no protocol; a proxy's
 * clients send only its login header).
 */
export interface BareCommand {
  op: 'bare';
  url: string;
  count: number;
  /** Headers of every upgrade (bench/proxy.ts: the platform login). */
  headers?: Record<string, string>;
  localAddress?: string;
  concurrency: number;
  timeoutMs: number;
}

/** Times `samples` deliveries from the sender to randomly chosen held connections. */
export interface ProbeCommand {
  op: 'probe';
  samples: number;
  timeoutMs: number;
}

/** Closes everything and exits. */
export interface CloseCommand {
  op: 'close';
}

export type LoadCommand =
  RegisterCommand | ConnectCommand | BareCommand | ProbeCommand | CloseCommand;

/** What `connect` and `bare` report. */
export interface ConnectResult {
  opened: number;
  failed: number;
  firstError?: string;
  /** Milliseconds from the first handshake to the last. */
  ms: number;
}

/** What `probe` reports: milliseconds from `message.send` to the recipient's push, per sample. */
export interface ProbeResult {
  latenciesMs: number[];
  /** Milliseconds from `message.send` to `message.accepted`, per sample. */
  acceptMs: number[];
  /** Samples whose push did not arrive within the timeout. */
  lost: number;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once. */
async function pool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/** One held, authenticated device. */
interface Held {
  index: number;
  address: string;
  client: WireClient;
}

const held: Held[] = [];
const bare: WebSocket[] = [];

/** A held connection sends `ping` this often, as an idle client does (PROTO-029, PROTO-028). */
const KEEPALIVE_MS = 30_000;
/** Keep-alive pings are spread over ticks of this length instead of leaving together. */
const KEEPALIVE_TICK_MS = 1_000;
let keepAliveCursor = 0;
setInterval(() => {
  const due = Math.ceil((held.length * KEEPALIVE_TICK_MS) / KEEPALIVE_MS);
  for (let k = 0; k < due && held.length > 0; k += 1)
    held[keepAliveCursor++ % held.length]!.client.request('ping').catch(() => undefined);
}, KEEPALIVE_TICK_MS).unref();
let sender: Held | undefined;
let seedOfRun = '';
/** Each probe's signed prekey id and idempotency key, unique within the run. */
let probeKeyId = 1;

async function register(c: RegisterCommand): Promise<{ registered: number; ms: number }> {
  const start = performance.now();
  const clients = await Promise.all(
    Array.from({ length: REGISTER_CONNECTIONS }, async () => {
      const client = await WireClient.open({ url: c.url, timeoutMs: c.timeoutMs });
      await client.hello();
      return client;
    }),
  );
  let registered = 0;
  await pool(c.to - c.from, REGISTER_CONNECTIONS * REGISTER_WINDOW, async (i) => {
    const client = clients[i % REGISTER_CONNECTIONS]!;
    await client.register(benchAccount(c.seed, c.from + i), c.registrationToken);
    registered += 1;
  });
  await Promise.all(clients.map((client) => client.close()));
  return { registered, ms: performance.now() - start };
}

async function authenticated(c: ConnectCommand, index: number): Promise<Held> {
  const account = benchAccount(c.seed, index);
  const address = `${account.name}@${c.domain}`;
  const client = await WireClient.open({
    url: c.url,
    timeoutMs: c.timeoutMs,
    ...(c.localAddress ? { localAddress: c.localAddress } : {}),
  });
  await client.hello();
  await client.authenticate(account, address);
  return { index, address, client };
}

async function connect(c: ConnectCommand): Promise<ConnectResult> {
  seedOfRun = c.seed;
  sender = await authenticated(c, c.sender);
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  await pool(c.to - c.from, c.concurrency, async (i) => {
    try {
      held.push(await authenticated(c, c.from + i));
    } catch (error) {
      failed += 1;
      firstError ??= (error as Error).message;
    }
  });
  return {
    opened: held.length,
    failed,
    ...(firstError ? { firstError } : {}),
    ms: performance.now() - start,
  };
}

async function openBare(c: BareCommand): Promise<ConnectResult> {
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  await pool(c.count, c.concurrency, async () => {
    const ws = new WebSocket(c.url, {
      perMessageDeflate: false,
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.localAddress ? { localAddress: c.localAddress } : {}),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no handshake in time')), c.timeoutMs);
        ws.once('open', () => (clearTimeout(timer), resolve()));
        ws.once('error', (e) => (clearTimeout(timer), reject(e)));
      });
      ws.on('error', () => undefined);
      bare.push(ws);
    } catch (error) {
      ws.terminate();
      failed += 1;
      firstError ??= (error as Error).message;
    }
  });
  return {
    opened: bare.length,
    failed,
    ...(firstError ? { firstError } : {}),
    ms: performance.now() - start,
  };
}

/** Waits for the push of a `message` whose body is `body` on `client`, or undefined on timeout. */
function nextMessage(
  client: WireClient,
  body: string,
  timeoutMs: number,
): Promise<WireFrame | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.onPush = () => undefined;
      resolve(undefined);
    }, timeoutMs);
    client.onPush = (frame) => {
      if (frame.type !== 'message' || frame.body !== body) return;
      clearTimeout(timer);
      client.onPush = () => undefined;
      resolve(frame);
    };
  });
}

/**
 * One probe: a real PQXDH session from the sender to the recipient's identity (the recipient's
 * signed prekey and Kyber prekey are made here, since this process holds its derived identity), a PreKeySignalMessage
 * sent through the provider, timed until the push arrives; the recipient then decrypts it, checks
 * the content and acks the delivery (DELIV-024).
 */
async function probeOnce(
  from: Held,
  to: Held,
  keyId: number,
  timeoutMs: number,
): Promise<{ latency?: number; accept?: number }> {
  const senderAccount = benchAccount(seedOfRun, from.index);
  const recipient = benchAccount(seedOfRun, to.index);
  const senderStore = new InMemoryProtocolStore(
    senderAccount.identity,
    senderAccount.registrationId,
  );
  const recipientStore = new InMemoryProtocolStore(recipient.identity, recipient.registrationId);
  const signed = generateSignedPreKey(recipient.identity, keyId);
  await recipientStore.saveSignedPreKey(signed.keyId, signed);
  const kyber = generateKyberPreKey(recipient.identity, keyId);
  await recipientStore.saveKyberPreKey(kyber.keyId, kyber);
  const address = { name: to.address, deviceId: 1 };
  await processPreKeyBundle(
    {
      registrationId: recipient.registrationId,
      deviceId: 1,
      identityKey: recipient.identity.publicKey,
      signedPreKeyId: signed.keyId,
      signedPreKey: signed.keyPair.publicKey,
      signedPreKeySignature: signed.signature,
      kyberPreKeyId: kyber.keyId,
      kyberPreKey: kyber.keyPair.publicKey,
      kyberPreKeySignature: kyber.signature,
    },
    address,
    senderStore,
  );
  const content = textContent(`probe ${keyId}`);
  const ciphertext = await encrypt(encodePlaintext(content), address, senderStore);
  const body = Buffer.from(ciphertext.body).toString('base64url');
  const arrived = nextMessage(to.client, body, timeoutMs);
  const start = performance.now();
  let accept: number | undefined;
  const sent = from.client
    .request('message.send', {
      to: to.address,
      idempotencyKey: `probe-${keyId}`,
      messages: [
        { deviceId: 1, registrationId: recipient.registrationId, type: ciphertext.type, body },
      ],
    })
    .then(() => {
      accept = performance.now() - start;
    });
  const push = await arrived;
  const latency = performance.now() - start;
  await sent;
  if (!push) return { ...(accept !== undefined ? { accept } : {}) };
  const plain = await decrypt(
    { type: push.ciphertextType as 'prekey', body: Buffer.from(push.body as string, 'base64url') },
    { name: from.address, deviceId: 1 },
    recipientStore,
  );
  const decoded = decodePlaintext(plain);
  if (!decoded.ok || decoded.content.id !== content.id)
    throw new WireError(`probe ${keyId}: the recipient decrypted something else`);
  await to.client.request('message.ack', { deliveryIds: [push.id] });
  return { latency, ...(accept !== undefined ? { accept } : {}) };
}

async function probe(c: ProbeCommand): Promise<ProbeResult> {
  if (!sender || held.length === 0) throw new WireError('probe needs held connections first');
  const latenciesMs: number[] = [];
  const acceptMs: number[] = [];
  let lost = 0;
  for (let i = 0; i < c.samples; i += 1) {
    const to = held[Math.floor(Math.random() * held.length)]!;
    const result = await probeOnce(sender, to, probeKeyId++, c.timeoutMs);
    if (result.latency === undefined) lost += 1;
    else latenciesMs.push(result.latency);
    if (result.accept !== undefined) acceptMs.push(result.accept);
  }
  return { latenciesMs, acceptMs, lost };
}

async function closeAll(): Promise<void> {
  const all = [...held.map((h) => h.client), ...(sender ? [sender.client] : [])];
  await pool(all.length, 256, (i) => all[i]!.close());
  for (const ws of bare) ws.terminate();
}

async function run(command: LoadCommand): Promise<unknown> {
  switch (command.op) {
    case 'register':
      return register(command);
    case 'connect':
      return connect(command);
    case 'bare':
      return openBare(command);
    case 'probe':
      return probe(command);
    case 'close':
      await closeAll();
      return {};
  }
}

process.on('message', (message: { id: number } & LoadCommand) => {
  run(message).then(
    (result) => {
      process.send!({ id: message.id, ok: true, result });
      if (message.op === 'close') process.disconnect();
    },
    (error: unknown) =>
      process.send!({
        id: message.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
process.send!({ ready: true });
