// PROTO cases of a client (spec/framing.md, spec/errors.md): every frame the client sends over a
// whole session, request ids, advertised limits, keep-alive and unknown error codes. The mock
// provider records every frame of the client; the suite inspects them one by one.
import { randomUUID } from 'node:crypto';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must, requireThat } from '../../assert/must.ts';
import { DriverRefusal } from '../../client/link.ts';
import { CLIENT_LABEL } from '../../client/mock-provider.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';

/** PROTO-008: a request id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** PROTO-015: `name@domain`, a lowercase DNS name. */
const ADDRESS =
  /^[a-z0-9._-]{1,64}@(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** PROTO-016: device and registration id ranges. */
const DEVICE_ID = { min: 1, max: 127 };
const REGISTRATION_ID = { min: 1, max: 16_380 };
/** Members that hold an address, a device id, a registration id or a timestamp, wherever they sit. */
const ADDRESS_MEMBERS = new Set(['address', 'to', 'from', 'targetAuthor']);
const TIMESTAMP_MEMBER = /(?:^timestamp|Timestamp|Time|At)$/;

/** The small limits the mock advertises in the PROTO-024 case. */
const SMALL_LIMITS = {
  maxFrameBytes: 4096,
  maxOneTimePreKeysPerPublish: 5,
  maxDevicesPerMessage: 2,
};
/** A text whose ciphertext frame exceeds SMALL_LIMITS.maxFrameBytes but not maxMessageBytes. */
const LONG_TEXT_CHARS = 3500;
/** An error code no registry version defines (PROTO-043). */
const UNKNOWN_CODE = 'SOLAR_FLARE';

/** Every `[path, value]` of `value`'s members, depth first. */
function members(value: unknown, path = ''): [string, string, unknown][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    [`${path}/${k}`, k, v] as [string, string, unknown],
    ...members(v, `${path}/${k}`),
  ]);
}

/** The first way `frame` breaks the value rules of PROTO-015/016/017, as [requirement, what]. */
function valueFault(frame: Frame): [string, string] | undefined {
  for (const [path, key, v] of members(frame)) {
    if (ADDRESS_MEMBERS.has(key) && typeof v === 'string' && !ADDRESS.test(v))
      return ['PROTO-015', `${path} = ${JSON.stringify(v)} is not name@domain`];
    const ids = key === 'deviceIds' && Array.isArray(v) ? v : key === 'deviceId' ? [v] : [];
    for (const id of ids)
      if (!Number.isInteger(id) || (id as number) < DEVICE_ID.min || (id as number) > DEVICE_ID.max)
        return ['PROTO-016', `${path} = ${JSON.stringify(id)} is not a device id`];
    if (
      key === 'registrationId' &&
      (!Number.isInteger(v) ||
        (v as number) < REGISTRATION_ID.min ||
        (v as number) > REGISTRATION_ID.max)
    )
      return ['PROTO-016', `${path} = ${JSON.stringify(v)} is not a registration id`];
    if (
      TIMESTAMP_MEMBER.test(key) &&
      typeof v !== 'object' &&
      (!Number.isInteger(v) || (v as number) < 0)
    )
      return ['PROTO-017', `${path} = ${JSON.stringify(v)} is not integer milliseconds`];
  }
  return undefined;
}

/**
 * A session that makes the client send most frame types: enrol, publish, claim, send, ack, set
 * interop, reconnect.
 */
async function fullSession(client: ClientWorld): Promise<void> {
  await client.connect();
  const bob = client.peer('bob');
  await client.sendText(bob, 'hello bob');
  const d = await client.deliver(bob, client.text('hello client'));
  await client.acked(d);
  await client.drive('setInterop', { enabled: true, platforms: 'all', inbox: 'separate' });
  await client.drive('disconnect', {});
  await client.reconnect();
  await client.sendText(bob, 'back again');
}

/** The accepted reply the mock gives by default, for handlers that wrap it. */
function accepted(): Frame {
  return {
    type: 'message.accepted',
    messageId: `m_${randomUUID()}`,
    serverTimestamp: Date.now(),
    duplicate: false,
  };
}

/** PROTO-029: a client pings once it has sent no frame for this long. */
const PING_AFTER_MS = 30_000;
/** Slack over PING_AFTER_MS for the client's timer, its first frames after connecting and the transport. */
const PING_SLACK_MS = 5_000;
/** The PROTO-029 case's timeout before --timeout-factor: far less than the wait it needs. */
const PING_CASE_TIMEOUT_MS = 10_000;
/** What the PROTO-029 case needs: the wait, connecting, and a margin. */
const PING_CASE_NEEDS_MS = PING_AFTER_MS + PING_SLACK_MS + 5_000;
/** The smallest --timeout-factor that gives the PROTO-029 case its wait. */
const PING_FACTOR = Math.ceil(PING_CASE_NEEDS_MS / PING_CASE_TIMEOUT_MS);

