// Group fault variants of the reference client, for the suite's self-test only (CLIENT_FAULTS in
// reference-driver.ts; test/conformance/client-faults-groups.test.ts): each breaks one rule of
// sender keys (spec/crypto.md ENC-080..089) or group clients (spec/groups.md GROUP-049..056, 060), as a
// store decorator, a session-cipher wrapper, a replacement of the SDK's group opener, or a wire
// rewrite. No CLI flag reaches them.
import { createDecipheriv } from 'node:crypto';
import {
  groupDecrypt,
  IdentityKeyPair,
  parseSenderKeyMessage,
  processSenderKeyDistributionMessage,
  ProtocolError,
  SenderKeyRecord,
  type ProtocolAddress,
  type SenderKeyState,
} from '../../reference-impl/crypto/index.ts';
import {
  advanceTo,
  nextSenderChainKey,
  senderMessageKeys,
  senderMessageKeySeed,
} from '../../reference-impl/crypto/group/state.ts';
import { verifySenderKeyMessage } from '../../reference-impl/crypto/group/wire.ts';
import type { MemoryClientStore, ParleyClient } from '../../reference-impl/client/index.ts';
import { decodePlaintext } from '../../reference-impl/client/content.ts';
import type { Content } from '../../schemas/content.ts';
import type { Groups, OpenedGroupMessage } from '../../reference-impl/client/groups.ts';
import type { Sessions } from '../../reference-impl/client/sessions.ts';

type Faults = ReadonlySet<string>;
type Json = Record<string, unknown>;
type Rewrite = (frame: Json) => Json | undefined;

/** The version byte of sender-key messages; a SenderKeyDistributionMessage starts with it. */
const SENDER_KEY_VERSION_BYTE = 0x33;
/** Content plaintexts are padded to multiples of this (spec/content.md); distribution messages are not. */
const CONTENT_PADDING_BLOCK = 160;
/** The signature that closes a SenderKeyMessage. */
const SIGNATURE_BYTES = 64;

const isDistributionPlaintext = (plaintext: Uint8Array): boolean =>
  plaintext[0] === SENDER_KEY_VERSION_BYTE && plaintext.length % CONTENT_PADDING_BLOCK !== 0;

/** The distribution id every group of the `one-distribution-id-for-all-groups` variant uses. */
const SHARED_DISTRIBUTION_ID = '00000000-0000-4000-8000-000000000055';

/** The one sender key every group of the `fixed-sender-key` variant starts from. */
function fixedSenderKey(): SenderKeyRecord {
  const signing = IdentityKeyPair.fromPrivateKey(new Uint8Array(32).fill(0x42));
  return new SenderKeyRecord([
    {
      chainId: 1,
      chainKey: { iteration: 0, seed: new Uint8Array(32).fill(0x24) },
      signingKey: signing.publicKey,
      signingPrivateKey: signing.privateKey,
      messageKeys: [],
    },
  ]);
}

/**
 * Store faults: a fixed "fresh" sender key (ENC-080), an own chain that never moves on (ENC-083),
 * one state kept per sender (ENC-087), no rotation after a member left (ENC-089), no group recorded
 * for received sender keys (GROUP-054), one distribution id for every group (GROUP-055), a name whichever arrived last (GROUP-060).
 */
