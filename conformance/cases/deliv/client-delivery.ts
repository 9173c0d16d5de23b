// DELIV cases of a client (spec/messages.md "Sending", "Idempotency", "Delivery and
// acknowledgement"): the mock provider refuses, drops or repeats what a provider may, and the
// suite looks at the client's `message.send` retries, its acks and what it displays (`inbox`).
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { parseCiphertext } from '../../../reference-impl/crypto/index.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { DriverRefusal } from '../../client/link.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { unb64 } from '../../transport/users.ts';
import { openOrFail } from '../enc/client-support.ts';

/** The back-off the mock asks for with RATE_LIMITED: short, so a retrying client retries in the case. */
const RETRY_AFTER_MS = 100;

/** The accepted reply the mock gives by default, for handlers that wrap it. */
function accepted(): Frame {
  return {
    type: 'message.accepted',
    messageId: `m_${randomUUID()}`,
    serverTimestamp: Date.now(),
    duplicate: false,
  };
}

/** The user sends `text`; 'sent' or 'refused' (driver FAILED). */
function attempt(client: ClientWorld, to: string, text: string): Promise<'sent' | 'refused'> {
  return client.drive('sendText', { to, text }).then(
    () => 'sent' as const,
    (e: unknown) => {
      if (e instanceof DriverRefusal) return 'refused' as const;
      throw e;
    },
  );
}

/** The idempotency keys of the client's `message.send` frames from index `from` on. */
function keysSince(client: ClientWorld, from: number): string[] {
  return client.mock.received
    .slice(from)
    .filter((f) => f.type === 'message.send')
    .map((f) => String(f.idempotencyKey));
}

/**
 * The user sends a message whose `message.send` the mock answers by dropping the connection;
 * then the client reconnects. Returns the keys sent before the drop and after the reconnect.
 */
async function dropThenReconnect(
  client: ClientWorld,
  to: string,
): Promise<{ before: string[]; after: string[] }> {
  let drop = true;
  client.mock.handle('message.send', (_f, conn) => {
    if (!drop) return accepted();
    drop = false;
    conn.ws.terminate();
    return undefined;
  });
  const start = client.mock.received.length;
  await attempt(client, to, 'sent while the line dropped');
  const before = keysSince(client, start);
  const mark = client.mock.received.length;
  await client.reconnect();
  await client.mock.poll(
    (f) => f.type === 'message.send' && client.mock.received.indexOf(f) >= mark,
    client.waitMs,
  );
  return { before, after: keysSince(client, mark) };
}

