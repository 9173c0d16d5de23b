// Diagnostics of the spec model: one shape for every fault `parley spec check` reports
// (AsyncAPI parser, examples, schemas, OpenAPI, requirement catalogue), printed as `file:line path: message`.
import { relative } from 'node:path';

/** How bad a diagnostic is; `error` and `warning` fail `parley spec check`. */
export type Severity = 'error' | 'warning' | 'info' | 'hint';

/**
 * One fault in the specification. `file` holds the fault, `path` says where inside it (a dotted
 * JSON path such as `channels.connection.messages.hello`, a JSON pointer into a YAML document, or
 * a requirement ID), `line` is 1-based. `severity` defaults to `error` when absent.
 */
export interface Diagnostic {
  file: string;
  path?: string;
  line?: number;
  message: string;
  severity?: Severity;
}

/** The severities that make `spec check` fail. */
export function isFailing(diagnostic: Diagnostic): boolean {
  const severity = diagnostic.severity ?? 'error';
  return severity === 'error' || severity === 'warning';
}

/** Joins JSON path segments with dots, as the parser's own paths read: `examples.0.payload`. */
export function joinPath(segments: readonly (string | number)[]): string {
  return segments.map(String).join('.');
}

/** A file name for people: relative to `cwd` when inside it, else absolute. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') ? file : rel;
}

/**
 * Formats one diagnostic as `file:line path: message`, with `file` relative to `cwd`
 * (absolute when outside it) so editors and CI annotations can jump to it.
 */
export function formatDiagnostic(diagnostic: Diagnostic, cwd: string = process.cwd()): string {
  const file = displayPath(diagnostic.file, cwd);
  const where = diagnostic.line === undefined ? file : `${file}:${diagnostic.line}`;
  const path = diagnostic.path ? ` ${diagnostic.path}` : '';
  const severity =
    diagnostic.severity && diagnostic.severity !== 'error' ? ` [${diagnostic.severity}]` : '';
  return `${where}${path}:${severity} ${diagnostic.message}`;
}

/** Orders diagnostics by file, then line, then path, for stable output. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.path ?? '').localeCompare(b.path ?? '') ||
      a.message.localeCompare(b.message),
  );
}
