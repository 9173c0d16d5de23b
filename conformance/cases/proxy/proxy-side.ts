// PROXY cases of spec/proxy.md "The proxy's side", run by `parley conform --proxy`: the suite plays
// the platform's clients downstream of the proxy and the provider upstream of it, and checks one
// upstream per client for the client's lifetime, bytes forwarded unchanged both ways, no message of
// the proxy's own, the client's address (and its login, SHOULD) in a signed proxy token, refusals
// passed back, and nothing handed on after a client left.
import { randomBytes } from 'node:crypto';
import { decodeJwt, importJWK, jwtVerify, type JWK } from 'jose';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineProxyCase } from '../../runner/case.ts';
import { show, type UpstreamLink, type WireMessage } from '../../proxy/upstream.ts';
import type { ProxyClient, Refusal } from '../../proxy/world.ts';

/** PROXY-021's bound on closing a left client's upstream. */
const UPSTREAM_CLOSE_SECONDS = 5;
/** How long a case watches for messages nobody sent (PROXY-024) or that must not come (PROXY-027). */
const QUIET_MS = 1500;

/** Bytes a re-serialising proxy would change: member order, spacing, escapes, a long ciphertext. */
function awkwardFrame(id: string): Buffer {
  const body = randomBytes(3000).toString('base64url');
  return Buffer.from(
    `{ "type" : "message.send","v":1, "id":"${id}",\n "to":"alice@provider.example", "idempotencyKey":"k\\u002e${id}",` +
      `"messages":[{"deviceId":1,"registrationId":7,"type":"whisper","body":"${body}"}] }  `,
  );
}

const sameMessages = (a: readonly WireMessage[], b: readonly WireMessage[]): boolean =>
  a.length === b.length &&
  a.every((m, i) => m.binary === b[i]!.binary && m.bytes.equals(b[i]!.bytes));

const list = (ms: readonly WireMessage[]): string =>
  ms.length === 0 ? 'none' : ms.map((m) => show(m)).join('; ');

/** The one upstream link the proxy opened for the case's first client, or the failure. */
async function firstLink(
  requirement: string,
  proxy: { awaitLinks(n: number): Promise<boolean>; links: UpstreamLink[] },
): Promise<UpstreamLink> {
  must(
    requirement,
    that(await proxy.awaitLinks(1), 'an upstream connection for the client', 'none opened'),
  );
  return proxy.links[0]!;
}