export const clientDeliveryCases = [
  defineClientCase({
    id: 'DELIV-010-client-idempotency-keys',
    title:
      'the client gives every new message a fresh idempotencyKey and reuses it unchanged when it retries (after RATE_LIMITED, after a dropped connection)',
    requirements: ['DELIV-010'],
    level: 'MUST',
    quote:
      'A client MUST use a fresh `idempotencyKey` for every new message and reuse it unchanged whenever it retries that message.',
    sends: `mock: RATE_LIMITED (retryAfterMs ${RETRY_AFTER_MS}) to the first send, then accepted; drops the connection on the second; driver: sendText ×3 to bob with a reconnect after the drop`,
    timeoutMs: 15_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      let limited = true;
      client.mock.handle('message.send', () => {
        if (!limited) return accepted();
        limited = false;
        return {
          type: 'error',
          code: 'RATE_LIMITED',
          message: 'slow down',
          retryAfterMs: RETRY_AFTER_MS,
        };
      });
      let mark = client.mock.received.length;
      await attempt(client, bob.address, 'one');
      const one = keysSince(client, mark);
      const two = await dropThenReconnect(client, bob.address);
      client.mock.handle('message.send', () => accepted());
      mark = client.mock.received.length;
      await attempt(client, bob.address, 'three');
      const three = keysSince(client, mark);
      for (const [what, keys] of [
        ['the first message (retried after RATE_LIMITED)', one],
        ['the second message (retried after the drop)', [...two.before, ...two.after]],
      ] as const)
        must(
          'DELIV-010',
          that(new Set(keys).size <= 1, `one idempotencyKey for every try of ${what}`, keys),
        );
      const firsts = [one[0], two.before[0], three[0]].filter((k): k is string => k !== undefined);
      must(
        'DELIV-010',
        that(firsts.length === 3, 'a message.send for each of the three messages', firsts.length),
      );
      must(
        'DELIV-010',
        that(
          new Set(firsts).size === 3,
          'three different idempotency keys for three messages',
          firsts,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'DELIV-011-client-retries-after-reconnect',
    title:
      'the client retries a message.send left unanswered by a closed connection once reconnected, with its original idempotencyKey',
    requirements: ['DELIV-011'],
    level: 'SHOULD',
    quote:
      'A client SHOULD retry a `message.send` left unanswered by a closed connection, once reconnected, with its original `idempotencyKey`.',
    sends:
      'mock: drops the connection on message.send; driver: sendText to bob, then connect again',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const { before, after } = await dropThenReconnect(client, bob.address);
      must(
        'DELIV-011',
        that(after.length > 0, 'the send retried after the reconnect', 'no message.send'),
      );
      must(
        'DELIV-011',
        that(after[0] === before[0], `the original idempotencyKey ${before[0]}`, after[0]),
      );
    },
  }),

  defineClientCase({
    id: 'DELIV-004-client-repairs-device-mismatch',
    title:
      'on DEVICE_MISMATCH the client drops the sessions with extra and stale devices, claims keys for the missing and stale ones and sends again with the same idempotencyKey',
    requirements: ['DELIV-004'],
    level: 'SHOULD',
    quote:
      'On `DEVICE_MISMATCH`, a client SHOULD drop its sessions with the extra and stale devices, claim keys for the missing and stale ones, and send again with the same `idempotencyKey`.',
    sends:
      'mock: keys.bundle of bob with devices 1, 2, 4, then DEVICE_MISMATCH {missing [3], extra [4], stale [1]}; driver: sendText to bob; suite: decrypts the second send as bob',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob', { devices: 4 });
      client.mock.handle('keys.claim', (f) => ({
        type: 'keys.bundle',
        ...bob.claim(Array.isArray(f.deviceIds) ? (f.deviceIds as number[]) : [1, 2, 4]),
      }));
      let mismatch = true;
      client.mock.handle('message.send', () => {
        if (!mismatch) return accepted();
        mismatch = false;
        return {
          type: 'error',
          code: 'DEVICE_MISMATCH',
          message: 'the devices of bob changed',
          details: { missing: [3], extra: [4], stale: [1] },
        };
      });
      const outcome = await attempt(client, bob.address, 'to all of bob');
      const sends = client.mock.received.filter((f) => f.type === 'message.send');
      must(
        'DELIV-004',
        that(
          outcome === 'sent' && sends.length >= 2,
          'the send repaired and accepted',
          `${outcome} after ${sends.length} message.send`,
        ),
      );
      const [first, second] = sends as [Frame, Frame];
      must(
        'DELIV-004',
        that(
          second.idempotencyKey === first.idempotencyKey,
          `the same idempotencyKey ${String(first.idempotencyKey)}`,
          second.idempotencyKey,
        ),
      );
      const devices = (second.messages as Frame[]).map((m) => m.deviceId as number).sort();
      must(
        'DELIV-004',
        that(devices.join() === '1,2,3', 'ciphertexts for devices 1, 2, 3 (none for 4)', devices),
      );
      const claimed = client.mock.received
        .filter((f) => f.type === 'keys.claim' && Array.isArray(f.deviceIds))
        .flatMap((f) => f.deviceIds as number[]);
      must(
        'DELIV-004',
        that(
          claimed.includes(1) && claimed.includes(3),
          'a keys.claim for devices 1 and 3',
          claimed,
        ),
      );
      const baseKeyOf = (send: Frame): string | undefined => {
        const m = (send.messages as Frame[]).find((x) => x.deviceId === 1);
        if (m?.type !== 'prekey') return undefined;
        const parsed = parseCiphertext('prekey', unb64(String(m.body)));
        return parsed.type === 'prekey'
          ? Buffer.from(parsed.message.baseKey).toString('hex')
          : undefined;
      };
      must(
        'DELIV-004',
        that(
          baseKeyOf(second) !== undefined && baseKeyOf(second) !== baseKeyOf(first),
          'a new session with stale device 1 (a new base key)',
          baseKeyOf(second),
        ),
      );
      const opened = await openOrFail('DELIV-004', client, bob, second);
      must(
        'DELIV-004',
        that(
          opened.every((o) => client.contentOf(o.plaintext)?.body === 'to all of bob'),
          'every device of bob reads the text',
          opened.length,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'DELIV-022-client-acks-only-stored-content',
    title:
      'the client acks a delivery only with its content kept: acked, received, and still displayed after a disconnect and reconnect (observable through the driver: inbox)',
    requirements: ['DELIV-022'],
    level: 'MUST',
    quote:
      'A client MUST acknowledge a delivery only after it has durably stored the decrypted content, or has given up decrypting it for good.',
    sends:
      'mock: message from bob; driver: disconnect, connect, inbox; suite: finds the acked text in the chat with bob',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const content = client.text('keep me');
      const d = await client.deliver(bob, content);
      const { acked, received } = await client.outcome(d);
      must('DELIV-022', that(acked, 'the delivery acked (its content stored)', 'no ack'));
      must(
        'DELIV-022',
        that(received?.content.id === content.id, 'the acked content received', received),
      );
      await client.drive('disconnect', {});
      await client.reconnect();
      const chat = await client.chatWith(bob);
      const kept = chat?.messages.some((m) => m.contentId === content.id && m.text === 'keep me');
      must(
        'DELIV-022',
        that(
          kept === true,
          'the acked text still in the chat with bob after reconnecting',
          chat ?? 'no chat with bob',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'DELIV-023-client-duplicate-message-id',
    title:
      'the client acks a message whose messageId it already processed and does not show it again, even when its ciphertext is new (observable through the driver: received, inbox)',
    requirements: ['DELIV-023'],
    level: 'MUST',
    quote:
      'A client MUST treat a `message` whose `messageId` it has already processed as a duplicate, acknowledging it without showing it again.',
    sends:
      'mock: message from bob; then a message with the same messageId carrying a fresh ciphertext; suite: ack, received events, chat with bob',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      const bob = client.peer('bob');
      const first = await client.deliver(bob, client.text('only once'));
      const shown = await client.received(first.messageId);
      must(
        'DELIV-023',
        that(shown !== undefined, 'the first delivery received', 'no received event'),
      );
      const again = await client.encrypt(bob, client.text('only once, again'));
      const repeat = client.mock.deliver({
        from: bob,
        ciphertextType: again.type,
        body: again.body,
        messageId: first.messageId,
      });
      const { acked, received } = await client.outcome(repeat);
      must('DELIV-023', that(acked, 'the repeated messageId acked', 'no ack'));
      must(
        'DELIV-023',
        that(received === undefined, 'the repeated messageId not shown again', received),
      );
      const chat = await client.chatWith(bob);
      const count = chat?.messages.length ?? 0;
      must('DELIV-023', that(count === 1, 'one message in the chat with bob', count));
    },
  }),
];
