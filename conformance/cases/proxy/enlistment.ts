// PROXY cases of spec/proxy.md (provider side): a proxy token that an enlisted proxy could not have
// sent is refused with 403 PROXY_REFUSED before any upgrade (PROXY-001..003), connections through a
// proxy count under the client address they forward (PROXY-004), a proxy holds at most its enlisted
// connections (PROXY-005, SHOULD), a proxy carries only its own platform's users (PROXY-006), and a
// session through it is the user the proxy logged in, when its token names one (PROXY-007). The suite plays its partner platform's proxy: the target must have
// enlisted it (the partner key's domain, from the suite's address) and claim the capability `proxy`.
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { ERROR_CODES } from '../../../schemas/errors.ts';
import { isError, isType, that, type Frame } from '../../assert/match.ts';
import { must, mustMatch, requireThat } from '../../assert/must.ts';
import { defineCase, type CaseContext } from '../../runner/case.ts';
import { generatePartnerKey } from '../../transport/partner.ts';
import {
  mintProxyToken,
  PROXY_HEADER,
  tryUpgrade,
  type ProxyClaims,
  type Upgrade,
} from '../../transport/proxy-token.ts';

/** PROXY-001..003's refusal status: the registry's for PROXY_REFUSED (403). */
const HTTP_FORBIDDEN = ERROR_CODES.PROXY_REFUSED.httpStatus;
/** PROXY-004's refusal: the registry's for RATE_LIMITED (429). */
const HTTP_TOO_MANY_REQUESTS = ERROR_CODES.RATE_LIMITED.httpStatus;
/** Client addresses the suite forwards: documentation ranges (RFC 5737), never a real client. */
const CLIENT_A = '203.0.113.10';
const CLIENT_B = '203.0.113.11';
/** The client address of the control upgrade, apart from those a case counts. */
const CONTROL_CLIENT = '203.0.113.99';
/** The per-address connection bound PROXY-004's case asks an operator for. */
const SMALL_CONNECTIONS_PER_ADDRESS = 3;
/** The largest enlisted `maxConnections` PROXY-005's case fills (one upgrade each). */
const MAX_FILLED_PROXY_CONNECTIONS = 64;
/** PROXY-005's clients: each its own address (RFC 5737), so no per-address bound is met first. */
const fillClient = (i: number): string => `198.51.100.${i + 1}`;

const parse = (body: string): Frame => {
  try {
    return JSON.parse(body) as Frame;
  } catch {
    return { unparsed: body.slice(0, 200) };
  }
};

const describe = (u: Upgrade): string =>
  'ws' in u ? 'the upgrade accepted' : `HTTP ${u.status} ${u.body.slice(0, 160)}`;

/** Checks that `u` is PROXY-001..003's refusal: 403 with a PROXY_REFUSED body, no upgrade. */
function mustBeRefused(requirement: string, u: Upgrade, what: string): void {
  if ('ws' in u) u.ws.terminate();
  const body = 'ws' in u ? {} : parse(u.body);
  must(
    requirement,
    that(
      !('ws' in u) && u.status === HTTP_FORBIDDEN && body.code === 'PROXY_REFUSED',
      `${what}: refused with HTTP ${HTTP_FORBIDDEN} and a PROXY_REFUSED body`,
      describe(u),
    ),
  );
}

/** The proxy token the suite's proxy would send for `addr`, with `claims` overriding. */
async function proxyHeaders(
  { target }: CaseContext,
  claims: Partial<ProxyClaims> = {},
  key = target.partner,
): Promise<Record<string, string>> {
  return {
    [PROXY_HEADER]: await mintProxyToken(key, { aud: target.domain, addr: CLIENT_A, ...claims }),
  };
}

/**
 * Skips unless the target claims `proxy` and admits the suite as its partner platform's proxy: an
 * upgrade with a valid token must open (the control every refusal is compared with).
 */
async function requireEnlisted(ctx: CaseContext): Promise<void> {
  requireThat(
    ctx.target.capabilities.includes('proxy'),
    'the target does not claim the capability proxy',
  );
  const control = await tryUpgrade(
    ctx.target.url,
    ctx.waitMs,
    await proxyHeaders(ctx, { addr: CONTROL_CLIENT }),
  );
  if ('ws' in control) {
    control.ws.terminate();
    return;
  }
  requireThat(
    false,
    `the target refused the suite's proxy (${describe(control)}): enlist a proxy of ${ctx.target.partner.domain} from the suite's address (spec/proxy.md#enlistment)`,
  );
}

