// Slow and abusive peers (spec/framing.md "Transport", PROTO-045, PROTO-046; spec/attachments.md
// ATT-024): a client that stops reading, connection floods from one address, slowloris on the
// HTTP header and upload phases.
import { expect } from 'chai';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import type { HttpHandler, Logger, RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  addressKey,
  clientAddress,
  REFUSED_SOCKET_MS,
} from '../../../reference-impl/server/transport.ts';
import {
  firstParty,
  reconnect,
  sleep,
  startTestProvider,
  type AnyFrame,
} from './support/harness.ts';

/** A logger that keeps every event, for the events a test waits on. */
function recordingLogger(): Logger & {
  events: { event: string; fields: Record<string, unknown> }[];
} {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  return { events, log: (_level, event, fields = {}) => void events.push({ event, fields }) };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Tries a WebSocket upgrade; resolves the open socket, or the refusal's status, headers and body. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<
  | { ws: WebSocket }
  | { status: number; headers: Record<string, string | string[] | undefined>; body: AnyFrame }
> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += String(d)));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: JSON.parse(text) as AnyFrame,
        }),
      );
    });
    ws.once('error', (e) => {
      if (!e.message.includes('Unexpected server response')) reject(e);
    });
  });
}

/** A TCP connection to the provider that sends nothing. */
function openSocket(httpUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A GET on a connection of its own. */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once('error', reject);
  });
}

const closed = (ws: WebSocket): Promise<void> =>
  ws.readyState === WebSocket.CLOSED
    ? Promise.resolve()
    : new Promise((r) => ws.once('close', () => r()));

describe('provider against a client that does not read (PROTO-045)', function () {
  this.timeout(60_000);
  const logger = recordingLogger();
  const maxSendBufferBytes = 256 * 1024;
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], {
      logger,
      limits: { peers: { maxSendBufferBytes, maxSendStallMs: 1000 } },
    });
  });
  after(() => provider.close());

  it('holds pushes while bob does not read, closes his connection once it stalls, and pushes every message again, in order and then queue.empty, on his next connection (PROTO-045, DELIV-030, DELIV-031)', async () => {
    const alice = await firstParty(provider, 'slow-alice');
    const bob = await firstParty(provider, 'slow-bob');
    bob.wire.ws.pause(); // bob stops reading; the kernel's socket buffers fill first
    const text = 'x'.repeat(60_000);
    const accepted: string[] = [];
    // 200 pushes of ~80 KB: far more than loopback's socket buffers and the provider's bound.
    for (let i = 0; i < 200; i++) {
      const reply = await alice.sendText(bob.address, text);
      expect(reply.type, JSON.stringify(reply).slice(0, 200)).to.equal('message.accepted');
      accepted.push(reply.messageId as string);
    }
    await until(
      () => logger.events.some((e) => e.event === 'connection.slow'),
      20_000,
      'the slow-peer close',
    );
    const slow = logger.events.find((e) => e.event === 'connection.slow')!;
    // The provider never held more than its bound for bob (plus the frame that crossed half of it).
    expect(slow.fields.bufferedBytes as number).to.be.at.most(maxSendBufferBytes);
    bob.wire.ws.terminate();

    const ok = await reconnect(provider, bob);
    expect(ok.type).to.equal('auth.ok');
    const ids: string[] = [];
    for (;;) {
      const f = await bob.wire.next(
        (x) => x.type === 'message' || x.type === 'queue.empty',
        20_000,
      );
      if (f.type === 'queue.empty') break;
      ids.push(f.messageId as string);
    }
    expect(ids).to.deep.equal(accepted);
  });

  it('closes with 1008 a connection that keeps sending requests but never reads their answers', async () => {
    const carol = await firstParty(provider, 'slow-carol', 0);
    carol.wire.ws.pause();
    const code = new Promise<number>((resolve) => carol.wire.ws.once('close', (c) => resolve(c)));
    // Every ping is answered; carol reads none of the pongs.
    const frame = JSON.stringify({ v: 1, type: 'ping', id: 'p' });
    for (
      let i = 0;
      i < 400_000 && logger.events.filter((e) => e.event === 'connection.slow').length < 2;
      i++
    ) {
      carol.wire.ws.send(frame);
      if (i % 5000 === 0) await sleep(5);
    }
    await until(
      () => logger.events.filter((e) => e.event === 'connection.slow').length >= 2,
      20_000,
      'the second slow-peer close',
    );
    carol.wire.ws.resume();
    expect(await code).to.equal(1008);
  });
});

