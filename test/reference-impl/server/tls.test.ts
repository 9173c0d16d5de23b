// Transport security of the provider: wss:// and https:// with a certificate, and no plain
// ws:// outside loopback unless TLS is terminated upstream (spec/framing.md PROTO-001).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import {
  silentLogger,
  startProvider,
  type RunningProvider,
} from '../../../reference-impl/server/index.ts';
import { selfSignedCertificate } from '../../support/tls.ts';

describe('provider transport security (PROTO-001)', () => {
  let dir: string;
  let tls: { cert: Buffer; key: Buffer };
  let provider: RunningProvider;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tls-'));
    tls = selfSignedCertificate(dir);
    provider = await startProvider({
      dbPath: ':memory:',
      domain: 'wa.example',
      tls,
      logger: silentLogger,
    });
  });
  after(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the client endpoint as wss:// with the given certificate and answers hello with welcome', async () => {
    expect(provider.wsUrl).to.match(/^wss:\/\/127\.0\.0\.1:\d+\/parley\/v1$/);
    const ws = new WebSocket(provider.wsUrl, { ca: tls.cert });
    const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () =>
        ws.send(JSON.stringify({ v: 1, type: 'hello', id: 'h1', versions: [1] })),
      );
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    });
    ws.close();
    expect(welcome).to.include({ type: 'welcome', re: 'h1' });
  });

  it('serves the attachment endpoints as https://', async () => {
    expect(provider.httpUrl).to.match(/^https:\/\//);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(`${provider.httpUrl}/parley/v1/blobs/nope/nope`, { ca: tls.cert }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).to.equal(404);
  });

  it('counts TLS connections of one address and answers an https request past the limit with 429 (PROTO-046)', async () => {
    const limited = await startProvider({
      dbPath: ':memory:',
      domain: 'wa.example',
      tls,
      logger: silentLogger,
      limits: { peers: { maxConnectionsPerAddress: 1 } },
    });
    const { port } = new URL(limited.httpUrl);
    const held = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: tls.cert }, () =>
        resolve(socket),
      );
      socket.once('error', reject);
    });
    try {
      const refused = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        request(
          `${limited.httpUrl}/parley/v1/blobs/nope/nope`,
          { ca: tls.cert, agent: false },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += String(d)));
            res.on('end', () => resolve({ status: res.statusCode, body }));
          },
        )
          .on('error', reject)
          .end();
      });
      expect(refused.status).to.equal(429);
      expect(JSON.parse(refused.body)).to.include({ code: 'RATE_LIMITED' });
    } finally {
      held.destroy();
      await limited.close();
    }
  });

  it('refuses a client that does not trust the certificate', async () => {
    const ws = new WebSocket(provider.wsUrl);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(error.message).to.match(/self.signed|certificate/i);
  });

  it('refuses to serve plain ws:// on a non-loopback interface unless TLS is terminated upstream', async () => {
    let refused: Error | undefined;
    try {
      await startProvider({ host: '0.0.0.0', dbPath: ':memory:', logger: silentLogger });
    } catch (error) {
      refused = error as Error;
    }
    expect(refused?.message).to.match(/PROTO-001/);
  });

  it('has parley serve refuse a certificate without its key, as a usage error', () => {
    const run = spawnSync(
      process.execPath,
      [
        'bin/parley.js',
        'serve',
        '--port',
        '0',
        '--db',
        ':memory:',
        '--tls-cert',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include('--tls-cert and --tls-key go together');
  });
});