export const proxyEnlistmentCases = [
  defineCase({
    id: 'PROXY-001-unenlisted-proxy-refused',
    title:
      'an upgrade whose proxy token is signed by a key not enlisted, for another audience, expired or without a client address is refused with 403 PROXY_REFUSED',
    requirements: ['PROXY-001'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      "The provider MUST refuse, with HTTP status 403 and a `PROXY_REFUSED` error body and without upgrading, a request that carries a `Parley-Proxy` header unless its token verifies under a key enlisted for the platform in `iss`, that platform has an enlisted proxy, `aud` is the provider's domain, the token is within its lifetime of at most 300 seconds, and `addr` is an IP address.",
    sends:
      'upgrades with Parley-Proxy tokens: valid (control); signed by a fresh key of the same platform; aud of another domain; expired; living 600 s; addr not an IP; a platform without a proxy',
    async run(ctx) {
      await requireEnlisted(ctx);
      const { target, waitMs } = ctx;
      const now = Math.floor(Date.now() / 1000);
      const stranger = await generatePartnerKey(target.partner.domain);
      const elsewhere = await generatePartnerKey(`proxy.${target.partner.domain}.invalid`);
      const attempts: [string, Record<string, string>][] = [
        ['a token signed by a key not enlisted', await proxyHeaders(ctx, {}, stranger)],
        ['a token for another audience', await proxyHeaders(ctx, { aud: 'other.example' })],
        ['an expired token', await proxyHeaders(ctx, { iat: now - 400, exp: now - 200 })],
        ['a token living 600 s', await proxyHeaders(ctx, { iat: now, exp: now + 600 })],
        ['a token whose addr is not an IP', await proxyHeaders(ctx, { addr: 'alice' })],
        ['a token of a platform with no proxy', await proxyHeaders(ctx, {}, elsewhere)],
      ];
      for (const [what, headers] of attempts)
        mustBeRefused('PROXY-001', await tryUpgrade(target.url, waitMs, headers), what);
    },
  }),
  defineCase({
    id: 'PROXY-002-proxy-source-enlisted',
    title:
      'a valid proxy token from an address the proxy is not enlisted from is refused with 403 PROXY_REFUSED',
    requirements: ['PROXY-002'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      "The provider MUST refuse with HTTP status 403 and a `PROXY_REFUSED` error body a request carrying a valid proxy token whose connection does not come from an address enlisted for that platform's proxy.",
    sends:
      'an upgrade with a valid Parley-Proxy token from 127.0.0.2, for a target on 127.0.0.1 that enlisted the suite from 127.0.0.1 only',
    async run(ctx) {
      await requireEnlisted(ctx);
      const host = new URL(ctx.target.url).hostname;
      const enlisted = ctx.target.operator?.proxySources;
      const source = ['127.0.0.2', '127.0.0.3'].find((a) => !enlisted?.includes(a));
      // Only loopback offers the suite a second source address, and only the operator knows it
      // is not enlisted.
      requireThat(
        host === '127.0.0.1' && enlisted !== undefined && source !== undefined,
        'the suite reaches this target from one address, or its operator does not say which addresses it enlisted the proxy from',
      );
      const u = await tryUpgrade(ctx.target.url, ctx.waitMs, await proxyHeaders(ctx), source);
      mustBeRefused('PROXY-002', u, `a valid token from ${source}, an address not enlisted`);
    },
  }),
  defineCase({
    id: 'PROXY-003-proxy-token-once',
    title: 'a proxy token presented a second time is refused with 403 PROXY_REFUSED',
    requirements: ['PROXY-003'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      'The provider MUST refuse with HTTP status 403 and a `PROXY_REFUSED` error body a proxy token whose `jti` it accepted before from the same platform.',
    sends: 'two upgrades with the same Parley-Proxy token',
    async run(ctx) {
      await requireEnlisted(ctx);
      const headers = await proxyHeaders(ctx, { jti: randomBytes(18).toString('base64url') });
      const first = await tryUpgrade(ctx.target.url, ctx.waitMs, headers);
      must(
        'PROXY-003',
        that('ws' in first, 'the first upgrade with the token accepted', describe(first)),
      );
      (first as { ws: WebSocket }).ws.terminate();
      mustBeRefused(
        'PROXY-003',
        await tryUpgrade(ctx.target.url, ctx.waitMs, headers),
        'the same token again',
      );
    },
  }),
  defineCase({
    id: 'PROXY-004-limits-per-forwarded-client',
    title:
      'connections through a proxy count under the client address they forward: one client at the limit is refused 429, another client and direct connections are not',
    requirements: ['PROXY-004'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      'The provider MUST count each connection and request admitted through an enlisted proxy under the `addr` of its proxy token, apart for each proxy, in the limits it applies per client address, and never under the address of the proxy itself.',
    sends: `setPeerBounds maxConnectionsPerAddress ${SMALL_CONNECTIONS_PER_ADDRESS}; through the proxy ${SMALL_CONNECTIONS_PER_ADDRESS + 1} upgrades for ${CLIENT_A}, then one for ${CLIENT_B}; one direct upgrade`,
    exclusive: true,
    timeoutMs: 15_000,
    async run(ctx) {
      const set = ctx.target.operator?.setPeerBounds;
      requireThat(
        set !== undefined,
        'the target offers no operator hook setPeerBounds to state a per-address bound the case can reach',
      );
      await requireEnlisted(ctx);
      await set!({ maxConnectionsPerAddress: SMALL_CONNECTIONS_PER_ADDRESS });
      const open: WebSocket[] = [];
      const via = async (addr: string): Promise<Upgrade> => {
        const u = await tryUpgrade(ctx.target.url, ctx.waitMs, await proxyHeaders(ctx, { addr }));
        if ('ws' in u) open.push(u.ws);
        return u;
      };
      try {
        for (let i = 0; i < SMALL_CONNECTIONS_PER_ADDRESS; i++) {
          const u = await via(CLIENT_A);
          must(
            'PROXY-004',
            that(
              'ws' in u,
              `connection ${i + 1} of ${CLIENT_A} through the proxy accepted (the bound is ${SMALL_CONNECTIONS_PER_ADDRESS})`,
              describe(u),
            ),
          );
        }
        const past = await via(CLIENT_A);
        must(
          'PROXY-004',
          that(
            !('ws' in past) && past.status === HTTP_TOO_MANY_REQUESTS,
            `connection ${SMALL_CONNECTIONS_PER_ADDRESS + 1} of ${CLIENT_A} refused with HTTP ${HTTP_TOO_MANY_REQUESTS}`,
            describe(past),
          ),
        );
        const other = await via(CLIENT_B);
        must(
          'PROXY-004',
          that(
            'ws' in other,
            `a connection of ${CLIENT_B} through the same proxy accepted`,
            describe(other),
          ),
        );
        const direct = await tryUpgrade(ctx.target.url, ctx.waitMs);
        if ('ws' in direct) open.push(direct.ws);
        must(
          'PROXY-004',
          that(
            'ws' in direct,
            "a direct connection from the proxy's own address accepted",
            describe(direct),
          ),
        );
      } finally {
        for (const ws of open) ws.terminate();
        await set!(undefined);
      }
    },
  }),
  defineCase({
    id: 'PROXY-005-proxy-connection-bound',
    title:
      'an upgrade through a proxy that holds its enlisted maxConnections open is refused with 429 RATE_LIMITED, and admitted again once one of them closes',
    requirements: ['PROXY-005'],
    level: 'SHOULD',
    capabilities: ['proxy'],
    quote:
      'The provider SHOULD refuse with HTTP status 429 and a `RATE_LIMITED` error body an upgrade through a proxy that already holds its enlisted `maxConnections` open.',
    sends: `through the proxy, upgrades of distinct client addresses until one is refused (at most maxConnections + 1, maxConnections ≤ ${MAX_FILLED_PROXY_CONNECTIONS}); one of them closed; one more upgrade`,
    exclusive: true,
    timeoutMs: 20_000,
    async run(ctx) {
      const max = ctx.target.operator?.proxyMaxConnections;
      requireThat(
        max !== undefined && max <= MAX_FILLED_PROXY_CONNECTIONS,
        max === undefined
          ? "the operator does not say the maxConnections of the suite's proxy (proxyMaxConnections)"
          : `the suite's proxy is enlisted with maxConnections ${max}, more than the ${MAX_FILLED_PROXY_CONNECTIONS} the case fills`,
      );
      await requireEnlisted(ctx);
      const open: WebSocket[] = [];
      const via = async (addr: string): Promise<Upgrade> => {
        const u = await tryUpgrade(ctx.target.url, ctx.waitMs, await proxyHeaders(ctx, { addr }));
        if ('ws' in u) open.push(u.ws);
        return u;
      };
      try {
        // Connections other cases closed may still be counted for a moment: the refusal may come
        // a little early, never late.
        let refused: Upgrade | undefined;
        for (let i = 0; i <= max! && refused === undefined; i++) {
          const u = await via(fillClient(i));
          if (!('ws' in u)) refused = u;
        }
        const body = refused && !('ws' in refused) ? parse(refused.body) : {};
        must(
          'PROXY-005',
          that(
            refused !== undefined &&
              !('ws' in refused) &&
              open.length > 0 &&
              refused.status === HTTP_TOO_MANY_REQUESTS &&
              body.code === 'RATE_LIMITED',
            `upgrade ${max! + 1} through the proxy, past its maxConnections ${max}, refused with HTTP ${HTTP_TOO_MANY_REQUESTS} and a RATE_LIMITED body`,
            refused === undefined
              ? `all ${max! + 1} upgrades accepted`
              : `after ${open.length} accepted: ${describe(refused)}`,
          ),
        );
        // The bound is on connections held open, not on connections made: a close frees a place.
        open.shift()!.terminate();
        let again: Upgrade | undefined;
        const until = Date.now() + ctx.waitMs;
        do {
          if (again !== undefined) await new Promise((r) => setTimeout(r, 50));
          again = await via(fillClient(max! + 1));
        } while (!('ws' in again) && Date.now() < until);
        must(
          'PROXY-005',
          that(
            'ws' in again,
            'an upgrade through the proxy admitted once one of its connections closed',
            describe(again),
          ),
        );
      } finally {
        for (const ws of open) ws.terminate();
      }
    },
  }),
  defineCase({
    id: 'PROXY-006-proxy-carries-its-own-users',
    title:
      "a first-party device cannot authenticate through a partner's proxy, while the proxy's own platform's user can",
    requirements: ['PROXY-006'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      "The provider MUST refuse with `AUTH_FAILED` an `auth` on a connection admitted through a proxy unless its method is `partner` and its token's `iss` is the proxy's platform.",
    sends:
      "alice registers directly; through the proxy: alice's device auth, then bob's partner auth (control)",
    async run(ctx) {
      await requireEnlisted(ctx);
      const { world } = ctx;
      const alice = await world.firstParty('alice');
      alice.peer.close();
      await alice.connect({ headers: await proxyHeaders(ctx) });
      mustMatch('PROXY-006', await alice.authDevice(), isError('AUTH_FAILED'));
      const bob = world.partnerDevice('bob');
      await bob.connect({ headers: await proxyHeaders(ctx, { addr: CLIENT_B }) });
      const ok = await bob.peer.request(
        'auth',
        await bob.partnerAuthFrame(ctx.target.partner, ctx.target.domain),
      );
      mustMatch('PROXY-006', ok, isType('auth.ok'), "the proxy's own platform's user");
    },
  }),
  defineCase({
    id: 'PROXY-007-auth-is-the-proxy-login',
    title:
      "through a proxy whose token names bob, bob's partner auth is accepted, and carol's is refused with AUTH_FAILED",
    requirements: ['PROXY-007'],
    level: 'MUST',
    capabilities: ['proxy'],
    quote:
      "The provider MUST refuse with `AUTH_FAILED` an `auth` on a connection admitted through a proxy whose token names a `sub` unless the partner token's `sub` is that address.",
    sends:
      "through the proxy, with sub = bob's address: bob's partner auth (control); on another such connection, carol's partner auth",
    async run(ctx) {
      await requireEnlisted(ctx);
      const { world, target } = ctx;
      const bob = world.partnerDevice('bob');
      await bob.connect({ headers: await proxyHeaders(ctx, { addr: CLIENT_B, sub: bob.address }) });
      mustMatch(
        'PROXY-007',
        await bob.peer.request('auth', await bob.partnerAuthFrame(target.partner, target.domain)),
        isType('auth.ok'),
        'bob, the user the proxy token names',
      );
      const carol = world.partnerDevice('carol');
      await carol.connect({
        headers: await proxyHeaders(ctx, { addr: CLIENT_A, sub: bob.address }),
      });
      mustMatch(
        'PROXY-007',
        await carol.peer.request(
          'auth',
          await carol.partnerAuthFrame(target.partner, target.domain),
        ),
        isError('AUTH_FAILED'),
        'carol, on a connection whose proxy token names bob',
      );
    },
  }),
];