describe('provider against connection floods from one address (PROTO-046)', function () {
  this.timeout(20_000);

  it('counts an IPv4 address as itself and an IPv6 address by its /64, whatever its spelling', () => {
    expect(addressKey('203.0.113.7')).to.equal('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).to.equal('203.0.113.7');
    expect(addressKey('2001:db8:1:2::1')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:9')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1%eth0')).to.equal('2001:db8:0:0::/64');
    expect(addressKey('::1')).to.equal('0:0:0:0::/64');
    expect(addressKey('2001:db8:1:3::1')).not.to.equal(addressKey('2001:db8:1:2::1'));
  });

  it('refuses an upgrade past maxConnectionsPerAddress with 429, Retry-After and a RATE_LIMITED body, and admits again once one closes', async () => {
    const provider = await startTestProvider([], {
      limits: { peers: { maxConnectionsPerAddress: 3 } },
    });
    try {
      const open: WebSocket[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await upgrade(provider.wsUrl);
        expect(r).to.have.property('ws');
        open.push((r as { ws: WebSocket }).ws);
      }
      const refused = await upgrade(provider.wsUrl);
      expect(refused).to.include({ status: 429 });
      const r = refused as { headers: Record<string, unknown>; body: AnyFrame };
      expect(r.headers['content-type']).to.equal('application/json');
      expect(Number(r.headers['retry-after'])).to.be.at.least(1);
      expect(r.body.code).to.equal('RATE_LIMITED');
      expect(r.body.retryAfterMs).to.be.a('number').and.at.least(0);
      expect(r.body.message).to.be.a('string');
      open[0]!.close();
      await closed(open[0]!);
      await sleep(50);
      const again = await upgrade(provider.wsUrl);
      expect(again).to.have.property('ws');
      for (const ws of [...open.slice(1), (again as { ws: WebSocket }).ws]) ws.terminate();
    } finally {
      await provider.close();
    }
  });

  it('refuses new connections past the per-address rate with 429 and the wait in retryAfterMs', async () => {
    const provider = await startTestProvider([], {
      limits: { peers: { newConnectionsPerAddress: { burst: 5, perMinute: 60 } } },
    });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await upgrade(provider.wsUrl);
        expect(r, `connection ${i + 1}`).to.have.property('ws');
        (r as { ws: WebSocket }).ws.terminate();
      }
      const refused = await upgrade(provider.wsUrl);
      expect(refused).to.include({ status: 429 });
      const body = (refused as { body: AnyFrame }).body;
      expect(body.code).to.equal('RATE_LIMITED');
      // One token a second at 60 a minute.
      expect(body.retryAfterMs).to.be.within(1, 1000);
      expect((refused as { headers: Record<string, unknown> }).headers['retry-after']).to.equal(
        '1',
      );
    } finally {
      await provider.close();
    }
  });

  it('believes X-Forwarded-For only from a trusted proxy, read from the right past every trusted hop', () => {
    const proxies = ['10.0.0.1', '10.0.0.2'];
    expect(clientAddress('198.51.100.9', '203.0.113.7', proxies), 'untrusted peer').to.equal(
      '198.51.100.9',
    );
    expect(clientAddress('10.0.0.1', '203.0.113.7', []), 'no proxies trusted').to.equal('10.0.0.1');
    expect(clientAddress('10.0.0.1', '203.0.113.7', proxies)).to.equal('203.0.113.7');
    expect(
      clientAddress('10.0.0.1', '1.2.3.4, 203.0.113.7, 10.0.0.2', proxies),
      'a forged left part is ignored',
    ).to.equal('203.0.113.7');
    expect(clientAddress('::ffff:10.0.0.1', ['203.0.113.7'], proxies)).to.equal('203.0.113.7');
    expect(clientAddress('10.0.0.1', undefined, proxies), 'no header').to.equal('10.0.0.1');
  });

  it('counts connections through a trusted proxy per forwarded client address', async () => {
    const provider = await startTestProvider([], {
      limits: { peers: { maxConnectionsPerAddress: 1, trustedProxies: ['127.0.0.1'] } },
    });
    try {
      const a = await upgrade(provider.wsUrl, { 'x-forwarded-for': '203.0.113.7' });
      const b = await upgrade(provider.wsUrl, { 'x-forwarded-for': '203.0.113.8' });
      const again = await upgrade(provider.wsUrl, { 'x-forwarded-for': '203.0.113.7' });
      expect(a).to.have.property('ws');
      expect(b).to.have.property('ws');
      expect(again).to.include({ status: 429 });
      for (const r of [a, b]) (r as { ws: WebSocket }).ws.terminate();
    } finally {
      await provider.close();
    }
  });

  it('counts HTTP and WebSocket connections of one address together and answers an HTTP request past the limit with 429 and a RATE_LIMITED body', async () => {
    const provider = await startTestProvider([], {
      limits: { peers: { maxConnectionsPerAddress: 2 } },
    });
    const sockets = await Promise.all([0, 1].map(() => openSocket(provider.httpUrl)));
    try {
      await sleep(50);
      expect(await upgrade(provider.wsUrl)).to.include({ status: 429 });
      const refused = await get(`${provider.httpUrl}/attachments/none`);
      expect(refused.status).to.equal(429);
      expect(refused.headers['retry-after']).to.equal('1');
      expect(refused.headers['content-type']).to.equal('application/json');
      expect(JSON.parse(refused.body)).to.deep.equal({
        code: 'RATE_LIMITED',
        message: 'too many connections from this address',
      });
      sockets[0]!.destroy();
      await sleep(50);
      const admitted = await upgrade(provider.wsUrl);
      expect(admitted).to.have.property('ws');
      (admitted as { ws: WebSocket }).ws.terminate();
    } finally {
      for (const s of sockets) s.destroy();
      await provider.close();
    }
  });

  it('drops a connection past the limit that sends no request, and only that one', async () => {
    const provider = await startTestProvider([], {
      limits: { peers: { maxConnectionsPerAddress: 1 } },
    });
    const held = await openSocket(provider.httpUrl);
    const extra = await openSocket(provider.httpUrl);
    try {
      const dropped = await Promise.race([
        new Promise<boolean>((resolve) => extra.once('close', () => resolve(true))),
        sleep(REFUSED_SOCKET_MS + 1000).then(() => false),
      ]);
      expect(dropped, 'the connection past the limit was dropped').to.equal(true);
      expect(held.destroyed, 'the admitted connection').to.equal(false);
    } finally {
      held.destroy();
      extra.destroy();
      await provider.close();
    }
  });

  it('counts HTTP requests through a trusted proxy per forwarded client while they are in progress', async () => {
    let finish = (): void => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const hold: HttpHandler = async (req, res) => {
      if (req.url !== '/hold') return false;
      await finished;
      res.end('done');
      return true;
    };
    const provider = await startTestProvider([], {
      httpHandlers: [hold],
      limits: { peers: { maxConnectionsPerAddress: 1, trustedProxies: ['127.0.0.1'] } },
    });
    try {
      const a = { 'x-forwarded-for': '203.0.113.7' };
      const held = get(`${provider.httpUrl}/hold`, a);
      await sleep(50);
      expect((await get(`${provider.httpUrl}/other`, a)).status).to.equal(429);
      const b = { 'x-forwarded-for': '203.0.113.8' };
      expect((await get(`${provider.httpUrl}/other`, b)).status, 'another client').to.equal(404);
      finish();
      expect((await held).status).to.equal(200);
      expect((await get(`${provider.httpUrl}/other`, a)).status, 'once it ended').to.equal(404);
    } finally {
      finish();
      await provider.close();
    }
  });

  it('exempts loopback clients from both limits only when exemptLoopback says so', async () => {
    const provider = await startTestProvider([], {
      limits: {
        peers: {
          maxConnectionsPerAddress: 1,
          newConnectionsPerAddress: { burst: 1, perMinute: 1 },
          exemptLoopback: true,
        },
      },
    });
    try {
      const open: WebSocket[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await upgrade(provider.wsUrl);
        expect(r, `connection ${i + 1}`).to.have.property('ws');
        open.push((r as { ws: WebSocket }).ws);
      }
      for (const ws of open) ws.terminate();
    } finally {
      await provider.close();
    }
  });
});

