// Enlisted partner proxies at the provider (reference-impl/server/proxies.ts, spec/proxy.md): the
// per-proxy connection bound (PROXY-005), the proxy token on attachment requests (PROXY-001), and
// enlistments that cannot work refused at start.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import type WebSocket from 'ws';
import { join } from 'node:path';
import { generatePartnerKey, type PartnerKey } from '../../../conformance/transport/partner.ts';
import { mintProxyToken, tryUpgrade } from '../../../conformance/transport/proxy-token.ts';
import {
  silentLogger,
  startProvider,
  type RunningProvider,
} from '../../../reference-impl/server/index.ts';

describe('enlisted partner proxies at the provider', function () {
  this.timeout(30_000);
  let dir: string;
  let provider: RunningProvider;
  let partner: PartnerKey;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-proxies-'));
    partner = await generatePartnerKey('chat.example');
    provider = await startProvider({
      dbPath: join(dir, 'p.db'),
      domain: 'wa.example',
      partners: [partner.publicJwk],
      proxies: [{ domain: 'chat.example', addresses: ['127.0.0.0/8'], maxConnections: 2 }],
      logger: silentLogger,
    });
  });

  afterEach(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const headers = async (addr: string): Promise<Record<string, string>> => ({
    'Parley-Proxy': await mintProxyToken(partner, { aud: 'wa.example', addr }),
  });

  it('refuses with 429 RATE_LIMITED an upgrade through chat.example’s proxy once it holds its maxConnections, and admits one again after a close (PROXY-005)', async () => {
    const first = await tryUpgrade(provider.wsUrl, 5000, await headers('203.0.113.1'));
    const second = await tryUpgrade(provider.wsUrl, 5000, await headers('203.0.113.2'));
    const third = await tryUpgrade(provider.wsUrl, 5000, await headers('203.0.113.3'));
    expect('ws' in first && 'ws' in second).to.equal(true);
    expect(third).to.include({ status: 429 });
    expect(JSON.parse((third as { body: string }).body)).to.include({ code: 'RATE_LIMITED' });
    const firstWs = (first as { ws: WebSocket }).ws;
    const closed = new Promise((r) => firstWs.once('close', r));
    firstWs.close();
    await closed;
    await new Promise((r) => setTimeout(r, 200));
    const fourth = await tryUpgrade(provider.wsUrl, 5000, await headers('203.0.113.4'));
    expect('ws' in fourth).to.equal(true);
    for (const u of [second, fourth]) if ('ws' in u) u.ws.terminate();
  });

  it('refuses an attachment request with a proxy token of a key nobody enlisted with 403 PROXY_REFUSED (PROXY-001)', async () => {
    const stranger = await generatePartnerKey('chat.example');
    const token = await mintProxyToken(stranger, { aud: 'wa.example', addr: '203.0.113.9' });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve) => {
      const req = request(`${provider.httpUrl}/parley/v1/blobs/x/y`, {
        headers: { 'Parley-Proxy': token },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += String(d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.end();
    });
    expect(status).to.equal(403);
    expect(JSON.parse(body)).to.deep.equal({
      code: 'PROXY_REFUSED',
      message: 'not an enlisted proxy',
    });
  });

  it('refuses to start with a proxy whose platform has no enlisted partner key', async () => {
    let error: Error | undefined;
    try {
      await startProvider({
        dbPath: ':memory:',
        proxies: [{ domain: 'other.example', addresses: ['127.0.0.1'] }],
        logger: silentLogger,
      });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.include('no partner key of other.example');
  });
});
