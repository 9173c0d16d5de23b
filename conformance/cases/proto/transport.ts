// PROTO cases of spec/framing.md#transport, #envelope and #values, checked on what the target
// sends: TLS except on loopback, one JSON object per text frame, `v` and `type` on every frame,
// well-formed addresses, device and registration ids, and integer millisecond timestamps.
import type { Frame, Mismatch } from '../../assert/match.ts';
import { isType, show, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { TranscriptEntry } from '../../transport/transcript.ts';
import { digestOf, slot } from '../att/blob.ts';

/** Hosts where plain ws:// and http:// are allowed, for testing (PROTO-001). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** PROTO-015: `name@domain`, name `[a-z0-9._-]{1,64}`, domain a lowercase DNS name. */
const ADDRESS =
  /^[a-z0-9._-]{1,64}@(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** PROTO-016: device ids are 1..2^31-1, registration ids 1..16380. */
const MAX_DEVICE_ID = 2_147_483_647;
const MAX_REGISTRATION_ID = 16_380;
/** PROTO-017: a millisecond timestamp lies after 2020 and within a century of now. */
const EARLIEST_MS = Date.UTC(2020, 0, 1);
const CENTURY_MS = 100 * 365 * 24 * 3600 * 1000;

/** The members of v1 frames that carry each kind of value (schemas/frames/*.ts). */
const ADDRESS_MEMBERS = new Set(['address', 'from', 'to']);
const DEVICE_MEMBERS = new Set(['deviceId', 'fromDevice']);
const DEVICE_LIST_MEMBERS = new Set(['missing', 'extra', 'stale']);
const TIMESTAMP_MEMBERS = new Set(['expiresAt', 'serverTime', 'firstSeen', 'serverTimestamp']);

/** Whether a URL's scheme is secure or its host is a loopback interface. */
function secureOrLoopback(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'wss:' || u.protocol === 'https:' || LOOPBACK_HOSTS.has(u.hostname);
}

/** Walks a frame and returns the first value-format mismatch, with the requirement it breaks. */
function valueFault(frame: Frame, path = ''): [string, Mismatch] | undefined {
  for (const [key, value] of Object.entries(frame)) {
    const at = `${String(frame.type ?? '')} ${path}/${key}`;
    if (ADDRESS_MEMBERS.has(key) && typeof value === 'string' && !ADDRESS.test(value))
      return ['PROTO-015', { expected: `${at}: an address name@domain`, actual: show(value) }];
    const ids = DEVICE_LIST_MEMBERS.has(key) && Array.isArray(value) ? value : [];
    if (DEVICE_MEMBERS.has(key)) ids.push(value);
    for (const id of ids)
      if (!Number.isInteger(id) || id < 1 || id > MAX_DEVICE_ID)
        return [
          'PROTO-016',
          { expected: `${at}: a device id 1..${MAX_DEVICE_ID}`, actual: show(id) },
        ];
    if (
      key === 'registrationId' &&
      (!Number.isInteger(value) || value < 1 || value > MAX_REGISTRATION_ID)
    )
      return [
        'PROTO-016',
        { expected: `${at}: a registration id 1..${MAX_REGISTRATION_ID}`, actual: show(value) },
      ];
    if (
      TIMESTAMP_MEMBERS.has(key) &&
      (!Number.isInteger(value) || value < EARLIEST_MS || value > Date.now() + CENTURY_MS)
    )
      return [
        'PROTO-017',
        {
          expected: `${at}: an integer count of milliseconds since the epoch`,
          actual: show(value),
        },
      ];
    if (typeof value === 'object' && value !== null) {
      const inner = valueFault(value as Frame, `${path}/${key}`);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The frames the target sent, in order; raw text entries are frames that were not JSON objects. */
function received(entries: readonly TranscriptEntry[]): TranscriptEntry[] {
  return entries.filter((e) => e.dir === 'received');
}

export const transportCases = [
  defineCase({
    id: 'PROTO-001-tls-except-loopback',
    title:
      'the client endpoint and the attachment URLs the target hands out use wss:// and https://, or a loopback host',
    requirements: ['PROTO-001'],
    level: 'MUST',
    quote:
      'The provider MUST serve the client endpoint and the attachment endpoints only over TLS (`wss://` and `https://`), except on a loopback interface used for testing.',
    sends: 'alice: attachment.slot (its uploadUrl and downloadUrl are checked with the target URL)',
    async run({ target, world }) {
      must(
        'PROTO-001',
        that(secureOrLoopback(target.url), 'a wss:// target URL, or ws:// on loopback', target.url),
      );
      if (!target.capabilities.includes('attachments')) return;
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const slotted = mustMatch(
        'PROTO-001',
        await slot(alice.peer, 1, digestOf(Buffer.from('x'))),
        isType('attachment.slotted'),
      );
      for (const url of [slotted.uploadUrl as string, slotted.downloadUrl as string])
        must(
          'PROTO-001',
          that(secureOrLoopback(url), 'an https:// URL, or http:// on loopback', url),
        );
    },
  }),
  defineCase({
    id: 'PROTO-002-well-formed-frames',
    title:
      'every frame the target sends over a whole conversation is one JSON object with v and type, well-formed values and no undefined member',
    requirements: ['PROTO-002', 'PROTO-007', 'PROTO-015', 'PROTO-016', 'PROTO-017', 'PROTO-035'],
    level: 'MUST',
    quote:
      'Each Parley frame MUST be exactly one JSON object (RFC 8259), encoded as UTF-8, in one WebSocket text frame.',
    sends:
      'alice, carol (first-party), bob (third-party): register, auth, publish, claim, send, push, ack, consent, requests, slot, ping',
    // A whole conversation of three users: the 5 s default ran out once in a CI run under load.
    timeoutMs: 15_000,
    async run({ world }) {
      const alice = await world.firstParty('alice', { optIn: true });
      const bob = await world.thirdParty('bob');
      const carol = await world.firstParty('carol', { preKeys: 0 });
      await carol.peer.request('keys.claim', { address: alice.address });
      await bob.sendText(alice.address, 'from bob');
      await carol.sendText(alice.address, 'from carol');
      const pushed = [await alice.nextMessage(), await alice.nextMessage()];
      await alice.ack(...pushed);
      await alice.peer.request('requests.list');
      await alice.peer.request('consent.get');
      await alice.peer.request('ping');
      await alice.peer.request('keys.claim', {
        address: `nobody.${world.rng.word(8)}@${world.target.domain}`,
      });
      if (world.target.capabilities.includes('attachments'))
        await slot(alice.peer, 1, digestOf(Buffer.from('x')));
      const frames = received(world.transcript.entries);
      const notObject = frames.find((e) => e.frame === undefined);
      must(
        'PROTO-002',
        that(notObject === undefined, 'only JSON objects in text frames', notObject),
      );
      const faults = world.faults.filter((f) => f.peer !== 'http');
      must(
        'PROTO-002',
        that(
          !faults.some((f) => f.type === '?'),
          'no binary frame and no text that is not a JSON object',
          faults,
        ),
      );
      for (const { frame } of frames) {
        const f = frame as Frame;
        must(
          'PROTO-007',
          that(f.v === 1 && typeof f.type === 'string', 'v 1 and a type on every frame', f),
        );
        const fault = valueFault(f);
        if (fault) must(fault[0], fault[1]);
      }
      must(
        'PROTO-035',
        that(
          faults.length === 0,
          'every frame within its closed schema (no undefined member)',
          faults,
        ),
      );
    },
  }),
];
