// A proxy under test (spec/proxy.md "The proxy's side", `parley conform --proxy`): its client URL,
// the suite's provider endpoint it was pointed at, the platform key its tokens must verify under,
// and how a test user logs in on the platform. The embedded default is the reference proxy
// (reference-impl/proxy, through its public entry point), started in front of the suite's endpoint.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  importSigningKey,
  jwtLogin,
  LOGIN_HEADER,
  startProxy,
  type ProxyFault,
} from '../../reference-impl/proxy/index.ts';
import WebSocket from 'ws';
import { FakeUpstream } from './upstream.ts';

/** The proxy under test, as the cases see it. */
export interface ProxyTarget {
  /** The proxy's client endpoint. */
  readonly url: string;
  readonly upstream: FakeUpstream;
  /** The partner platform's public key, which must sign every proxy token. */
  readonly partnerKey: JWK;
  readonly platform: string;
  /** The provider domain the proxy names in `aud`. */
  readonly providerDomain: string;
  /** The upgrade headers that log `address` in on the platform (the driver's answer). */
  login(address: string): Promise<Record<string, string>>;
  readonly describe: string;
  close(): Promise<void>;
}

/**
 * The preflight of a proxy, before any case: a test user logs in and connects, the proxy opens an
 * upstream connection to the suite, and both close. Throws naming the first step that failed: a
 * setup mistake (the proxy unreachable, pointed elsewhere, the login refused) ends the run with
 * exit 2 before any case.
 */
export async function preflightProxy(target: ProxyTarget, waitMs: number): Promise<void> {
  const before = target.upstream.links.length;
  const headers = await target.login(
    `preflight.${randomBytes(4).toString('hex')}@${target.platform}`,
  );
  const ws = new WebSocket(target.url, { headers });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`the proxy ${target.url} did not answer an upgrade within ${waitMs} ms`),
          ),
        waitMs,
      );
      ws.once('open', () => (clearTimeout(timer), resolve()));
      ws.once('unexpected-response', (_q, res) => {
        clearTimeout(timer);
        reject(
          new Error(
            `the proxy refused a logged-in test user with HTTP ${res.statusCode} (check --proxy-login-cmd)`,
          ),
        );
      });
      ws.once('error', (e) => {
        if (e.message.includes('Unexpected server response')) return;
        clearTimeout(timer);
        reject(new Error(`the proxy ${target.url} is unreachable: ${e.message}`));
      });
    });
    if (!(await target.upstream.awaitLinks(before, 1, waitMs)))
      throw new Error(
        `the proxy opened no upstream connection to the suite at ${target.upstream.url} (its --upstream)`,
      );
  } finally {
    ws.terminate();
    await new Promise((r) => setTimeout(r, 100));
    target.upstream.dropAll();
  }
}

/** The platform of the embedded reference proxy, and the provider domain it is told. */
export const EMBEDDED_PROXY_PLATFORM = 'conform.partner.example';
export const EMBEDDED_PROXY_PROVIDER = 'provider.conform.example';

async function ed25519(): Promise<{ publicJwk: JWK; privateJwk: JWK; sign: CryptoKey }> {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return {
    publicJwk: await exportJWK(pair.publicKey),
    privateJwk: await exportJWK(pair.privateKey),
    sign: pair.privateKey as CryptoKey,
  };
}

/** Starts the reference proxy in front of a fresh suite endpoint (`faults`: the self-test only). */
export async function startEmbeddedProxy(faults: readonly ProxyFault[] = []): Promise<ProxyTarget> {
  const upstream = await FakeUpstream.start();
  const partner = await ed25519();
  const service = await ed25519();
  const kid = randomBytes(6).toString('hex');
  const proxy = await startProxy({
    upstream: upstream.url,
    providerDomain: EMBEDDED_PROXY_PROVIDER,
    key: await importSigningKey({ ...partner.privateJwk, domain: EMBEDDED_PROXY_PLATFORM, kid }),
    login: jwtLogin([service.publicJwk]),
    ...(faults.length > 0 ? { faults } : {}),
  });
  return {
    url: proxy.wsUrl,
    upstream,
    partnerKey: { ...partner.publicJwk, kid },
    platform: EMBEDDED_PROXY_PLATFORM,
    providerDomain: EMBEDDED_PROXY_PROVIDER,
    login: async (address) => ({
      [LOGIN_HEADER]: await new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(address)
        .setAudience('parley-proxy')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(service.sign),
    }),
    describe: `embedded reference proxy ${proxy.wsUrl}${faults.length ? ` (faults ${faults.join(', ')})` : ''}`,
    close: async () => {
      await proxy.close();
      await upstream.close();
    },
  };
}

/** What `parley conform --proxy` was told about a proxy someone else runs. */
export interface RemoteProxyOptions {
  url: string;
  /** Where the suite listens as the provider (the proxy's `--upstream` points here). */
  upstreamHost: string;
  upstreamPort: number;
  partnerKey: JWK & { domain: string };
  providerDomain: string;
  /** A command run with the test user's address that prints its upgrade headers as JSON. */
  loginCmd?: string;
}

/** The suite's side of a remote proxy: its endpoint listening where the proxy was pointed. */
export async function openRemoteProxy(options: RemoteProxyOptions): Promise<ProxyTarget> {
  const upstream = await FakeUpstream.start(options.upstreamHost, options.upstreamPort);
  const login = (address: string): Promise<Record<string, string>> =>
    options.loginCmd === undefined
      ? Promise.resolve({})
      : new Promise((resolve, reject) =>
          execFile(
            '/bin/sh',
            ['-c', `${options.loginCmd} "$1"`, 'login', address],
            (error, stdout) => {
              if (error) return reject(new Error(`--proxy-login-cmd failed: ${error.message}`));
              try {
                resolve(JSON.parse(stdout) as Record<string, string>);
              } catch {
                reject(new Error('--proxy-login-cmd did not print a JSON object of headers'));
              }
            },
          ),
        );
  return {
    url: options.url,
    upstream,
    partnerKey: options.partnerKey,
    platform: options.partnerKey.domain,
    providerDomain: options.providerDomain,
    login,
    describe: `proxy ${options.url} (upstream ${upstream.url})`,
    close: () => upstream.close(),
  };
}
