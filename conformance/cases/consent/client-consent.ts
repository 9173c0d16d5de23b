// CONSENT cases of a client (spec/consent.md): interop only on the user's action, the sections and
// platform labels of the chat list, no receipts or downloads for message requests, reports without
// content, and rate limits waited out. The client connects as a first-party account of the mock
// provider (the settings, sections and requests are a first-party user's). Sections and labels are
// only observable through the driver's `inbox` (what the client would display).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { sealFile, withAttachmentServer } from '../../client/attachments-mock.ts';
import { DriverRefusal } from '../../client/link.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { HarnessError } from '../../runner/signals.ts';

/** The retryAfterMs the mock answers RATE_LIMITED with. */
const RETRY_AFTER_MS = 1000;
/** The platform of a second third-party peer. */
const OTHER_PLATFORM = 'other.partner.example';

/** The user opts in to interop with every platform, with the `inbox` layout given. */
async function optIn(client: ClientWorld, inbox: 'separate' | 'combined'): Promise<void> {
  await client.drive('setInterop', { enabled: true, platforms: 'all', inbox });
}

/** Delivers a text from `peer` and waits until the client accepted it. */
async function textFrom(
  client: ClientWorld,
  peer: SuitePeer,
  body: string,
  folder?: 'inbox' | 'third-party' | 'requests',
): Promise<{ messageId: string; contentId: string }> {
  const text = client.text(body);
  const d = await client.deliver(peer, text, folder ? { folder } : {});
  if (!(await client.received(d.messageId)))
    throw new HarnessError(`the client did not accept a valid text from ${peer.address}`);
  return { messageId: d.messageId, contentId: String(text.id) };
}

/** Every Content the client sent to `peer` within `waitMs`, decrypted by the peer. */
async function contentsSentTo(
  client: ClientWorld,
  peer: SuitePeer,
  waitMs: number,
): Promise<Frame[]> {
  const out: Frame[] = [];
  const deadline = Date.now() + waitMs;
  for (;;) {
    const send = await client.mock.poll(
      (f) => f.type === 'message.send' && f.to === peer.address,
      Math.max(0, deadline - Date.now()),
    );
    if (!send) return out;
    for (const opened of await client.open(peer, send)) {
      const content = client.contentOf(opened.plaintext);
      if (content) out.push(content);
    }
  }
}

/** These cases wait out silences and rate limits; the default 5 s budget is too short. */
const CASE_TIMEOUT_MS = 15_000;

