// The SDK's one error class: every failure a caller sees carries a code of the registry in
// schemas/errors.ts (spec/errors.md), with `retryAfterMs` and `details` when the code defines them.
import { ERROR_CODES, type ErrorCode } from '../../schemas/errors.ts';
import type { ErrorFrame } from '../../schemas/frames/index.ts';

/** Where an error was decided: in an `error` frame of the provider, or by the SDK itself. */
export type ErrorSource = 'provider' | 'client';

/** A failed request or a broken connection, with the registry code that names it. */
export class ParleyError extends Error {
  /** The registry code; an unknown provider code arrives as INTERNAL (PROTO-043). */
  readonly code: ErrorCode;
  /** For RATE_LIMITED (and other codes that carry it): milliseconds to wait before retrying. */
  readonly retryAfterMs: number | undefined;
  /** Code-specific details, e.g. `{missing, extra, stale}` for DEVICE_MISMATCH. */
  readonly details: unknown;
  /** The JSON pointer to the offending member, when the provider named one. */
  readonly pointer: string | undefined;
  /** Whether the provider sent the code or the SDK decided it locally. */
  readonly source: ErrorSource;

  constructor(
    code: ErrorCode,
    message: string,
    extra: {
      retryAfterMs?: number;
      details?: unknown;
      pointer?: string;
      source?: ErrorSource;
      cause?: unknown;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ParleyError';
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs;
    this.details = extra.details;
    this.pointer = extra.pointer;
    this.source = extra.source ?? 'client';
  }

  /** Whether the connection stays open after this code (the registry's `connectionSurvives`). */
  get connectionSurvives(): boolean {
    return ERROR_CODES[this.code].connectionSurvives;
  }
}

/** Whether `code` is a code of the registry. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * The ParleyError for a provider's `error` frame. A code outside the registry is handled as
 * INTERNAL (PROTO-043), keeping the original code in `details.unknownCode`.
 */
export function errorFromFrame(frame: ErrorFrame | Record<string, unknown>): ParleyError {
  const f = frame as Record<string, unknown>;
  const known = isErrorCode(f.code);
  const code: ErrorCode = known ? (f.code as ErrorCode) : 'INTERNAL';
  const message = typeof f.message === 'string' ? f.message : String(f.code);
  return new ParleyError(code, message, {
    source: 'provider',
    ...(typeof f.retryAfterMs === 'number' ? { retryAfterMs: f.retryAfterMs } : {}),
    ...(typeof f.pointer === 'string' ? { pointer: f.pointer } : {}),
    ...(known
      ? f.details === undefined
        ? {}
        : { details: f.details }
      : { details: { unknownCode: f.code, ...(f.details as object | undefined) } }),
  });
}

/** DEVICE_MISMATCH details, sorted device id lists (DELIV-003). */
export interface DeviceMismatch {
  missing: number[];
  extra: number[];
  stale: number[];
}

/** The `{missing, extra, stale}` lists of a DEVICE_MISMATCH error, empty lists for absent ones. */
export function deviceMismatchOf(error: ParleyError): DeviceMismatch {
  const d = (error.details ?? {}) as Partial<Record<keyof DeviceMismatch, unknown>>;
  const list = (v: unknown): number[] =>
    Array.isArray(v) ? v.filter((n): n is number => Number.isInteger(n)) : [];
  return { missing: list(d.missing), extra: list(d.extra), stale: list(d.stale) };
}

/** A member the provider named in a group send's DEVICE_MISMATCH on `/distribution` (GROUP-052). */
export interface MemberDevices {
  address: string;
  missing: number[];
}

/** The `details.members` of a group send's DEVICE_MISMATCH, well-formed entries only. */
export function memberDevicesOf(error: ParleyError): MemberDevices[] {
  const members = (error.details as { members?: unknown } | undefined)?.members;
  if (!Array.isArray(members)) return [];
  return members.flatMap((m: unknown) => {
    const { address, missing } = (m ?? {}) as { address?: unknown; missing?: unknown };
    if (typeof address !== 'string' || !Array.isArray(missing)) return [];
    return [{ address, missing: missing.filter((n): n is number => Number.isInteger(n)) }];
  });
}
