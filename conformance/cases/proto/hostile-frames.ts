// PROTO cases of spec/framing.md#transport against frames built to cost the provider: a peer that
// never authenticates may send only small frames (PROTO-047); a parser bomb, too deep or with too
// many elements, is refused unparsed and the connection survives (PROTO-048); and a flooding peer
// is read at the pace of its budget (PROTO-049, SHOULD; through the operator hook setPeerBounds).
import type { Frame } from '../../assert/match.ts';
import { isError, that } from '../../assert/match.ts';
import { must, mustMatch, requireThat } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { OVERSIZE_CLOSE_WAIT_MS } from './faulty-frames.ts';
import type { Peer } from '../../transport/peer.ts';

/** PROTO-047's range for `maxUnauthenticatedFrameBytes`. */
const MIN_UNAUTHENTICATED_FRAME_BYTES = 8192;
const MAX_UNAUTHENTICATED_FRAME_BYTES = 65_536;
/** PROTO-048's bounds. */
const MAX_DEPTH = 32;
const MAX_ELEMENTS = 10_000;
/** How deep the case nests: far past the bound, still a small frame before authentication. */
const BOMB_DEPTH = 3000;
/** How many elements the case sends: twice the bound, about 40 kB. */
const BOMB_ELEMENTS = 2 * MAX_ELEMENTS;

/** The budget the PROTO-049 case asks an operator for: 64 KiB at once, then 200 KiB a second. */
const SMALL_READ_BUDGET = { burst: 64 * 1024, perMinute: 12_000 * 1024 };
/** The flood: 96 frames of 8 KiB (768 KiB), twelve times the burst, sent at once. */
const FLOOD_FRAMES = 96;
const FLOOD_FRAME_BYTES = 8 * 1024;
/**
 * How long after the flood the case counts the answers: a reader without a budget answers all, one
 * with it the burst, what the socket had buffered past it (ws reads 64 KiB at a time) and 80 KiB.
 */
const FIRST_LOOK_MS = 400;
/** How long the rest may take: about 700 KiB at 200 KiB a second, with room. */
const DRAIN_MS = 10_000;

const CLOSE_MESSAGE_TOO_BIG = 1009;

/** A ping padded with `pad` (raw JSON text) to the frame text the case sends. */
function paddedPing(id: string, pad: string): string {
  return `{"v":1,"type":"ping","id":"${id}","pad":${pad}}`;
}

/** A ping whose `pad` string makes the frame exactly `bytes` bytes long. */
function pingOfLength(id: string, bytes: number): string {
  const empty = paddedPing(id, '""');
  return paddedPing(id, `"${'x'.repeat(bytes - empty.length)}"`);
}

async function nextError(peer: Peer): Promise<Frame> {
  return peer.next((f) => f.type === 'error', undefined, 'an error frame');
}