export const clientFrameCases = [
  defineClientCase({
    id: 'PROTO-002-client-every-frame-well-formed',
    title:
      'every frame the client sends in a session is one JSON object in one text frame, carries v and type and a valid request id, holds well-formed addresses, ids and timestamps, and no member its schema does not define',
    requirements: [
      'PROTO-002',
      'PROTO-007',
      'PROTO-008',
      'PROTO-015',
      'PROTO-016',
      'PROTO-017',
      'PROTO-035',
    ],
    level: 'MUST',
    quote:
      'Each Parley frame MUST be exactly one JSON object (RFC 8259), encoded as UTF-8, in one WebSocket text frame.',
    sends:
      'driver: connect, sendText to bob, (bob delivers, client acks), setInterop, disconnect, connect, sendText; suite: inspects every frame the client sent',
    timeoutMs: 10_000,
    async run({ client }) {
      await fullSession(client);
      const raw = client.faults.find(
        (f) => f.peer === CLIENT_LABEL && f.message.includes('PROTO-002'),
      );
      must('PROTO-002', that(raw === undefined, 'only JSON objects in text frames', raw?.message));
      const frames = client.mock.received;
      must('PROTO-002', that(frames.length > 0, 'frames from the client', 'none'));
      for (const f of frames) {
        must(
          'PROTO-007',
          that(f.v === 1 && typeof f.type === 'string', 'v 1 and a type', { v: f.v, type: f.type }),
        );
        must(
          'PROTO-008',
          that(
            typeof f.id === 'string' && REQUEST_ID.test(f.id),
            `a request id matching ${REQUEST_ID.source}`,
            { type: f.type, id: f.id },
          ),
        );
        const bad = valueFault(f);
        if (bad) must(bad[0], that(false, 'well-formed values', `${String(f.type)}: ${bad[1]}`));
        const valid = client.validator.validate(f);
        if (!valid.ok && valid.message.includes('additional property'))
          must(
            'PROTO-035',
            that(
              false,
              'no member the schema does not define',
              `${String(f.type)}: ${valid.message}`,
            ),
          );
      }
    },
  }),

  defineClientCase({
    id: 'PROTO-009-client-no-reuse-of-unanswered-ids',
    title:
      'the client does not reuse the id of a request that is still unanswered on the same connection',
    requirements: ['PROTO-009'],
    level: 'SHOULD',
    quote:
      'A client SHOULD NOT reuse the `id` of a request that is still unanswered on the same connection.',
    sends:
      'mock: answers message.send only after a delay, while bob delivers two messages (the client acks them meanwhile); suite: replays the transcript, tracking unanswered ids per connection',
    timeoutMs: 10_000,
    async run({ client }) {
      const delay = client.waitMs / 4;
      client.mock.handle('message.send', async () => {
        await client.pause(delay);
        return accepted();
      });
      await client.connect();
      const bob = client.peer('bob');
      await client.sendText(bob, 'first');
      const sending = client.sendText(bob, 'second');
      const d1 = await client.deliver(bob, client.text('one'));
      const d2 = await client.deliver(bob, client.text('two'));
      await sending;
      await client.acked(d1);
      await client.acked(d2);
      const unanswered = new Set<string>();
      const reused: string[] = [];
      for (const e of client.transcript.entries) {
        const f = e.frame as Frame | undefined;
        if (e.peer === CLIENT_LABEL && e.dir === 'event')
          unanswered.clear(); // a new connection
        else if (e.peer === CLIENT_LABEL && e.dir === 'sent' && typeof f?.id === 'string') {
          if (unanswered.has(f.id)) reused.push(`${String(f.type)} ${f.id}`);
          unanswered.add(f.id);
        } else if (e.peer === 'mock' && typeof f?.re === 'string') unanswered.delete(f.re);
      }
      must('PROTO-009', that(reused.length === 0, 'no id reused while unanswered', reused));
    },
  }),

  defineClientCase({
    id: 'PROTO-024-client-respects-advertised-limits',
    title:
      'the client keeps within small limits the provider advertises: frame size, one-time prekeys per publish, devices per message (refusing a send it cannot fit)',
    requirements: ['PROTO-024'],
    level: 'MUST',
    quote: 'A client MUST NOT exceed any limit advertised in `welcome`.',
    sends: `mock: welcome with maxFrameBytes ${SMALL_LIMITS.maxFrameBytes}, maxOneTimePreKeysPerPublish ${SMALL_LIMITS.maxOneTimePreKeysPerPublish}, maxDevicesPerMessage ${SMALL_LIMITS.maxDevicesPerMessage}, then keys.low; driver: sendText of ${LONG_TEXT_CHARS} characters to bob, sendText to carol (3 devices); suite: measures every frame`,
    timeoutMs: 10_000,
    async run({ client }) {
      client.mock.limits = SMALL_LIMITS;
      await client.connect();
      await client.mock.next((f) => f.type === 'keys.publish', 'keys.publish');
      // A replenishment asks for more one-time prekeys than one frame may carry.
      client.mock.live.push({
        type: 'keys.low',
        oneTimePreKeyCount: 0,
        oneTimeKyberPreKeyCount: 0,
        threshold: 10,
      });
      await client.mock.poll((f) => f.type === 'keys.publish', client.waitMs);
      const bob = client.peer('bob');
      const carol = client.peer('carol', { devices: 3 });
      const attempt = (to: string, text: string) =>
        client.drive('sendText', { to, text }).then(
          () => 'sent',
          (e: unknown) => {
            if (e instanceof DriverRefusal) return 'refused';
            throw e;
          },
        );
      await attempt(bob.address, 'x'.repeat(LONG_TEXT_CHARS));
      await attempt(carol.address, 'hi carol');
      await client.pause(client.waitMs / 4);
      for (const f of client.mock.received) {
        const bytes = Buffer.byteLength(JSON.stringify(f));
        must(
          'PROTO-024',
          that(
            bytes <= SMALL_LIMITS.maxFrameBytes,
            `${String(f.type)} within maxFrameBytes ${SMALL_LIMITS.maxFrameBytes}`,
            `${bytes} bytes`,
          ),
        );
        if (f.type === 'keys.publish') {
          const n = Array.isArray(f.oneTimePreKeys) ? f.oneTimePreKeys.length : 0;
          must(
            'PROTO-024',
            that(
              n <= SMALL_LIMITS.maxOneTimePreKeysPerPublish,
              `at most ${SMALL_LIMITS.maxOneTimePreKeysPerPublish} one-time prekeys per keys.publish`,
              n,
            ),
          );
        }
        if (f.type === 'message.send') {
          const n = Array.isArray(f.messages) ? f.messages.length : 0;
          must(
            'PROTO-024',
            that(
              n <= SMALL_LIMITS.maxDevicesPerMessage,
              `at most ${SMALL_LIMITS.maxDevicesPerMessage} device ciphertexts per message.send`,
              n,
            ),
          );
        }
      }
    },
  }),

  defineClientCase({
    id: 'PROTO-029-client-pings-when-idle',
    title: `the client sends ping within ${(PING_AFTER_MS + PING_SLACK_MS) / 1000} s once it has nothing to send (needs --timeout-factor ${PING_FACTOR} or more; skipped with the reason otherwise)`,
    requirements: ['PROTO-029'],
    level: 'SHOULD',
    quote: 'A client SHOULD send `ping` when it has sent no frame for 30 seconds.',
    sends: `driver: connect; then nothing: the suite waits up to ${(PING_AFTER_MS + PING_SLACK_MS) / 1000} s for a ping`,
    timeoutMs: PING_CASE_TIMEOUT_MS,
    async run({ client, scale }) {
      requireThat(
        scale(PING_CASE_TIMEOUT_MS) >= PING_CASE_NEEDS_MS,
        `the 30-second idle period is fixed by the spec: run with --timeout-factor ${PING_FACTOR} or more to wait for it (${PING_CASE_NEEDS_MS / 1000} s)`,
      );
      await client.connect();
      const ping = await client.mock.poll((f) => f.type === 'ping', PING_AFTER_MS + PING_SLACK_MS);
      must(
        'PROTO-029',
        that(
          ping !== undefined,
          `ping within ${(PING_AFTER_MS + PING_SLACK_MS) / 1000} s of connecting`,
          'no ping',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'PROTO-043-client-unknown-error-code-as-internal',
    title:
      'the client handles an error code it does not know as INTERNAL: the send is not reported as sent unless a retry is accepted, the connection stays up and later sends and deliveries work',
    requirements: ['PROTO-043'],
    level: 'MUST',
    quote: 'A client MUST handle an error code it does not know as it handles `INTERNAL`.',
    sends: `mock: answers the first message.send with error code ${UNKNOWN_CODE} (outside the registry, on purpose), later ones with message.accepted; driver: sendText to bob twice; bob delivers a message`,
    timeoutMs: 10_000,
    async run({ client }) {
      let sends = 0;
      client.mock.handle('message.send', () =>
        ++sends === 1
          ? { type: 'error', code: UNKNOWN_CODE, message: 'a code of a later protocol version' }
          : accepted(),
      );
      await client.connect();
      const connection = client.mock.live;
      const bob = client.peer('bob');
      const first = await client.drive('sendText', { to: bob.address, text: 'first' }).then(
        () => 'reported sent',
        (e: unknown) => {
          if (e instanceof DriverRefusal) return 'refused';
          throw e;
        },
      );
      // The mock's error frame fails the error schema on purpose; that is not a harness fault.
      const own = client.mock.selfFaults.findIndex((m) => m.includes('invalid error frame (/code'));
      if (own >= 0) client.mock.selfFaults.splice(own, 1);
      const sendsSoFar = sends;
      must(
        'PROTO-043',
        that(
          first === 'refused' || sendsSoFar > 1,
          'the send refused, or retried and then accepted',
          `${first} after ${sendsSoFar} message.send`,
        ),
      );
      must(
        'PROTO-043',
        that(
          connection.open && client.mock.live === connection,
          'the same connection still open (INTERNAL keeps it)',
          'the client closed it',
        ),
      );
      await client.sendText(bob, 'second');
      must(
        'PROTO-043',
        that(
          await client.roundTrip(bob, client.text('still there?')),
          'a later delivery from bob received',
          'no received event',
        ),
      );
    },
  }),
];
