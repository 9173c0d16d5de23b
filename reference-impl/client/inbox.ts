// Incoming messages: decrypt, decode, de-duplicate by provider message id, hand over, then ack
// (spec/messages.md "Delivery and acknowledgement", DELIV-022, DELIV-023; spec/content.md ENC-037..041).
import { ProtocolError, ProtocolErrorCode } from '../crypto/index.ts';
import type { MessageFrame } from '../../schemas/frames/index.ts';
import type { Connection } from './connection.ts';
import { decodePlaintext, type DecodedPlaintext } from './content.ts';
import type { OpenedGroupMessage } from './groups.ts';
import type { Sessions } from './sessions.ts';
import type { ClientStore } from './store.ts';
import type { IncomingMessage, UnreadableMessage } from './types.ts';

/** What the inbox needs from the client that owns it. */
export interface InboxPort {
  readonly store: ClientStore;
  readonly sessions: Sessions;
  /** The application's durable hand-over; a throw leaves the delivery unacked. */
  readonly onMessage: ((message: IncomingMessage) => void | Promise<void>) | undefined;
  emitMessage(message: IncomingMessage): void;
  emitUnreadable(message: UnreadableMessage): void;
  /** Opens a group delivery (groups.ts). */
  openGroup(frame: MessageFrame): Promise<OpenedGroupMessage>;
}

/** The receiving half of a client. */
export class Inbox {
  constructor(private readonly port: InboxPort) {}

  /**
   * Decrypts, de-duplicates (DELIV-023), hands over and acks one delivery (DELIV-022). The decoded
   * message is stored before the hand-over, so a failed hand-over is retried from the store on
   * redelivery (the ratchet has moved on and cannot decrypt the body twice).
   */
  async receive(connection: Connection, frame: MessageFrame): Promise<void> {
    const meta = {
      messageId: frame.messageId,
      from: frame.from,
      fromDevice: frame.fromDevice,
      origin: frame.origin,
      folder: frame.folder,
      serverTimestamp: frame.serverTimestamp,
      ...(frame.group === undefined ? {} : { group: frame.group }),
    };
    if (!(await this.port.store.hasProcessed(frame.messageId))) {
      const stored = await this.port.store.getInbound(frame.messageId);
      const message =
        stored === undefined
          ? await this.open(frame, meta)
          : (JSON.parse(stored) as IncomingMessage);
      if (message !== undefined) {
        if (frame.folder === 'requests') await this.port.store.setRequestSender(frame.from, true);
        await this.port.onMessage?.(message);
        this.port.emitMessage(message);
      }
      await this.port.store.markProcessed(frame.messageId, Date.now());
      await this.port.store.deleteInbound(frame.messageId);
    }
    if (connection.isOpen) {
      await connection
        .request('message.ack', { type: 'message.ack', deliveryIds: [frame.id] })
        .catch(() => undefined);
    }
  }

  /** Decrypts and decodes a delivery and stores the result; undefined (after an `unreadable` event) when it cannot be shown. */
  private async open(
    frame: MessageFrame,
    meta: Omit<IncomingMessage, 'content'>,
  ): Promise<IncomingMessage | undefined> {
    let decoded: DecodedPlaintext;
    if (frame.ciphertextType === 'senderkey') {
      const opened = await this.port.openGroup(frame);
      if (!opened.ok) {
        if (opened.protocolError !== ProtocolErrorCode.DuplicatedMessage) {
          this.port.emitUnreadable({
            ...meta,
            reason: opened.reason,
            ...(opened.protocolError ? { protocolError: opened.protocolError } : {}),
          });
        }
        return undefined;
      }
      decoded = opened.decoded;
    } else {
      let plaintext: Uint8Array;
      try {
        plaintext = await this.port.sessions.decrypt(
          { name: frame.from, deviceId: frame.fromDevice },
          frame.ciphertextType,
          frame.body,
        );
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        if (error.code !== ProtocolErrorCode.DuplicatedMessage) {
          this.port.emitUnreadable({ ...meta, reason: 'decrypt', protocolError: error.code });
        }
        return undefined;
      }
      decoded = decodePlaintext(plaintext);
    }
    if (!decoded.ok) {
      this.port.emitUnreadable({
        ...meta,
        reason: decoded.reason,
        ...(decoded.kind ? { kind: decoded.kind } : {}),
      });
      return undefined;
    }
    const message: IncomingMessage = { ...meta, content: decoded.content };
    await this.port.store.saveInbound(frame.messageId, JSON.stringify(message));
    return message;
  }
}
