// Provider variants made by a relay in front of the reference provider (relay.ts): the broken ones
// each break one requirement, as the issue 14 lab found them (a provider that loses or garbles
// pushes); the correct-but-different ones change only what the spec leaves free (member order,
// a push repeated, distance) and must pass.
import type { Rewrite, WireFrame } from './relay.ts';

/** Every member of every object in `value` ordered by `order` (recursively). */
function reorder(value: unknown, order: (keys: string[]) => string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => reorder(v, order));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(order(Object.keys(object)).map((k) => [k, reorder(object[k], order)]));
}

const json = (frame: unknown): string => JSON.stringify(frame);
const isPush = (frame: WireFrame, type: string): boolean =>
  frame.type === type && frame.re === undefined;

/** Flips the last bit of a base64url string's bytes. */
function flipLastBit(text: string): string {
  const bytes = Buffer.from(text, 'base64url');
  bytes[bytes.length - 1]! ^= 0x01;
  return bytes.toString('base64url');
}

/** A variant: what it does, the requirements the suite must fail (none: it must pass). */
export interface RelayVariant {
  description: string;
  /** The requirements the suite must report failed, and no other; empty: the run must pass. */
  fails: readonly string[];
  /**
   * Requirements a case may also report failed when the fault happens to fall on it: which push a
   * variant drops depends on how the cases interleave, and a case that checks a message is still
   * there before its TTL (DELIV-027) rightly fails its own requirement when that push is the lost one.
   */
  mayAlsoFail?: readonly string[];
  /** SHOULDs the variant breaks on purpose: they may warn, and the run still passes. */
  warns?: readonly string[];
  /** The cases to run (globs). */
  only: readonly string[];
  rewrite?: () => Rewrite;
  /** Added one-way latency in each direction. */
  latencyMs?: number;
  /** The --timeout-factor the run uses (a distant target needs one). */
  timeoutFactor?: number;
}

