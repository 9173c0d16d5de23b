// The driver protocol (conformance/CLIENT-DRIVER.md): what the suite and a client's driver say to
// each other over the driver's stdin and stdout, one JSON object per line. The TypeScript types
// and the JSON Schemas below describe the same messages; everything a driver writes is validated.
import { Ajv, type ValidateFunction } from 'ajv';

/** The version of this protocol; the driver names it in its `ready` event. */
export const DRIVER_PROTOCOL_VERSION = 1;

/** The longest line either side may write (an attachment's bytes travel base64 in one line). */
export const MAX_DRIVER_LINE_BYTES = 64 * 1024 * 1024;

// ---- requests (suite → driver) -------------------------------------------------------------

/** How the client enrols: a first-party account with the provider's registration token, or a partner device. */
export type ConnectAuth =
  { method: 'register'; registrationToken: string } | { method: 'partner'; partnerKeyFile: string };

/** The inbox sections of spec/consent.md (CONSENT-012): the provider's own, third-party chats, requests. */
export type Section = 'inbox' | 'third-party' | 'requests';

/** One message as the client would display it. */
export interface DisplayedMessage {
  /** The Content `id`. */
  contentId: string;
  from: string;
  /** The Content kind (an unknown kind for a placeholder). */
  kind: string;
  /** Exactly the text the user sees (body, caption), shown as plain text; null when none. */
  text: string | null;
  /** True for "a message of an unsupported kind could not be displayed" (ENC-042). */
  placeholder: boolean;
  edited: boolean;
  deleted: boolean;
  reactions: { from: string; emoji: string }[];
  /** The attachments the client still holds, with whether it still holds each decryption key. */
  attachments: { fileName: string | null; mediaType: string; keyHeld: boolean }[];
}

/** One chat of the client's chat list. */
export interface Chat {
  /** The peer's address. */
  address: string;
  section: Section;
  /** The label the client shows for the peer's platform (CONSENT-013); null when none. */
  platform: string | null;
  messages: DisplayedMessage[];
}

/** Every method: its params and its result. */
export interface DriverMethods {
  /** Forget everything: close the client, drop its keys, sessions and chats (a fresh device). */
  reset: { params: Record<string, never>; result: Record<string, never> };
  /** Connect to `url` and authenticate as `address` device `deviceId`, publishing prekeys. */
  connect: {
    params: { url: string; address: string; deviceId: number; auth: ConnectAuth };
    result: { address: string; deviceId: number };
  };
  /** Close the connection (the client keeps its state). */
  disconnect: { params: Record<string, never>; result: Record<string, never> };
  /** The user turns interoperability on or off in the settings (an explicit action, CONSENT-002). */
  setInterop: {
    params: { enabled: boolean; platforms: 'all' | string[]; inbox: 'separate' | 'combined' };
    result: Record<string, never>;
  };
  /** The user sends a text. */
  sendText: { params: { to: string; text: string }; result: Record<string, never> };
  /** The user sends a file. `data` is its bytes in base64. */
  sendAttachment: {
    params: {
      to: string;
      kind: 'image' | 'video' | 'audio' | 'document';
      data: string;
      mediaType: string;
      fileName?: string;
      caption?: string;
      /** A voice message (kind `audio`, ATT-010) lasting `durationMs`. */
      voice?: boolean;
      durationMs?: number;
      /** An image thumbnail to send along (`data` in base64). */
      thumbnail?: { data: string; mediaType: string; width: number; height: number };
    };
    result: Record<string, never>;
  };
  /**
   * The user opens attachment `index` of the message `contentId` from `from`: the client downloads
   * and decrypts it with every check of spec/attachments.md. `data` is the plaintext in base64;
   * FAILED when the client refused the blob or could not fetch it.
   */
  download: {
    params: { from: string; contentId: string; index: number };
    result: { data: string };
  };
  /** The user answers a message request. */
  respondToRequest: {
    params: { from: string; action: 'accept' | 'decline' | 'block' };
    result: Record<string, never>;
  };
  /** The user reports `address`, choosing whether the reported messages' content goes along. */
  report: {
    params: {
      address: string;
      reason: 'spam' | 'abuse' | 'other';
      messageIds: string[];
      includeContent: boolean;
    };
    result: Record<string, never>;
  };
  /** The user creates a group with `members` (spec/groups.md); `group` is the provider's id. */
  createGroup: { params: { members: string[] }; result: { group: string } };
  /** The user, an admin, adds members to a group. */
  addToGroup: { params: { group: string; members: string[] }; result: Record<string, never> };
  /** The user, an admin, removes members from a group. */
  removeFromGroup: {
    params: { group: string; members: string[] };
    result: Record<string, never>;
  };
  /** The user sends a text to a group; answered after `message.accepted`. */
  sendGroupText: { params: { group: string; text: string }; result: Record<string, never> };
  /**
   * The group's name and avatar as the client shows them (GROUP-060): `avatarDigest` is the
   * `digest` of the avatar's attachment pointer; null for what the group does not have.
   */
  groupInfo: {
    params: { group: string };
    result: { name: string | null; avatarDigest: string | null };
  };
  /** The chat list as the client would display it. */
  inbox: { params: Record<string, never>; result: { chats: Chat[] } };
  /**
   * Move the client's clock forward by `ms` for what it times itself (prekey ages, KEYS-009,
   * KEYS-010). Optional: a client without such a seam answers UNSUPPORTED and those cases skip.
   */
  advanceClock: { params: { ms: number }; result: Record<string, never> };
  /** End the driver process (after the reply). */
  shutdown: { params: Record<string, never>; result: Record<string, never> };
}

