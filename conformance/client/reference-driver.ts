// The reference driver (conformance/CLIENT-DRIVER.md): the driver protocol over the reference SDK
// (reference-impl/client), plus the little application a driver needs for what the SDK leaves to
// the app: the chat list it displays, edits and deletes applied to it, reports with or without
// content. `serveReferenceDriver` runs it over any pair of streams (in-process for the default run);
// run as a script it serves its stdin and stdout: `npx tsx conformance/client/reference-driver.ts`.
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { unpad } from '../../reference-impl/client/content.ts';
import type { Sessions } from '../../reference-impl/client/sessions.ts';
import {
  breakClient,
  breakDecryption,
  breakSessionClock,
  breakStore,
  partnerTokenFault,
  unknownErrorIgnored,
  WireRelay,
} from './reference-faults.ts';
import {
  breakDistribution,
  breakGroupContext,
  breakGroupNaming,
  breakGroupOpening,
  breakGroupStore,
} from './reference-group-faults.ts';
import {
  attachmentContent,
  encodePlaintext,
  loadPartnerKey,
  MemoryClientStore,
  ParleyClient,
  textContent,
  type IncomingMessage,
  type UnreadableMessage,
} from '../../reference-impl/client/index.ts';
import type { AttachmentPointer, Content } from '../../schemas/content.ts';
import { openFile, sendFile } from './reference-driver-attachments.ts';
import {
  DRIVER_METHODS,
  DRIVER_PROTOCOL_VERSION,
  type Chat,
  type DisplayedMessage,
  type DriverErrorCode,
  type DriverEvent,
  type DriverMethod,
  type DriverMethods,
} from './protocol.ts';

/**
 * Deliberately broken behaviours of the reference client, for the suite's self-test only
 * (test/conformance/client-faults.test.ts); no CLI flag reaches them.
 */
