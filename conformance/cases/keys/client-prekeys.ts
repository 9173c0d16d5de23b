// KEYS cases of a client as a publisher (spec/keys.md "Publishing", "Low-prekey notice"): the mock
// provider records every `keys.publish` of the client and pushes `keys.low`; the suite looks at the
// one-time prekeys the client puts out over a session, a reconnect and two replenishments, and at
// the signed prekey and the last-resort Kyber prekey after the client's clock moved on (driver
// `advanceClock`).
import { verifySignature } from '../../../reference-impl/crypto/index.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import type { ClientWorld } from '../../client/world.ts';
import { defineClientCase } from '../../runner/case.ts';
import { SkipCase } from '../../runner/signals.ts';
import { unb64 } from '../../transport/users.ts';

/** A Curve25519 public key: the type byte 0x05 and the 32-byte u-coordinate (ENC-004). */
const PUBLIC_KEY_BYTES = 33;
/**
 * Bits of each u-coordinate the balance check counts: the first 31 bytes. The last byte is left
 * out, since u < 2^255 - 19 keeps its top bit at zero.
 */
const BALANCED_BITS_PER_KEY = 31 * 8;
/** Standard deviations a fair bit count may stray from half before the keys look non-random. */
const BIT_BALANCE_SIGMAS = 6;
/** How far the rotation cases move the client's clock: past the 30 days of KEYS-009. */
const ROTATION_CHECK_MS = 31 * 24 * 3600 * 1000;

interface SignedPreKey {
  keyId: number;
  publicKey: string;
  signature: string;
}

interface OneTimeKey {
  keyId: number;
  publicKey: string;
}

/** Every one-time prekey the client published so far, in order. */
function publishedOneTimeKeys(client: ClientWorld): OneTimeKey[] {
  return client.mock.received
    .filter((f) => f.type === 'keys.publish')
    .flatMap((f) => (Array.isArray(f.oneTimePreKeys) ? (f.oneTimePreKeys as OneTimeKey[]) : []));
}

/** Pushes `keys.low` and waits for the client's next `keys.publish`. */
async function replenish(client: ClientWorld, count: number, threshold: number): Promise<void> {
  client.mock.live.push({
    type: 'keys.low',
    oneTimePreKeyCount: count,
    oneTimeKyberPreKeyCount: count,
    threshold,
  });
  await client.mock.next((f) => f.type === 'keys.publish', 'keys.publish after keys.low');
}

/** The next last-resort Kyber prekey the client publishes that differs from `old`, within waitMs. */
async function kyberRotation(
  client: ClientWorld,
  old: SignedPreKey,
): Promise<SignedPreKey | undefined> {
  const f = await client.mock.poll(
    (x) =>
      x.type === 'keys.publish' &&
      typeof x.lastResortKyberPreKey === 'object' &&
      x.lastResortKyberPreKey !== null &&
      (x.lastResortKyberPreKey as SignedPreKey).keyId !== old.keyId &&
      (x.lastResortKyberPreKey as SignedPreKey).publicKey !== old.publicKey,
    client.waitMs,
  );
  return f?.lastResortKyberPreKey as SignedPreKey | undefined;
}

/** The next signed prekey the client publishes that differs from `old`, within waitMs. */
async function rotation(client: ClientWorld, old: SignedPreKey): Promise<SignedPreKey | undefined> {
  const f = await client.mock.poll(
    (x) =>
      x.type === 'keys.publish' &&
      (x.signedPreKey as SignedPreKey).keyId !== old.keyId &&
      (x.signedPreKey as SignedPreKey).publicKey !== old.publicKey,
    client.waitMs,
  );
  return f?.signedPreKey as SignedPreKey | undefined;
}

/** Whether `spk`'s signature verifies under `identityKey` (ENC-008, KEYS-026: over the full encoding). */
function signedBy(identityKey: string, spk: SignedPreKey): boolean {
  try {
    return verifySignature(unb64(identityKey), unb64(spk.publicKey), unb64(spk.signature));
  } catch {
    return false;
  }
}

/** Repeated members of `values`. */
function repeated<T>(values: readonly T[]): T[] {
  const seen = new Set<T>();
  return values.filter((v) => seen.has(v) || (seen.add(v), false));
}