export function breakGroupStore(store: MemoryClientStore, faults: Faults): void {
  const own = async (sender: ProtocolAddress): Promise<boolean> => {
    const account = await store.getAccount();
    return account?.address === sender.name && account.deviceId === sender.deviceId;
  };
  const load = store.loadSenderKey.bind(store);
  const save = store.storeSenderKey.bind(store);
  if (faults.has('fixed-sender-key'))
    store.loadSenderKey = async (sender, id) =>
      (await load(sender, id)) ?? ((await own(sender)) ? fixedSenderKey() : undefined);
  if (faults.has('reuse-sender-message-keys'))
    store.storeSenderKey = async (sender, id, record) => {
      const old = await load(sender, id);
      if ((await own(sender)) && old?.current?.chainId === record.current?.chainId) return;
      await save(sender, id, record);
    };
  if (faults.has('keep-one-sender-key-state'))
    store.storeSenderKey = async (sender, id, record) =>
      save(
        sender,
        id,
        (await own(sender)) ? record : new SenderKeyRecord(record.states.slice(0, 1)),
      );
  if (faults.has('no-sender-key-rotation')) {
    const saveGroup = store.saveGroup.bind(store);
    store.saveGroup = (record) => saveGroup({ ...record, rotate: false });
  }
  if (faults.has('one-distribution-id-for-all-groups')) {
    const saveGroup = store.saveGroup.bind(store);
    store.saveGroup = (record) => saveGroup({ ...record, distributionId: SHARED_DISTRIBUTION_ID });
  }
  // Every received sender key reads as one kept from before groups were recorded, so whichever
  // group's message it comes with opens under it (GROUP-054).
  if (faults.has('accept-messages-of-other-groups')) store.senderKeyGroup = async () => null;
  // The recorded name reads as stamped before any other, so whichever arrives last holds (GROUP-060).
  if (faults.has('group-context-last-delivered-wins')) {
    const getGroup = store.getGroup.bind(store);
    store.getGroup = async (group) => {
      const record = await getGroup(group);
      return record?.context === undefined
        ? record
        : { ...record, context: { ...record.context, serverTimestamp: Number.NEGATIVE_INFINITY } };
    };
  }
}

/**
 * Takes a group's name and avatar from a non-member's group message (GROUP-060), while still not
 * showing it (GROUP-050 holds): the SDK's opener runs with the sender counted a member for that one
 * message, and the membership is put back with whatever name the message set.
 */
export function breakGroupContext(client: ParleyClient, faults: Faults): void {
  if (!faults.has('group-context-from-non-members')) return;
  const inner = client as unknown as { groups: Groups; store: MemoryClientStore };
  const original = inner.groups.open.bind(inner.groups);
  inner.groups.open = async (frame): Promise<OpenedGroupMessage> => {
    const record = await inner.store.getGroup(frame.group!);
    const member = record?.members.some((m) => m.address === frame.from && m.state === 'member');
    if (record === undefined || member) return original(frame);
    await inner.store.saveGroup({
      ...record,
      members: [...record.members, { address: frame.from, role: 'member', state: 'member' }],
    });
    try {
      await original(frame);
    } finally {
      const after = await inner.store.getGroup(frame.group!);
      await inner.store.saveGroup({
        ...record,
        ...(after?.context === undefined ? {} : { context: after.context }),
      });
    }
    return { ok: false, reason: 'not-member' };
  };
}

/**
 * GROUP-056 faults, through the SDK's group half (its private members, in this test-only path):
 * group sends whose Content names no group, and group messages shown whatever group their Content
 * names. The latter opens what the SDK discarded as of another group when its sender key is not
 * recorded for another (GROUP-054 still holds), records the key for the group it came in, and
 * shows it, as a client without the check does.
 */
export function breakGroupNaming(client: ParleyClient, faults: Faults): void {
  const inner = client as unknown as { groups: Groups; store: MemoryClientStore };
  if (faults.has('no-group-in-content')) {
    const groups = inner.groups as unknown as { naming: (group: string, c: Content) => Content };
    groups.naming = (_group, content) => content;
  }
  if (!faults.has('accept-content-of-other-groups')) return;
  const original = inner.groups.open.bind(inner.groups);
  inner.groups.open = async (frame): Promise<OpenedGroupMessage> => {
    const opened = await original(frame);
    if (opened.ok || opened.reason !== 'wrong-group') return opened;
    const sender = { name: frame.from, deviceId: frame.fromDevice };
    const body = new Uint8Array(Buffer.from(frame.body, 'base64url'));
    const { distributionId } = parseSenderKeyMessage(body);
    const bound = await inner.store.senderKeyGroup(sender, distributionId);
    if (typeof bound === 'string' && bound !== frame.group) return opened;
    let plaintext: Uint8Array;
    try {
      plaintext = await groupDecrypt(body, sender, inner.store);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return opened;
    }
    await inner.store.bindSenderKeyGroup(sender, distributionId, frame.group!);
    return { ok: true, decoded: decodePlaintext(plaintext) };
  };
}

/**
 * Session-cipher faults on the sending side: the sender key goes out as a plain body instead of
 * a 1:1 ciphertext (ENC-081), or to the first device of each member only (GROUP-049).
 */
