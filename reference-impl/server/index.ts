/**
 * The reference provider's public entry point: `startProvider(options)` opens the store, starts the
 * HTTP/WebSocket server and returns a handle (spec/README.md; every section of the spec applies).
 */
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import type { ProviderStore } from '../store/types.ts';
import {
  blobDirFor,
  createAttachmentHttp,
  type AttachmentHttpOptions,
} from './attachments-http.ts';
import type { EnlistedPartnerKey, ProviderContext } from './context.ts';
import { Delivery } from './delivery.ts';
import {
  limitsWithFaults,
  proxiesWithFaults,
  proxyChecksWithFaults,
  type Fault,
} from './faults.ts';
import { withGroupFaults } from './group-faults.ts';
import { ProxyRegistry, type EnlistedProxy } from './proxies.ts';
import { withStoreFaults } from './store-faults.ts';
import { resolveLimits, type LimitOverrides } from './limits.ts';
import { jsonLogger, type Logger } from './logging.ts';
import { RateLimiter } from './rate-limit.ts';
import { startSweep } from './sweep.ts';
import { createTransport, WS_PATH, type HttpHandler, type TlsCredentials } from './transport.ts';

export type { EnlistedPartnerKey } from './context.ts';
export type { LimitOverrides, ServerLimits } from './limits.ts';
export { DEFAULT_LIMITS } from './limits.ts';
export type { Logger } from './logging.ts';
export { jsonLogger, silentLogger } from './logging.ts';
export type { HttpHandler, TlsCredentials } from './transport.ts';
export type { AttachmentHttpOptions } from './attachments-http.ts';
export type { Fault } from './faults.ts';
export { FAULTS } from './faults.ts';
export { WS_PATH } from './transport.ts';
export type { EnlistedProxy } from './proxies.ts';
export {
  PROXY_HEADER,
  PROXY_TOKEN_TYPE,
  PROXY_TOKEN_MAX_LIFETIME_SECONDS,
  DEFAULT_PROXY_MAX_CONNECTIONS,
} from './proxies.ts';

/** How to start a provider. */
export interface ProviderOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Interface to bind; loopback by default (PROTO-001 allows plain ws:// only there). */
  host?: string;
  /** Serve wss:// and https:// with this certificate and key (PEM). */
  tls?: TlsCredentials;
  /**
   * The operator terminates TLS in front of this provider (a reverse proxy), so plain ws:// on a
   * non-loopback interface is allowed. Without `tls` or this, only loopback may be bound (PROTO-001).
   */
  tlsTerminatedUpstream?: boolean;
  /** SQLite file, or ':memory:'. Default ./data/parley.db. */
  dbPath?: string;
  /** The provider's domain (addresses are name@domain). Default `parley.localhost`. */
  domain?: string;
  /** Operator-issued registration tokens; none disables registration. */
  registrationTokens?: readonly string[];
  /** Enlisted partner public keys. */
  partners?: readonly EnlistedPartnerKey[];
  /**
   * Enlisted partner proxies (spec/proxy.md): each names its platform, whose enlisted partner keys
   * sign its proxy tokens, the addresses it connects from and its connection bound.
   */
  proxies?: readonly EnlistedProxy[];
  limits?: LimitOverrides;
  logger?: Logger;
  /** Extra HTTP routes, tried before the built-in attachment endpoints. */
  httpHandlers?: readonly HttpHandler[];
  /** Blob directory (default `<db>.blobs/`, a temporary one for ':memory:'), sweep interval, idle timeout. */
  attachments?: AttachmentHttpOptions;
  /** The clock, for tests. */
  now?: () => number;
  /**
   * Faults to inject (faults.ts), for the conformance suite's self-test only: each breaks one MUST.
   * Off unless given here; `parley serve` never passes it.
   */
  faults?: readonly Fault[];
}

/** A running provider. */
export interface RunningProvider {
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly domain: string;
  readonly store: ProviderStore;
  /** Where attachment blobs are stored, one file per blob id. */
  readonly blobDir: string;
  /** Sends UNAVAILABLE + close 1012 to every connection, stops listening, closes the store. */
  close(): Promise<void>;
}