export const clientConsentCases = [
  defineClientCase({
    id: 'CONSENT-002-client-enables-interop-only-on-user-action',
    title: 'the client never turns interop on by itself, only when the user does',
    requirements: ['CONSENT-002'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client MUST NOT set `interop.enabled` to true without an explicit action of its user.',
    sends:
      'driver: connect (first-party), receive a text, send a text, inbox, disconnect and reconnect; suite: no consent.set with enabled true; then driver: setInterop enabled, which must reach the mock',
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      const carol = client.peer('carol', { thirdParty: false });
      await textFrom(client, carol, 'hello from carol');
      await client.sendText(carol, 'hello back');
      await client.inbox();
      await client.drive('disconnect', {});
      await client.reconnect();
      await client.inbox();
      await client.pause(client.waitMs / 2);
      const enabling = (f: Frame): boolean =>
        f.type === 'consent.set' && (f.interop as Frame | undefined)?.enabled === true;
      const early = client.mock.received.find(enabling);
      must(
        'CONSENT-002',
        that(early === undefined, 'no consent.set enabling interop without the user', early),
      );
      await optIn(client, 'separate');
      const set = await client.mock.poll(enabling, client.waitMs);
      must(
        'CONSENT-002',
        that(set !== undefined, 'consent.set with enabled true once the user turned it on', 'none'),
      );
    },
  }),

  defineClientCase({
    id: 'CONSENT-012-client-shows-third-party-chats-apart',
    title:
      'the client shows chats with third-party senders in the "Third Party Chats" section, apart from first-party chats',
    requirements: ['CONSENT-012'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client MUST show chats with third-party senders in a section apart from first-party chats, titled "Third Party Chats", unless its user chose the combined inbox.',
    sends:
      'driver: setInterop (separate inbox); suite: carol (first-party, folder inbox) and bob (third-party, folder third-party) each send a text; driver: inbox. Observable only through the driver: section "third-party" is the driver protocol\'s name of the "Third Party Chats" section',
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const carol = client.peer('carol', { thirdParty: false });
      const bob = client.peer('bob');
      await textFrom(client, carol, 'first-party hello');
      await textFrom(client, bob, 'third-party hello');
      const chats = await client.inbox();
      const sectionOf = (p: SuitePeer) => chats.find((c) => c.address === p.address)?.section;
      must(
        'CONSENT-012',
        that(
          sectionOf(bob) === 'third-party' && sectionOf(carol) === 'inbox',
          "bob's chat in the third-party section, carol's in the inbox",
          { bob: sectionOf(bob), carol: sectionOf(carol) },
        ),
      );
    },
  }),

  defineClientCase({
    id: 'CONSENT-013-client-labels-third-party-chats',
    title:
      "the client marks every third-party chat with the sender's platform, in the separate and the combined inbox",
    requirements: ['CONSENT-013'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      "A client MUST mark every third-party chat with the sender's platform, also in the combined inbox.",
    sends:
      "driver: setInterop separate; suite: bob (third-party) sends a text (folder third-party); driver: setInterop combined; suite: dave of another platform sends a text (folder inbox); driver: inbox. Observable only through the driver (the chat's platform label)",
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const bob = client.peer('bob');
      await textFrom(client, bob, 'from the separate section');
      await optIn(client, 'combined');
      const dave = client.peer('dave', { platform: OTHER_PLATFORM, folder: 'inbox' });
      await textFrom(client, dave, 'from the combined inbox');
      const chats = await client.inbox();
      for (const peer of [bob, dave]) {
        const chat = chats.find((c) => c.address === peer.address);
        must(
          'CONSENT-013',
          that(
            chat?.platform === peer.origin.platform,
            `the chat with ${peer.address} (section ${chat?.section ?? 'none'}) labelled ${peer.origin.platform}`,
            chat ? chat.platform : 'no chat',
          ),
        );
      }
    },
  }),

  defineClientCase({
    id: 'CONSENT-017-client-sends-no-receipts-to-requests',
    title:
      'the client sends no receipt or typing indicator for a message request before the user accepts it',
    requirements: ['CONSENT-017'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client MUST NOT send a receipt or typing indicator for a message in `requests` before its user accepts the request.',
    sends:
      'driver: setInterop; suite: bob (third-party, not accepted) sends two texts with folder requests and decrypts everything the client sends him; driver: inbox, then respondToRequest accept. A client that never sends receipts passes trivially; the case shows that none leaks to a request',
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const bob = client.peer('bob', { folder: 'requests' });
      await textFrom(client, bob, 'hi, we have not met');
      await textFrom(client, bob, 'are you there?');
      await client.inbox();
      const sent = await contentsSentTo(client, bob, client.waitMs);
      const leaked = sent.filter((c) => c.kind === 'receipt' || c.kind === 'typing');
      must(
        'CONSENT-017',
        that(leaked.length === 0, 'no receipt or typing Content to bob before accepting', leaked),
      );
      await client.drive('respondToRequest', { from: bob.address, action: 'accept' });
    },
  }),

  defineClientCase({
    id: 'CONSENT-018-client-defers-request-downloads',
    title: 'the client downloads no attachment of a message request before the user accepts it',
    requirements: ['CONSENT-018'],
    level: 'SHOULD',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client SHOULD NOT download the attachments of a message in `requests` before its user accepts the request.',
    sends:
      "suite: bob (third-party, not accepted) sends an attachment with folder requests; the suite's attachment endpoint records downloads; driver: respondToRequest accept, then download (which must reach the endpoint)",
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const bob = client.peer('bob', { folder: 'requests' });
      await withAttachmentServer(client.mock, async (server) => {
        const sealed = await sealFile(randomBytes(4000));
        const downloadUrl = server.serve(sealed.blob);
        const content: Frame = {
          v: 1,
          id: randomUUID(),
          sentAt: Date.now(),
          kind: 'attachment',
          attachments: [
            {
              blobId: `b_${randomBytes(8).toString('hex')}`,
              downloadUrl,
              mediaType: 'image/jpeg',
              ...sealed.pointer,
            },
          ],
        };
        const d = await client.deliver(bob, content);
        if (!(await client.received(d.messageId)))
          throw new HarnessError('the client did not accept a valid attachment message');
        await client.pause(client.waitMs);
        const early = server.downloadsOf(downloadUrl);
        must(
          'CONSENT-018',
          that(
            early.length === 0,
            "no download of the request's attachment",
            `${early.length} GET`,
          ),
        );
        await client.drive('respondToRequest', { from: bob.address, action: 'accept' });
        await client.drive('download', {
          from: bob.address,
          contentId: String(content.id),
          index: 0,
        });
        if (server.downloadsOf(downloadUrl).length === 0)
          throw new HarnessError('the download after accepting never reached the endpoint');
      });
    },
  }),

  defineClientCase({
    id: 'CONSENT-024-client-reports-without-content',
    title: 'the client puts no decrypted content in a report unless the user chose to include it',
    requirements: ['CONSENT-024'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client MUST NOT put decrypted message content in a `report` unless its user chose to include it.',
    sends:
      'suite: bob sends a text with a distinctive phrase; driver: report bob (spam) naming that message, includeContent false; suite: searches the report frame for the text',
    async run({ client, rng }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const bob = client.peer('bob');
      const secret = `meet me at pier ${rng.word(10)}`;
      const { messageId } = await textFrom(client, bob, secret);
      await client.drive('report', {
        address: bob.address,
        reason: 'spam',
        messageIds: [messageId],
        includeContent: false,
      });
      const report = await client.mock.next((f) => f.type === 'report', 'report');
      const text = JSON.stringify(report);
      must(
        'CONSENT-024',
        that(
          !text.includes(secret) && !text.includes(secret.split(' ').pop()!),
          'a report without the text of the message',
          report,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'CONSENT-027-client-waits-out-rate-limits',
    title: 'the client repeats no request refused with RATE_LIMITED before retryAfterMs passed',
    requirements: ['CONSENT-027'],
    level: 'MUST',
    timeoutMs: CASE_TIMEOUT_MS,
    quote:
      'A client MUST NOT repeat a request refused with `RATE_LIMITED` before `retryAfterMs` milliseconds have passed.',
    sends:
      'mock: the first message.send and the first report answered RATE_LIMITED with retryAfterMs 1000; driver: sendText to bob, then report bob twice in a row; suite: times every repeat',
    async run({ client }) {
      await client.connect({ as: 'first-party' });
      await optIn(client, 'separate');
      const bob = client.peer('bob');
      /** Arrival times of the frames of each type, and when the refusal went out. */
      const arrivals = new Map<string, number[]>();
      const refusedAt = new Map<string, number>();
      const limitFirst = (type: string, then: (f: Frame) => Frame) =>
        client.mock.handle(type, (f) => {
          const times = arrivals.get(type) ?? [];
          times.push(Date.now());
          arrivals.set(type, times);
          if (times.length > 1) return then(f);
          refusedAt.set(type, Date.now());
          return {
            type: 'error',
            code: 'RATE_LIMITED',
            message: `${type} refused: too many requests`,
            retryAfterMs: RETRY_AFTER_MS,
          };
        });
      limitFirst('message.send', () => ({
        type: 'message.accepted',
        messageId: `m_${randomUUID()}`,
        serverTimestamp: Date.now(),
        duplicate: false,
      }));
      limitFirst('report', () => ({ type: 'report.received', reportId: `rep_${randomUUID()}` }));
      const userSend = client.drive(
        'sendText',
        { to: bob.address, text: 'are you there?' },
        client.waitMs * 2 + RETRY_AFTER_MS,
      );
      await userSend.catch((e: unknown) => {
        if (!(e instanceof DriverRefusal)) throw e;
      });
      const report = () =>
        client
          .drive('report', {
            address: bob.address,
            reason: 'spam',
            messageIds: [],
            includeContent: false,
          })
          .catch((e: unknown) => {
            if (!(e instanceof DriverRefusal)) throw e;
          });
      await report();
      await report();
      const reportRefused = refusedAt.get('report');
      if (reportRefused !== undefined)
        await client.pause(Math.max(0, reportRefused + RETRY_AFTER_MS - Date.now()));
      for (const type of ['message.send', 'report']) {
        const at = refusedAt.get(type);
        if (at === undefined) throw new HarnessError(`the client sent no ${type}`);
        const early = (arrivals.get(type) ?? []).slice(1).filter((t) => t < at + RETRY_AFTER_MS);
        must(
          'CONSENT-027',
          that(
            early.length === 0,
            `no ${type} within ${RETRY_AFTER_MS} ms of the RATE_LIMITED refusal`,
            early.map((t) => `${type} ${t - at} ms after the refusal`),
          ),
        );
      }
    },
  }),
];
