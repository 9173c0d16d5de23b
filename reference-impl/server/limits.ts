/**
 * The reference provider's named limits, each with its reason; the advertised ones go into
 * `welcome.limits` (spec/framing.md PROTO-006, spec/messages.md, spec/keys.md, spec/consent.md).
 */
import type { ProviderLimits } from '../../schemas/frames/session.ts';
import { SCHEMA_LIMITS } from '../../schemas/limits.ts';
import { MAX_DEVICE_ID } from '../crypto/limits.ts';

const MiB = 1024 * 1024;

/** A token bucket: `burst` requests at once, refilled at `perMinute`. */
export interface RateLimit {
  readonly burst: number;
  readonly perMinute: number;
}

/** Rate limits of third-party traffic (CONSENT-025, -026) and key claims (KEYS-017). */
export interface RateLimits {
  /** Third-party `message.send` per sending account: a person typing fast, not a bulk sender. */
  readonly sendPerSender: RateLimit;
  /** Third-party `message.send` per partner platform: many users, but bounded for abuse control. */
  readonly sendPerPlatform: RateLimit;
  /** Sends that open a new message request, per sending account: cold contacts are where spam lives. */
  readonly newRequestPerSender: RateLimit;
  /** Third-party `keys.claim` per claiming account. */
  readonly claimPerSender: RateLimit;
  /** Third-party `keys.claim` per partner platform. */
  readonly claimPerPlatform: RateLimit;
  /** Every `keys.claim` per claiming account, first-party included, so nobody drains a pool. */
  readonly claimPerAccount: RateLimit;
  /**
   * Third-party `keys.claim` of one account per partner platform, whoever claims (KEYS-033):
   * addresses on a partner platform cost nothing, so a per-claimer limit alone lets many of them
   * drain a pool of 100 one-time prekeys. Half the pool an hour: plenty for the new contacts of
   * one platform, and the owner, told by `keys.low`, refills faster.
   */
  readonly claimPerTarget: RateLimit;
  /**
   * Third-party messages to one user from senders the user has not accepted, per sending partner
   * platform, whoever sends (CONSENT-033): minted senders each within their own limit still cannot
   * fill a user's requests; a hostile platform exhausts only its own platform's share.
   */
  readonly unansweredPerRecipient: RateLimit;
  /**
   * Attachment bytes the users of one partner platform may reserve with `attachment.slot`, all
   * together (ATT-034): each address has its own quota (`attachmentQuotaBytes`), but addresses on
   * a partner platform cost nothing. 16 GiB at once, then 16 GiB an hour: eight users' full quotas.
   */
  readonly slotBytesPerPlatform: RateLimit;
  /**
   * Frames that write to the store and have no limit of their own (`block.set`, `consent.set`,
   * `request.respond`, `keys.publish`, `device.add`, `device.remove`), per account, all together
   * (PROTO-050): a person taps these a few times a minute; a script taps them thousands of times.
   */
  readonly writesPerAccount: RateLimit;
  /**
   * `report` per account (PROTO-050): each is kept with its comment for the operator's review, so
   * a flood fills the store and buries real reports. A user reporting a spam wave may file a few
   * at once; 20 at once, then 20 an hour.
   */
  readonly reportsPerAccount: RateLimit;
  /**
   * `group.create` per account (GROUP-032): each group is a store row set and a push to every
   * member, and a spammer's tool of choice; people create a few groups a day. 10 at once, then 1
   * a minute.
   */
  readonly groupCreatePerAccount: RateLimit;
  /**
   * Addresses a third-party user adds to groups (`group.create` and `group.add`), per adding
   * account and per partner platform (GROUP-033): each addition is an invitation in a stranger's
   * requests, like a first message (CONSENT-026). A group of the largest size at once (1 024),
   * then 64 a minute per account; a platform's users together 10 000 a minute.
   */
  readonly groupAddPerSender: RateLimit;
  readonly groupAddPerPlatform: RateLimit;
  /**
   * `account.register` attempts with a token the operator did not issue, per connection and per
   * client address (AUTH-030): a guesser gets a handful, not thousands a second. Only refusals
   * count, so a test suite registering hundreds of accounts with its real token is never slowed.
   */
  readonly badRegistrationsPerConnection: RateLimit;
  readonly badRegistrationsPerAddress: RateLimit;
}

/**
 * Abuse control of the transport (spec/framing.md "Transport"): a gateway open to the whole EU
 * meets peers that never read and hosts that open connections in a loop.
 */
