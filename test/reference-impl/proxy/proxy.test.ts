// The reference partner proxy (reference-impl/proxy, spec/proxy.md): against a real `parley serve`
// on a real port, bob of chat.example talks to alice of wa.example through it; against a recording
// upstream, it forwards bytes unchanged, one upstream per client for the client's lifetime, passes
// refusals and close codes back, conveys the client's address, and streams attachment bodies.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';
import { main } from '../../../conformance/cli/main.ts';
import {
  downloadAttachment,
  generatePartnerKey,
  ParleyClient,
  type ParleyError,
  uploadAttachment,
  SqliteClientStore,
  type IncomingMessage as ParleyMessage,
} from '../../../reference-impl/client/index.ts';
import {
  importSigningKey,
  jwtLogin,
  LOGIN_HEADER,
  startProxy,
  type RunningProxy,
} from '../../../reference-impl/proxy/index.ts';
import { silentLogger, startProvider } from '../../../reference-impl/server/index.ts';
import { selfSignedCertificate } from '../../support/tls.ts';

const BIN = new URL('../../../bin/parley.js', import.meta.url).pathname;
const TOKEN = 'registration-token-for-proxy-tests';

/** A login service of chat.example: its key signs the tokens the proxy checks. */
async function loginService(): Promise<{ publicJwk: JWK; login(sub: string): Promise<string> }> {
  const { key, publicJwk } = await generatePartnerKey('login.chat.example');
  const signing = await importJWK(key.privateJwk, 'EdDSA');
  return {
    publicJwk,
    login: (sub) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
        .setSubject(sub)
        .setAudience('parley-proxy')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(signing),
  };
}

/** `parley serve` as a child process on a free port; resolves once it listens. */
async function serve(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event: string; port?: number };
      if (event.event === 'listening') resolve(event.port!);
    });
    child.on('exit', () => reject(new Error('parley serve exited before listening')));
  });
  return { child, port };
}

function nextMessage(client: ParleyClient, from: string): Promise<ParleyMessage> {
  return new Promise((resolve) => {
    const listener = (m: ParleyMessage): void => {
      if (m.from !== from) return;
      client.off('message', listener);
      resolve(m);
    };
    client.on('message', listener);
  });
}

/** One WebSocket upgrade: the open socket, or the refusal's status, headers and body. */
function upgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket } | { status: number; body: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, res }));
    });
    ws.on('error', (e) => {
      if (!e.message.includes('Unexpected server response')) reject(e);
    });
  });
}

