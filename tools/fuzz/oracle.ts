/**
 * The fuzzer's oracle: what the provider must answer to one input in one session state, following
 * the order of checks of spec/framing.md (PROTO-030: binary, size, JSON, `v`, `type`, state,
 * schema, then the frame's own rules), the close codes of the registry (spec/errors.md, PROTO-039)
 * and RFC 6455 section 8.1 (a text message that is not UTF-8 fails the connection with 1007); and
 * the check of what it did answer.
 */
import { ERROR_CODES, type ErrorCode } from '../../schemas/errors.ts';
import { FRAME_TYPES, type ClientFrameType } from '../../schemas/frame-types.ts';
import type { FrameValidator } from '../../schemas/validator.ts';
import { SCHEMA_LIMITS } from '../../schemas/limits.ts';
import type { FuzzInput } from './mutators.ts';

/** A connection's session state as the fuzzer tracks it (spec/framing.md "Session state"). */
export type FuzzState = 'opened' | 'greeted' | 'authenticated';

/** The device the fuzzer's authenticated connections sign in as. */
export const FUZZ_DEVICE_ID = 1;

/** RFC 6455 section 7.4.1: a text message whose payload is not valid UTF-8. */
export const CLOSE_INVALID_UTF8 = 1007;

/** What must happen. */
export type Expectation =
  /** An `error` frame with exactly this code (and `re`), then the registry's close if any. */
  | { kind: 'error'; code: ErrorCode; re: string | undefined; pointer?: string }
  /** The connection closes with this code, without an error frame. */
  | { kind: 'close'; code: number }
  /** The frame passed every envelope check: a reply of its type, or an error of its own rules. */
  | { kind: 'handled'; type: ClientFrameType; re: string | undefined };

/** What the fuzzer saw in answer to one input. */
export interface Observation {
  /** The first frame that was not a push, if any. */
  readonly reply?: Record<string, unknown>;
  /** The close code, when the connection closed before or right after the reply. */
  readonly closeCode?: number;
  /** Nothing came within the time allowed. */
  readonly timedOut: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const BEFORE_AUTH = new Set(['auth', 'account.register', 'ping']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Codes only the envelope checks give: a frame that passed them must never get one of these. */
const ENVELOPE_CODES = new Set<ErrorCode>([
  'BAD_JSON',
  'BINARY_NOT_SUPPORTED',
  'FRAME_TOO_LARGE',
  'FRAME_TOO_COMPLEX',
  'UNKNOWN_TYPE',
  'NOT_AUTHENTICATED',
]);

function isClientType(type: unknown): type is ClientFrameType {
  return (
    typeof type === 'string' &&
    Object.hasOwn(FRAME_TYPES, type) &&
    FRAME_TYPES[type as keyof typeof FRAME_TYPES].direction === 'client'
  );
}

/** The message bytes as the provider reassembles them. */
function decode(payload: Buffer): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}

/**
 * Whether `text` nests deeper than PROTO-048 allows or holds more array elements and object members
 * in all: a plain walk over the characters, written apart from the provider's byte scan.
 */
export function tooComplex(text: string): boolean {
  let depth = 0;
  let elements = 0;
  let inString = false;
  let fresh = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (fresh && c !== ']' && c !== '}') elements += 1;
    fresh = false;
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth += 1;
      fresh = true;
    } else if (c === ']' || c === '}') depth -= 1;
    else if (c === ',' && depth > 0) elements += 1;
    if (depth > SCHEMA_LIMITS.maxFrameDepth || elements > SCHEMA_LIMITS.maxFrameElements)
      return true;
  }
  return false;
}

/**
 * The answer `input` must get on a connection in `state` (PROTO-030); before `auth.ok` the frame
 * limit is `maxUnauthenticatedFrameBytes` (PROTO-047).
 */