describe('provider against peers that vanished (PROTO-028)', function () {
  this.timeout(20_000);

  it('closes with 1000 a connection that sent no frame for idleCloseMs, and keeps one that sends pings', async () => {
    const provider = await startTestProvider([], { limits: { peers: { idleCloseMs: 400 } } });
    try {
      const silent = (await upgrade(provider.wsUrl)) as { ws: WebSocket };
      const pinging = (await upgrade(provider.wsUrl)) as { ws: WebSocket };
      const wsPinging = (await upgrade(provider.wsUrl)) as { ws: WebSocket };
      const closes: Record<string, number> = {};
      for (const [name, { ws }] of Object.entries({ silent, pinging, wsPinging }))
        ws.on('close', (code) => (closes[name] = code));
      pinging.ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'h', versions: [1] }));
      const started = Date.now();
      while (Date.now() - started < 1_200) {
        pinging.ws.send(JSON.stringify({ v: 1, type: 'ping', id: `p${Date.now()}` }));
        wsPinging.ws.ping(); // a WebSocket control frame counts as a frame too
        await sleep(150);
      }
      expect(closes).to.deep.equal({ silent: 1000 });
      pinging.ws.terminate();
      wsPinging.ws.terminate();
    } finally {
      await provider.close();
    }
  });
});