export type DriverMethod = keyof DriverMethods;
export const DRIVER_METHODS: readonly DriverMethod[] = [
  'reset',
  'connect',
  'disconnect',
  'setInterop',
  'sendText',
  'sendAttachment',
  'download',
  'respondToRequest',
  'report',
  'createGroup',
  'addToGroup',
  'removeFromGroup',
  'sendGroupText',
  'groupInfo',
  'inbox',
  'advanceClock',
  'shutdown',
];

/** A request line. */
export interface DriverRequest<M extends DriverMethod = DriverMethod> {
  id: number;
  method: M;
  params: DriverMethods[M]['params'];
}

// ---- responses and events (driver → suite) -------------------------------------------------

/** Error codes a driver answers with. */
export type DriverErrorCode =
  /** The client has no such function (the case is skipped, not passed). */
  | 'UNSUPPORTED'
  /** The client tried and failed, or refused (the message says why). */
  | 'FAILED'
  /** The params were not understood. */
  | 'BAD_PARAMS';

export type DriverResponse =
  | { id: number; result: Record<string, unknown> }
  | { id: number; error: { code: DriverErrorCode; message: string } };

/** Every event: its payload (besides `event`). */
export interface DriverEvents {
  /** First line of every driver: which protocol it speaks. */
  ready: { protocol: number; driver: { name: string; version: string } };
  /** The client decrypted and accepted a message: the Content it got. */
  received: {
    messageId: string;
    from: string;
    fromDevice: number;
    content: Record<string, unknown>;
    /** The group, for a group message. */
    group?: string;
  };
  /** The client could not decrypt a message (MAC, counter, replay, unknown session). */
  decryptFailed: { messageId: string; from: string; fromDevice: number; reason: string };
  /** The client decrypted a message but discarded its plaintext (padding, JSON, version, schema, unknown kind). */
  discarded: {
    messageId: string;
    from: string;
    fromDevice: number;
    reason: string;
    kind?: string;
  };
  /** The client told its user that a peer's identity key changed (ENC-033). */
  identityChanged: { address: string; deviceId: number };
  /** Free text for the transcript. */
  log: { message: string };
}

export type DriverEventName = keyof DriverEvents;
export type DriverEvent = {
  [E in DriverEventName]: { event: E } & DriverEvents[E];
}[DriverEventName];

// ---- JSON Schemas --------------------------------------------------------------------------

/** A JSON Schema as the driver protocols' line schemas write them (also conformance/operator/). */
export type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const nonEmpty: Schema = { type: 'string', minLength: 1 };
/** A non-negative integer. */
export const int: Schema = { type: 'integer', minimum: 0 };
const empty: Schema = { type: 'object', additionalProperties: false };
/** A closed object: every property required except `optional`, no others allowed. */
export const object = (properties: Record<string, Schema>, optional: string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});

const displayedMessage = object({
  contentId: str,
  from: str,
  kind: str,
  text: { type: ['string', 'null'] },
  placeholder: { type: 'boolean' },
  edited: { type: 'boolean' },
  deleted: { type: 'boolean' },
  reactions: { type: 'array', items: object({ from: str, emoji: str }) },
  attachments: {
    type: 'array',
    items: object({
      fileName: { type: ['string', 'null'] },
      mediaType: str,
      keyHeld: { type: 'boolean' },
    }),
  },
});