export interface PeerLimits {
  /**
   * Bytes the provider may hold unsent for one connection. Pushes wait while more than half of
   * this is unsent; a peer whose unsent replies still pass it is closed (close code 1008) instead
   * of growing the provider's memory, and its undelivered messages stay queued for its next
   * connection. Two full frames, so one frame in flight never trips it.
   */
  readonly maxSendBufferBytes: number;
  /**
   * How long a connection's unsent bytes may stay above half of `maxSendBufferBytes` before it is
   * closed (close code 1008): pushes wait meanwhile, so a client that stopped reading and sends
   * nothing is dropped too. A minute, as PROTO-028 gives an idle client.
   */
  readonly maxSendStallMs: number;
  /**
   * Open connections from one client address, HTTP and WebSocket alike (an IPv6 /64 counts as
   * one address; behind `trustedProxies`, requests and upgrades in progress of the forwarded
   * client). High enough for a carrier-grade NAT in front of many households.
   */
  readonly maxConnectionsPerAddress: number;
  /** New connections from one client address; a reconnect loop is refused with 429. */
  readonly newConnectionsPerAddress: RateLimit;
  /** Exempts loopback clients from the two per-address limits (load tests on one machine). */
  readonly exemptLoopback: boolean;
  /**
   * A WebSocket connection on which the provider received no frame (a WebSocket ping included)
   * for this long is closed with 1000, freeing what a vanished peer held. PROTO-028 allows it after
   * 60 s; twice that leaves a client that pings every 30 s (PROTO-029) room for lost pings.
   */
  readonly idleCloseMs: number;
  /**
   * Bytes of frames read from one connection (PROTO-049): past the burst the provider stops reading
   * from it until the bucket refills, so the frames wait in the peer's own TCP buffers. Four full
   * frames at once, then 2 MiB a second: far above a client's sends (attachments go over HTTP),
   * far below what one peer can push through loopback or a datacenter link.
   */
  readonly bytesPerConnection: RateLimit;
  /**
   * Milliseconds of the main thread spent reading one connection's frames (UTF-8, structure
   * scan, JSON, envelope and schema checks; PROTO-049), as a token bucket of milliseconds: a
   * second at once, then 10 % of the thread. A client's frames cost well under a millisecond each
   * once the provider is warm; a hostile peer's worst (a 4 MiB frame) tens, and is then read at
   * this pace.
   */
  readonly readMsPerConnection: RateLimit;
  /**
   * The byte budget of a connection that has not authenticated (PROTO-049): `hello`, `auth` and
   * `account.register` take a few kilobytes, so a peer that floods before `auth.ok` is read at a
   * trickle from its first frames, and reconnecting gives it no more than that again. Its frames
   * are at most `maxUnauthenticatedFrameBytes` long, so bytes bound what reading them costs; no
   * time budget applies before `auth.ok` (time is measured on the wall clock, and a provider's first
   * frames after it starts cost it hundreds of milliseconds of compiling, which must not pause a
   * client).
   */
  readonly bytesBeforeAuth: RateLimit;
  /**
   * Addresses of reverse proxies in front of the provider whose `X-Forwarded-For` is believed:
   * behind them the per-address limits count the client's address, not the proxy's. Empty: the
   * header is ignored, as any client can send it.
   */
  readonly trustedProxies: readonly string[];
}

/** Everything the provider bounds. */
export interface ServerLimits {
  readonly advertised: ProviderLimits;
  /**
   * Devices per account; at most `maxDevicesPerMessage` so one send can reach them all (DELIV-006),
   * and at most 127, the device ids libsignal accepts (AUTH-032).
   */
  readonly maxDevicesPerAccount: number;
  /** Seconds within which an `auth` must follow its `welcome` (AUTH-004). */
  readonly challengeTtlSeconds: number;
  /** Tolerated clock skew for partner tokens' `exp` and `iat` (AUTH-015). */
  readonly tokenSkewSeconds: number;
  /** Longest partner token lifetime, `exp - iat` (AUTH-016). */
  readonly tokenMaxLifetimeSeconds: number;
  /** How long idempotency keys are remembered (DELIV-012: at least 24 hours). */
  readonly idempotencySeconds: number;
  /** Stored, unexpired attachment bytes per user (ATT-016). */
  readonly attachmentQuotaBytes: number;
  /**
   * The most one device's queue holds (DELIV-032), in characters of base64url bodies and in
   * messages: a send past either is refused with RATE_LIMITED. 128 Mi characters (96 MiB of
   * ciphertext, about 750 messages of the largest body) and 50 000 messages leave a device offline
   * for a month in busy chats its backlog, and keep a flood from filling the disk: the 3 700
   * sends of 80 KB (300 MiB) stop at about 1 600.
   */
  readonly queuePerDevice: { readonly maxBytes: number; readonly maxMessages: number };
  /** How often expired queue entries and idempotency records are purged. */
  readonly sweepIntervalMs: number;
  readonly rates: RateLimits;
  readonly peers: PeerLimits;
}

/** A partial override, as tests and `--config` give it. */
export type LimitOverrides = Partial<Omit<ServerLimits, 'advertised' | 'rates' | 'peers'>> & {
  advertised?: Partial<Omit<ProviderLimits, 'attachments'>> & {
    attachments?: Partial<ProviderLimits['attachments']>;
  };
  rates?: Partial<RateLimits>;
  peers?: Partial<PeerLimits>;
};

