// The attachment HTTP routes over real HTTP against startProvider on port 0: upload with resume,
// size and digest checks, capability download with ranges, expiry and quota (spec/attachments.md
// "Upload", "Download", "Expiry"; spec/openapi/attachments.yaml).
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { firstParty, sleep, startTestProvider, type AnyFrame } from './support/harness.ts';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json: AnyFrame | undefined;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('base64url');

/** One HTTP request on its own connection; `parts` are written with `gapMs` between them. */
function http(
  url: string,
  method: string,
  headers: Record<string, string | number> = {},
  parts: Buffer[] = [],
  gapMs = 0,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const type = res.headers['content-type'] ?? '';
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body,
          json: type.startsWith('application/json')
            ? (JSON.parse(String(body)) as AnyFrame)
            : undefined,
        });
      });
    });
    req.on('error', reject);
    void (async () => {
      for (const p of parts) {
        if (req.destroyed) return;
        req.write(p);
        if (gapMs) await sleep(gapMs);
      }
      req.end();
    })();
  });
}

/** Sends raw bytes on a fresh TCP connection; resolves with everything read until the close. */
function raw(port: number, text: string, giveUpMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += String(d)));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    setTimeout(() => socket.end(), giveUpMs).unref();
  });
}

const path = (url: string): string => new URL(url).pathname;