/** The schema of each method's result. */
export const RESULT_SCHEMAS: Readonly<Record<DriverMethod, Schema>> = {
  reset: empty,
  connect: object({ address: nonEmpty, deviceId: { type: 'integer', minimum: 1 } }),
  disconnect: empty,
  setInterop: empty,
  sendText: empty,
  sendAttachment: empty,
  download: object({ data: str }),
  respondToRequest: empty,
  report: empty,
  createGroup: object({ group: nonEmpty }),
  addToGroup: empty,
  removeFromGroup: empty,
  sendGroupText: empty,
  groupInfo: object({
    name: { type: ['string', 'null'] },
    avatarDigest: { type: ['string', 'null'] },
  }),
  inbox: object({
    chats: {
      type: 'array',
      items: object({
        address: str,
        section: { enum: ['inbox', 'third-party', 'requests'] },
        platform: { type: ['string', 'null'] },
        messages: { type: 'array', items: displayedMessage },
      }),
    },
  }),
  advanceClock: empty,
  shutdown: empty,
};

/** The schema of each event (the `event` member included). */
export const EVENT_SCHEMAS: Readonly<Record<DriverEventName, Schema>> = {
  ready: object({
    event: { const: 'ready' },
    protocol: { type: 'integer' },
    driver: object({ name: nonEmpty, version: str }),
  }),
  received: object(
    {
      event: { const: 'received' },
      messageId: str,
      from: str,
      fromDevice: int,
      content: { type: 'object' },
      group: nonEmpty,
    },
    ['group'],
  ),
  decryptFailed: object({
    event: { const: 'decryptFailed' },
    messageId: str,
    from: str,
    fromDevice: int,
    reason: str,
  }),
  discarded: object(
    {
      event: { const: 'discarded' },
      messageId: str,
      from: str,
      fromDevice: int,
      reason: str,
      kind: str,
    },
    ['kind'],
  ),
  identityChanged: object({ event: { const: 'identityChanged' }, address: str, deviceId: int }),
  log: object({ event: { const: 'log' }, message: str }),
};

/** The schema of a response line (the result is checked against its method's schema after). */
export const RESPONSE_SCHEMA: Schema = {
  oneOf: [
    object({ id: int, result: { type: 'object' } }),
    object({
      id: int,
      error: object({ code: { enum: ['UNSUPPORTED', 'FAILED', 'BAD_PARAMS'] }, message: str }),
    }),
  ],
};

/** Where a line fails its schema. */
export type LineCheck = { ok: true } | { ok: false; message: string };

/** Runs a compiled schema on one line's value; the first error names `what` and its path. */
export function lineCheck(fn: ValidateFunction, value: unknown, what: string): LineCheck {
  if (fn(value)) return { ok: true };
  const e = fn.errors?.[0];
  return { ok: false, message: `${what}${e?.instancePath ?? ''}: ${e?.message ?? 'invalid'}` };
}

/** Validates driver output: response lines, each method's result, events. */
export class DriverValidator {
  private readonly ajv = new Ajv({ allErrors: false, strict: true });
  private readonly response: ValidateFunction;
  private readonly results = new Map<string, ValidateFunction>();
  private readonly events = new Map<string, ValidateFunction>();

  constructor() {
    this.response = this.ajv.compile(RESPONSE_SCHEMA);
    for (const [m, s] of Object.entries(RESULT_SCHEMAS)) this.results.set(m, this.ajv.compile(s));
    for (const [e, s] of Object.entries(EVENT_SCHEMAS)) this.events.set(e, this.ajv.compile(s));
  }

  /** A response line (`{id, result}` or `{id, error}`). */
  checkResponse(value: unknown): LineCheck {
    return lineCheck(this.response, value, 'response');
  }

  /** The result of `method`. */
  checkResult(method: DriverMethod, value: unknown): LineCheck {
    return lineCheck(this.results.get(method)!, value, `result of ${method}`);
  }

  /** An event line. */
  checkEvent(value: Record<string, unknown>): LineCheck {
    const fn = typeof value.event === 'string' ? this.events.get(value.event) : undefined;
    if (!fn) return { ok: false, message: `unknown event ${JSON.stringify(value.event)}` };
    return lineCheck(fn, value, `event ${value.event}`);
  }
}