const until = async (what: string, check: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('parley proxy between chat.example’s clients and a real parley serve', function () {
  this.timeout(60_000);
  let dir: string;
  let server: { child: ChildProcess; port: number };
  let proxy: RunningProxy;
  let partner: Awaited<ReturnType<typeof generatePartnerKey>>;
  let service: Awaited<ReturnType<typeof loginService>>;
  const clients: ParleyClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-proxy-'));
    partner = await generatePartnerKey('chat.example');
    service = await loginService();
    writeFileSync(
      join(dir, 'partner.pub.json'),
      JSON.stringify({ ...partner.publicJwk, domain: 'chat.example', kid: partner.key.kid }),
    );
    writeFileSync(
      join(dir, 'proxy.json'),
      JSON.stringify({ domain: 'chat.example', addresses: ['127.0.0.1'], maxConnections: 100 }),
    );
    server = await serve([
      '--db',
      join(dir, 'provider.db'),
      '--domain',
      'wa.example',
      '--registration-token',
      TOKEN,
      '--enlist',
      join(dir, 'partner.pub.json'),
      '--enlist-proxy',
      join(dir, 'proxy.json'),
    ]);
    proxy = await startProxy({
      upstream: `ws://127.0.0.1:${server.port}/parley/v1`,
      providerDomain: 'wa.example',
      key: await importSigningKey({
        ...partner.key.privateJwk,
        domain: 'chat.example',
        kid: partner.key.kid,
      }),
      login: jwtLogin([service.publicJwk]),
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await proxy?.close();
    server?.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (
    name: string,
    options: Partial<ConstructorParameters<typeof ParleyClient>[0]>,
  ) => {
    const c = new ParleyClient({
      url: `ws://127.0.0.1:${server.port}/parley/v1`,
      store: new SqliteClientStore(join(dir, `${name}.db`)),
      reconnect: false,
      ...options,
    });
    clients.push(c);
    return c;
  };

  it('lets bob of chat.example, through the proxy, and alice of wa.example, directly, exchange end-to-end encrypted messages stamped with bob’s platform', async () => {
    const alice = client('alice', {});
    const bob = client('bob', {
      url: proxy.wsUrl,
      partner: partner.key,
      upgradeHeaders: async () => ({ [LOGIN_HEADER]: await service.login('bob@chat.example') }),
    });
    const a = await alice.connect({ method: 'register', registrationToken: TOKEN, name: 'alice' });
    const b = await bob.connect({ method: 'partner', address: 'bob@chat.example' });
    expect(b.origin).to.deep.equal({ platform: 'chat.example', thirdParty: true });
    expect(proxy.clients).to.equal(1);
    await alice.setConsent({ enabled: true, platforms: 'all', inbox: 'separate' });
    const hello = nextMessage(alice, b.address);
    await bob.sendText(a.address, 'Hi Alice, through chat.example’s proxy');
    const got = await hello;
    expect(got.content).to.include({
      kind: 'text',
      body: 'Hi Alice, through chat.example’s proxy',
    });
    expect(got.origin).to.deep.equal({ platform: 'chat.example', thirdParty: true });
    await alice.respondToRequest(b.address, 'accept');
    const reply = nextMessage(bob, a.address);
    await alice.sendText(b.address, 'Hi Bob');
    expect((await reply).content).to.include({ kind: 'text', body: 'Hi Bob' });
  });

  it('has parley serve refuse with AUTH_FAILED carol’s partner session through the proxy on bob’s login, since the proxy names bob in its token, and accept carol on her own login (PROXY-007, PROXY-028)', async () => {
    const onLogin = (login: string) =>
      client(`carol-as-${login.split('@')[0]}`, {
        url: proxy.wsUrl,
        partner: partner.key,
        upgradeHeaders: async () => ({ [LOGIN_HEADER]: await service.login(login) }),
      });
    const refused = await onLogin('bob@chat.example')
      .connect({ method: 'partner', address: 'carol@chat.example' })
      .then(
        () => undefined,
        (error: ParleyError) => error,
      );
    expect(refused?.code).to.equal('AUTH_FAILED');
    const carol = await onLogin('carol@chat.example').connect({
      method: 'partner',
      address: 'carol@chat.example',
    });
    expect(carol.address).to.equal('carol@chat.example');
  });

  it('carries dora’s 3 MiB attachment upload and its download through the proxy to parley serve, bytes unchanged', async () => {
    const headers = async (): Promise<Record<string, string>> => ({
      [LOGIN_HEADER]: await service.login('dora@chat.example'),
    });
    const dora = client('dora', {
      url: proxy.wsUrl,
      partner: partner.key,
      upgradeHeaders: headers,
    });
    await dora.connect({ method: 'partner', address: 'dora@chat.example' });
    const blob = randomBytes(3 * 1024 * 1024);
    const digest = createHash('sha256').update(blob).digest('base64url');
    const slot = await dora.slotAttachment('document', blob.length, digest);
    // The provider's URLs, sent to the proxy's origin with their path and query unchanged.
    const viaProxy = (url: string): string => {
      const u = new URL(url);
      return `${proxy.httpUrl}${u.pathname}${u.search}`;
    };
    const exchange = (
      url: string,
      method: string,
      extra: Record<string, string>,
      body?: Buffer,
    ): Promise<{ status: number; body: Buffer }> =>
      new Promise((resolve, reject) => {
        void headers().then((login) => {
          const req = request(viaProxy(url), { method, headers: { ...login, ...extra } });
          req.on('response', (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }),
            );
          });
          req.on('error', reject);
          req.end(body);
        });
      });
    const put = await exchange(
      slot.uploadUrl,
      'PUT',
      { authorization: `Bearer ${slot.uploadToken}`, 'content-length': String(blob.length) },
      blob,
    );
    expect(put.status, put.body.toString()).to.equal(201);
    const got = await exchange(slot.downloadUrl, 'GET', {});
    expect(got.status).to.equal(200);
    expect(got.body.equals(blob)).to.equal(true);
  });

  it('lets the SDK of erin, behind the proxy, upload an encrypted attachment and download it back through the proxy (HttpVia)', async () => {
    const headers = async (): Promise<Record<string, string>> => ({
      [LOGIN_HEADER]: await service.login('erin@chat.example'),
    });
    const erin = client('erin', {
      url: proxy.wsUrl,
      partner: partner.key,
      upgradeHeaders: headers,
    });
    await erin.connect({ method: 'partner', address: 'erin@chat.example' });
    const via = { origin: proxy.httpUrl, headers };
    const file = randomBytes(300_000);
    const pointer = await uploadAttachment(erin, Readable.from([file]), {
      kind: 'document',
      mediaType: 'application/pdf',
      fileName: 'minutes.pdf',
      size: file.length,
      via,
    });
    const parts: Buffer[] = [];
    for await (const part of await downloadAttachment(pointer, via)) parts.push(part as Buffer);
    expect(Buffer.concat(parts).equals(file)).to.equal(true);
  });

  it('refuses a client without a platform login with 401 and opens nothing upstream', async () => {
    const before = proxy.clients;
    const refused = await upgrade(proxy.wsUrl, {});
    expect(refused).to.include({ status: 401 });
    expect(JSON.parse((refused as { body: string }).body)).to.include({ code: 'AUTH_FAILED' });
    expect(proxy.clients).to.equal(before);
  });

  it('passes the provider’s 403 PROXY_REFUSED back unchanged when its key is not enlisted', async () => {
    const stranger = await generatePartnerKey('chat.example');
    const other = await startProxy({
      upstream: `ws://127.0.0.1:${server.port}/parley/v1`,
      providerDomain: 'wa.example',
      key: await importSigningKey({
        ...stranger.key.privateJwk,
        domain: 'chat.example',
        kid: stranger.key.kid,
      }),
      login: jwtLogin([service.publicJwk]),
    });
    try {
      const refused = await upgrade(other.wsUrl, {
        [LOGIN_HEADER]: await service.login('bob@chat.example'),
      });
      expect(refused).to.include({ status: 403 });
      expect(JSON.parse((refused as { body: string }).body)).to.deep.equal({
        code: 'PROXY_REFUSED',
        message: 'not an enlisted proxy',
      });
    } finally {
      await other.close();
    }
  });
});