export function breakDistribution(client: ParleyClient, faults: Faults): void {
  const plain = faults.has('plaintext-distribution');
  const firstOnly = faults.has('distribute-to-first-device-only');
  if (!plain && !firstOnly) return;
  const sessions = (client as unknown as { sessions: Sessions }).sessions;
  const encryptFor = sessions.encryptFor.bind(sessions);
  sessions.encryptFor = async (name, deviceIds, plaintext) => {
    if (!isDistributionPlaintext(plaintext)) return encryptFor(name, deviceIds, plaintext);
    const out = await encryptFor(name, firstOnly ? deviceIds.slice(0, 1) : deviceIds, plaintext);
    return plain
      ? out.map((m) => ({ ...m, body: Buffer.from(plaintext).toString('base64url') }))
      : out;
  };
}

/** The deviations of the lenient group opener below. */
interface OpenDeviations {
  /** Decrypt without checking the signature (ENC-084). */
  skipSignature: boolean;
  /** No limit on how far ahead an iteration may lie (ENC-085). */
  noJumpLimit: boolean;
  /** Keep a skipped message key after its message decrypted (ENC-086). */
  keepUsedKeys: boolean;
  /** Keep every skipped message key, however many (ENC-086). */
  keepAllSkipped: boolean;
  /** A repeated distribution message replaces the state, rewinding its chain (ENC-088). */
  rewindOnRepeat: boolean;
  /** Open messages of senders who are not members (GROUP-050). */
  ignoreMembership: boolean;
  /** Store sender keys under the distribution id only, whichever device sent them (ENC-081). */
  keysByDistributionId: boolean;
}

const OPEN_FAULTS: Record<string, keyof OpenDeviations> = {
  'skip-sender-key-signature': 'skipSignature',
  'accept-far-ahead-sender-keys': 'noJumpLimit',
  'keep-used-sender-message-keys': 'keepUsedKeys',
  'keep-all-skipped-sender-keys': 'keepAllSkipped',
  'rewind-on-repeated-distribution': 'rewindOnRepeat',
  'accept-non-member-group-messages': 'ignoreMembership',
  'sender-keys-by-distribution-id': 'keysByDistributionId',
};

/** The address a sender key is filed under: the sending device, or (faulty) nobody in particular. */
const ANY_SENDER: ProtocolAddress = { name: '*', deviceId: 0 };

/**
 * Replaces the SDK's group opener (reached through its private member, in this test-only path) with
 * one that deviates as `faults` say; without such a fault the SDK's own opener stays.
 */
export function breakGroupOpening(client: ParleyClient, faults: Faults): void {
  const names = Object.keys(OPEN_FAULTS).filter((f) => faults.has(f));
  if (names.length === 0) return;
  const d = Object.fromEntries(
    Object.values(OPEN_FAULTS).map((k) => [k, names.some((n) => OPEN_FAULTS[n] === k)]),
  ) as unknown as OpenDeviations;
  const inner = client as unknown as {
    groups: Groups;
    sessions: Sessions;
    store: MemoryClientStore;
  };
  const original = inner.groups.open.bind(inner.groups);
  inner.groups.open = async (frame): Promise<OpenedGroupMessage> => {
    const record = await inner.store.getGroup(frame.group!);
    const member = record?.members.some((m) => m.address === frame.from && m.state === 'member');
    if (!member && !d.ignoreMembership) return original(frame);
    const sender = d.keysByDistributionId
      ? ANY_SENDER
      : { name: frame.from, deviceId: frame.fromDevice };
    const store = inner.store;
    if (frame.distribution !== undefined) {
      try {
        const skdm = await inner.sessions.decrypt(
          { name: frame.from, deviceId: frame.fromDevice },
          frame.distribution.ciphertextType,
          frame.distribution.body,
        );
        if (d.rewindOnRepeat) {
          const fresh = new SenderKeyRecord();
          await processSenderKeyDistributionMessage(sender, skdm, {
            loadSenderKey: async () => fresh,
            storeSenderKey: async (_s, id, rec) => {
              const old = (await store.loadSenderKey(sender, id)) ?? new SenderKeyRecord();
              const state = rec.current!;
              await store.storeSenderKey(
                sender,
                id,
                new SenderKeyRecord([
                  state,
                  ...old.states.filter((s) => s.chainId !== state.chainId),
                ]),
              );
            },
          });
        } else await processSenderKeyDistributionMessage(sender, skdm, store);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
      }
    }
    try {
      const body = new Uint8Array(Buffer.from(frame.body, 'base64url'));
      const plaintext = await lenientDecrypt(body, sender, store, d);
      if (plaintext === undefined) return { ok: false, reason: 'decrypt', protocolError: 'fault' };
      return { ok: true, decoded: decodePlaintext(plaintext) };
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return { ok: false, reason: 'decrypt', protocolError: error.code };
    }
  };
}