export const proxySideCases = [
  defineProxyCase({
    id: 'PROXY-020-one-upstream-per-client',
    title:
      'two clients get two upstream connections, and each carries only its own client’s messages',
    requirements: ['PROXY-020'],
    level: 'MUST',
    quote:
      'A proxy MUST open a separate upstream connection for each client connection and MUST NOT carry the messages of two client connections on one upstream connection.',
    sends: 'bob and carol connect through the proxy; each sends one ping with its own id',
    async run({ proxy, waitMs }) {
      const bob = await proxy.connect(proxy.address('bob'));
      await proxy.awaitLinks(1);
      const carol = await proxy.connect(proxy.address('carol'));
      const two = await proxy.awaitLinks(2);
      const ping = (id: string): Buffer => Buffer.from(`{"v":1,"type":"ping","id":"${id}"}`);
      bob.send(ping('bob.1'));
      carol.send(ping('carol.1'));
      const links = proxy.links;
      if (two)
        await Promise.all(
          links.slice(0, 2).map((l) => l.until(() => l.received.length >= 1, waitMs)),
        );
      else await links[0]?.until(() => links[0]!.received.length >= 2, waitMs);
      must(
        'PROXY-020',
        that(
          links.length === 2 &&
            links.every((l) => l.received.length === 1) &&
            new Set(links.map((l) => l.received[0]!.bytes.toString())).size === 2,
          'two upstream connections, one message of one client on each',
          `${links.length} upstream connection(s) carrying ${links.map((l) => l.received.length).join(' and ')} message(s)`,
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-021-upstream-closed-with-client',
    title: `a client’s upstream connection closes within ${UPSTREAM_CLOSE_SECONDS} s after the client left`,
    requirements: ['PROXY-021'],
    level: 'MUST',
    quote:
      "A proxy MUST close a client's upstream connection within 5 seconds after the client's connection closed.",
    sends: 'bob connects through the proxy, then closes with 4000',
    timeoutMs: 10_000,
    async run({ proxy, scale }) {
      const bob = await proxy.connect(proxy.address('bob'));
      const link = await firstLink('PROXY-021', proxy);
      bob.ws.close(4000, 'bye');
      const closed = await link.until(
        () => link.closeCode !== undefined,
        scale(UPSTREAM_CLOSE_SECONDS * 1000),
      );
      must(
        'PROXY-021',
        that(
          closed,
          `the upstream connection closed within ${UPSTREAM_CLOSE_SECONDS} s`,
          'still open',
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-022-client-closed-with-upstream',
    title: 'the provider closing the upstream closes the client with the same close code',
    requirements: ['PROXY-022'],
    level: 'MUST',
    quote:
      "A proxy MUST close a client's connection when its upstream connection closes, with the upstream's close code when RFC 6455 allows an endpoint to send it.",
    sends: 'bob connects through the proxy; the suite’s provider closes his upstream with 4401',
    async run({ proxy, waitMs }) {
      const bob = await proxy.connect(proxy.address('bob'));
      const link = await firstLink('PROXY-022', proxy);
      link.ws.close(4401, 'authentication failed');
      await bob.until(() => bob.closeCode !== undefined, waitMs);
      must(
        'PROXY-022',
        that(
          bob.closeCode === 4401,
          'the client closed with 4401',
          bob.closeCode === undefined ? 'still open' : `closed with ${bob.closeCode}`,
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-023-bytes-unchanged',
    title:
      'messages reach the other side byte for byte, text as text and binary as binary, in order, both ways',
    requirements: ['PROXY-023'],
    level: 'MUST',
    quote:
      'A proxy MUST forward every WebSocket message of a client to its upstream connection, and every message of the upstream connection to the client, byte for byte, as text or binary as it came, and in order.',
    sends:
      'bob sends two message.send frames with odd spacing, escapes and member order and one binary message; the provider sends two such frames back',
    async run({ proxy, waitMs }) {
      const bob = await proxy.connect(proxy.address('bob'));
      const link = await firstLink('PROXY-023', proxy);
      const up: WireMessage[] = [
        { bytes: awkwardFrame('s1'), binary: false },
        { bytes: awkwardFrame('s2'), binary: false },
        { bytes: randomBytes(64), binary: true },
      ];
      for (const m of up) bob.send(m.bytes, m.binary);
      await link.until(() => link.received.length >= up.length, waitMs);
      must(
        'PROXY-023',
        that(sameMessages(link.received, up), list(up), list(link.received)),
        'client to provider',
      );
      const down: WireMessage[] = [
        { bytes: awkwardFrame('m1'), binary: false },
        {
          bytes: Buffer.from('{"re":"s1" ,"v":1,"type":"message.accepted","messageId":"x"}'),
          binary: false,
        },
      ];
      for (const m of down) link.send(m.bytes, m.binary);
      await bob.until(() => bob.received.length >= down.length, waitMs);
      must(
        'PROXY-023',
        that(sameMessages(bob.received, down), list(down), list(bob.received)),
        'provider to client',
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-024-no-message-of-its-own',
    title: 'neither side receives a message the other did not send',
    requirements: ['PROXY-024'],
    level: 'MUST',
    quote:
      "A proxy MUST NOT send on a client's connection or on its upstream connection a message that the other side did not send.",
    sends: `bob sends one hello; the provider answers one welcome-like frame; ${QUIET_MS} ms of quiet`,
    async run({ proxy, scale }) {
      const bob = await proxy.connect(proxy.address('bob'));
      const link = await firstLink('PROXY-024', proxy);
      const hello = Buffer.from('{"v":1,"type":"hello","id":"h1","versions":[1]}');
      bob.send(hello);
      const answer = Buffer.from('{"v":1,"type":"pong","re":"h1"}');
      link.send(answer);
      await new Promise((r) => setTimeout(r, scale(QUIET_MS)));
      must(
        'PROXY-024',
        that(
          sameMessages(link.received, [{ bytes: hello, binary: false }]) &&
            sameMessages(bob.received, [{ bytes: answer, binary: false }]),
          'upstream received only bob’s hello, and bob only the provider’s answer',
          `upstream: ${list(link.received)}; bob: ${list(bob.received)}`,
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-025-client-address-conveyed',
    title:
      'each upstream upgrade carries a proxy token signed with the platform’s key, naming the provider and the client’s address',
    requirements: ['PROXY-025'],
    level: 'MUST',
    quote:
      "A proxy MUST present on each upstream connection a proxy token signed with its platform's enlisted key whose `addr` is the address the client's connection came from.",
    sends: 'bob connects through the proxy',
    async run({ proxy }) {
      const bob: ProxyClient = await proxy.connect(proxy.address('bob'));
      const link = await firstLink('PROXY-025', proxy);
      const header = link.headers['parley-proxy'];
      let claims: Record<string, unknown> | string;
      try {
        const key = await importJWK({ ...proxy.target.partnerKey, alg: 'EdDSA' } as JWK, 'EdDSA');
        ({ payload: claims } = await jwtVerify(String(header), key, {
          algorithms: ['EdDSA'],
          typ: 'parley-proxy+jwt',
          issuer: proxy.target.platform,
          audience: proxy.target.providerDomain,
          requiredClaims: ['iat', 'exp', 'jti'],
        }));
      } catch (error) {
        claims = header === undefined ? 'no Parley-Proxy header' : (error as Error).message;
      }
      must(
        'PROXY-025',
        that(
          typeof claims !== 'string',
          `a proxy token verifying under the platform's key (iss ${proxy.target.platform}, aud ${proxy.target.providerDomain})`,
          claims,
        ),
      );
      const addr = (claims as Record<string, unknown>).addr;
      const expected = (bob.localAddress ?? '').replace(/^::ffff:/, '');
      must(
        'PROXY-025',
        that(addr === expected, `addr ${expected}, the client's address`, addr ?? 'no addr'),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-028-login-named-upstream',
    title:
      'the proxy token of a logged-in client’s upstream connection names, as sub, the address the client logged in as',
    requirements: ['PROXY-028'],
    level: 'SHOULD',
    quote:
      "A proxy that logs its clients in as users of its platform SHOULD name in each upstream connection's proxy token, as `sub`, the address its client logged in as.",
    sends: 'bob logs in to the proxy as his address on the platform and connects through it',
    async run({ proxy }) {
      const address = proxy.address('bob');
      await proxy.connect(address);
      const link = await firstLink('PROXY-028', proxy);
      const header = link.headers['parley-proxy'];
      // The signature is PROXY-025's to check; here only what the token says.
      let sub: unknown;
      try {
        sub = decodeJwt(String(header)).sub;
      } catch {
        sub = undefined;
      }
      must(
        'PROXY-028',
        that(
          sub === address,
          `sub ${address}, the address bob logged in as`,
          sub === undefined ? 'no sub' : sub,
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-026-refusal-passed-back',
    title: 'a provider’s refusal of the upgrade reaches the client with its status and body',
    requirements: ['PROXY-026'],
    level: 'MUST',
    quote:
      "A proxy MUST answer a client's upgrade that the provider refused with the provider's HTTP status and body.",
    sends:
      'the suite’s provider refuses the next upgrade with 429 and a RATE_LIMITED body; bob connects',
    async run({ proxy }) {
      const body = JSON.stringify({
        code: 'RATE_LIMITED',
        message: 'slow down',
        retryAfterMs: 9000,
      });
      proxy.target.upstream.refuseNext(429, body, '9');
      const answer = await proxy.tryConnect(proxy.address('bob'));
      const refusal = answer as Refusal;
      must(
        'PROXY-026',
        that(
          !('ws' in answer) && refusal.status === 429 && refusal.body === body,
          `HTTP 429 with the body ${body}`,
          'ws' in answer
            ? 'the upgrade accepted'
            : `HTTP ${refusal.status} ${refusal.body.slice(0, 160)}`,
        ),
      );
    },
  }),
  defineProxyCase({
    id: 'PROXY-027-nothing-after-close',
    title:
      'a message the provider sends after a client left never reaches that user’s next connection',
    requirements: ['PROXY-027'],
    level: 'MUST',
    quote:
      "A proxy MUST NOT deliver to any connection a message that arrived from an upstream connection after its client's connection closed.",
    sends: `bob connects and closes; while his upstream is still open the provider sends a message on it; bob connects again and waits ${QUIET_MS} ms`,
    timeoutMs: 10_000,
    async run({ proxy, scale }) {
      const address = proxy.address('bob');
      const bob = await proxy.connect(address);
      const link = await firstLink('PROXY-027', proxy);
      bob.ws.close(1000);
      await bob.closed;
      const late = Buffer.from(
        '{"v":1,"type":"message","id":"late.1","from":"alice@provider.example"}',
      );
      link.send(late);
      const again = await proxy.connect(address);
      await new Promise((r) => setTimeout(r, scale(QUIET_MS)));
      must(
        'PROXY-027',
        that(
          !again.received.some((m) => m.bytes.equals(late)),
          'bob’s next connection receives nothing of his left connection',
          list(again.received),
        ),
      );
    },
  }),
];
