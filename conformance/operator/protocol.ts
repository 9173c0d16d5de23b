// The operator driver protocol (conformance/OPERATOR-DRIVER.md): what the suite and a remote
// target's operator driver say to each other over the driver's stdin and stdout, one JSON object
// per line. The TypeScript types and the JSON Schemas below describe the same lines; both sides
// validate what they read.
import { int, lineCheck, object, type LineCheck, type Schema } from '../client/protocol.ts';
import { Ajv, type ValidateFunction } from 'ajv';
import type { AttachmentLimits, PeerBounds } from '../transport/operator.ts';

/** The version of this protocol; the driver names it in its `hello`. */
export const OPERATOR_PROTOCOL_VERSION = 1;

/**
 * How long the suite waits for the driver's `hello` (scaled by --timeout-factor): the driver may
 * start the provider first, and a provider process takes a few seconds to listen on a busy host.
 */
export const OPERATOR_HELLO_WAIT_MS = 20_000;

/**
 * How long the suite waits for the answer to one request (scaled): a restart stops and starts
 * the provider, and a clock move may restart it and then wait for its sweeps.
 */
export const OPERATOR_CALL_WAIT_MS = 20_000;

/** How long the suite lets the driver stop its provider after stdin closes before killing it (scaled). */
export const OPERATOR_EXIT_GRACE_MS = 5_000;

/** The hooks a driver may offer: every method of `Operator` (conformance/transport/operator.ts). */
export type OperatorHookName = 'restart' | 'setClockAhead' | 'setPeerBounds';
export const OPERATOR_HOOKS: readonly OperatorHookName[] = [
  'restart',
  'setClockAhead',
  'setPeerBounds',
];

// ---- driver → suite --------------------------------------------------------------------------

/** The driver's first line, once its target accepts connections. */
export interface OperatorHello {
  event: 'hello';
  protocol: number;
  driver: { name: string; version: string };
  /** The hooks it answers; a case needing another one is skipped, naming it. */
  hooks: OperatorHookName[];
  /** `setClockAhead` restarts the provider even to move the clock ahead (open connections close). */
  clockAheadRestarts?: boolean;
  /** The per-user attachment quota (ATT-016), which `welcome` does not advertise. */
  attachmentQuotaBytes?: number;
  /** The attachment limits of the provider's own first-party clients outside Parley (ATT-013). */
  firstPartyAttachmentLimits?: AttachmentLimits;
  /** The `maxConnections` of the suite's enlisted proxy (PROXY-005), when it has one. */
  proxyMaxConnections?: number;
}

/** The answer to one request: done, or not (with why). */
export type OperatorReply = { id: number; ok: true } | { id: number; ok: false; message: string };

// ---- suite → driver --------------------------------------------------------------------------

/** Every method: its params. Each is answered once its effect is in place. */
export interface OperatorMethods {
  /** Stop the provider (PROTO-036) and start it again on the same store and URL. */
  restart: Record<string, never>;
  /** Run the provider's clock `ms` ahead of real time (0: real time) and let it sweep. */
  setClockAhead: { ms: number };
  /** Apply these abusive-peer bounds (null: the provider's own) and accept connections again. */
  setPeerBounds: { bounds: Partial<PeerBounds> | null };
}

/** A request line. */
export interface OperatorRequest<M extends OperatorHookName = OperatorHookName> {
  id: number;
  method: M;
  params: OperatorMethods[M];
}

// ---- JSON Schemas ----------------------------------------------------------------------------

const positiveInt: Schema = { type: 'integer', minimum: 1 };

const attachmentLimits = object({
  image: int,
  video: int,
  audio: int,
  document: int,
});

/** The schema of `hello`. */
export const HELLO_SCHEMA: Schema = object(
  {
    event: { const: 'hello' },
    protocol: { type: 'integer' },
    driver: object({ name: { type: 'string', minLength: 1 }, version: { type: 'string' } }),
    hooks: { type: 'array', items: { enum: [...OPERATOR_HOOKS] }, uniqueItems: true },
    clockAheadRestarts: { type: 'boolean' },
    attachmentQuotaBytes: int,
    firstPartyAttachmentLimits: attachmentLimits,
    proxyMaxConnections: positiveInt,
  },
  [
    'clockAheadRestarts',
    'attachmentQuotaBytes',
    'firstPartyAttachmentLimits',
    'proxyMaxConnections',
  ],
);

/** The schema of a reply: `message` says why when `ok` is false. */
export const REPLY_SCHEMA: Schema = {
  ...object({ id: int, ok: { type: 'boolean' }, message: { type: 'string' } }, ['message']),
  if: { properties: { ok: { const: false } } },
  then: { properties: { message: { type: 'string' } }, required: ['message'] },
};

const peerBounds = object(
  {
    maxSendBufferBytes: positiveInt,
    maxSendStallMs: positiveInt,
    maxConnectionsPerAddress: positiveInt,
    bytesPerConnection: object({ burst: positiveInt, perMinute: positiveInt }),
    authWindowSeconds: positiveInt,
    maxQueuedBytesPerDevice: positiveInt,
  },
  ['maxSendBufferBytes', 'maxSendStallMs', 'maxConnectionsPerAddress', 'bytesPerConnection'],
);

/** The schema of each method's request, for drivers (the reference operator checks what it reads). */
export const REQUEST_SCHEMAS: Readonly<Record<OperatorHookName, Schema>> = {
  restart: object({ id: int, method: { const: 'restart' }, params: object({}) }),
  setClockAhead: object({
    id: int,
    method: { const: 'setClockAhead' },
    params: object({ ms: int }),
  }),
  setPeerBounds: object({
    id: int,
    method: { const: 'setPeerBounds' },
    params: object({ bounds: { oneOf: [{ type: 'null' }, peerBounds] } }),
  }),
};

/** Validates the lines of this protocol: `hello` and replies (suite side), requests (driver side). */
export class OperatorValidator {
  private readonly ajv = new Ajv({ allErrors: false, strict: true });
  private readonly hello = this.ajv.compile(HELLO_SCHEMA);
  private readonly reply = this.ajv.compile(REPLY_SCHEMA);
  private readonly requests = new Map<string, ValidateFunction>(
    Object.entries(REQUEST_SCHEMAS).map(([m, s]) => [m, this.ajv.compile(s)]),
  );

  /** The driver's first line. */
  checkHello(value: unknown): LineCheck {
    return lineCheck(this.hello, value, 'hello');
  }

  /** A reply line. */
  checkReply(value: unknown): LineCheck {
    return lineCheck(this.reply, value, 'reply');
  }

  /** A request line, by its method; the message names the member that is wrong. */
  checkRequest(value: Record<string, unknown>): LineCheck {
    const fn = typeof value.method === 'string' ? this.requests.get(value.method) : undefined;
    if (!fn)
      return { ok: false, message: `request/method: no method ${JSON.stringify(value.method)}` };
    return lineCheck(fn, value, `request ${value.method}`);
  }
}