export const CLIENT_FAULTS = {
  /** Every text the user sends carries the same Content id. */
  'fixed-content-id': 'ENC-039',
  /** Keeps one-time prekeys after a PreKeySignalMessage used them. */
  'keep-one-time-prekeys': 'ENC-011',
  /** Writes the version byte 0x34 of an X3DH session on every body it sends. */
  'send-x3dh-version': 'ENC-022',
  /** Keeps a one-time Kyber prekey after a message used it, as if it were a last-resort one. */
  'keep-one-time-kyber-prekeys': 'ENC-049',
  /** Salts a late message with the SPQR chain's next key, not the key kept for the index it names. */
  'late-messages-salted-with-next-spqr-key': 'ENC-053',
  /** Refuses a message whose SPQR data carries a braid chunk (Hdr, Ek, …). */
  'refuse-spqr-chunks': 'ENC-054',
  /** Takes a field 5 that does not parse, or names a used key, as naming the next key. */
  'accept-bad-spqr-data': 'ENC-055',
  /** Never compares field 6 (addresses) with the session's parties. */
  'ignore-addresses': 'ENC-056',
  /** Drops every SPQR braid chunk it receives, so its braid never leaves epoch 1. */
  'ignore-braid-chunks': 'ENC-060',
  /** Drops SPQR braid chunks beyond a payload's own (parity), so a lost chunk is never made up. */
  'ignore-parity-chunks': 'ENC-061',
  /** Throws the session away when a message fails to decrypt. */
  'drop-session-on-failure': 'ENC-021',
  /** Displays text with markup interpreted (tags stripped). */
  'render-markup': 'ENC-043',
  /** Applies an edit or delete whoever sent it. */
  'apply-foreign-edits': 'ENC-044',
  /** Keeps a deleted attachment's key. */
  'keep-deleted-attachment-keys': 'ENC-047',
  /** Encrypts the Content JSON without the 0x80 and zero padding. */
  'no-padding': 'ENC-036',
  /** Gives the copy for each further device of the recipient its own Content id. */
  'content-per-device': 'ENC-040',
  /** Sends the padded plaintext itself as every ciphertext body. */
  'plaintext-bodies': 'ENC-002',
  // keys, auth, framing and delivery (conformance/client/reference-faults.ts)
  /** Publishes one-time prekeys under ids it published before. */
  'reuse-prekey-ids': 'KEYS-008',
  /** Numbers every batch of Kyber prekeys from 1 again. */
  'reuse-kyber-prekey-ids': 'KEYS-026',
  /** Starts a session from a bundle entry whose signed prekey signature does not verify. */
  'accept-bad-bundle-signature': 'KEYS-016',
  /** Refuses to start a session from an entry without a one-time prekey. */
  'refuse-exhausted-bundles': 'KEYS-020',
  /** Signs auth-input without its trailing device id. */
  'sign-auth-without-device-id': 'AUTH-005',
  /** Signs partner tokens with HS256 instead of EdDSA. */
  'partner-token-hs256': 'AUTH-009',
  /** Mints partner tokens without cnf, bound to no identity key. */
  'unbound-partner-token': 'AUTH-037',
  /** Puts a space into every request id. */
  'bad-request-ids': 'PROTO-008',
  /** Adds a member no schema defines to every frame. */
  'extra-frame-member': 'PROTO-035',
  /** Leaves `v` out of every frame. */
  'frame-without-v': 'PROTO-007',
  /** Ignores the limits of `welcome` and uses generous ones. */
  'ignore-advertised-limits': 'PROTO-024',
  /** Reports a send answered with an unknown error code as accepted. */
  'unknown-error-as-success': 'PROTO-043',
  /** Sends every message under the same idempotency key. */
  'fixed-idempotency-key': 'DELIV-010',
  /** Keeps the chat list only for the connection: acked content is gone after a reconnect. */
  'volatile-chat-list': 'DELIV-022',
  /** Does not remember processed message ids, so a repeated messageId is shown again. */
  'no-message-id-dedupe': 'DELIV-023',
  // attachments and consent (conformance/client/reference-driver-attachments.ts)
  /** Encrypts every attachment under the same key and nonce prefix. */
  'reuse-attachment-key': 'ATT-001',
  /** Pads attachments with 0xa5 bytes instead of zeros. */
  'nonzero-attachment-padding': 'ATT-002',
  /** Decrypts the first blob-length bytes of a download, whatever the blob's length. */
  'ignore-blob-length': 'ATT-003',
  /** Releases an attachment's chunks without verifying their tags. */
  'skip-chunk-tags': 'ATT-004',
  /** Never compares a downloaded blob's SHA-256 with the pointer's digest. */
  'skip-attachment-digest': 'ATT-005',
  /** Takes a pointer's paddedSize as given. */
  'trust-padded-size': 'ATT-006',
  /** Sets an attachment pointer's paddedSize to its size. */
  'padded-size-equals-size': 'ATT-007',
  /** Sends the media type and file name in the upload's HTTP headers. */
  'file-name-in-upload': 'ATT-008',
  /** Leaves `voice` out of a voice message's pointer. */
  'voice-without-flag': 'ATT-010',
  /** Turns interoperability on by itself right after connecting. */
  'enable-interop-on-connect': 'CONSENT-002',
  /** Lists third-party chats in the inbox section even with the separate inbox. */
  'third-party-in-inbox': 'CONSENT-012',
  /** Drops the platform label of third-party chats in the combined inbox. */
  'no-label-in-combined': 'CONSENT-013',
  /** Sends a delivery receipt for every message, requests included. */
  'receipts-for-requests': 'CONSENT-017',
  /** Puts the reported messages' texts in every report. */
  'report-content-always': 'CONSENT-024',
  /** Forgets RATE_LIMITED refusals, so a request is repeated at once. */
  'forget-rate-limits': 'CONSENT-027',
  // groups and sender keys (conformance/client/reference-group-faults.ts)
  /** Starts every group's sender key from the same chain key and signing key. */
  'fixed-sender-key': 'ENC-080',
  /** Sends its sender key as a plain body in place of a 1:1 ciphertext. */
  'plaintext-distribution': 'ENC-081',
  /** Files received sender keys under their distribution id only, whoever sent them. */
  'sender-keys-by-distribution-id': 'ENC-081',
  /** Sends group bodies with the signature zeroed. */
  'unsigned-sender-key-messages': 'ENC-082',
  /** Never moves its own sender-key chain on, so every message uses the same message key. */
  'reuse-sender-message-keys': 'ENC-083',
  /** Decrypts group messages without checking their signature. */
  'skip-sender-key-signature': 'ENC-084',
  /** Follows a sender-key chain any distance ahead. */
  'accept-far-ahead-sender-keys': 'ENC-085',
  /** Keeps a skipped sender message key after its message decrypted. */
  'keep-used-sender-message-keys': 'ENC-086',
  /** Keeps every skipped sender message key, past libsignal's 2 000. */
  'keep-all-skipped-sender-keys': 'ENC-086',
  /** Lets a repeated distribution message rewind the chain of a state it holds. */
  'rewind-on-repeated-distribution': 'ENC-088',
  /** Keeps its sender key after a member left or was removed. */
  'no-sender-key-rotation': 'ENC-089',
  /** Sends its sender key to the first device of each member only. */
  'distribute-to-first-device-only': 'GROUP-049',
  /** Shows group messages from senders who are not members. */
  'accept-non-member-group-messages': 'GROUP-050',
  /** Opens a group message under a sender key that opened a message of another group. */
  'accept-messages-of-other-groups': 'GROUP-054',
  /** Encrypts for every group under one distribution id. */
  'one-distribution-id-for-all-groups': 'GROUP-055',
  /** Sends group messages whose Content names no group. */
  'no-group-in-content': 'GROUP-056',
  /** Shows a group message whose Content names another group, in the group it was delivered for. */
  'accept-content-of-other-groups': 'GROUP-056',
  /** Never sees `group.changed` (dropped on the wire). */
  'ignore-group-changes': 'GROUP-051',
  /** Takes a group's name and avatar from a non-member's group message (not shown). */
  'group-context-from-non-members': 'GROUP-060',
  /** Takes a group's name and avatar from whichever group content arrived last. */
  'group-context-last-delivered-wins': 'GROUP-060',
} as const;

