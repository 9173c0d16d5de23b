// The encrypted content inside every Signal message: Content JSON plus its 160-byte padding, and
// builders for each kind (spec/content.md "Plaintext" and "Content kinds", ENC-036..ENC-041).
import { randomUUID } from 'node:crypto';
import type {
  AttachmentPointer,
  Content,
  ContentKind,
  ReceiptType,
  ReplyTarget,
  TypingState,
} from '../../schemas/content.ts';
import { validator } from './validation.ts';

/** The plaintext length is padded to a multiple of this many bytes (spec/content.md). */
export const PADDING_BLOCK = 160;

const KINDS: readonly ContentKind[] = [
  'text',
  'attachment',
  'receipt',
  'reaction',
  'edit',
  'delete',
  'typing',
  'group',
];

/** `UTF-8(JSON(content)) || 0x80 || 0x00 × k`, the plaintext length a multiple of 160 (ENC-036). */
export function encodePlaintext(content: Content): Uint8Array {
  const json = Buffer.from(JSON.stringify(content), 'utf8');
  const length = Math.ceil((json.length + 1) / PADDING_BLOCK) * PADDING_BLOCK;
  const out = new Uint8Array(length);
  out.set(json, 0);
  out[json.length] = 0x80;
  return out;
}

/** Why a plaintext was discarded (ENC-037, ENC-038) or ignored (ENC-041). */
export type DiscardReason = 'padding' | 'json' | 'version' | 'schema' | 'unknown-kind';

/** A decoded plaintext: the Content, or why it is not shown. */
export type DecodedPlaintext =
  | { ok: true; content: Content }
  | { ok: false; reason: DiscardReason; kind?: string; group?: string; detail?: string };

/** Removes the padding: trailing 0x00 bytes, then exactly one 0x80 (ENC-037). Null when malformed. */
export function unpad(plaintext: Uint8Array): Uint8Array | null {
  let end = plaintext.length;
  while (end > 0 && plaintext[end - 1] === 0x00) end--;
  if (end === 0 || plaintext[end - 1] !== 0x80) return null;
  return plaintext.subarray(0, end - 1);
}

/**
 * Decodes a decrypted plaintext into a Content checked against its schema (ENC-037, ENC-038); a
 * well-formed v1 object of an unknown `kind` is reported as `unknown-kind` (ENC-041).
 */
export function decodePlaintext(plaintext: Uint8Array): DecodedPlaintext {
  const json = unpad(plaintext);
  if (json === null) return { ok: false, reason: 'padding' };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (error) {
    return { ok: false, reason: 'json', detail: (error as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'json', detail: 'not a JSON object' };
  }
  const object = value as Record<string, unknown>;
  if (object.v !== 1) return { ok: false, reason: 'version' };
  if (typeof object.kind === 'string' && !(KINDS as readonly string[]).includes(object.kind)) {
    // Still read for its group: a group message of a kind unknown here names one too (GROUP-056).
    return {
      ok: false,
      reason: 'unknown-kind',
      kind: object.kind,
      ...(typeof object.group === 'string' ? { group: object.group } : {}),
    };
  }
  const result = validator().validateAs('Content', value);
  if (!result.ok) return { ok: false, reason: 'schema', detail: result.message };
  return { ok: true, content: value as Content };
}

/** What every builder accepts besides the kind's own members. */
export interface ContentOptions {
  /** The client message id; a fresh random UUID when absent (ENC-039). */
  id?: string;
  /** The send time; now when absent. */
  sentAt?: number;
}

function base(options: ContentOptions = {}): { v: 1; id: string; sentAt: number } {
  return { v: 1, id: options.id ?? randomUUID(), sentAt: options.sentAt ?? Date.now() };
}

/** A text message, optionally replying to `replyTo`. */
export function textContent(
  body: string,
  replyTo?: ReplyTarget,
  options?: ContentOptions,
): Content {
  return { ...base(options), kind: 'text', body, ...(replyTo ? { replyTo } : {}) };
}

/** A message carrying attachment pointers (uploading the blobs is the caller's business). */
export function attachmentContent(
  attachments: AttachmentPointer[],
  extra: { caption?: string; replyTo?: ReplyTarget } = {},
  options?: ContentOptions,
): Content {
  return { ...base(options), kind: 'attachment', attachments, ...extra };
}

/** A delivery or read receipt for earlier contents. */
export function receiptContent(
  receipt: ReceiptType,
  messageIds: string[],
  options?: ContentOptions,
): Content {
  return { ...base(options), kind: 'receipt', receipt, messageIds };
}

/** A reaction to a message, or its removal. */
export function reactionContent(
  target: ReplyTarget,
  emoji: string,
  remove = false,
  options?: ContentOptions,
): Content {
  return {
    ...base(options),
    kind: 'reaction',
    targetId: target.id,
    targetAuthor: target.author,
    emoji,
    ...(remove ? { remove: true } : {}),
  };
}

/** A new text for one of the sender's own text messages. */
export function editContent(targetId: string, body: string, options?: ContentOptions): Content {
  return { ...base(options), kind: 'edit', targetId, body };
}

/** Deletes one of the sender's own messages for everyone. */
export function deleteContent(targetId: string, options?: ContentOptions): Content {
  return { ...base(options), kind: 'delete', targetId };
}

/** A typing indicator. */
export function typingContent(state: TypingState, options?: ContentOptions): Content {
  return { ...base(options), kind: 'typing', state };
}

/**
 * A group's name and avatar (an uploaded image's pointer), for a group send only: each one states
 * the whole context, so leaving out `avatar` removes the group's avatar (spec/content.md).
 */
export function groupContextContent(
  name: string,
  avatar?: AttachmentPointer,
  options?: ContentOptions,
): Content {
  return { ...base(options), kind: 'group', name, ...(avatar === undefined ? {} : { avatar }) };
}