describe('provider against slowloris on HTTP (headers and uploads)', function () {
  this.timeout(20_000);
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], {
      attachments: { idleTimeoutMs: 400, minUploadBytesPerSecond: 1024 },
    });
  });
  after(() => provider.close());

  /** Writes `head`, then one byte of `trickle` every `everyMs`; resolves when the provider hangs up. */
  function trickle(
    head: string,
    drip: string,
    everyMs: number,
  ): Promise<{ ms: number; text: string }> {
    return new Promise((resolve) => {
      const started = Date.now();
      let text = '';
      let i = 0;
      const socket = connect(provider.port, '127.0.0.1', () => socket.write(head));
      const timer = setInterval(() => {
        if (!socket.destroyed) socket.write(drip[i++ % drip.length]!);
      }, everyMs);
      socket.on('data', (d) => (text += String(d)));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ ms: Date.now() - started, text });
      });
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
  }

  it('drops a client that trickles its request headers a byte at a time (headers timeout)', async () => {
    // With an idle timeout of 400 ms the headers must be complete within 1 s (transport.ts).
    const { ms } = await trickle('GET /parley/v1 HTTP/1.1\r\nhost: x\r\n', 'x-slow: aaaaaaaa', 150);
    expect(ms).to.be.below(4000);
  });

  it('drops an upload that trickles its body below minUploadBytesPerSecond and keeps the bytes it sent (ATT-024)', async () => {
    const alice = await firstParty(provider, 'loris', 0);
    const data = Buffer.alloc(1000, 'a');
    const s = await alice.wire.request('attachment.slot', {
      kind: 'document',
      size: data.length,
      digest: createHash('sha256').update(data).digest('base64url'),
    });
    expect(s.type, JSON.stringify(s)).to.equal('attachment.slotted');
    const head =
      `PUT ${new URL(s.uploadUrl as string).pathname} HTTP/1.1\r\nhost: x\r\n` +
      `authorization: Bearer ${s.uploadToken as string}\r\ncontent-length: 1000\r\n\r\n`;
    // A byte every 150 ms never goes idle for 400 ms, but brings 7 bytes/s, not 1024.
    const { ms } = await trickle(head, data.toString('ascii'), 150);
    expect(ms).to.be.below(4000);
    const headRes = await fetch(s.uploadUrl as string, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${s.uploadToken as string}` },
    });
    const offset = Number(headRes.headers.get('upload-offset'));
    expect(offset).to.be.within(1, 999);
  });
});
