// Group steps of client cases (spec/groups.md, spec/crypto.md "Sender keys"): a group the suite's
// peers host with the client in it, a peer's group message with its sender key distributed over the
// 1:1 session, the client's group send, and what each peer device makes of it.
import { randomUUID } from 'node:crypto';
import {
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
  processSenderKeyDistributionMessage,
  type SenderKeyDistributionMessage,
  type SenderKeyMessage,
} from '../../reference-impl/crypto/index.ts';
import type { Frame } from '../assert/match.ts';
import { HarnessError } from '../runner/signals.ts';
import { padContent, unb64 } from '../transport/users.ts';
import type { Delivery } from './mock-provider.ts';
import type { SuitePeer } from './peer.ts';
import type { ClientWorld } from './world.ts';

/** The distribution id each peer device uses for each group (one sender key per group). */
const distributionIds = new WeakMap<SuitePeer, Map<string, string>>();

/** `peer`'s distribution id for `group`. */
export function distributionIdOf(peer: SuitePeer, group: string): string {
  let ids = distributionIds.get(peer);
  if (!ids) distributionIds.set(peer, (ids = new Map()));
  let id = ids.get(group);
  if (!id) ids.set(group, (id = randomUUID()));
  return id;
}

/**
 * A group that `peers[0]` created with the client and the other peers in it; the client learns of
 * it from a `group.changed` push (`added`), which the case waits to see acked.
 */
export async function peerGroup(client: ClientWorld, peers: readonly SuitePeer[]): Promise<string> {
  const [admin, ...others] = peers;
  if (!admin) throw new HarnessError('a group needs a peer to create it');
  const g = client.mock.groups.create([admin.address, ...others.map((p) => p.address)]);
  const deliveryId = client.mock.groups.change(g.group, admin.address, 'added', [client.address]);
  if (deliveryId) await client.mock.ackedWithin(deliveryId, client.waitMs);
  return g.group;
}

/** How a peer's group message is made and delivered. */
export interface GroupDeliveryOptions {
  device?: number;
  /** Carry the sender key in a 1:1 distribution ciphertext (default: true). */
  distribute?: boolean;
  /** Changes the SenderKeyMessage bytes before delivery. */
  tamper?: (body: Buffer) => Buffer;
  /** Stamps the delivery as coming from this peer instead (the sender key stays `peer`'s). */
  as?: SuitePeer;
  /** The provider's `serverTimestamp` on the delivery; now when absent. */
  serverTimestamp?: number;
  /**
   * The group the Content names in `group` (GROUP-056): the group encrypted for when absent, none
   * when null. Raw-byte contents are encrypted as given.
   */
  names?: string | null;
}

/** A peer's group message, encrypted and ready to deliver (or deliver again). */
export interface GroupCiphertext {
  body: string;
  distribution?: { ciphertextType: 'prekey' | 'whisper'; body: string };
  /** The distribution message of the sender key at the iteration of this message (not delivered). */
  skdm?: Uint8Array;
}

/**
 * Encrypts `content` (a Content, padded, naming `group` as GROUP-056 has it unless `names` says
 * otherwise; or raw bytes) with `peer`'s sender key for `group`, and the peer's distribution
 * message for the client in a 1:1 ciphertext unless `distribute` is false.
 */
export async function encryptForGroup(
  client: ClientWorld,
  peer: SuitePeer,
  group: string,
  content: Frame | Uint8Array,
  options: GroupDeliveryOptions = {},
): Promise<GroupCiphertext> {
  const device = options.device ?? 1;
  const me = { name: peer.address, deviceId: device };
  const store = peer.device(device).senderKeys;
  const distributionId = distributionIdOf(peer, group);
  const skdm = await createSenderKeyDistributionMessage(me, distributionId, store);
  const names = options.names === undefined ? group : options.names;
  const plain =
    content instanceof Uint8Array
      ? content
      : padContent({ ...content, ...(names === null ? {} : { group: names }) });
  const message = await groupEncrypt(me, distributionId, plain, store);
  const body = Buffer.from(message.serialized);
  const out: GroupCiphertext = {
    body: (options.tamper ? options.tamper(body) : body).toString('base64url'),
    skdm: skdm.serialized,
  };
  if (options.distribute ?? true) {
    const c = await client.encrypt(peer, skdm.serialized, device);
    out.distribution = { ciphertextType: c.type, body: c.body };
  }
  return out;
}