export const hostileFrameCases = [
  defineCase({
    id: 'PROTO-047-unauthenticated-frame-limit',
    title:
      'before auth.ok, a frame one byte over the advertised maxUnauthenticatedFrameBytes gets FRAME_TOO_LARGE and close code 1009',
    requirements: ['PROTO-047'],
    level: 'MUST',
    quote:
      'The provider MUST advertise a `limits.maxUnauthenticatedFrameBytes` from 8192 to 65536 bytes, and MUST answer a frame longer than it that arrives before `auth.ok` with an `error` frame carrying `FRAME_TOO_LARGE` and then close the connection with close code 1009.',
    sends: 'hello; a ping padded to maxUnauthenticatedFrameBytes + 1 bytes',
    exclusive: true,
    async run({ world, scale }) {
      const { peer, welcome } = await world.greeted('mallory');
      const limit = welcome.limits?.maxUnauthenticatedFrameBytes as unknown;
      must(
        'PROTO-047',
        that(
          typeof limit === 'number' &&
            Number.isInteger(limit) &&
            limit >= MIN_UNAUTHENTICATED_FRAME_BYTES &&
            limit <= MAX_UNAUTHENTICATED_FRAME_BYTES,
          `welcome.limits.maxUnauthenticatedFrameBytes from ${MIN_UNAUTHENTICATED_FRAME_BYTES} to ${MAX_UNAUTHENTICATED_FRAME_BYTES}`,
          limit ?? 'absent',
        ),
      );
      const text = pingOfLength('big', (limit as number) + 1);
      peer.raw(
        text,
        `a ${text.length}-byte ping before auth (maxUnauthenticatedFrameBytes ${limit})`,
      );
      mustMatch('PROTO-047', await nextError(peer), isError('FRAME_TOO_LARGE'));
      const code = await peer.closedWithin(scale(OVERSIZE_CLOSE_WAIT_MS));
      must(
        'PROTO-047',
        that(code === CLOSE_MESSAGE_TOO_BIG, 'close code 1009', code ?? 'still open'),
      );
    },
  }),
  defineCase({
    id: 'PROTO-048-deep-nesting-refused',
    title:
      'a frame nesting arrays 3000 deep gets FRAME_TOO_COMPLEX before authentication and the connection survives',
    requirements: ['PROTO-048'],
    level: 'MUST',
    quote:
      'The provider MUST answer a text frame that nests arrays and objects deeper than 32 levels, or holds more than 10000 array elements and object members at all levels together, with an `error` frame carrying `FRAME_TOO_COMPLEX` and keep the connection open.',
    sends: `hello; a ping whose pad is ${BOMB_DEPTH} nested arrays; a ping`,
    exclusive: true,
    async run({ world }) {
      const { peer } = await world.greeted('mallory');
      peer.raw(
        paddedPing('deep', `${'['.repeat(BOMB_DEPTH)}${']'.repeat(BOMB_DEPTH)}`),
        `a ping nesting ${BOMB_DEPTH} arrays (more than ${MAX_DEPTH})`,
      );
      mustMatch('PROTO-048', await nextError(peer), isError('FRAME_TOO_COMPLEX'));
      must('PROTO-048', that(await peer.alive(), 'the connection open (ping → pong)', 'closed'));
    },
  }),
  defineCase({
    id: 'PROTO-048-element-flood-refused',
    title:
      'a frame holding 20000 array elements gets FRAME_TOO_COMPLEX and the connection survives',
    requirements: ['PROTO-048'],
    level: 'MUST',
    quote:
      'The provider MUST answer a text frame that nests arrays and objects deeper than 32 levels, or holds more than 10000 array elements and object members at all levels together, with an `error` frame carrying `FRAME_TOO_COMPLEX` and keep the connection open.',
    sends: `alice authenticates; a ping whose pad is an array of ${BOMB_ELEMENTS} zeros; a ping`,
    exclusive: true,
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      alice.peer.raw(
        paddedPing('wide', `[${Array<string>(BOMB_ELEMENTS).fill('0').join(',')}]`),
        `a ping holding ${BOMB_ELEMENTS} elements (more than ${MAX_ELEMENTS})`,
      );
      mustMatch('PROTO-048', await nextError(alice.peer), isError('FRAME_TOO_COMPLEX'));
      must(
        'PROTO-048',
        that(await alice.peer.alive(), 'the connection open (ping → pong)', 'closed'),
      );
    },
  }),
  defineCase({
    id: 'PROTO-049-flood-read-at-budget',
    title:
      'a connection that floods twelve times its stated read budget is answered at the pace of the budget, and in full',
    requirements: ['PROTO-049'],
    level: 'SHOULD',
    quote:
      'The provider SHOULD stop reading from a connection whose frames pass its budget of received bytes or of processing time, until the budget refills, rather than read and parse them as fast as they arrive.',
    sends: `setPeerBounds bytesPerConnection ${SMALL_READ_BUDGET.burst} bytes then ${SMALL_READ_BUDGET.perMinute} a minute; mallory authenticates; ${FLOOD_FRAMES} pings of ${FLOOD_FRAME_BYTES} bytes at once (each a SCHEMA_VIOLATION)`,
    exclusive: true,
    timeoutMs: 20_000,
    async run({ target, world, scale }) {
      const set = target.operator?.setPeerBounds;
      requireThat(
        set !== undefined,
        'the target offers no operator hook setPeerBounds to state a read budget the case can pass',
      );
      await set!({ bytesPerConnection: SMALL_READ_BUDGET });
      try {
        // Authenticated: before auth.ok a provider may read at a smaller budget still.
        const { peer } = await world.firstParty('mallory', { preKeys: 0 });
        const isFlood = (f: Frame): boolean =>
          f.type === 'error' && typeof f.re === 'string' && f.re.startsWith('flood.');
        let answered = 0;
        /** Counts the flood's answers received so far. */
        const errors = async (): Promise<number> => {
          while (peer.peek(isFlood) !== undefined) {
            await peer.next(isFlood);
            answered += 1;
          }
          return answered;
        };
        for (let i = 0; i < FLOOD_FRAMES; i += 1)
          peer.raw(
            pingOfLength(`flood.${i}`, FLOOD_FRAME_BYTES),
            `flood frame ${i}: a ping padded to ${FLOOD_FRAME_BYTES} bytes`,
          );
        await new Promise((resolve) => setTimeout(resolve, scale(FIRST_LOOK_MS)));
        const early = await errors();
        must(
          'PROTO-049',
          that(
            early < FLOOD_FRAMES / 2,
            `at most half of ${FLOOD_FRAMES} frames (${(FLOOD_FRAMES * FLOOD_FRAME_BYTES) / 1024} KiB, budget ${SMALL_READ_BUDGET.burst / 1024} KiB at once) answered within ${scale(FIRST_LOOK_MS)} ms`,
            `${early} answered`,
          ),
        );
        const deadline = Date.now() + scale(DRAIN_MS);
        while ((await errors()) < FLOOD_FRAMES && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        const all = await errors();
        must(
          'PROTO-049',
          that(
            all === FLOOD_FRAMES && (await peer.alive()),
            `all ${FLOOD_FRAMES} frames answered within ${scale(DRAIN_MS)} ms, the connection open`,
            `${all} answered`,
          ),
        );
      } finally {
        await set!(undefined);
      }
    },
  }),
];