describe('parley proxy against a recording upstream', function () {
  this.timeout(30_000);
  let upstream: Server;
  let wss: WebSocketServer;
  let proxy: RunningProxy;
  let service: Awaited<ReturnType<typeof loginService>>;
  let signer: Awaited<ReturnType<typeof generatePartnerKey>>;
  /** Each upstream connection with its upgrade headers and what it received. */
  let links: { ws: WebSocket; headers: IncomingMessage['headers']; got: [Buffer, boolean][] }[];
  let refuseNext: { status: number; body: string } | undefined;
  let uploads: { headers: IncomingMessage['headers']; digest: string; bytes: number }[];

  beforeEach(async () => {
    links = [];
    uploads = [];
    refuseNext = undefined;
    upstream = createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => {
        const digest = hash.digest('hex');
        uploads.push({ headers: req.headers, digest, bytes });
        res.writeHead(201, { 'content-type': 'application/json', 'upload-offset': String(bytes) });
        res.end(JSON.stringify({ digest }));
      });
    });
    wss = new WebSocketServer({ noServer: true });
    upstream.on('upgrade', (req, socket, head) => {
      if (refuseNext) {
        const { status, body } = refuseNext;
        socket.end(
          `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\nretry-after: 7\r\n` +
            `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const link = { ws, headers: req.headers, got: [] as [Buffer, boolean][] };
        links.push(link);
        ws.on('message', (data: Buffer, isBinary) => link.got.push([data, isBinary]));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    service = await loginService();
    signer = await generatePartnerKey('chat.example');
    proxy = await startProxy({
      upstream: `ws://127.0.0.1:${port}/parley/v1`,
      providerDomain: 'wa.example',
      key: await importSigningKey({
        ...signer.key.privateJwk,
        domain: 'chat.example',
        kid: signer.key.kid,
      }),
      login: jwtLogin([service.publicJwk]),
    });
  });

  afterEach(async () => {
    await proxy.close();
    for (const l of links) l.ws.terminate();
    wss.close();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  const connect = async (): Promise<WebSocket> => {
    const u = await upgrade(proxy.wsUrl, {
      [LOGIN_HEADER]: await service.login('bob@chat.example'),
    });
    if (!('ws' in u)) throw new Error(`refused: ${u.status} ${u.body}`);
    return u.ws;
  };

  it('forwards every message byte for byte in both directions, text as text and binary as binary', async () => {
    const bob = await connect();
    const received: [Buffer, boolean][] = [];
    bob.on('message', (data: Buffer, isBinary) => received.push([data, isBinary]));
    // Member order, whitespace and escapes a re-serialising proxy would change.
    const up = [
      Buffer.from('{ "type":"ping", "v":1,\n"id":"a\\u0062" }'),
      Buffer.from('{"v":1,"type":"message.send","id":"x","body":"AAECAwQ"}   '),
    ];
    for (const frame of up) bob.send(frame, { binary: false });
    bob.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    await until('three messages upstream', () => links[0]?.got.length === 3);
    expect(links[0]!.got.map(([d]) => d.toString('hex'))).to.deep.equal([
      ...up.map((b) => b.toString('hex')),
      '000102ff',
    ]);
    expect(links[0]!.got.map(([, binary]) => binary)).to.deep.equal([false, false, true]);
    const down = Buffer.from('{"re":"ab","v":1,"type":"pong"  }');
    links[0]!.ws.send(down, { binary: false });
    await until('one message downstream', () => received.length === 1);
    expect(received[0]![0].equals(down)).to.equal(true);
    expect(received[0]![1]).to.equal(false);
    bob.terminate();
  });

  it('opens one upstream connection per client, each with its own signed token naming the client’s address and the user it logged in as', async () => {
    const [bob, carol] = [await connect(), await connect()];
    await until('two upstream links', () => links.length === 2);
    const tokens = links.map((l) => String(l.headers['parley-proxy']));
    expect(new Set(tokens).size).to.equal(2);
    for (const t of tokens) {
      expect(decodeProtectedHeader(t)).to.include({ alg: 'EdDSA', typ: 'parley-proxy+jwt' });
      expect(decodeJwt(t)).to.include({
        iss: 'chat.example',
        aud: 'wa.example',
        addr: '127.0.0.1',
        sub: 'bob@chat.example',
      });
    }
    expect(links.every((l) => l.headers[LOGIN_HEADER] === undefined)).to.equal(true);
    bob.send('one');
    carol.send('two');
    await until('each message on its own link', () => links.every((l) => l.got.length === 1));
    expect(links.map((l) => String(l.got[0]![0])).sort()).to.deep.equal(['one', 'two']);
    bob.terminate();
    carol.terminate();
  });

  it('closes the upstream connection when the client goes, with the client’s close code', async () => {
    const bob = await connect();
    await until('an upstream link', () => links.length === 1);
    const upstreamClosed = new Promise<number>((r) =>
      links[0]!.ws.once('close', (code) => r(code)),
    );
    bob.close(4000, 'bye');
    expect(await upstreamClosed).to.equal(4000);
    expect(proxy.clients).to.equal(0);
  });

  it('closes the client with the upstream’s close code when the provider closes', async () => {
    const bob = await connect();
    await until('an upstream link', () => links.length === 1);
    const closed = new Promise<number>((r) => bob.once('close', (code) => r(code)));
    links[0]!.ws.close(4401, 'auth failed');
    expect(await closed).to.equal(4401);
    await until('no client left', () => proxy.clients === 0);
  });

  it('passes a refusal of the upstream upgrade back with its status, Retry-After and body unchanged', async () => {
    refuseNext = {
      status: 429,
      body: '{"code":"RATE_LIMITED","message":"slow down","retryAfterMs":7000}',
    };
    const refused = await upgrade(proxy.wsUrl, {
      [LOGIN_HEADER]: await service.login('bob@chat.example'),
    });
    if ('ws' in refused) throw new Error('upgraded');
    expect(refused.status).to.equal(429);
    expect(refused.body).to.equal(refuseNext.body);
    expect(refused.res.headers['retry-after']).to.equal('7');
  });

  it('streams a 48 MiB attachment upload to the provider unchanged, with its own proxy token and without the login', async () => {
    const body = randomBytes(48 * 1024 * 1024);
    const login = await service.login('bob@chat.example');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${proxy.httpUrl}/parley/v1/uploads/blob1`, {
        method: 'PUT',
        headers: {
          [LOGIN_HEADER]: login,
          authorization: 'Bearer upload-token',
          'content-length': String(body.length),
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).to.equal(201);
    expect(uploads).to.have.length(1);
    expect(uploads[0]!.bytes).to.equal(body.length);
    expect(uploads[0]!.digest).to.equal(createHash('sha256').update(body).digest('hex'));
    expect(uploads[0]!.headers.authorization).to.equal('Bearer upload-token');
    expect(uploads[0]!.headers[LOGIN_HEADER]).to.equal(undefined);
    expect(decodeJwt(String(uploads[0]!.headers['parley-proxy']))).to.include({
      addr: '127.0.0.1',
    });
  });
});

describe('parley proxy as a process', function () {
  this.timeout(60_000);
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-proxy-cli-'))));
  afterEach(() => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('relays hello and welcome between a logged-in client and parley serve, and refuses a client without a login', async () => {
    const partner = await generatePartnerKey('chat.example');
    const service = await loginService();
    const key = { ...partner.key.privateJwk, domain: 'chat.example', kid: partner.key.kid };
    const pub = { ...partner.publicJwk, domain: 'chat.example', kid: partner.key.kid };
    writeFileSync(join(dir, 'partner.json'), JSON.stringify(key));
    writeFileSync(join(dir, 'partner.pub.json'), JSON.stringify(pub));
    writeFileSync(join(dir, 'login.pub.json'), JSON.stringify(service.publicJwk));
    writeFileSync(
      join(dir, 'proxy.json'),
      JSON.stringify({ domain: 'chat.example', addresses: ['127.0.0.0/8'] }),
    );
    const provider = await serve([
      '--db',
      join(dir, 'provider.db'),
      '--domain',
      'wa.example',
      '--registration-token',
      TOKEN,
      '--enlist',
      join(dir, 'partner.pub.json'),
      '--enlist-proxy',
      join(dir, 'proxy.json'),
    ]);
    children.push(provider.child);
    const proxyChild = spawn(
      process.execPath,
      [
        BIN,
        'proxy',
        '--upstream',
        `ws://127.0.0.1:${provider.port}/parley/v1`,
        '--provider-domain',
        'wa.example',
        '--partner-key',
        join(dir, 'partner.json'),
        '--login-key',
        join(dir, 'login.pub.json'),
        '--listen',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(proxyChild);
    const httpUrl = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: proxyChild.stderr! });
      lines.on('line', (line) => {
        const event = JSON.parse(line) as { event: string; httpUrl?: string };
        if (event.event === 'listening') resolve(event.httpUrl!);
      });
      proxyChild.on('exit', () => reject(new Error('parley proxy exited before listening')));
    });
    const wsUrl = `${httpUrl.replace('http', 'ws')}/parley/v1`;
    expect(await upgrade(wsUrl, {})).to.include({ status: 401 });
    const u = await upgrade(wsUrl, { [LOGIN_HEADER]: await service.login('bob@chat.example') });
    if (!('ws' in u)) throw new Error(`refused: ${u.status} ${u.body}`);
    const welcome = new Promise<Record<string, unknown>>((r) =>
      u.ws.once('message', (d) => r(JSON.parse(String(d)) as Record<string, unknown>)),
    );
    u.ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'h1', versions: [1] }));
    const w = await welcome;
    expect(w).to.include({ type: 'welcome', re: 'h1' });
    expect(w.capabilities).to.include('proxy');
    u.ws.terminate();
  });
});