/** Delivers a group ciphertext from `from` (device `device`) to the client. */
export function deliverGroupCiphertext(
  client: ClientWorld,
  from: SuitePeer,
  group: string,
  c: GroupCiphertext,
  device = 1,
  serverTimestamp?: number,
): Delivery {
  return client.mock.deliver({
    from,
    fromDevice: device,
    ciphertextType: 'senderkey',
    body: c.body,
    group,
    ...(c.distribution ? { distribution: c.distribution } : {}),
    ...(serverTimestamp === undefined ? {} : { serverTimestamp }),
  });
}

/** Encrypts and delivers a peer's group message; see encryptForGroup. */
export async function deliverToGroup(
  client: ClientWorld,
  peer: SuitePeer,
  group: string,
  content: Frame | Uint8Array,
  options: GroupDeliveryOptions = {},
): Promise<Delivery> {
  const c = await encryptForGroup(client, peer, group, content, options);
  return deliverGroupCiphertext(
    client,
    options.as ?? peer,
    group,
    c,
    options.device ?? 1,
    options.serverTimestamp,
  );
}

/** Has the user send `text` to `group` and returns the client's group `message.send`. */
export async function sendGroupText(
  client: ClientWorld,
  group: string,
  text: string,
): Promise<Frame> {
  const reply = client.drive('sendGroupText', { group, text });
  const frame = await client.mock.next(
    (f) => f.type === 'message.send' && f.group === group,
    `message.send to group ${group}`,
  );
  await reply;
  return frame;
}

/** What one peer device made of a client's group send. */
export interface OpenedGroupSend {
  deviceId: number;
  /** The distribution message the device got in its 1:1 ciphertext, if any. */
  distribution?: SenderKeyDistributionMessage;
  /** Why the 1:1 ciphertext or its distribution message did not open, if it did not. */
  distributionError?: string;
  /** The parsed SenderKeyMessage, when it parses. */
  message?: SenderKeyMessage;
  /** The padded plaintext, when the device could decrypt the body. */
  plaintext?: Uint8Array;
  /** Why the body did not decrypt, if it did not. */
  error?: string;
}

/**
 * Each device of `peer` takes the 1:1 ciphertext addressed to it in a client's group send (if
 * any), stores the distribution message as the client device's sender key, and decrypts the body.
 */
export async function openGroupSend(
  client: ClientWorld,
  peer: SuitePeer,
  send: Frame,
): Promise<OpenedGroupSend[]> {
  const sender = { name: client.address, deviceId: client.deviceId };
  const entry = ((send.distribution ?? []) as Frame[]).find((d) => d.to === peer.address);
  const body = unb64(String(send.body));
  const out: OpenedGroupSend[] = [];
  for (const device of peer.devices) {
    const opened: OpenedGroupSend = { deviceId: device.deviceId };
    const c = ((entry?.messages ?? []) as Frame[]).find((m) => m.deviceId === device.deviceId);
    if (c) {
      try {
        const skdm = await peer.decrypt(
          client.client,
          { type: c.type, body: c.body },
          device.deviceId,
        );
        opened.distribution = parseSenderKeyDistributionMessage(skdm);
        await processSenderKeyDistributionMessage(sender, skdm, device.senderKeys);
      } catch (error) {
        opened.distributionError = (error as Error).message;
      }
    }
    try {
      opened.message = parseSenderKeyMessage(body);
      opened.plaintext = await groupDecrypt(body, sender, device.senderKeys);
    } catch (error) {
      opened.error = (error as Error).message;
    }
    out.push(opened);
  }
  return out;
}
