// PROTO cases of spec/framing.md#transport against abusive peers: a client that stops reading is
// closed with 1008 once its unsent bytes pass the provider's bound (PROTO-045), and an address that
// holds too many connections gets 429 RATE_LIMITED on its next upgrade (PROTO-046); both SHOULD.
// The embedded target applies small bounds through the operator hook setPeerBounds (operator.ts),
// so the cases stay short; against a remote target they flood within a capped budget and skip when
// the provider's bound lies beyond it.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ERROR_CODES } from '../../../schemas/errors.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { Operator, PeerBounds } from '../../transport/operator.ts';
import { textContent } from '../../transport/users.ts';

/** The close code for a policy violation (RFC 6455), PROTO-045's close code. */
const CLOSE_POLICY_VIOLATION = 1008;
/** PROTO-046's refusal status: the registry's for RATE_LIMITED (429). */
const HTTP_TOO_MANY_REQUESTS = ERROR_CODES.RATE_LIMITED.httpStatus;

/** The send-buffer bound and stall time the case asks an operator for: small, so it is met fast. */
const SMALL_SEND_BUFFER_BYTES = 64 * 1024;
const SHORT_STALL_MS = 200;
/** The connections per address the case asks an operator for (PROTO-046). */
const SMALL_CONNECTIONS_PER_ADDRESS = 4;

/** The text of one push to the reader that does not read: well under the 128 KiB default. */
const PUSH_TEXT_CHARS = 60_000;
/**
 * The unread bytes after which a provider that stated a small bound must have closed: far past that
 * bound plus loopback's socket buffers on both ends (a close came after 0.5 MiB when measured).
 */
const STATED_UNREAD_BYTES = 4 * 1024 * 1024;
/** The unread bytes the case pushes at most to a provider that states no bound; past it, a skip. */
const MAX_UNREAD_BYTES = 24 * 1024 * 1024;
/** Sends the flood keeps unanswered at once. */
const PIPELINE_DEPTH = 8;
/**
 * How long the flood may last, before --timeout-factor. A correct provider is done in well under a
 * second here; the rest is room for a loaded machine (at 1.5 s a CI run under load once pushed
 * too little and skipped where the variant without a bound must warn).
 */
const FLOOD_BUDGET_MS = 6000;
/** How long after the flood the provider has to notice the stall, on top of its stall time. */
const STALL_MARGIN_MS = 300;
/** How long a reader that reads again waits for the close frame behind the backlog. */
const CLOSE_WAIT_MS = 1500;

/** Connections the case opens at most from its address against a target that states no bound. */
const MAX_FLOOD_CONNECTIONS = 64;

/**
 * Applies `bounds` through the operator hook when the target offers it, runs `body` with whether
 * it did, and puts the target's own bounds back.
 */
async function withBounds(
  operator: Operator | undefined,
  bounds: Partial<PeerBounds>,
  body: (stated: boolean) => Promise<void>,
): Promise<void> {
  const set = operator?.setPeerBounds;
  if (set === undefined) return body(false);
  await set(bounds);
  try {
    await body(true);
  } finally {
    await set(undefined);
  }
}

type Upgrade = { ws: WebSocket } | { status: number; body: string };