/** Interfaces where plain ws:// and http:// are allowed, for testing (PROTO-001). */
const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

/** Starts a provider; resolves once it listens. Refuses a non-loopback interface without TLS. */
export async function startProvider(options: ProviderOptions = {}): Promise<RunningProvider> {
  const host = options.host ?? '127.0.0.1';
  if (!options.tls && !options.tlsTerminatedUpstream && !LOOPBACK.includes(host))
    throw new Error(
      `refusing to serve plain ws:// and http:// on ${host}: give a TLS certificate and key, or say that TLS is terminated upstream (PROTO-001)`,
    );
  const logger = options.logger ?? jsonLogger();
  const limits = limitsWithFaults(resolveLimits(options.limits), options.faults ?? []);
  const now = options.now ?? Date.now;
  const dbPath = options.dbPath ?? './data/parley.db';
  // Before the store opens: a proxy without a partner key of its platform is a configuration error.
  const proxies = new ProxyRegistry(
    proxiesWithFaults(options.proxies ?? [], options.faults ?? []),
    options.partners ?? [],
    proxyChecksWithFaults(options.faults ?? []),
  );
  const store = openSqliteStore(dbPath, (error) =>
    logger.log('error', 'store.checkpoint.failed', { error: String(error) }),
  );
  const ctx: ProviderContext = {
    domain: options.domain ?? 'parley.localhost',
    store: withGroupFaults(
      withStoreFaults(store, new Set(options.faults ?? [])),
      new Set(options.faults ?? []),
    ),
    limits,
    logger,
    validator: createFrameValidator(SCHEMA_DIR),
    // The fault delivers from the beginning of time: nothing queued ever counts as expired.
    delivery: new Delivery(
      store,
      () => limits.advertised.lowPreKeyThreshold,
      options.faults?.includes('deliver-expired') ? () => 0 : now,
      !options.faults?.includes('low-ignores-kyber'),
      !options.faults?.includes('group-folder-inbox'),
    ),
    rates: new RateLimiter(now),
    registrationTokens: options.registrationTokens ?? [],
    partners: options.partners ?? [],
    proxies,
    httpUrl: '',
    now,
    faults: new Set(options.faults ?? []),
  };
  if (ctx.faults.size > 0)
    logger.log('warn', 'faults.injected', {
      faults: [...ctx.faults],
      note: 'THIS PROVIDER IS DELIBERATELY BROKEN (conformance self-test); never serve users with it',
    });
  const attachments = createAttachmentHttp(
    ctx,
    blobDirFor(dbPath, options.attachments?.blobDir),
    options.attachments,
  );
  const transport = createTransport(
    ctx,
    [...(options.httpHandlers ?? []), attachments.handler],
    options.attachments?.idleTimeoutMs,
    options.tls,
    proxies,
  );
  let port: number;
  try {
    port = await transport.listen(options.port ?? 0, host);
  } catch (error) {
    await attachments.close();
    store.close();
    throw error;
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const secure = options.tls !== undefined;
  ctx.httpUrl = `${secure ? 'https' : 'http'}://${hostPart}:${port}`;
  const wsUrl = `${secure ? 'wss' : 'ws'}://${hostPart}:${port}${WS_PATH}`;
  const stopSweep = startSweep(ctx);
  if (!secure && !LOOPBACK.includes(host))
    logger.log('warn', 'tls.upstream', {
      host,
      note: 'plain ws:// here; TLS is terminated in front',
    });
  logger.log('info', 'listening', {
    port,
    host,
    domain: ctx.domain,
    wsUrl,
    httpUrl: ctx.httpUrl,
    partners: [...new Set(ctx.partners.map((p) => p.domain))],
    proxies: (options.proxies ?? []).map((p) => p.domain),
  });
  let closing: Promise<void> | undefined;
  return {
    wsUrl,
    httpUrl: ctx.httpUrl,
    port,
    domain: ctx.domain,
    store,
    blobDir: attachments.blobDir,
    close: () =>
      (closing ??= (async () => {
        stopSweep();
        attachments.stop();
        await transport.close();
        await attachments.close();
        store.close();
        logger.log('info', 'stopped', {});
      })()),
  };
}