export const RELAY_VARIANTS = {
  'drop-every-third-push': {
    description: 'every third message push is dropped after message.accepted',
    fails: ['DELIV-015'],
    mayAlsoFail: ['DELIV-027'],
    only: ['DELIV-*', 'ENC-003*'],
    rewrite: () => {
      let pushes = 0;
      return (frame) => (isPush(frame, 'message') && ++pushes % 3 === 0 ? [] : [json(frame)]);
    },
  },
  'corrupt-ciphertext': {
    description: 'the last bit of every pushed ciphertext body is flipped',
    fails: ['ENC-003'],
    only: ['ENC-003*', 'DELIV-015*'],
    rewrite: () => (frame) =>
      isPush(frame, 'message') && typeof frame.body === 'string'
        ? [json({ ...frame, body: flipLastBit(frame.body) })]
        : [json(frame)],
  },
  'change-ciphertext-type': {
    description: 'every pushed prekey ciphertext is labelled whisper and every whisper one prekey',
    fails: ['ENC-003'],
    only: ['ENC-003*', 'DELIV-015*'],
    rewrite: () => (frame) =>
      isPush(frame, 'message')
        ? [
            json({
              ...frame,
              ciphertextType: frame.ciphertextType === 'prekey' ? 'whisper' : 'prekey',
            }),
          ]
        : [json(frame)],
  },
  'push-timestamp-shifted': {
    description: 'every message push carries a serverTimestamp 1 s later than its message.accepted',
    fails: ['DELIV-015'],
    only: ['ENC-003*'],
    rewrite: () => (frame) =>
      isPush(frame, 'message') && typeof frame.serverTimestamp === 'number'
        ? [json({ ...frame, serverTimestamp: frame.serverTimestamp + 1000 })]
        : [json(frame)],
  },
  'queue-empty-first': {
    description: 'queue.empty is pushed right after auth.ok, before the backlog',
    fails: ['DELIV-031'],
    only: ['DELIV-026*'],
    rewrite: () => (frame) => {
      if (isPush(frame, 'queue.empty')) return [];
      if (frame.type === 'auth.ok')
        return [json(frame), json({ v: 1, type: 'queue.empty', id: `relay.${frame.re}` })];
      return [json(frame)];
    },
  },
  'queue-empty-twice': {
    description: 'every queue.empty is pushed twice',
    fails: ['DELIV-030'],
    only: ['DELIV-026*'],
    rewrite: () => (frame) =>
      isPush(frame, 'queue.empty')
        ? [json(frame), json({ ...frame, id: `${frame.id}.again` })]
        : [json(frame)],
  },
  'requests-first-seen-shifted': {
    description: 'requests.list reports every firstSeen one minute later than the first message',
    fails: ['CONSENT-014'],
    only: ['CONSENT-014*'],
    rewrite: () => (frame) =>
      frame.type === 'requests.pending' || Array.isArray(frame.pending)
        ? [
            json({
              ...frame,
              pending: (frame.pending as WireFrame[]).map((p) => ({
                ...p,
                firstSeen: (p.firstSeen as number) + 60_000,
              })),
            }),
          ]
        : [json(frame)],
  },
  'slow-send-refusal-for-accounts': {
    description:
      'a message.send refused for a recipient that exists (lack of consent) is answered 50 ms later than one for an unknown address; keys.claim is not',
    fails: ['CONSENT-007'],
    only: ['CONSENT-007*'],
    rewrite: () => (frame, connection) => {
      const request = connection.requests.find((r) => r.id === frame.re);
      const to = typeof request?.to === 'string' ? request.to : '';
      const exists = connection.allRequests.some(
        (r) => r.type === 'account.register' && to.startsWith(`${String(r.name)}@`),
      );
      return frame.type === 'error' && request?.type === 'message.send' && exists
        ? { texts: [json(frame)], delayMs: 50 }
        : [json(frame)];
    },
  },
  'stray-re': {
    description: 'every welcome is followed by a pong whose re names no request',
    fails: ['PROTO-051'],
    only: ['PROTO-051*', 'PROTO-010*', 'DELIV-026*'],
    rewrite: () => (frame) =>
      frame.type === 'welcome'
        ? [json(frame), json({ v: 1, type: 'pong', re: 'relay.stray' })]
        : [json(frame)],
  },
  'members-alphabetical': {
    description:
      'every frame is written with its members in alphabetical order (Go, Python sort_keys, Jackson)',
    fails: [],
    only: ['DELIV-003*', 'AUTH-017*', 'AUTH-020*', 'CONSENT-010*', 'KEYS-014*'],
    rewrite: () => (frame) => [json(reorder(frame, (keys) => [...keys].sort()))],
  },
  'members-reversed': {
    description: 'every frame is written with its members in reverse order',
    fails: [],
    only: ['DELIV-003*', 'AUTH-017*', 'AUTH-020*', 'CONSENT-010*', 'KEYS-014*'],
    rewrite: () => (frame) => [json(reorder(frame, (keys) => [...keys].reverse()))],
  },
  'push-twice': {
    description: 'every message push is sent twice on its connection (only the SHOULD DELIV-020)',
    fails: [],
    warns: ['DELIV-020'],
    only: ['CONSENT-*', 'DELIV-*'],
    rewrite: () => (frame) =>
      isPush(frame, 'message') ? [json(frame), json(frame)] : [json(frame)],
  },
  'distant-300ms': {
    description:
      'the target is 300 ms away each way and the run has --timeout-factor 4 (the rate-limit cases, which make the most round trips)',
    fails: [],
    only: ['CONSENT-025*', 'CONSENT-026*', 'KEYS-017*'],
    latencyMs: 300,
    timeoutFactor: 4,
  },
} as const satisfies Record<string, RelayVariant>;

export type RelayVariantName = keyof typeof RELAY_VARIANTS;
