// PROTO cases of spec/framing.md#faulty-frames: each hostile frame gets its error code and the
// connection survives (a ping is still answered); these run alone (exclusive).
import type { Frame } from '../../assert/match.ts';
import { isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase, type ConformanceCase } from '../../runner/case.ts';
import type { Peer } from '../../transport/peer.ts';

/**
 * How long a peer refused FRAME_TOO_LARGE waits for the connection to close: the close frame goes
 * out at once, but a provider may stop reading the peer's bytes and close TCP only after a grace
 * period (the reference's is 2 s), and the close code is known once TCP has closed.
 */
export const OVERSIZE_CLOSE_WAIT_MS = 5_000;

/** A hostile frame sent after hello: expects `code` (and `pointer`), then a live connection. */
function survives(spec: {
  id: string;
  requirement: string;
  title: string;
  quote: string;
  sends: string;
  send: (peer: Peer) => void;
  code: string;
  pointer?: string;
  also?: string[];
}): ConformanceCase {
  return defineCase({
    id: spec.id,
    title: spec.title,
    requirements: [spec.requirement, 'PROTO-038', ...(spec.also ?? [])],
    level: 'MUST',
    quote: spec.quote,
    sends: spec.sends,
    exclusive: true,
    async run({ world }) {
      const { peer } = await world.greeted('mallory');
      spec.send(peer);
      const error = await peer.next((f: Frame) => f.type === 'error', undefined, 'an error frame');
      mustMatch(spec.requirement, error, isError(spec.code, spec.pointer));
      must(
        'PROTO-038',
        that(await peer.alive(), 'the connection to stay open (ping → pong)', 'closed'),
      );
    },
  });
}