describe('provider attachment HTTP routes (spec/attachments.md, spec/openapi/attachments.yaml)', () => {
  let provider: RunningProvider;
  let slot: (size: number, digest: string) => Promise<AnyFrame>;
  const blob = randomBytes(200_000);
  const digest = sha(blob);
  const bearer = (s: AnyFrame): Record<string, string> => ({
    authorization: `Bearer ${s.uploadToken as string}`,
  });
  async function uploaded(data = blob): Promise<AnyFrame> {
    const s = await slot(data.length, sha(data));
    const r = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': data.length }, [
      data,
    ]);
    expect(r.status).to.equal(201);
    return s;
  }

  before(async () => {
    provider = await startTestProvider([]);
    const alice = await firstParty(provider, 'h1', 0);
    slot = async (size, d) => {
      const s = await alice.wire.request('attachment.slot', { kind: 'video', size, digest: d });
      expect(s.type).to.equal('attachment.slotted');
      return s;
    };
  });
  after(() => provider.close());

  it('stores a complete upload, answers 201 with Upload-Offset and serves it whole as octet-stream (ATT-025, ATT-026, ATT-029, ATT-031)', async () => {
    const s = await slot(blob.length, digest);
    const put = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': blob.length }, [
      blob,
    ]);
    expect(put.status).to.equal(201);
    expect(put.headers['upload-offset']).to.equal(String(blob.length));
    const get = await http(s.downloadUrl, 'GET');
    expect(get.status).to.equal(200);
    expect(get.headers['content-type']).to.equal('application/octet-stream');
    expect(get.headers['accept-ranges']).to.equal('bytes');
    expect(get.body.equals(blob)).to.equal(true);
    expect(readdirSync(provider.blobDir)).to.include(s.blobId);
  });

  it('answers HEAD of a download URL with the length and no body (ATT-026)', async () => {
    const s = await uploaded();
    const head = await http(s.downloadUrl, 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.headers['content-length']).to.equal(String(blob.length));
    expect(head.headers['accept-ranges']).to.equal('bytes');
    expect(head.body).to.have.length(0);
  });

  it('answers a single byte range with 206, Content-Range and exactly those bytes (ATT-028)', async () => {
    const s = await uploaded();
    const mid = await http(s.downloadUrl, 'GET', { range: 'bytes=65552-131103' });
    expect(mid.status).to.equal(206);
    expect(mid.headers['content-range']).to.equal(`bytes 65552-131103/${blob.length}`);
    expect(mid.body.equals(blob.subarray(65552, 131104))).to.equal(true);
    const open = await http(s.downloadUrl, 'GET', { range: 'bytes=199990-' });
    expect(open.body.equals(blob.subarray(199990))).to.equal(true);
    const suffix = await http(s.downloadUrl, 'GET', { range: 'bytes=-7' });
    expect(suffix.headers['content-range']).to.equal(
      `bytes ${blob.length - 7}-${blob.length - 1}/${blob.length}`,
    );
    expect(suffix.body.equals(blob.subarray(-7))).to.equal(true);
    const clamped = await http(s.downloadUrl, 'GET', { range: 'bytes=199999-999999' });
    expect(clamped.status).to.equal(206);
    expect(clamped.body.equals(blob.subarray(199999))).to.equal(true);
  });

  it('answers a range starting at or beyond the length with 416 and Content-Range bytes */length, and a malformed Range with 400 (ATT-030)', async () => {
    const s = await uploaded();
    for (const range of [`bytes=${blob.length}-`, 'bytes=999999-1000000']) {
      const r = await http(s.downloadUrl, 'GET', { range });
      expect(r.status).to.equal(416);
      expect(r.headers['content-range']).to.equal(`bytes */${blob.length}`);
      expect(r.body).to.have.length(0);
    }
    for (const range of ['bytes=5-2', 'items=0-1', 'bytes=0-1,4-5', 'bytes=x-']) {
      const r = await http(s.downloadUrl, 'GET', { range });
      expect(r.status, range).to.equal(400);
      expect(r.json).to.deep.include({ code: 'BAD_REQUEST' });
    }
  });

  it('answers an unknown, incomplete or expired blob and a wrong or missing capability with the same 404 (ATT-027)', async () => {
    const s = await uploaded();
    const incomplete = await slot(100, digest);
    const capability = s.downloadUrl.split('/').pop() as string;
    const wrong = s.downloadUrl.replace(capability, randomBytes(32).toString('base64url'));
    const urls = [
      wrong,
      s.downloadUrl.slice(0, s.downloadUrl.lastIndexOf('/')),
      s.downloadUrl.replace(s.blobId, 'no-such-blob'),
      incomplete.downloadUrl,
    ];
    const replies = await Promise.all(urls.map((u) => http(u, 'GET')));
    for (const r of replies) {
      expect(r.status).to.equal(404);
      expect(r.json).to.deep.equal(replies[0]!.json);
    }
    expect(replies[0]!.json).to.deep.include({ code: 'NOT_FOUND' });
    expect((await http(wrong, 'HEAD')).status).to.equal(404);
  });

  it('refuses an upload without a live token with 401 UPLOAD_TOKEN_INVALID, a completed slot’s token included (ATT-019, ATT-025)', async () => {
    const s = await uploaded();
    const fresh = await slot(10, digest);
    const one = Buffer.alloc(10);
    for (const [target, headers] of [
      [fresh, {}],
      [fresh, { authorization: `Bearer ${randomBytes(32).toString('base64url')}` }],
      [fresh, { authorization: `Basic ${fresh.uploadToken as string}` }],
      [s, bearer(s)], // the blob is complete: its token is spent
    ] as const) {
      const r = await http(target.uploadUrl, 'PUT', { ...headers, 'content-length': 10 }, [one]);
      expect(r.status).to.equal(401);
      expect(r.json).to.deep.include({ code: 'UPLOAD_TOKEN_INVALID' });
    }
    const head = await http(s.uploadUrl, 'HEAD', bearer(s));
    expect(head.status).to.equal(401);
    expect(head.body).to.have.length(0);
  });

  it('refuses with 413 an upload whose Content-Length exceeds the declared size, storing nothing (ATT-020)', async () => {
    const s = await slot(1000, digest);
    const r = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': 1001 }, [
      Buffer.alloc(1001),
    ]);
    expect(r.status).to.equal(413);
    expect(r.json).to.deep.include({ code: 'ATTACHMENT_TOO_LARGE' });
    expect(readdirSync(provider.blobDir)).not.to.include(s.blobId);
  });

  it('stops a streaming upload with 413 the moment it passes the declared size and leaves no file behind (ATT-020)', async () => {
    const s = await slot(100_000, digest);
    const r = await http(
      s.uploadUrl,
      'PUT',
      { ...bearer(s), 'transfer-encoding': 'chunked' },
      [Buffer.alloc(60_000), Buffer.alloc(40_000), Buffer.alloc(1), Buffer.alloc(500_000)],
      50,
    );
    expect(r.status).to.equal(413);
    expect(r.headers.connection).to.equal('close');
    expect(readdirSync(provider.blobDir)).not.to.include(s.blobId);
    const head = await http(s.uploadUrl, 'HEAD', bearer(s));
    expect(head.headers['upload-offset']).to.equal('0');
  });

  it('deletes the bytes and the slot and answers 422 DIGEST_MISMATCH when the digest differs (ATT-021)', async () => {
    const s = await slot(blob.length, sha(Buffer.from('something else')));
    const r = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': blob.length }, [
      blob,
    ]);
    expect(r.status).to.equal(422);
    expect(r.json).to.deep.include({ code: 'DIGEST_MISMATCH' });
    expect(readdirSync(provider.blobDir)).not.to.include(s.blobId);
    expect(provider.store.getSlot(s.blobId as string)).to.equal(undefined);
    expect((await http(s.downloadUrl, 'GET')).status).to.equal(404);
  });

  it('keeps the bytes of an aborted PUT, reports them in Upload-Offset and appends a resumed PUT (ATT-024, ATT-023)', async () => {
    const s = await slot(blob.length, digest);
    const aborted = new Promise<void>((resolve) => {
      const req = request(s.uploadUrl, {
        method: 'PUT',
        agent: false,
        headers: { ...bearer(s), 'content-length': blob.length },
      });
      req.on('error', () => resolve());
      req.write(blob.subarray(0, 70_000));
      setTimeout(() => req.destroy(), 150);
    });
    await aborted;
    await sleep(150);
    const head = await http(s.uploadUrl, 'HEAD', bearer(s));
    expect(head.status).to.equal(200);
    expect(head.headers['upload-offset']).to.equal('70000');
    const fromZero = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': 5 }, [
      Buffer.alloc(5),
    ]);
    expect(fromZero.status).to.equal(409);
    expect(fromZero.json).to.deep.include({ code: 'UPLOAD_OFFSET_MISMATCH' });
    const part = await http(
      s.uploadUrl,
      'PUT',
      { ...bearer(s), 'upload-offset': 70_000, 'content-length': 30_000 },
      [blob.subarray(70_000, 100_000)],
    );
    expect(part.status).to.equal(204);
    expect(part.headers['upload-offset']).to.equal('100000');
    const rest = await http(
      s.uploadUrl,
      'PUT',
      { ...bearer(s), 'upload-offset': 100_000, 'content-length': blob.length - 100_000 },
      [blob.subarray(100_000)],
    );
    expect(rest.status).to.equal(201);
    expect((await http(s.downloadUrl, 'GET')).body.equals(blob)).to.equal(true);
  });

  it('refuses a second PUT to a slot while one streams with 409 UPLOAD_IN_PROGRESS (ATT-022)', async () => {
    const s = await slot(blob.length, digest);
    const first = http(
      s.uploadUrl,
      'PUT',
      { ...bearer(s), 'content-length': blob.length },
      [blob.subarray(0, 100_000), blob.subarray(100_000)],
      300,
    );
    await sleep(100);
    const second = await http(s.uploadUrl, 'PUT', { ...bearer(s), 'content-length': blob.length }, [
      blob,
    ]);
    expect(second.status).to.equal(409);
    expect(second.json).to.deep.include({ code: 'UPLOAD_IN_PROGRESS' });
    expect((await first).status).to.equal(201);
  });

  it('answers 404 to ids with path tricks and never touches a file outside the blob directory', async () => {
    const s = await slot(10, digest);
    const outside = join(dirname(provider.blobDir), 'escape');
    const port = provider.port;
    for (const id of ['..', '..%2Fescape', '%2E%2E%2Fescape', 'a.b', 'x%00', '../escape']) {
      const reply = await raw(
        port,
        `PUT /parley/v1/uploads/${id} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.uploadToken as string}\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc`,
      );
      expect(reply, id).to.match(/^HTTP\/1\.1 404 /);
      expect(reply).to.include('"NOT_FOUND"');
    }
    const cap = s.downloadUrl.split('/').pop() as string;
    for (const p of [
      `/parley/v1/blobs/../${cap}`,
      `/parley/v1/blobs/${s.blobId}/${cap}/x`,
      '/parley/v1/blobs/..%2F..%2Fetc/passwd0000000000000000000',
    ]) {
      const reply = await raw(port, `GET ${p} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(reply, p).to.match(/^HTTP\/1\.1 404 /);
    }
    expect(existsSync(outside)).to.equal(false);
  });

  it('answers malformed Upload-Offset and a missing Content-Length with 400 BAD_REQUEST', async () => {
    const s = await slot(10, digest);
    const bad = await http(
      s.uploadUrl,
      'PUT',
      { ...bearer(s), 'upload-offset': '-1', 'content-length': 1 },
      [Buffer.alloc(1)],
    );
    expect(bad.status).to.equal(400);
    expect(bad.json).to.deep.include({ code: 'BAD_REQUEST' });
    const reply = await raw(
      provider.port,
      `PUT ${path(s.uploadUrl)} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.uploadToken as string}\r\nconnection: close\r\n\r\n`,
    );
    expect(reply).to.match(/^HTTP\/1\.1 400 /);
    expect(reply).to.include('"BAD_REQUEST"');
  });
});

describe('provider attachment expiry, quota and idle timeout (spec/attachments.md "Expiry")', () => {
  let provider: RunningProvider;
  before(async () => {
    provider = await startTestProvider([], {
      limits: {
        advertised: { attachments: { ttlSeconds: 1 } },
        attachmentQuotaBytes: 3000,
        sweepIntervalMs: 100,
      },
      attachments: { idleTimeoutMs: 400 },
    });
  });
  after(() => provider.close());

  it('deletes complete and incomplete blobs at expiresAt (file and row), refuses their tokens and downloads, and releases the quota (ATT-032, ATT-033, ATT-016, ATT-019)', async () => {
    const alice = await firstParty(provider, 'x1', 0);
    const data = randomBytes(2000);
    const slot = (size: number, d = sha(data)): Promise<AnyFrame> =>
      alice.wire.request('attachment.slot', { kind: 'document', size, digest: d });
    const done = await slot(2000);
    const put = await http(
      done.uploadUrl,
      'PUT',
      {
        authorization: `Bearer ${done.uploadToken as string}`,
        'content-length': 2000,
      },
      [data],
    );
    expect(put.status).to.equal(201);
    const partial = await slot(900);
    await http(
      partial.uploadUrl,
      'PUT',
      {
        authorization: `Bearer ${partial.uploadToken as string}`,
        'content-length': 100,
      },
      [data.subarray(0, 100)],
    );
    expect((await slot(200)).code).to.equal('QUOTA_EXCEEDED'); // 2000 + 900 + 200 > 3000
    expect((await http(done.downloadUrl, 'GET')).status).to.equal(200);
    expect(readdirSync(provider.blobDir)).to.include.members([done.blobId, partial.blobId]);
    await sleep(1300);
    expect((await http(done.downloadUrl, 'GET')).status).to.equal(404);
    const late = await http(
      partial.uploadUrl,
      'PUT',
      {
        authorization: `Bearer ${partial.uploadToken as string}`,
        'upload-offset': 100,
        'content-length': 1,
      },
      [Buffer.alloc(1)],
    );
    expect(late.status).to.equal(401);
    expect(readdirSync(provider.blobDir)).not.to.include.members([done.blobId]);
    expect(readdirSync(provider.blobDir)).not.to.include(partial.blobId);
    expect(provider.store.getSlot(done.blobId as string)).to.equal(undefined);
    expect((await slot(2900)).type).to.equal('attachment.slotted');
  });

  it('drops an upload connection that sends nothing for the idle timeout and keeps its bytes (slowloris, ATT-024)', async () => {
    const alice = await firstParty(provider, 'x2', 0);
    const s = await alice.wire.request('attachment.slot', {
      kind: 'document',
      size: 100,
      digest: sha(Buffer.alloc(100)),
    });
    const started = Date.now();
    const closed = await raw(
      provider.port,
      `PUT ${path(s.uploadUrl)} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.uploadToken as string}\r\ncontent-length: 100\r\n\r\n0123456789`,
    );
    expect(closed).to.equal('');
    expect(Date.now() - started).to.be.below(1500);
    const head = await http(s.uploadUrl, 'HEAD', {
      authorization: `Bearer ${s.uploadToken as string}`,
    });
    expect(head.headers['upload-offset']).to.equal('10');
  });
});

describe('provider blob directory', () => {
  it('keeps blobs in <db>.blobs beside a SQLite file, removes leftover files without a slot at start, and removes a ":memory:" store’s temporary directory on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-blobdir-'));
    try {
      const dbPath = join(dir, 'p.db');
      mkdirSync(`${dbPath}.blobs`);
      writeFileSync(join(`${dbPath}.blobs`, 'orphan'), 'x');
      const onDisk = await startTestProvider([], { dbPath });
      expect(onDisk.blobDir).to.equal(`${dbPath}.blobs`);
      expect(readdirSync(onDisk.blobDir)).to.deep.equal([]);
      await onDisk.close();
      expect(existsSync(`${dbPath}.blobs`)).to.equal(true);
      const inMemory = await startTestProvider([]);
      const temporary = inMemory.blobDir;
      expect(existsSync(temporary)).to.equal(true);
      await inMemory.close();
      expect(existsSync(temporary)).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