describe('parley conform --proxy against parley proxy as a process', function () {
  this.timeout(90_000);
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-conform-proxy-'))));
  afterEach(() => {
    child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every proxy case, with the suite as the provider at --proxy-upstream and test users logged in by --proxy-login-cmd', async () => {
    const partner = await generatePartnerKey('chat.example');
    const service = await generatePartnerKey('login.chat.example');
    writeFileSync(
      join(dir, 'partner.json'),
      JSON.stringify({ ...partner.key.privateJwk, domain: 'chat.example', kid: partner.key.kid }),
    );
    writeFileSync(
      join(dir, 'partner.pub.json'),
      JSON.stringify({ ...partner.publicJwk, domain: 'chat.example', kid: partner.key.kid }),
    );
    writeFileSync(join(dir, 'login.pub.json'), JSON.stringify(service.publicJwk));
    writeFileSync(join(dir, 'login.json'), JSON.stringify(service.key.privateJwk));
    // The platform's login driver: prints the Parley-Login header for the address it is given.
    const script = join(dir, 'login.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from ${JSON.stringify(import.meta.resolve('jose'))};
const key = await importJWK(JSON.parse(readFileSync(${JSON.stringify(join(dir, 'login.json'))}, 'utf8')), 'EdDSA');
const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject(process.argv[2])
  .setAudience('parley-proxy').setIssuedAt().setExpirationTime('5m').sign(key);
console.log(JSON.stringify({ 'Parley-Login': token }));
`,
    );
    // A free port for the suite's provider endpoint, which the proxy is pointed at.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const upstreamPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    child = spawn(
      process.execPath,
      [
        BIN,
        'proxy',
        '--upstream',
        `ws://127.0.0.1:${upstreamPort}/parley/v1`,
        '--provider-domain',
        'wa.example',
        '--partner-key',
        join(dir, 'partner.json'),
        '--login-key',
        join(dir, 'login.pub.json'),
        '--listen',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const httpUrl = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child!.stderr! });
      lines.on('line', (line) => {
        const event = JSON.parse(line) as { event: string; httpUrl?: string };
        if (event.event === 'listening') resolve(event.httpUrl!);
      });
      child!.on('exit', () => reject(new Error('parley proxy exited before listening')));
    });
    const out: string[] = [];
    const code = await main(
      [
        'node',
        'parley',
        'conform',
        '--proxy',
        `${httpUrl.replace('http', 'ws')}/parley/v1`,
        '--proxy-upstream',
        `127.0.0.1:${upstreamPort}`,
        '--proxy-partner-key',
        join(dir, 'partner.pub.json'),
        '--proxy-provider-domain',
        'wa.example',
        '--proxy-login-cmd',
        `${process.execPath} ${script}`,
        '--report-dir',
        join(dir, 'report'),
        '--seed',
        '1',
      ],
      { out: (t) => void out.push(t), err: (t) => void out.push(t) },
    );
    const text = out.join('');
    expect(code, text).to.equal(0);
    expect(text).to.match(/PROXY\s+9\s+0\s+0\s+0\s+0\s+9/);
  });
});