export const DEFAULT_LIMITS: ServerLimits = {
  advertised: {
    // 16 devices × 128 KiB bodies in base64url (×4/3) is 2.7 MiB; 4 MiB leaves room for JSON.
    maxFrameBytes: 4 * MiB,
    // PROTO-047: before auth.ok a peer is nobody; hello, auth with a partner token (about 1 KiB)
    // and account.register fit many times over, a parser bomb does not.
    maxUnauthenticatedFrameBytes: 16 * 1024,
    // Two full 65 536-character texts of ASCII content fit; attachments travel over HTTP.
    maxMessageBytes: 128 * 1024,
    // Today's platforms link a handful of devices per account.
    maxDevicesPerMessage: 16,
    // Signal's clients publish batches of 100.
    maxOneTimePreKeysPerPublish: SCHEMA_LIMITS.maxOneTimePreKeysPerPublish,
    // 30 days, DELIV-029's floor: a phone left in a drawer for a month still gets its messages.
    queueTtlSeconds: 30 * 24 * 3600,
    // AUTH-031: the challenge expires after challengeTtlSeconds (AUTH-004); 10 s more for the
    // round trips of hello, account.register and auth on a slow link.
    authWindowSeconds: 70,
    // Signal refills below 10 keys.
    lowPreKeyThreshold: 10,
    // GROUP-030: WhatsApp's group size.
    maxGroupMembers: 1024,
    attachments: {
      image: 25 * MiB,
      video: 100 * MiB,
      audio: 25 * MiB,
      document: 100 * MiB,
      // ATT-014: a blob outlives the messages that point to it.
      ttlSeconds: 30 * 24 * 3600,
      // ATT-011: the chunk size of the attachment stream format.
      chunkBytes: 65536,
    },
  },
  maxDevicesPerAccount: 16,
  challengeTtlSeconds: 60,
  tokenSkewSeconds: 60,
  tokenMaxLifetimeSeconds: 3600,
  idempotencySeconds: 24 * 3600,
  attachmentQuotaBytes: 2 * 1024 * MiB,
  queuePerDevice: { maxBytes: 128 * MiB, maxMessages: 50_000 },
  sweepIntervalMs: 60_000,
  rates: {
    sendPerSender: { burst: 60, perMinute: 60 },
    sendPerPlatform: { burst: 6000, perMinute: 6000 },
    newRequestPerSender: { burst: 10, perMinute: 5 },
    claimPerSender: { burst: 60, perMinute: 60 },
    claimPerPlatform: { burst: 6000, perMinute: 6000 },
    claimPerAccount: { burst: 600, perMinute: 600 },
    claimPerTarget: { burst: 50, perMinute: 50 / 60 },
    unansweredPerRecipient: { burst: 100, perMinute: 100 / 60 },
    writesPerAccount: { burst: 60, perMinute: 60 },
    badRegistrationsPerConnection: { burst: 3, perMinute: 3 },
    badRegistrationsPerAddress: { burst: 20, perMinute: 10 },
    reportsPerAccount: { burst: 20, perMinute: 20 / 60 },
    groupCreatePerAccount: { burst: 10, perMinute: 1 },
    groupAddPerSender: { burst: 1024, perMinute: 64 },
    groupAddPerPlatform: { burst: 10_000, perMinute: 10_000 },
    slotBytesPerPlatform: { burst: 16 * 1024 * MiB, perMinute: (16 * 1024 * MiB) / 60 },
  },
  peers: {
    maxSendBufferBytes: 8 * MiB,
    maxSendStallMs: 60_000,
    maxConnectionsPerAddress: 1024,
    // A whole office reconnecting after an outage, then 100 a second: far above any client's
    // backoff, far below a connection flood.
    newConnectionsPerAddress: { burst: 2000, perMinute: 6000 },
    exemptLoopback: false,
    idleCloseMs: 120_000,
    bytesPerConnection: { burst: 16 * MiB, perMinute: 120 * MiB },
    readMsPerConnection: { burst: 1000, perMinute: 6000 },
    bytesBeforeAuth: { burst: 64 * 1024, perMinute: 1 * MiB },
    trustedProxies: [],
  },
};

/** The defaults with `overrides` applied member by member. */
export function resolveLimits(overrides: LimitOverrides = {}): ServerLimits {
  const { advertised = {}, rates = {}, peers = {}, ...rest } = overrides;
  const { attachments = {}, ...adv } = advertised;
  const resolved: ServerLimits = {
    ...DEFAULT_LIMITS,
    ...rest,
    advertised: {
      ...DEFAULT_LIMITS.advertised,
      ...adv,
      attachments: { ...DEFAULT_LIMITS.advertised.attachments, ...attachments },
    },
    rates: { ...DEFAULT_LIMITS.rates, ...rates },
    peers: { ...DEFAULT_LIMITS.peers, ...peers },
  };
  // DELIV-006: one send must be able to reach every device an account may have; AUTH-032: device
  // ids are 1..127.
  const maxDevicesPerAccount = Math.min(
    resolved.maxDevicesPerAccount,
    resolved.advertised.maxDevicesPerMessage,
    MAX_DEVICE_ID,
  );
  return { ...resolved, maxDevicesPerAccount };
}
