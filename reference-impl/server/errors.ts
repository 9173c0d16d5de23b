/**
 * Refusals as typed exceptions carrying a registry code, and the `error` frames they become
 * (spec/errors.md; codes only from schemas/errors.ts, PROTO-037).
 */
import type { DeviceMismatchDetails, ErrorFrame } from '../../schemas/frames/error.ts';
import { ERROR_CODES, type FrameErrorCode } from '../../schemas/errors.ts';

/** Thrown by handlers; the connection turns it into one `error` frame answering the request. */
export class ProviderError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
    readonly extra: {
      pointer?: string;
      retryAfterMs?: number;
      details?: DeviceMismatchDetails;
    } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** One message for every authentication failure (AUTH-008), so the reason does not leak. */
export const AUTH_FAILED_MESSAGE = 'authentication failed';

/** One message for unknown and non-consenting recipients (CONSENT-006). */
export const NOT_FOUND_MESSAGE = 'no such recipient';

/** Builds the `error` frame for `error`, with `re` when the request had a valid id (PROTO-033). */
export function errorFrame(error: ProviderError, re: string | undefined): ErrorFrame {
  const frame = {
    v: 1,
    type: 'error',
    ...(re !== undefined ? { re } : {}),
    code: error.code,
    // ErrorMessage holds at most 1024 characters; echoed input may be longer.
    message: error.message.slice(0, 1024),
    ...(error.extra.pointer !== undefined ? { pointer: error.extra.pointer } : {}),
    ...(error.extra.retryAfterMs !== undefined ? { retryAfterMs: error.extra.retryAfterMs } : {}),
    ...(error.extra.details !== undefined ? { details: error.extra.details } : {}),
  };
  return frame as ErrorFrame;
}

/** The close code that must follow an error of `code`, or undefined when the connection survives. */
export function closeCodeOf(code: FrameErrorCode): number | undefined {
  const info = ERROR_CODES[code];
  return info.connectionSurvives ? undefined : (info as { closeCode?: number }).closeCode;
}
