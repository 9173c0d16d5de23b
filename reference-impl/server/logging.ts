/**
 * Structured logging: one JSON object per line on stderr, one line per event (operations; no spec
 * section). Never logs message bodies, keys or tokens (DMA Art. 7(8) minimisation).
 */

/** Receives every event the provider logs. */
export interface Logger {
  log(
    level: 'debug' | 'info' | 'warn' | 'error',
    event: string,
    fields?: Record<string, unknown>,
  ): void;
}

/** JSON lines on a writable (stderr by default). */
export function jsonLogger(
  write: (line: string) => void = (l) => void process.stderr.write(l),
): Logger {
  return {
    log(level, event, fields = {}) {
      write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields })}\n`);
    },
  };
}

/** Discards everything (tests). */
export const silentLogger: Logger = { log() {} };