describe('parley proxy and parley conform --proxy usage errors', function () {
  this.timeout(30_000);
  const run = async (args: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await main(['node', 'parley', ...args], {
      out: () => undefined,
      err: (t) => void (err += t),
    });
    return { code, err };
  };

  it('parley proxy refuses an upstream that is not ws:// or wss:// in one line, exit 2', async () => {
    const r = await run([
      'proxy',
      '--upstream',
      'http://127.0.0.1:1/parley/v1',
      '--partner-key',
      'nope.json',
      '--login-key',
      'nope.pub.json',
    ]);
    expect(r.code).to.equal(2);
    expect(r.err.trimEnd().split('\n')).to.deep.equal([
      'parley proxy: --upstream must be a ws:// or wss:// URL',
    ]);
  });

  it('parley proxy names a partner key file that is missing, exit 2', async () => {
    const r = await run([
      'proxy',
      '--upstream',
      'ws://127.0.0.1:1/parley/v1',
      '--partner-key',
      '/nonexistent/partner.json',
      '--login-key',
      '/nonexistent/login.pub.json',
    ]);
    expect(r.code).to.equal(2);
    expect(r.err).to.include('/nonexistent/partner.json');
  });

  it('parley conform --proxy ends with exit 2 before any case when the preflight cannot reach the proxy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-proxy-preflight-'));
    try {
      const partner = await generatePartnerKey('chat.example');
      writeFileSync(
        join(dir, 'partner.pub.json'),
        JSON.stringify({ ...partner.publicJwk, domain: 'chat.example', kid: partner.key.kid }),
      );
      const r = await run([
        'conform',
        '--proxy',
        'ws://127.0.0.1:1/parley/v1',
        '--proxy-upstream',
        '127.0.0.1:0',
        '--proxy-partner-key',
        join(dir, 'partner.pub.json'),
        '--report-dir',
        join(dir, 'report'),
      ]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(
        /preflight of the proxy: the proxy ws:\/\/127\.0\.0\.1:1\/parley\/v1 is unreachable/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parley conform --proxy without --proxy-upstream and --proxy-partner-key is a usage error, exit 2', async () => {
    const r = await run(['conform', '--proxy', 'ws://127.0.0.1:1/parley/v1']);
    expect(r.code).to.equal(2);
    expect(r.err).to.include('--proxy needs --proxy-upstream and --proxy-partner-key');
  });
});

