/**
 * What every handler sees: the provider's configuration, store, limits, delivery and rate limiter,
 * and the session of the connection a frame arrived on (spec/auth.md "Session origin").
 */
import type { JWK } from 'jose';
import type { Origin } from '../../schemas/common.ts';
import type { FrameValidator } from '../../schemas/validator.ts';
import { writeBatcherOf, type WriteBatcher } from '../store/batcher.ts';
import type { ProviderStore } from '../store/types.ts';
import type { Delivery } from './delivery.ts';
import type { Fault } from './faults.ts';
import type { ServerLimits } from './limits.ts';
import type { Logger } from './logging.ts';
import type { ProxyRegistry } from './proxies.ts';
import type { RateLimiter } from './rate-limit.ts';

/** A partner platform's enlisted public key (the `*.pub.json` that `parley keygen` writes). */
export interface EnlistedPartnerKey extends JWK {
  /** The partner platform's domain, the `iss` of its tokens. */
  domain: string;
  kid: string;
}

/** Shared provider state. */
export interface ProviderContext {
  readonly domain: string;
  readonly store: ProviderStore;
  readonly limits: ServerLimits;
  readonly logger: Logger;
  readonly validator: FrameValidator;
  readonly delivery: Delivery;
  readonly rates: RateLimiter;
  readonly registrationTokens: readonly string[];
  readonly partners: readonly EnlistedPartnerKey[];
  /** The enlisted partner proxies (spec/proxy.md); absent or empty: none is admitted. */
  readonly proxies?: ProxyRegistry;
  /** The http(s) origin clients reach, for attachment URLs. */
  httpUrl: string;
  readonly now: () => number;
  /** Injected faults, for the conformance suite's self-test only; empty in every real deployment. */
  readonly faults: ReadonlySet<Fault>;
}

/** Who an authenticated connection speaks for, fixed by `auth.ok` (AUTH-022). */
export interface Session {
  readonly address: string;
  readonly deviceId: number;
  readonly origin: Origin;
}

/** The connection state machine's states (spec/framing.md "Session state"). */
export type SessionState = 'opened' | 'greeted' | 'authenticated' | 'closed';

/** The challenge of a connection's `welcome` (AUTH-001..004). */
export interface Challenge {
  readonly bytes: Uint8Array;
  readonly issuedAt: number;
  used: boolean;
}

/** A reply frame body without the envelope; the connection adds `v` and `re`. */
export type ReplyBody = { type: string } & Record<string, unknown>;

/** What a handler returns: the reply, and work to do once the reply is on the wire. */
export interface HandlerResult {
  readonly reply: ReplyBody;
  readonly after?: () => void;
}

/** The part of a connection handlers use. */
export interface ConnectionHandle {
  readonly id: string;
  /** The client's address as the per-address limits count it (transport.ts `addressKey`). */
  readonly peerAddress?: string;
  /** The partner platform whose enlisted proxy this connection came through (PROXY-006). */
  readonly proxy?: string;
  /** The `sub` of that proxy's token: the only user `auth` may name (PROXY-007). */
  readonly proxyUser?: unknown;
  state: SessionState;
  challenge: Challenge | undefined;
  session: Session | undefined;
  /** Sends a provider push or reply frame. */
  send(frame: Record<string, unknown>): void;
  /** Pushes every queued delivery not yet pushed on this connection. */
  flush(): void;
  /**
   * Whether the client has left so much unread that pushes should wait; the connection calls
   * `flush` again once it drained (PROTO-045). Absent: never congested.
   */
  congested?(): boolean;
  /**
   * Lets the connection handle its next frame before this request's reply: a handler calls it
   * once its write has its place in the group commit (DELIV-026). Absent: frames run one by one.
   */
  release?(): void;
  /**
   * Ends the session `afterMs` from now with `SESSION_EXPIRED` (AUTH-038), unless the connection
   * closed before. Absent: sessions never expire.
   */
  expireSessionAfter?(afterMs: number): void;
  /** Closes with an error frame of a non-surviving code. */
  fail(
    code:
      'AUTH_FAILED' | 'DEVICE_REMOVED' | 'SESSION_EXPIRED' | 'UNAVAILABLE' | 'UNSUPPORTED_VERSION',
    message: string,
    re?: string,
  ): void;
}

/** A frame handler; throws ProviderError to refuse. */
export type Handler = (
  ctx: ProviderContext,
  conn: ConnectionHandle,
  frame: never,
) => HandlerResult | Promise<HandlerResult>;

/**
 * The store's group commit (store/batcher.ts): one durable transaction per event-loop turn. Its
 * follow-ups are the pushes of newly accepted messages.
 */
export function groupCommit(ctx: ProviderContext): WriteBatcher {
  return writeBatcherOf(ctx.store, (error) =>
    ctx.logger.log('error', 'delivery.push.failed', { error: String(error) }),
  );
}
