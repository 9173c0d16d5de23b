// Enlisted partner proxies at the provider (reference-impl/server/proxies.ts, spec/proxy.md): the
// per-proxy connection bound (PROXY-005), the proxy token on attachment requests (PROXY-001), the
// session held to the user the proxy token names (PROXY-007), and enlistments that cannot work
// refused at start.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import type WebSocket from 'ws';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { generatePartnerKey, type PartnerKey } from '../../../conformance/transport/partner.ts';
import { mintProxyToken, tryUpgrade } from '../../../conformance/transport/proxy-token.ts';
import {
  silentLogger,
  startProvider,
  type RunningProvider,
} from '../../../reference-impl/server/index.ts';
import { Device, type Partner } from './support/harness.ts';

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

describe('a session through chat.example’s proxy and the user its proxy token names', function () {
  this.timeout(30_000);
  let provider: RunningProvider;
  let partner: PartnerKey;
  let signer: Partner;

  before(async () => {
    partner = await generatePartnerKey('chat.example');
    signer = {
      domain: partner.domain,
      kid: partner.kid,
      privateKey: partner.privateKey,
      enlisted: { ...partner.publicJwk, alg: 'EdDSA' } as Partner['enlisted'],
    };
    provider = await startProvider({
      dbPath: ':memory:',
      domain: 'wa.example',
      partners: [partner.publicJwk],
      proxies: [{ domain: 'chat.example', addresses: ['127.0.0.0/8'] }],
      logger: silentLogger,
    });
  });
  after(() => provider.close());

  /** The upgrade headers of the proxy naming `sub` (none: no sub claim at all). */
  const through = async (sub?: unknown): Promise<Record<string, string>> => {
    const now = Math.floor(Date.now() / 1000);
    // jose types `sub` as a string; the provider must cope with any JSON a signed token holds.
    const claims: Record<string, unknown> = { addr: '203.0.113.7' };
    if (sub !== undefined) claims.sub = sub;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: partner.kid, typ: 'parley-proxy+jwt' })
      .setIssuer('chat.example')
      .setAudience('wa.example')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(partner.privateKey);
    return { 'Parley-Proxy': token };
  };
  const device = (name: string): Device =>
    new Device(`${name}.${randomUUID().slice(0, 8)}@chat.example`, 1, IdentityKeyPair.generate());

  it('accepts bob’s partner auth through a proxy token naming bob, and refuses it with AUTH_FAILED through one naming carol (PROXY-007)', async () => {
    const bob = device('bob');
    await bob.connect(provider, await through(bob.address));
    expect(await bob.authPartner(signer)).to.include({ type: 'auth.ok' });
    bob.wire.close();
    const again = device('bob');
    await again.connect(provider, await through(`carol@chat.example`));
    expect(await again.authPartner(signer)).to.include({ type: 'error', code: 'AUTH_FAILED' });
    again.wire.close();
  });

  it('refuses every partner auth through a proxy token whose sub is not a string, and accepts the platform’s users through one without a sub (PROXY-007)', async () => {
    const bob = device('bob');
    await bob.connect(provider, await through(['bob@chat.example']));
    expect(await bob.authPartner(signer)).to.include({ type: 'error', code: 'AUTH_FAILED' });
    bob.wire.close();
    const dora = device('dora');
    await dora.connect(provider, await through());
    expect(await dora.authPartner(signer)).to.include({ type: 'auth.ok' });
    dora.wire.close();
  });
});