/** Broken behaviours against SHOULD requirements (their cases warn); for the self-test only. */
export const CLIENT_SHOULD_FAULTS = {
  /** Slots a file under its kind whatever the provider's media type lists say. */
  'ignore-media-type-lists': 'ATT-009',
  /** Downloads every attachment as soon as it arrives, message requests included. */
  'auto-download-attachments': 'CONSENT-018',
  // keys and delivery (conformance/client/reference-faults.ts)
  /** Never replaces its signed prekey, however old. */
  'no-signed-prekey-rotation': 'KEYS-009',
  /** Deletes a replaced signed prekey at once. */
  'drop-replaced-signed-prekey': 'KEYS-010',
  /** Never replaces its last-resort Kyber prekey, however old. */
  'no-kyber-prekey-rotation': 'KEYS-027',
  /** Deletes a replaced last-resort Kyber prekey at once. */
  'drop-replaced-kyber-prekey': 'KEYS-027',
  /** Times its sessions by the machine's clock, not its own, so a month-old unanswered one is reused. */
  'sessions-on-wall-clock': 'ENC-058',
  /** Never sees `keys.low` (dropped on the wire), so never replenishes. */
  'ignore-keys-low': 'KEYS-023',
  /** Gives up on DEVICE_MISMATCH (seen as INTERNAL on the wire). */
  'give-up-on-device-mismatch': 'DELIV-004',
  /** Forgets unanswered sends on a reconnect. */
  'no-retry-after-reconnect': 'DELIV-011',
  /** Sends a message.ack under the id of a message.send still unanswered (rewritten on the wire). */
  'reuse-unanswered-ids': 'PROTO-009',
  /** Keeps one sender-key state per sender, so messages under a rotated-out key fail. */
  'keep-one-sender-key-state': 'ENC-087',
  /** Gives up on a group send refused for devices without its sender key (seen as INTERNAL). */
  'give-up-on-undistributed-devices': 'GROUP-053',
} as const;