/** Tries one WebSocket upgrade: the open socket, or the refusal's status and body. */
function upgrade(url: string, waitMs: number): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer to a WebSocket upgrade within ${waitMs} ms`));
    }, waitMs);
    ws.once('open', () => (clearTimeout(timer), resolve({ ws })));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, body })));
    });
    ws.once('error', (e) => {
      if (e.message.includes('Unexpected server response')) return;
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The refusal's body as JSON, or what it was when it is not JSON. */
function parseBody(body: string): Frame {
  try {
    return JSON.parse(body) as Frame;
  } catch {
    return { unparsed: body.slice(0, 200) };
  }
}

export const abusivePeerCases = [
  defineCase({
    id: 'PROTO-045-slow-reader-closed',
    title:
      'a client that stops reading while messages are pushed to it is closed with close code 1008 once its backlog passes the bound',
    requirements: ['PROTO-045'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD close with close code 1008 a connection whose client does not read the frames sent to it, once their unsent bytes pass a bound of the provider, rather than buffer them without limit.',
    sends: `bob stops reading; alice sends him texts of ${PUSH_TEXT_CHARS} characters (${STATED_UNREAD_BYTES / 1024 / 1024} MiB over a stated bound, else at most ${MAX_UNREAD_BYTES / 1024 / 1024} MiB); bob reads again`,
    exclusive: true,
    timeoutMs: 20_000,
    async run({ target, world, scale }) {
      const bounds = {
        maxSendBufferBytes: SMALL_SEND_BUFFER_BYTES,
        maxSendStallMs: SHORT_STALL_MS,
      };
      await withBounds(target.operator, bounds, async (stated) => {
        const alice = await world.firstParty('alice', { preKeys: 0 });
        const bob = await world.firstParty('bob');
        bob.peer.ws.pause();
        const text = 'x'.repeat(PUSH_TEXT_CHARS);
        const cap = stated ? STATED_UNREAD_BYTES : MAX_UNREAD_BYTES;
        const deadline = Date.now() + scale(FLOOD_BUDGET_MS);
        const accepted = (reply: Frame): void =>
          requireThat(
            reply.type === 'message.accepted',
            `a text of ${PUSH_TEXT_CHARS} characters is not accepted: ${JSON.stringify(reply).slice(0, 200)}`,
          );
        accepted(await alice.sendText(bob.address, text));
        let unread = PUSH_TEXT_CHARS;
        // Sends go out in order on one connection, PIPELINE_DEPTH answers outstanding, so the
        // budget measures the provider's throughput rather than round trips on a busy machine.
        const inFlight: Promise<Frame>[] = [];
        while (unread < cap && Date.now() < deadline) {
          const messages = await alice.encryptFor(bob.address, textContent(text));
          inFlight.push(
            alice.peer.request('message.send', {
              to: bob.address,
              idempotencyKey: randomUUID(),
              messages,
            }),
          );
          unread += PUSH_TEXT_CHARS;
          if (inFlight.length >= PIPELINE_DEPTH) accepted(await inFlight.shift()!);
        }
        for (const reply of inFlight) accepted(await reply);
        await new Promise((resolve) =>
          setTimeout(resolve, (stated ? SHORT_STALL_MS : 0) + scale(STALL_MARGIN_MS)),
        );
        bob.peer.ws.resume();
        const code = await bob.peer.closedWithin(scale(CLOSE_WAIT_MS));
        const mib = (unread / 1024 / 1024).toFixed(1);
        if (code === undefined) {
          requireThat(
            stated && unread >= cap,
            stated
              ? `only ${mib} MiB pushed in ${scale(FLOOD_BUDGET_MS)} ms, short of the ${cap / 1024 / 1024} MiB that must pass the stated bound: raise --timeout-factor`
              : `bob's connection is still open after ${mib} MiB unread in ${scale(FLOOD_BUDGET_MS)} ms: the provider's bound is not reached in the case's budget (no operator hook setPeerBounds to state a small one)`,
          );
        }
        must(
          'PROTO-045',
          that(
            code === CLOSE_POLICY_VIOLATION,
            `closed with ${CLOSE_POLICY_VIOLATION} after ${mib} MiB unread${stated ? ` over a stated bound of ${SMALL_SEND_BUFFER_BYTES} bytes` : ''}`,
            code === undefined ? 'still open' : `closed with ${code}`,
          ),
        );
      });
    },
  }),
  defineCase({
    id: 'PROTO-046-connection-flood-refused',
    title:
      'an address that holds more connections than the provider allows gets HTTP 429 with a RATE_LIMITED body on its next upgrade',
    requirements: ['PROTO-046'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD refuse a WebSocket upgrade from a client address that holds or opens too many connections with HTTP status 429 and a `RATE_LIMITED` error body.',
    sends: `WebSocket upgrades from one address, kept open, until the first refusal (at most the stated limit + 1, or ${MAX_FLOOD_CONNECTIONS})`,
    exclusive: true,
    timeoutMs: 15_000,
    async run({ target, waitMs }) {
      const bounds = { maxConnectionsPerAddress: SMALL_CONNECTIONS_PER_ADDRESS };
      await withBounds(target.operator, bounds, async (stated) => {
        const cap = stated ? SMALL_CONNECTIONS_PER_ADDRESS + 1 : MAX_FLOOD_CONNECTIONS;
        const open: WebSocket[] = [];
        try {
          let refusal: { status: number; body: string } | undefined;
          while (open.length < cap && refusal === undefined) {
            const result = await upgrade(target.url, waitMs);
            if ('ws' in result) open.push(result.ws);
            else refusal = result;
          }
          if (refusal === undefined) {
            requireThat(
              stated,
              `${cap} connections from one address were all accepted: the provider's limit is not reached within the case's cap (no operator hook setPeerBounds to state a small one)`,
            );
          }
          must(
            'PROTO-046',
            that(
              refusal?.status === HTTP_TOO_MANY_REQUESTS,
              `an upgrade past the limit refused with HTTP ${HTTP_TOO_MANY_REQUESTS}`,
              refusal === undefined
                ? `${open.length} connections accepted`
                : `HTTP ${refusal.status} after ${open.length} accepted`,
            ),
          );
          const body = parseBody(refusal!.body);
          must(
            'PROTO-046',
            that(
              body.code === 'RATE_LIMITED' && typeof body.message === 'string',
              'a body {"code":"RATE_LIMITED","message":…}',
              JSON.stringify(body).slice(0, 200),
            ),
          );
        } finally {
          for (const ws of open) ws.terminate();
        }
      });
    },
  }),
];
