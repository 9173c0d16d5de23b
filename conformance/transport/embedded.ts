// The embedded default target: the reference provider started in-process through its public entry
// point (startProvider) on a free loopback port, with a throw-away SQLite file in a temp dir, a
// random registration token and a fresh partner key enlisted for the suite's test platform. It
// offers every operator hook (operator.ts): restart on the same store, a clock the suite can move
// ahead, small abusive-peer bounds on request, and its quota and first-party limits.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_LIMITS,
  silentLogger,
  startProvider,
  type Fault,
  type LimitOverrides,
  type ProviderOptions,
  type RunningProvider,
} from '../../reference-impl/server/index.ts';
import {
  registerOperator,
  unregisterOperator,
  type Operator,
  type PeerBounds,
} from './operator.ts';
import { generatePartnerKey, type PartnerKey } from './partner.ts';
import { makeTempDir, removeTempDir } from '../runner/temp.ts';
import { HarnessError } from '../runner/signals.ts';

/** The suite's partner platform in embedded runs. */
export const EMBEDDED_PARTNER_DOMAIN = 'conform.partner.example';
/** The one address the embedded target enlists the suite's proxy from. */
export const EMBEDDED_PROXY_SOURCE = '127.0.0.1';
/**
 * The `maxConnections` of the suite's proxy in embedded runs: small, so that PROXY-005's case can
 * fill it, and above what the other proxy cases hold at once (a few connections each).
 */
export const EMBEDDED_PROXY_MAX_CONNECTIONS = 16;

export interface EmbeddedTarget {
  url: string;
  registrationToken: string;
  partner: PartnerKey;
  /** Stops the provider and deletes its temp dir. */
  stop(): Promise<void>;
}

/**
 * How often the embedded provider sweeps expired queue entries and blobs: short, so that a case
 * that moves the clock past an expiry sees the sweep within a fraction of a second.
 */
export const EMBEDDED_SWEEP_INTERVAL_MS = 50;

/** Sweeps awaited after the clock moves, so at least one full sweep ran at the new time. */
const SWEEPS_AFTER_CLOCK_MOVE = 3;

/** Internal options, for the suite's own tests only (no CLI flag reaches them). */
export interface EmbeddedOptions {
  /** Start a deliberately broken variant (reference-impl/server/faults.ts): the suite's self-test. */
  faults?: readonly Fault[];
}

/**
 * `limits` with an operator's peer bounds applied: the authentication window is an advertised
 * limit (AUTH-031), the others are the provider's peer limits.
 */
export function limitsWithBounds(
  limits: LimitOverrides | undefined,
  bounds: Partial<PeerBounds>,
): LimitOverrides {
  const { authWindowSeconds, maxQueuedBytesPerDevice, ...peers } = bounds;
  return {
    ...limits,
    peers: { ...limits?.peers, ...peers },
    ...(maxQueuedBytesPerDevice === undefined
      ? {}
      : {
          queuePerDevice: {
            ...(limits?.queuePerDevice ?? DEFAULT_LIMITS.queuePerDevice),
            maxBytes: maxQueuedBytesPerDevice,
          },
        }),
    ...(authWindowSeconds === undefined
      ? {}
      : { advertised: { ...limits?.advertised, authWindowSeconds } }),
  };
}

/** Starts the reference provider for one run. */
export async function startEmbeddedTarget(options: EmbeddedOptions = {}): Promise<EmbeddedTarget> {
  const dir = makeTempDir('parley-conform-');
  // Created empty and 0600 before SQLite opens it (an empty file is an empty database): SQLite
  // gives its -wal and -shm files the database file's mode, so the whole store is private.
  const dbPath = join(dir, 'provider.db');
  writeFileSync(dbPath, '', { mode: 0o600, flag: 'wx' });
  const registrationToken = randomBytes(18).toString('base64url');
  const partner = await generatePartnerKey(EMBEDDED_PARTNER_DOMAIN);
  let clockAheadMs = 0;
  const settings: ProviderOptions = {
    port: 0,
    host: '127.0.0.1',
    dbPath,
    domain: 'provider.conform.example',
    registrationTokens: [registrationToken],
    partners: [partner.publicJwk],
    // spec/proxy.md: the suite's platform also runs a proxy, from this machine's loopback only (so
    // that PROXY-002 can be checked from another loopback address).
    proxies: [
      {
        domain: EMBEDDED_PARTNER_DOMAIN,
        addresses: [EMBEDDED_PROXY_SOURCE],
        maxConnections: EMBEDDED_PROXY_MAX_CONNECTIONS,
      },
    ],
    logger: silentLogger,
    limits: { sweepIntervalMs: EMBEDDED_SWEEP_INTERVAL_MS },
    now: () => Date.now() + clockAheadMs,
    ...(options.faults ? { faults: options.faults } : {}),
  };
  let provider: RunningProvider;
  try {
    provider = await startProvider(settings);
  } catch (error) {
    removeTempDir(dir);
    throw error;
  }
  const url = provider.wsUrl;
  let peerBounds: Partial<PeerBounds> | undefined;
  // Restarts run one after another, and stop() waits for the one in flight: a case cut off by its
  // time limit (or by Ctrl-C) may leave a restart behind, whose new provider would otherwise
  // outlive stop() and recreate the removed directory for its SQLite file.
  let stopped = false;
  let restarting: Promise<void> = Promise.resolve();
  const restart = (): Promise<void> => {
    const next = restarting.then(async () => {
      if (stopped) throw new HarnessError('the embedded provider was stopped: no restart');
      await provider.close();
      const limits = peerBounds ? limitsWithBounds(settings.limits, peerBounds) : settings.limits;
      provider = await startProvider({
        ...settings,
        ...(limits ? { limits } : {}),
        port: provider.port,
      });
    });
    restarting = next.catch(() => undefined);
    return next;
  };
  const operator: Operator = {
    restart,
    setClockAhead: async (ms) => {
      const back = ms < clockAheadMs;
      clockAheadMs = ms;
      // In-memory rate buckets assume time runs forward: a clock moved back starts them afresh.
      if (back) await restart();
      await new Promise((resolve) =>
        setTimeout(resolve, SWEEPS_AFTER_CLOCK_MOVE * EMBEDDED_SWEEP_INTERVAL_MS),
      );
    },
    setPeerBounds: async (bounds) => {
      peerBounds = bounds;
      await restart();
    },
    attachmentQuotaBytes: DEFAULT_LIMITS.attachmentQuotaBytes,
    // The reference provider has no first-party clients of its own outside Parley: they get
    // exactly what Parley advertises.
    firstPartyAttachmentLimits: DEFAULT_LIMITS.advertised.attachments,
    proxySources: [EMBEDDED_PROXY_SOURCE],
    proxyMaxConnections: EMBEDDED_PROXY_MAX_CONNECTIONS,
  };
  registerOperator(url, operator);
  return {
    url,
    registrationToken,
    partner,
    stop: async () => {
      unregisterOperator(url);
      stopped = true;
      await restarting;
      await provider.close();
      removeTempDir(dir);
    },
  };
}