export const clientPrekeyCases = [
  defineClientCase({
    id: 'KEYS-008-client-never-republishes-one-time-prekeys',
    title:
      'the client never publishes a one-time prekey (id or key) twice, over a reconnect and two replenishments, and its keys look uniformly random (what a CSPRNG cannot be proven from outside)',
    requirements: ['KEYS-008'],
    level: 'MUST',
    quote:
      'A client MUST generate every private key from a cryptographically secure random source and MUST NOT publish a one-time prekey that it published before.',
    sends:
      'driver: connect, disconnect, connect; mock: keys.low (0 left) twice; suite: compares every published one-time prekey, and counts the bits of their public keys (a balance check cannot prove a CSPRNG, only catch a gross fault)',
    timeoutMs: 10_000,
    async run({ client }) {
      await client.connect();
      await client.mock.next((f) => f.type === 'keys.publish', 'keys.publish');
      await replenish(client, 0, 10);
      await client.drive('disconnect', {});
      await client.reconnect();
      await replenish(client, 0, 10);
      const keys = publishedOneTimeKeys(client);
      if (keys.length === 0) throw new SkipCase('the client published no one-time prekey');
      const ids = repeated(keys.map((k) => k.keyId));
      must(
        'KEYS-008',
        that(
          ids.length === 0,
          'no one-time prekey id published twice',
          `repeated ids ${ids.slice(0, 10).join(', ')}`,
        ),
      );
      const own = client.mock.published;
      const all = [
        ...keys.map((k) => k.publicKey),
        ...(own ? [own.identityKey, own.signedPreKey.publicKey] : []),
      ];
      const dupes = repeated(all);
      must(
        'KEYS-008',
        that(
          dupes.length === 0,
          'every public key distinct (identity, signed and one-time prekeys)',
          dupes.slice(0, 3),
        ),
      );
      let ones = 0;
      for (const k of keys) {
        const bytes = unb64(k.publicKey);
        if (bytes.length !== PUBLIC_KEY_BYTES) continue; // ENC-004's concern, checked by schema
        for (const byte of bytes.subarray(1, 1 + BALANCED_BITS_PER_KEY / 8))
          for (let b = byte; b > 0; b >>= 1) ones += b & 1;
      }
      const bits = keys.length * BALANCED_BITS_PER_KEY;
      const sigma = Math.sqrt(bits) / 2;
      must(
        'KEYS-008',
        that(
          Math.abs(ones - bits / 2) <= BIT_BALANCE_SIGMAS * sigma,
          `about half of ${bits} key bits set (within ${BIT_BALANCE_SIGMAS} σ = ${Math.round(BIT_BALANCE_SIGMAS * sigma)})`,
          `${ones} set`,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-023-client-answers-keys-low',
    title:
      'the client answers keys.low by publishing one-time prekeys until at least the threshold is stored',
    requirements: ['KEYS-023'],
    level: 'SHOULD',
    quote:
      'A client SHOULD answer `keys.low` by publishing one-time prekeys until at least `limits.lowPreKeyThreshold` are stored.',
    sends:
      'driver: connect; mock: keys.low (3 left, threshold 10); suite: counts the one-time prekeys of the keys.publish frames that follow',
    async run({ client }) {
      const left = 3;
      const threshold = 10;
      await client.connect();
      await client.mock.next((f) => f.type === 'keys.publish', 'keys.publish');
      const before = publishedOneTimeKeys(client).length;
      client.mock.live.push({
        type: 'keys.low',
        oneTimePreKeyCount: left,
        oneTimeKyberPreKeyCount: left,
        threshold,
      });
      await client.mock.poll((f) => f.type === 'keys.publish', client.waitMs);
      await client.pause(client.waitMs / 4); // a client may publish in several frames
      const added = publishedOneTimeKeys(client).length - before;
      must(
        'KEYS-023',
        that(
          left + added >= threshold,
          `at least ${threshold - left} new one-time prekeys published`,
          added,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-009-client-rotates-signed-prekey',
    title:
      'the client replaces its signed prekey once it is more than 30 days old (the client clock moved on through the driver: advanceClock)',
    requirements: ['KEYS-009'],
    level: 'SHOULD',
    quote: 'A client SHOULD replace its signed prekey at least every 30 days.',
    sends:
      'driver: connect, disconnect, advanceClock 31 days, connect; suite: compares the signed prekey of the keys.publish frames and verifies the new signature',
    async run({ client }) {
      await client.connect();
      const old = client.mock.published!.signedPreKey;
      await client.drive('disconnect', {});
      await client.drive('advanceClock', { ms: ROTATION_CHECK_MS });
      await client.reconnect();
      const next = await rotation(client, old);
      must('KEYS-009', that(next !== undefined, 'a keys.publish with a new signed prekey', 'none'));
      must(
        'KEYS-009',
        that(
          signedBy(client.mock.published!.identityKey, next!),
          'its signature verifies under the identity key',
          next,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-010-client-keeps-replaced-signed-prekey',
    title:
      'the client still decrypts a message that a peer encrypted to its signed prekey before the client replaced it (clock moved on through the driver: advanceClock)',
    requirements: ['KEYS-010'],
    level: 'SHOULD',
    quote:
      'A client SHOULD keep the private key of a replaced signed prekey for `limits.queueTtlSeconds`, so that messages still queued for it can be decrypted.',
    sends:
      'suite: bob encrypts to the client bundle without a one-time prekey; driver: disconnect, advanceClock 31 days, connect (a new signed prekey); mock: delivers bob’s message',
    async run({ client }) {
      await client.connect();
      const old = client.mock.published!.signedPreKey;
      const bob = client.peer('bob');
      await bob.startSession(client.client, client.mock.claimClientBundle(false));
      const content = client.text('queued before the rotation');
      const queued = await client.encrypt(bob, content);
      await client.drive('disconnect', {});
      await client.drive('advanceClock', { ms: ROTATION_CHECK_MS });
      await client.reconnect();
      if ((await rotation(client, old)) === undefined)
        throw new SkipCase(
          'the client did not replace its signed prekey (KEYS-009), so there is no replaced key to keep',
        );
      const d = client.redeliver(bob, queued);
      const received = await client.received(d.messageId);
      must(
        'KEYS-010',
        that(
          received?.content.id === content.id,
          'the message to the replaced signed prekey received',
          received ?? 'no received event',
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-027-client-rotates-last-resort-kyber-prekey',
    title:
      'the client replaces its last-resort Kyber prekey once it is more than 30 days old (the client clock moved on through the driver: advanceClock)',
    requirements: ['KEYS-027'],
    level: 'SHOULD',
    quote:
      'A client SHOULD replace its last-resort Kyber prekey at least every 30 days, and keep the private key of the replaced one for `limits.queueTtlSeconds`.',
    sends:
      'driver: connect, disconnect, advanceClock 31 days, connect; suite: compares the last-resort Kyber prekey of the keys.publish frames and verifies the new signature',
    async run({ client }) {
      await client.connect();
      const old = client.mock.published!.lastResortKyberPreKey;
      await client.drive('disconnect', {});
      await client.drive('advanceClock', { ms: ROTATION_CHECK_MS });
      await client.reconnect();
      const next = await kyberRotation(client, old);
      must(
        'KEYS-027',
        that(next !== undefined, 'a keys.publish with a new last-resort Kyber prekey', 'none'),
      );
      must(
        'KEYS-027',
        that(
          signedBy(client.mock.published!.identityKey, next!),
          'its signature verifies under the identity key',
          next,
        ),
      );
    },
  }),

  defineClientCase({
    id: 'KEYS-027-client-keeps-replaced-last-resort-kyber-prekey',
    title:
      'the client still decrypts a message that a peer encrypted to its last-resort Kyber prekey before the client replaced it (clock moved on through the driver: advanceClock)',
    requirements: ['KEYS-027'],
    level: 'SHOULD',
    quote:
      'A client SHOULD replace its last-resort Kyber prekey at least every 30 days, and keep the private key of the replaced one for `limits.queueTtlSeconds`.',
    sends:
      'suite: bob encrypts to the client bundle with a one-time Kyber prekey, carol to one with the last-resort Kyber prekey (neither with a one-time prekey); driver: disconnect, advanceClock 31 days, connect (new prekeys); mock: delivers bob’s message, then carol’s',
    async run({ client }) {
      await client.connect();
      const published = client.mock.published!;
      const oldKyber = published.lastResortKyberPreKey;
      const bob = client.peer('bob');
      const carol = client.peer('carol');
      const oneTime = client.mock.claimClientBundle(false);
      if (oneTime.kyberPreKey === published.lastResortKyberPreKey)
        throw new SkipCase('the client published no one-time Kyber prekey to compare with');
      await bob.startSession(client.client, oneTime);
      await carol.startSession(client.client, {
        ...client.mock.claimClientBundle(false),
        kyberPreKey: oldKyber,
      });
      const toOneTime = client.text('queued for a one-time Kyber prekey');
      const toLastResort = client.text('queued for the last-resort Kyber prekey');
      const queuedOneTime = await client.encrypt(bob, toOneTime);
      const queuedLastResort = await client.encrypt(carol, toLastResort);
      await client.drive('disconnect', {});
      await client.drive('advanceClock', { ms: ROTATION_CHECK_MS });
      await client.reconnect();
      if ((await kyberRotation(client, oldKyber)) === undefined)
        throw new SkipCase(
          'the client did not replace its last-resort Kyber prekey (the other KEYS-027 case), so there is no replaced key to keep',
        );
      // Both messages are built on the signed prekey of before the clock moved; the first one
      // tells whether the client kept that (KEYS-010), so the second can only fail on KEYS-027.
      const first = await client.received(client.redeliver(bob, queuedOneTime).messageId);
      if (first?.content.id !== toOneTime.id)
        throw new SkipCase(
          'the client did not decrypt a message to its replaced signed prekey (KEYS-010), so the Kyber prekey cannot be judged apart',
        );
      const received = await client.received(client.redeliver(carol, queuedLastResort).messageId);
      must(
        'KEYS-027',
        that(
          received?.content.id === toLastResort.id,
          'the message to the replaced last-resort Kyber prekey received',
          received ?? 'no received event',
        ),
      );
    },
  }),
];