export const faultyFrameCases = [
  survives({
    id: 'PROTO-004-bad-json',
    requirement: 'PROTO-004',
    title: 'a text frame that is not JSON gets BAD_JSON without re and the connection survives',
    quote:
      'The provider MUST answer a text frame that does not parse as a JSON object with an `error` frame carrying `BAD_JSON` and keep the connection open.',
    sends: '{"v":1,"type":"ping","id":"x"',
    send: (peer) => peer.raw('{"v":1,"type":"ping","id":"x"'),
    code: 'BAD_JSON',
  }),
  survives({
    id: 'PROTO-004-json-array',
    requirement: 'PROTO-004',
    title: 'a JSON array is answered with BAD_JSON and the connection survives',
    quote:
      'The provider MUST answer a text frame that does not parse as a JSON object with an `error` frame carrying `BAD_JSON` and keep the connection open.',
    sends: '[1,2,3]',
    send: (peer) => peer.raw('[1,2,3]'),
    code: 'BAD_JSON',
  }),
  survives({
    id: 'PROTO-003-binary-frame',
    requirement: 'PROTO-003',
    title: 'a binary WebSocket frame gets BINARY_NOT_SUPPORTED and the connection survives',
    quote:
      'The provider MUST answer a binary WebSocket frame with an `error` frame carrying `BINARY_NOT_SUPPORTED` and keep the connection open.',
    sends: 'a binary frame holding a valid ping',
    send: (peer) => peer.raw(Buffer.from('{"v":1,"type":"ping","id":"b1"}')),
    code: 'BINARY_NOT_SUPPORTED',
  }),
  survives({
    id: 'PROTO-031-unknown-type',
    requirement: 'PROTO-031',
    title: 'a frame of an unknown type gets UNKNOWN_TYPE and the connection survives',
    quote:
      'The provider MUST answer a frame whose `type` names no client-to-provider frame with `UNKNOWN_TYPE` and keep the connection open.',
    sends: '{v:1, type:"teleport", id}',
    send: (peer) => peer.send({ v: 1, type: 'teleport', id: 'u1' }),
    code: 'UNKNOWN_TYPE',
  }),
  survives({
    id: 'PROTO-032-schema-violation-pointer',
    requirement: 'PROTO-032',
    title: 'keys.claim with a numeric address gets SCHEMA_VIOLATION pointing at /address',
    quote:
      'The provider MUST answer a frame of a known type that fails its JSON Schema with `SCHEMA_VIOLATION`, with `pointer` set to a JSON Pointer (RFC 6901) to the first offending member, and keep the connection open.',
    sends: 'account.register with registrationId "seven"',
    send: (peer) =>
      peer.send({
        v: 1,
        type: 'account.register',
        id: 's1',
        registrationToken: 'x',
        name: 'nobody',
        identityKey: `BQ${'A'.repeat(42)}`,
        registrationId: 'seven',
        deviceKey: `BQ${'B'.repeat(42)}`,
      }),
    code: 'SCHEMA_VIOLATION',
    pointer: '/registrationId',
  }),
  survives({
    id: 'PROTO-034-undefined-member',
    requirement: 'PROTO-034',
    title: 'ping with a member ping does not define gets SCHEMA_VIOLATION pointing at it',
    quote:
      'The provider MUST answer a frame that carries a member its type does not define in the negotiated version with `SCHEMA_VIOLATION` and a `pointer` to that member.',
    sends: '{v:1, type:"ping", id, colour:"blue"}',
    send: (peer) => peer.send({ v: 1, type: 'ping', id: 'm1', colour: 'blue' }),
    code: 'SCHEMA_VIOLATION',
    pointer: '/colour',
  }),
  survives({
    id: 'PROTO-044-missing-v',
    requirement: 'PROTO-044',
    title: 'a frame without v gets SCHEMA_VIOLATION with pointer /v and the connection survives',
    quote:
      'The provider MUST answer a frame that lacks `v` with `SCHEMA_VIOLATION` and the `pointer` `/v`, and keep the connection open.',
    sends: '{type:"ping", id}',
    send: (peer) => peer.send({ type: 'ping', id: 'nv1' }),
    code: 'SCHEMA_VIOLATION',
    pointer: '/v',
  }),
  survives({
    id: 'PROTO-044-missing-v-before-type',
    requirement: 'PROTO-044',
    also: ['PROTO-030'],
    title:
      'a frame without v and with an unknown type gets SCHEMA_VIOLATION /v: v is checked first',
    quote:
      'The provider MUST answer a frame that lacks `v` with `SCHEMA_VIOLATION` and the `pointer` `/v`, and keep the connection open.',
    sends: '{type:"no.such.type", id}',
    send: (peer) => peer.send({ type: 'no.such.type', id: 'nv2' }),
    code: 'SCHEMA_VIOLATION',
    pointer: '/v',
  }),
  survives({
    id: 'PROTO-044-missing-v-before-session-state',
    requirement: 'PROTO-044',
    also: ['PROTO-030'],
    title:
      'a frame without v that also needs authentication gets SCHEMA_VIOLATION /v, not NOT_AUTHENTICATED',
    quote:
      'The provider MUST answer a frame that lacks `v` with `SCHEMA_VIOLATION` and the `pointer` `/v`, and keep the connection open.',
    sends: '{type:"consent.get", id} before auth',
    send: (peer) => peer.send({ type: 'consent.get', id: 'nv3' }),
    code: 'SCHEMA_VIOLATION',
    pointer: '/v',
  }),
  defineCase({
    id: 'PROTO-033-error-without-re',
    title: 'an error for a frame whose id is invalid carries no re',
    requirements: ['PROTO-033'],
    level: 'MUST',
    quote:
      'When a faulty frame carries no valid `id`, the provider MUST send its `error` frame without `re`.',
    sends: '{v:1, type:"ping", id:"bad id!"}',
    exclusive: true,
    async run({ world }) {
      const { peer } = await world.greeted('mallory');
      peer.send({ v: 1, type: 'ping', id: 'bad id!' });
      const error = await peer.next((f) => f.type === 'error', undefined, 'an error frame');
      must('PROTO-033', that(!('re' in error), 'an error frame without re', error));
    },
  }),
  defineCase({
    id: 'PROTO-005-frame-too-large',
    title: 'a frame over maxFrameBytes gets FRAME_TOO_LARGE and close code 1009',
    requirements: ['PROTO-005', 'PROTO-039'],
    level: 'MUST',
    quote:
      'The provider MUST answer a frame longer than `limits.maxFrameBytes` bytes with an `error` frame carrying `FRAME_TOO_LARGE` and then close the connection with close code 1009.',
    sends: 'mallory authenticates; a ping padded to maxFrameBytes + 1 bytes',
    exclusive: true,
    timeoutMs: 10000,
    async run({ target, world, scale }) {
      // Authenticated: before auth.ok the smaller maxUnauthenticatedFrameBytes applies (PROTO-047).
      const { peer } = await world.firstParty('mallory', { preKeys: 0 });
      const max = target.welcome.limits.maxFrameBytes as number;
      const head = '{"v":1,"type":"ping","id":"big","pad":"';
      const text = `${head}${'x'.repeat(max + 1 - head.length - 2)}"}`;
      peer.raw(text, `a ${text.length}-byte ping (maxFrameBytes ${max})`);
      const error = await peer.next((f) => f.type === 'error', undefined, 'an error frame');
      mustMatch('PROTO-005', error, isError('FRAME_TOO_LARGE'));
      const code = await peer.closedWithin(scale(OVERSIZE_CLOSE_WAIT_MS));
      must('PROTO-005', that(code === 1009, 'close code 1009', code ?? 'still open'));
    },
  }),
  defineCase({
    id: 'PROTO-027-ping-pong',
    title: 'ping is answered by pong before and after authentication',
    requirements: ['PROTO-027', 'PROTO-010'],
    level: 'MUST',
    quote: 'The provider MUST answer `ping` with `pong` in the greeted and authenticated states.',
    sends: 'hello, ping; auth, ping',
    async run({ world }) {
      const { peer } = await world.greeted('alice');
      mustMatch('PROTO-027', await peer.request('ping'), isType('pong'));
      const alice = await world.firstParty('alice', { preKeys: 0 });
      mustMatch('PROTO-027', await alice.peer.request('ping'), isType('pong'));
    },
  }),
];