export function expect(
  input: FuzzInput,
  state: FuzzState,
  maxFrameBytes: number,
  validator: FrameValidator,
  maxUnauthenticatedFrameBytes = maxFrameBytes,
): Expectation {
  if (input.binary) return { kind: 'error', code: 'BINARY_NOT_SUPPORTED', re: undefined };
  const limit = state === 'authenticated' ? maxFrameBytes : maxUnauthenticatedFrameBytes;
  if (input.payload.length > limit)
    return { kind: 'error', code: 'FRAME_TOO_LARGE', re: undefined };
  const text = decode(input.payload);
  if (text === undefined) return { kind: 'close', code: CLOSE_INVALID_UTF8 };
  if (tooComplex(text)) return { kind: 'error', code: 'FRAME_TOO_COMPLEX', re: undefined };
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    frame = undefined;
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame))
    return { kind: 'error', code: 'BAD_JSON', re: undefined };
  const f = frame as Record<string, unknown>;
  const re = typeof f.id === 'string' && REQUEST_ID.test(f.id) ? f.id : undefined;
  if (!('v' in f)) return { kind: 'error', code: 'SCHEMA_VIOLATION', re, pointer: '/v' };
  if (f.v !== 1) return { kind: 'error', code: 'UNSUPPORTED_VERSION', re };
  if (!isClientType(f.type)) return { kind: 'error', code: 'UNKNOWN_TYPE', re, pointer: '/type' };
  const type = f.type;
  if (state === 'opened' && type !== 'hello') return { kind: 'error', code: 'OUT_OF_ORDER', re };
  if (state !== 'opened' && type === 'hello') return { kind: 'error', code: 'OUT_OF_ORDER', re };
  if (state === 'authenticated' && type === 'auth')
    return { kind: 'error', code: 'OUT_OF_ORDER', re };
  if (state === 'greeted' && !BEFORE_AUTH.has(type))
    return { kind: 'error', code: 'NOT_AUTHENTICATED', re };
  const valid = validator.validate(f);
  if (!valid.ok) return { kind: 'error', code: 'SCHEMA_VIOLATION', re, pointer: valid.pointer };
  return { kind: 'handled', type, re };
}

function closeOf(code: ErrorCode): number | undefined {
  const info = ERROR_CODES[code];
  return info.connectionSurvives ? undefined : (info as { closeCode?: number }).closeCode;
}

/** Whether the answer `seen` satisfies `expected`; a description of the mismatch otherwise. */
export function judge(
  expected: Expectation,
  seen: Observation,
  validator: FrameValidator,
): string | undefined {
  const reply = seen.reply;
  if (reply !== undefined) {
    const valid = validator.validate(reply);
    if (!valid.ok)
      return `the provider's answer fails its schema at ${valid.pointer}: ${valid.message}`;
  }
  if (expected.kind === 'close') {
    if (reply !== undefined)
      return `expected close ${expected.code}, got a ${String(reply.type)} frame`;
    if (seen.closeCode !== expected.code)
      return `expected close ${expected.code}, got ${seen.timedOut ? 'nothing' : `close ${String(seen.closeCode)}`}`;
    return undefined;
  }
  if (reply === undefined)
    return `expected ${expected.kind === 'error' ? expected.code : `an answer to ${expected.type}`}, got ${seen.timedOut ? 'nothing' : `close ${String(seen.closeCode)} without a frame`}`;
  if (reply.re !== expected.re)
    return `expected re ${JSON.stringify(expected.re)}, got ${JSON.stringify(reply.re)}`;
  let code: ErrorCode | undefined;
  if (reply.type === 'error') {
    code = reply.code as ErrorCode;
    if (!Object.hasOwn(ERROR_CODES, code))
      return `error code ${String(code)} is not in the registry`;
    if (code === 'INTERNAL') return `INTERNAL: ${String(reply.message)}`;
  }
  if (expected.kind === 'error') {
    if (code !== expected.code)
      return `expected ${expected.code}, got ${code ?? `a ${String(reply.type)} frame`}`;
    if (expected.pointer !== undefined && reply.pointer !== expected.pointer)
      return `expected pointer ${expected.pointer}, got ${JSON.stringify(reply.pointer)}`;
  } else if (code !== undefined) {
    if (ENVELOPE_CODES.has(code)) return `a frame that passed the envelope checks got ${code}`;
  } else if (
    !(FRAME_TYPES[expected.type].replies as readonly string[]).includes(String(reply.type))
  ) {
    return `${String(reply.type)} does not answer ${expected.type}`;
  }
  // A device that removed itself hears device.removed, then DEVICE_REMOVED and its close (AUTH-035).
  const removedItself = reply.type === 'device.removed' && reply.deviceId === FUZZ_DEVICE_ID;
  const close =
    code === undefined ? (removedItself ? closeOf('DEVICE_REMOVED') : undefined) : closeOf(code);
  if (close !== seen.closeCode)
    return close === undefined
      ? `the connection closed (${String(seen.closeCode)}) after a surviving ${code ?? String(reply.type)}`
      : `expected close ${close} after ${code}, got ${seen.closeCode === undefined ? 'none' : String(seen.closeCode)}`;
  return undefined;
}