/** groupDecrypt with the deviations `d`; undefined where the correct cipher throws. */
async function lenientDecrypt(
  body: Uint8Array,
  sender: ProtocolAddress,
  store: MemoryClientStore,
  d: OpenDeviations,
): Promise<Uint8Array | undefined> {
  const message = parseSenderKeyMessage(body);
  const record = await store.loadSenderKey(sender, message.distributionId);
  const state = record?.stateFor(message.chainId);
  if (!record || !state) return undefined;
  if (!d.skipSignature && !verifySenderKeyMessage(message, state.signingKey)) return undefined;
  const ahead = message.iteration - state.chainKey.iteration;
  if (!d.noJumpLimit && ahead > 25_000) return undefined;
  let next: SenderKeyState;
  let seed: Uint8Array;
  if (ahead > 2_000 && d.noJumpLimit) {
    // Walk the chain without keeping keys: the far-ahead message is all this variant wants.
    let position = state.chainKey;
    while (position.iteration < message.iteration) position = nextSenderChainKey(position);
    seed = senderMessageKeySeed(position).seed;
    next = { ...state, chainKey: nextSenderChainKey(position) };
  } else if (d.keepAllSkipped && ahead > 0) {
    // Every skipped key kept, none trimmed: libsignal's bound of 2 000 ignored.
    let position = state.chainKey;
    const kept = [...state.messageKeys];
    while (position.iteration < message.iteration) {
      kept.push(senderMessageKeySeed(position));
      position = nextSenderChainKey(position);
    }
    seed = senderMessageKeySeed(position).seed;
    next = { ...state, chainKey: nextSenderChainKey(position), messageKeys: kept };
  } else {
    const advanced = advanceTo(state, message.iteration);
    if (advanced === 'duplicate' || advanced === 'exhausted') return undefined;
    seed = advanced.key.seed;
    next = d.keepUsedKeys && message.iteration < state.chainKey.iteration ? state : advanced.state;
  }
  const keys = senderMessageKeys({ iteration: message.iteration, seed });
  let plaintext: Uint8Array;
  try {
    const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    plaintext = new Uint8Array(
      Buffer.concat([decipher.update(message.ciphertext), decipher.final()]),
    );
  } catch {
    return undefined;
  }
  await store.storeSenderKey(sender, message.distributionId, record.replacing(next));
  return plaintext;
}

/**
 * Wire faults: group bodies with a zeroed signature (ENC-082), `group.changed` dropped (GROUP-051),
 * a refusal naming devices without the sender key seen as INTERNAL (GROUP-053).
 */
export function groupRewrites(faults: Faults): { up: Rewrite[]; down: Rewrite[] } {
  const up: Rewrite[] = [];
  const down: Rewrite[] = [];
  if (faults.has('unsigned-sender-key-messages'))
    up.push((f) => {
      if (f.type !== 'message.send' || typeof f.group !== 'string') return f;
      const body = Buffer.from(String(f.body), 'base64url');
      body.fill(0, body.length - SIGNATURE_BYTES);
      return { ...f, body: body.toString('base64url') };
    });
  if (faults.has('ignore-group-changes'))
    down.push((f) => (f.type === 'group.changed' ? undefined : f));
  if (faults.has('give-up-on-undistributed-devices'))
    down.push((f) =>
      f.type === 'error' && f.code === 'DEVICE_MISMATCH' && f.pointer === '/distribution'
        ? { ...f, code: 'INTERNAL' }
        : f,
    );
  return { up, down };
}