describe('parley proxy over TLS on both sides', function () {
  this.timeout(30_000);

  it('serves wss:// to a logged-in client and reaches a wss:// provider at 127.0.0.1 that trusts only its CA, relaying hello and welcome without a deprecation warning (no TLS server name for an IP address)', async () => {
    // Node warns (DEP0123) once per process when a TLS connection names an IP address as its
    // server name, which RFC 6066 forbids: the proxy names only host names.
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const dir = mkdtempSync(join(tmpdir(), 'parley-proxy-tls-'));
    const tls = selfSignedCertificate(dir);
    const partner = await generatePartnerKey('chat.example');
    const service = await loginService();
    const provider = await startProvider({
      dbPath: join(dir, 'p.db'),
      domain: 'wa.example',
      tls,
      partners: [{ ...partner.publicJwk, domain: 'chat.example', kid: partner.key.kid }],
      proxies: [{ domain: 'chat.example', addresses: ['127.0.0.1'] }],
      logger: silentLogger,
    });
    const proxy = await startProxy({
      upstream: provider.wsUrl,
      providerDomain: 'wa.example',
      key: await importSigningKey({
        ...partner.key.privateJwk,
        domain: 'chat.example',
        kid: partner.key.kid,
      }),
      login: jwtLogin([service.publicJwk]),
      tls,
      upstreamCa: tls.cert,
    });
    try {
      expect(provider.wsUrl).to.match(/^wss:/);
      expect(proxy.wsUrl).to.match(/^wss:/);
      const ws = new WebSocket(proxy.wsUrl, {
        ca: tls.cert,
        headers: { [LOGIN_HEADER]: await service.login('bob@chat.example') },
      });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const welcome = new Promise<Record<string, unknown>>((r) =>
        ws.once('message', (d) => r(JSON.parse(String(d)) as Record<string, unknown>)),
      );
      ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'h', versions: [1] }));
      expect(await welcome).to.include({ type: 'welcome', re: 'h' });
      ws.terminate();
      // Warnings are emitted on the next tick of the call that caused them.
      await new Promise((r) => setImmediate(r));
      expect(
        warnings.map((w) => `${(w as NodeJS.ErrnoException).code}: ${w.message}`),
      ).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
      await proxy.close();
      await provider.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to listen off loopback without a certificate, and to reach a provider off loopback over plain ws://', async () => {
    const key = await importSigningKey({
      ...(await generatePartnerKey('chat.example')).key.privateJwk,
      domain: 'chat.example',
      kid: 'k',
    });
    const base = { providerDomain: 'wa.example', key, login: jwtLogin([]) };
    const refusal = (options: Parameters<typeof startProxy>[0]): Promise<string> =>
      startProxy(options).then(
        async (p) => {
          await p.close();
          return 'started';
        },
        (e: Error) => e.message,
      );
    expect(
      await refusal({ ...base, upstream: 'ws://127.0.0.1:1/parley/v1', host: '0.0.0.0' }),
    ).to.include('give a TLS certificate and key');
    expect(await refusal({ ...base, upstream: 'ws://wa.example/parley/v1' })).to.include(
      'plain ws:// upstream off loopback',
    );
  });
});