export type ClientFault = keyof typeof CLIENT_FAULTS;
export type ClientShouldFault = keyof typeof CLIENT_SHOULD_FAULTS;

export interface ReferenceDriverOptions {
  faults?: readonly (ClientFault | ClientShouldFault)[];
}

const DRIVER_INFO = { name: 'parley reference client', version: '0.1.0' };

/** An error the driver answers with. */
class DriverFailure extends Error {
  constructor(
    readonly code: DriverErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface HeldMessage extends DisplayedMessage {
  /** The provider's message id (reports name it). */
  messageId: string;
}

/** The chat list the reference application displays. */
class ChatList {
  private readonly chats = new Map<string, Omit<Chat, 'messages'> & { messages: HeldMessage[] }>();

  constructor(private readonly faults: ReadonlySet<ClientFault>) {}

  private chat(m: {
    from: string;
    group?: string;
    folder: Chat['section'];
    origin: IncomingMessage['origin'];
  }) {
    const key = m.group ?? m.from; // a group's messages are one chat, named by the group id
    let chat = this.chats.get(key);
    if (!chat) {
      chat = {
        address: key,
        section: m.folder,
        platform: m.origin.thirdParty ? m.origin.platform : null,
        messages: [],
      };
      this.chats.set(m.from, chat);
    }
    if (chat.section !== 'requests' || m.folder !== 'requests') chat.section = m.folder;
    return chat;
  }

  private find(chat: string, contentId: string): HeldMessage | undefined {
    return this.chats.get(chat)?.messages.find((x) => x.contentId === contentId);
  }

  private display(text: string | undefined): string | null {
    if (text === undefined) return null;
    return this.faults.has('render-markup') ? text.replace(/<[^>]*>/g, '') : text;
  }

  /** Applies one incoming Content (spec/content.md ENC-043..047). */
  add(m: IncomingMessage): void {
    const chat = this.chat(m);
    const c = m.content;
    const held = (kind: string, text: string | null): HeldMessage => ({
      messageId: m.messageId,
      contentId: c.id,
      from: m.from,
      kind,
      text,
      placeholder: false,
      edited: false,
      deleted: false,
      reactions: [],
      attachments: [],
    });
    switch (c.kind) {
      case 'text':
        chat.messages.push(held('text', this.display(c.body)));
        return;
      case 'attachment':
        chat.messages.push({
          ...held('attachment', this.display(c.caption)),
          attachments: c.attachments.map((a) => ({
            fileName: this.display(a.fileName),
            mediaType: a.mediaType,
            keyHeld: true,
          })),
        });
        return;
      case 'reaction': {
        const target = this.find(m.group ?? m.from, c.targetId);
        if (!target || target.from !== c.targetAuthor) return; // ENC-045
        target.reactions = target.reactions.filter((r) => r.from !== m.from);
        if (!c.remove) target.reactions.push({ from: m.from, emoji: c.emoji });
        return;
      }
      case 'edit': {
        const target = this.target(m.from, c.targetId, m.group);
        if (!target || target.kind !== 'text') return; // ENC-045, ENC-046
        target.text = this.display(c.body);
        target.edited = true;
        return;
      }
      case 'delete': {
        const target = this.target(m.from, c.targetId, m.group);
        if (!target) return;
        target.deleted = true;
        target.text = null;
        target.reactions = [];
        if (!this.faults.has('keep-deleted-attachment-keys'))
          target.attachments = target.attachments.map((a) => ({ ...a, keyHeld: false }));
        return;
      }
      default:
        return; // receipts, typing indicators and group names (groupInfo) are not chat lines
    }
  }

  /** The target of an edit or delete by `from`: only `from`'s own messages (ENC-044). */
  private target(from: string, contentId: string, group?: string): HeldMessage | undefined {
    const found = this.find(group ?? from, contentId);
    const own = found?.from === from ? found : undefined;
    if (own || !this.faults.has('apply-foreign-edits')) return own;
    for (const chat of this.chats.values()) {
      const any = chat.messages.find((x) => x.contentId === contentId);
      if (any) return any;
    }
    return undefined;
  }

  /** A placeholder for a message of an unknown kind (ENC-042). */
  placeholder(m: UnreadableMessage): void {
    this.chat(m).messages.push({
      messageId: m.messageId,
      contentId: '',
      from: m.from,
      kind: m.kind ?? 'unknown',
      text: null,
      placeholder: true,
      edited: false,
      deleted: false,
      reactions: [],
      attachments: [],
    });
  }

  /** Moves an accepted request to its section. */
  accept(from: string): void {
    const chat = this.chats.get(from);
    if (chat) chat.section = chat.platform === null ? 'inbox' : 'third-party';
  }

  /** The displayed texts of the messages with these provider ids. */
  textsOf(from: string, messageIds: readonly string[]): string[] {
    return (this.chats.get(from)?.messages ?? [])
      .filter((x) => messageIds.includes(x.messageId) && x.text !== null)
      .map((x) => x.text!);
  }

  list(): Chat[] {
    return [...this.chats.values()].map((c) => ({
      ...c,
      ...(this.faults.has('third-party-in-inbox') && c.section === 'third-party'
        ? { section: 'inbox' as const }
        : {}),
      ...(this.faults.has('no-label-in-combined') && c.section === 'inbox'
        ? { platform: null }
        : {}),
      messages: c.messages.map(({ messageId: _, ...shown }) => shown),
    }));
  }
}

/** One reference client driven by the protocol. */
class ReferenceDriver {
  private client: ParleyClient | undefined;
  private store: MemoryClientStore;
  private chats: ChatList;
  private readonly faults: ReadonlySet<ClientFault>;
  /** Every fault, SHOULD faults included, for the attachment code (reference-driver-attachments.ts). */
  private readonly allFaults: ReadonlySet<string>;
  /** The attachment pointers of received messages, by sender and Content id (for `download`). */
  private pointers = new Map<string, AttachmentPointer[]>();
  /** The rewriting relay of a wire fault variant (reference-faults.ts). */
  private relay: WireRelay | undefined;
  /** How far `advanceClock` moved the client's clock past the wall clock. */
  private clockOffsetMs = 0;

  constructor(
    private readonly emit: (event: DriverEvent) => void,
    options: ReferenceDriverOptions,
  ) {
    this.allFaults = new Set(options.faults ?? []);
    this.faults = new Set(
      (options.faults ?? []).filter((f): f is ClientFault => f in CLIENT_FAULTS),
    );
    this.chats = new ChatList(this.faults);
    this.store = this.freshStore();
  }

  private live(): ParleyClient {
    if (!this.client) throw new DriverFailure('FAILED', 'not connected: call connect first');
    return this.client;
  }

  private freshStore(): MemoryClientStore {
    const store = new MemoryClientStore();
    if (this.faults.has('keep-one-time-prekeys')) store.removePreKey = async () => undefined;
    if (this.faults.has('keep-one-time-kyber-prekeys'))
      store.markKyberPreKeyUsed = async () => undefined;
    if (this.faults.has('reuse-kyber-prekey-ids')) {
      const counter = store.getCounter.bind(store);
      store.getCounter = async (name) => (name === 'nextKyberPreKeyId' ? 1 : counter(name));
    }
    breakStore(store, this.allFaults);
    breakGroupStore(store, this.allFaults);
    return store;
  }

  async reset(): Promise<DriverMethods['reset']['result']> {
    await this.client?.close();
    await this.relay?.close();
    this.relay = undefined;
    this.clockOffsetMs = 0;
    this.client = undefined;
    this.store = this.freshStore();
    this.chats = new ChatList(this.faults);
    this.pointers = new Map();
    return {};
  }

  async connect(
    p: DriverMethods['connect']['params'],
  ): Promise<DriverMethods['connect']['result']> {
    await this.client?.close();
    const partner =
      p.auth.method === 'partner' ? await loadPartnerKey(p.auth.partnerKeyFile) : undefined;
    await this.relay?.close();
    this.relay = await WireRelay.startFor(p.url, this.allFaults);
    if (this.faults.has('volatile-chat-list')) this.chats = new ChatList(this.faults);
    const client = new ParleyClient({
      url: this.relay?.url ?? p.url,
      store: this.store,
      reconnect: false,
      clientInfo: DRIVER_INFO,
      now: () => Date.now() + this.clockOffsetMs,
      ...(partner ? { partner: partnerTokenFault(partner, this.faults) ?? partner } : {}),
    });
    breakClient(client, this.faults);
    breakDecryption(client, this.faults);
    breakSessionClock(client, this.allFaults);
    breakDistribution(client, this.faults);
    breakGroupOpening(client, this.faults);
    breakGroupContext(client, this.faults);
    breakGroupNaming(client, this.faults);
    client.on('message', (m) => {
      this.chats.add(m);
      this.onContent(client, m);
      this.emit({
        event: 'received',
        messageId: m.messageId,
        from: m.from,
        fromDevice: m.fromDevice,
        content: m.content as unknown as Record<string, unknown>,
        ...(m.group === undefined ? {} : { group: m.group }),
      });
    });
    client.on('unreadable', (m) => void this.unreadable(m));
    client.on('identityChanged', (x) =>
      this.emit({ event: 'identityChanged', address: x.address, deviceId: x.deviceId }),
    );
    client.on('problem', (e) => this.emit({ event: 'log', message: `${e.code}: ${e.message}` }));
    this.client = client;
    this.spoilSending(client);
    // A client that already holds this account reconnects; a fresh one enrols.
    const known = (await this.store.getAccount())?.address === p.address;
    const session = await client.connect(
      known
        ? undefined
        : p.auth.method === 'partner'
          ? { method: 'partner', address: p.address, deviceId: p.deviceId }
          : {
              method: 'register',
              registrationToken: p.auth.registrationToken,
              name: p.address.split('@')[0]!,
            },
    );
    if (this.faults.has('enable-interop-on-connect'))
      await client.setConsent({ enabled: true, platforms: 'all', inbox: 'separate' });
    if (this.faults.has('forget-rate-limits')) {
      // Test-only: the SDK's private record of RATE_LIMITED refusals never keeps one.
      const notBefore = Reflect.get(client, 'notBefore') as Map<string, number>;
      notBefore.set = () => notBefore;
    }
    return { address: session.address, deviceId: session.deviceId };
  }

  /** Keeps a received message's attachment pointers; the receiving faults act here. */
  private onContent(client: ParleyClient, m: IncomingMessage): void {
    const c = m.content;
    if (c.kind === 'attachment') {
      this.pointers.set(`${m.from}\n${c.id}`, c.attachments);
      if (this.allFaults.has('auto-download-attachments'))
        for (const pointer of c.attachments)
          void openFile(pointer, this.allFaults).catch(() => undefined);
    }
    if (this.faults.has('receipts-for-requests') && c.kind !== 'receipt' && c.kind !== 'typing')
      void this.store
        .setRequestSender(m.from, false)
        .then(() => client.sendReceipt(m.from, 'delivered', [c.id]))
        .catch(() => undefined);
  }

  /**
   * The sending faults: wraps the SDK's per-client session encryption (reached through its private
   * member, in this test-only code path) to spoil the plaintexts it encrypts.
   */
  private spoilSending(client: ParleyClient): void {
    const noPadding = this.faults.has('no-padding');
    const perDevice = this.faults.has('content-per-device');
    const plaintextBodies = this.faults.has('plaintext-bodies');
    if (!noPadding && !perDevice && !plaintextBodies) return;
    const sessions = (client as unknown as { sessions: Sessions }).sessions;
    const encryptFor = sessions.encryptFor.bind(sessions);
    sessions.encryptFor = async (name, deviceIds, plaintext) => {
      if (plaintextBodies)
        return (await encryptFor(name, deviceIds, plaintext)).map((m) => ({
          ...m,
          body: Buffer.from(plaintext).toString('base64url'),
        }));
      const json = unpad(plaintext);
      if (json === null) return encryptFor(name, deviceIds, plaintext);
      if (noPadding) return encryptFor(name, deviceIds, json);
      const content = JSON.parse(Buffer.from(json).toString('utf8')) as Content;
      const out = [];
      for (const [i, deviceId] of deviceIds.entries())
        out.push(
          ...(await encryptFor(
            name,
            [deviceId],
            i === 0 ? plaintext : encodePlaintext({ ...content, id: randomUUID() }),
          )),
        );
      return out;
    };
  }

  private async unreadable(m: UnreadableMessage): Promise<void> {
    if (m.reason === 'decrypt') {
      if (this.faults.has('drop-session-on-failure'))
        await this.store.deleteSession({ name: m.from, deviceId: m.fromDevice });
      this.emit({
        event: 'decryptFailed',
        messageId: m.messageId,
        from: m.from,
        fromDevice: m.fromDevice,
        reason: m.protocolError ?? 'decrypt',
      });
      return;
    }
    if (m.reason === 'unknown-kind') this.chats.placeholder(m);
    this.emit({
      event: 'discarded',
      messageId: m.messageId,
      from: m.from,
      fromDevice: m.fromDevice,
      reason: m.reason,
      ...(m.kind ? { kind: m.kind } : {}),
    });
  }

  async disconnect(): Promise<DriverMethods['disconnect']['result']> {
    await this.client?.close();
    return {};
  }

  async setInterop(
    p: DriverMethods['setInterop']['params'],
  ): Promise<DriverMethods['setInterop']['result']> {
    await this.live().setConsent({ enabled: p.enabled, platforms: p.platforms, inbox: p.inbox });
    return {};
  }

  async sendText(
    p: DriverMethods['sendText']['params'],
  ): Promise<DriverMethods['sendText']['result']> {
    const content: Content = this.faults.has('fixed-content-id')
      ? textContent(p.text, undefined, { id: '00000000-0000-4000-8000-000000000000' })
      : textContent(p.text);
    try {
      await this.live().send(p.to, content);
    } catch (error) {
      if (!unknownErrorIgnored(error, this.faults)) throw error;
    }
    return {};
  }

  async sendAttachment(
    p: DriverMethods['sendAttachment']['params'],
  ): Promise<DriverMethods['sendAttachment']['result']> {
    const client = this.live();
    const pointer = await sendFile(client, p, this.allFaults);
    await client.send(
      p.to,
      attachmentContent([pointer], p.caption === undefined ? {} : { caption: p.caption }),
    );
    return {};
  }

  async download(
    p: DriverMethods['download']['params'],
  ): Promise<DriverMethods['download']['result']> {
    const pointer = this.pointers.get(`${p.from}\n${p.contentId}`)?.[p.index];
    if (!pointer)
      throw new DriverFailure('BAD_PARAMS', `no attachment ${p.index} of ${p.contentId}`);
    return { data: (await openFile(pointer, this.allFaults)).toString('base64') };
  }

  async respondToRequest(
    p: DriverMethods['respondToRequest']['params'],
  ): Promise<DriverMethods['respondToRequest']['result']> {
    await this.live().respondToRequest(p.from, p.action);
    if (p.action === 'accept') this.chats.accept(p.from);
    return {};
  }

  async report(p: DriverMethods['report']['params']): Promise<DriverMethods['report']['result']> {
    const include = p.includeContent || this.faults.has('report-content-always');
    const texts = include ? this.chats.textsOf(p.address, p.messageIds) : [];
    await this.live().report(p.address, p.reason, {
      ...(p.messageIds.length > 0 ? { messageIds: p.messageIds } : {}),
      ...(texts.length > 0 ? { comment: texts.join('\n') } : {}),
    });
    return {};
  }

  async createGroup(
    p: DriverMethods['createGroup']['params'],
  ): Promise<DriverMethods['createGroup']['result']> {
    return { group: (await this.live().createGroup(p.members)).group };
  }

  async addToGroup(
    p: DriverMethods['addToGroup']['params'],
  ): Promise<DriverMethods['addToGroup']['result']> {
    await this.live().addToGroup(p.group, p.members);
    return {};
  }

  async removeFromGroup(
    p: DriverMethods['removeFromGroup']['params'],
  ): Promise<DriverMethods['removeFromGroup']['result']> {
    await this.live().removeFromGroup(p.group, p.members);
    return {};
  }

  async sendGroupText(
    p: DriverMethods['sendGroupText']['params'],
  ): Promise<DriverMethods['sendGroupText']['result']> {
    await this.live().sendGroupText(p.group, p.text);
    return {};
  }

  async groupInfo(
    p: DriverMethods['groupInfo']['params'],
  ): Promise<DriverMethods['groupInfo']['result']> {
    const known = await this.live().knownGroup(p.group);
    if (!known) throw new DriverFailure('BAD_PARAMS', `no group ${p.group}`);
    return { name: known.name ?? null, avatarDigest: known.avatar?.digest ?? null };
  }

  async advanceClock(
    p: DriverMethods['advanceClock']['params'],
  ): Promise<DriverMethods['advanceClock']['result']> {
    if (!Number.isInteger(p.ms) || p.ms < 0)
      throw new DriverFailure('BAD_PARAMS', 'ms must be a non-negative integer');
    this.clockOffsetMs += p.ms;
    return {};
  }

  async inbox(): Promise<DriverMethods['inbox']['result']> {
    return { chats: this.chats.list() };
  }

  async shutdown(): Promise<DriverMethods['shutdown']['result']> {
    await this.client?.close();
    await this.relay?.close();
    return {};
  }

  /** Dispatches one request. */
  async handle(
    method: DriverMethod,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const fn = this[method] as (p: Record<string, unknown>) => Promise<Record<string, unknown>>;
    return fn.call(this, params);
  }
}

/** Serves the driver protocol on `input` (requests) and `output` (responses, events). */
export function serveReferenceDriver(
  input: Readable,
  output: Writable,
  options: ReferenceDriverOptions = {},
): Promise<void> {
  const write = (message: unknown): void => void output.write(`${JSON.stringify(message)}\n`);
  const driver = new ReferenceDriver(write, options);
  write({ event: 'ready', protocol: DRIVER_PROTOCOL_VERSION, driver: DRIVER_INFO });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let queue: Promise<void> = Promise.resolve();
  return new Promise((resolve) => {
    lines.on('line', (line) => {
      queue = queue.then(async () => {
        let request: { id?: unknown; method?: unknown; params?: unknown };
        try {
          request = JSON.parse(line) as typeof request;
        } catch {
          return;
        }
        const id = typeof request.id === 'number' ? request.id : -1;
        const method = request.method as DriverMethod;
        if (!DRIVER_METHODS.includes(method)) {
          write({ id, error: { code: 'UNSUPPORTED', message: `no method ${String(method)}` } });
          return;
        }
        try {
          const params = (request.params ?? {}) as Record<string, unknown>;
          write({ id, result: await driver.handle(method, params) });
        } catch (error) {
          const code = error instanceof DriverFailure ? error.code : 'FAILED';
          write({ id, error: { code, message: (error as Error).message } });
        }
        if (method === 'shutdown') lines.close();
      });
    });
    lines.on('close', () => void queue.then(() => driver.shutdown()).finally(resolve));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serveReferenceDriver(process.stdin, process.stdout);
  process.exit(0);
}
