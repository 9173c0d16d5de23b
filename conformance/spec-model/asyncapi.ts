// Loads spec/parley.asyncapi.yaml with @asyncapi/parser and turns it into Parley's message
// model (names, areas, directions, replies, payload schemas, examples with their source lines).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import type {
  AsyncAPIDocumentInterface,
  Diagnostic as ParserDiagnostic,
  MessageInterface,
} from '@asyncapi/parser';
import { displayPath, joinPath, type Diagnostic, type Severity } from './diagnostics.ts';
import { pointerToSegments, SourceSet, type SourceLocation } from './sources.ts';

/** The AsyncAPI document's file name inside the spec directory. */
export const ASYNCAPI_FILE = 'parley.asyncapi.yaml';

/** A JSON Schema object as read from a file or the parsed model. */
export type JsonSchema = Record<string, unknown>;

/** One example of a message, with the place it is written. */
export interface SpecExample {
  index: number;
  name?: string;
  summary?: string;
  payload: unknown;
  location: SourceLocation;
  line?: number;
}

/** One message of the AsyncAPI document, as the checks and the docs renderer need it. */
export interface SpecMessage {
  /** The message's key in the document (`authOk`). */
  id: string;
  /** The message's `name` (the frame type by convention: `auth.ok`), else its key. */
  name: string;
  title?: string;
  summary?: string;
  description?: string;
  /** Tag names; the first one is the message family (`session`, `keys`, ...). */
  tags: string[];
  area: string;
  /** Who sends it, derived from the operations that carry it (written from the client's side). */
  direction: 'client → provider' | 'provider → client' | 'both ways' | 'unspecified';
  /** Names of the messages that answer this one, and of the messages this one answers. */
  replies: string[];
  repliesTo: string[];
  /** The payload schema as the parser resolved it, with `x-parser-*` keys removed. */
  payload?: JsonSchema;
  /** The raw file the payload `$ref` points to, and the pointer inside it (`''` for the whole file). */
  payloadRef?: { file: string; pointer: string };
  examples: SpecExample[];
  /** Where the message object is written. */
  location: SourceLocation;
  line?: number;
}

/** The loaded AsyncAPI document: parser model (undefined on any error), diagnostics, messages. */
export interface AsyncApiModel {
  file: string;
  document?: AsyncAPIDocumentInterface;
  diagnostics: Diagnostic[];
  messages: SpecMessage[];
  sources: SourceSet;
}

const SEVERITIES: Record<number, Severity> = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

/** Rewrites the parser's terser messages into sentences a spec author can act on. */
function readable(message: string): string {
  const text = message.replace(/\s+/g, ' ').trim();
  const missing = /ENOENT: no such file or directory, open '([^']+)'/.exec(text);
  if (missing?.[1]) return `the $ref target ${displayPath(missing[1])} does not exist`;
  return text;
}

/**
 * Maps one parser (Spectral) diagnostic to Parley's shape, with a 1-based line. The line comes
 * from the raw file when the path resolves there (the parser reports some faults at line 1).
 */
export function fromParserDiagnostic(
  d: ParserDiagnostic,
  fallbackFile: string,
  sources?: SourceSet,
): Diagnostic {
  const code = typeof d.code === 'string' || typeof d.code === 'number' ? ` (${d.code})` : '';
  const file = d.source ? resolve(d.source) : fallbackFile;
  const segments = d.path.map((s) => (typeof s === 'number' ? s : String(s)));
  const rawLine = d.path.length > 0 ? sources?.lineOf({ file, segments }) : undefined;
  return {
    file,
    path: d.path.length > 0 ? joinPath(d.path) : undefined,
    line: rawLine ?? (d.range ? d.range.start.line + 1 : undefined),
    message: `${readable(d.message)}${code}`,
    severity: SEVERITIES[d.severity] ?? 'error',
  };
}

/** Deep-copies a parsed schema without the parser's `x-parser-*` annotations (cycles cut). */
export function stripParserKeys(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return { description: '(circular)' };
  seen.add(value);
  const out: unknown = Array.isArray(value)
    ? value.map((v) => stripParserKeys(v, seen))
    : Object.fromEntries(
        Object.entries(value)
          .filter(([k]) => !k.startsWith('x-parser-'))
          .map(([k, v]) => [k, stripParserKeys(v, seen)]),
      );
  seen.delete(value);
  return out;
}

function directionOf(actions: Set<string>): SpecMessage['direction'] {
  // The document's operations are written from the client's side (its info.description says so):
  // `send` is a frame the client sends, `receive` one the provider pushes.
  if (actions.has('receive') && actions.has('send')) return 'both ways';
  if (actions.has('send')) return 'client → provider';
  if (actions.has('receive')) return 'provider → client';
  return 'unspecified';
}

function buildMessages(
  document: AsyncAPIDocumentInterface,
  file: string,
  sources: SourceSet,
): SpecMessage[] {
  const actions = new Map<string, Set<string>>();
  const replies = new Map<string, Set<string>>();
  const repliesTo = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, key: string, value: string): void => {
    map.set(key, (map.get(key) ?? new Set()).add(value));
  };
  const nameOf = (m: MessageInterface): string => m.name() ?? m.id();
  for (const operation of document.operations().all()) {
    const requests = operation.messages().all();
    for (const request of requests) add(actions, request.id(), operation.action());
    for (const answer of operation.reply()?.messages().all() ?? []) {
      // A reply travels the other way on the same connection.
      add(actions, answer.id(), operation.action() === 'receive' ? 'send' : 'receive');
      for (const request of requests) {
        add(replies, request.id(), nameOf(answer));
        add(repliesTo, answer.id(), nameOf(request));
      }
    }
  }
  return document
    .allMessages()
    .all()
    .map((message: MessageInterface): SpecMessage => {
      const id = message.id();
      let location: SourceLocation = { file, segments: pointerToSegments(message.meta().pointer) };
      let payloadRef: SpecMessage['payloadRef'];
      try {
        location = sources.locate(location);
        const target = sources.locate({ ...location, segments: [...location.segments, 'payload'] });
        const pointer = target.segments.length ? `#/${target.segments.join('/')}` : '';
        if (target.file !== location.file || target.segments.length === 0)
          payloadRef = { file: target.file, pointer };
      } catch {
        // The parser already reported the broken reference.
      }
      const tags = message
        .tags()
        .all()
        .map((t) => t.name());
      const examples = message
        .examples()
        .all()
        .map((example, index): SpecExample => {
          const exampleLocation = {
            ...location,
            segments: [...location.segments, 'examples', index],
          };
          return {
            index,
            name: example.name(),
            summary: example.summary(),
            payload: example.payload(),
            location: exampleLocation,
            line: sources.lineOf(exampleLocation),
          };
        });
      return {
        id,
        name: message.name() ?? id,
        title: message.title(),
        summary: message.summary(),
        description: message.description(),
        tags,
        area: tags[0] ?? 'other',
        direction: directionOf(actions.get(id) ?? new Set()),
        replies: [...(replies.get(id) ?? [])],
        repliesTo: [...(repliesTo.get(id) ?? [])],
        payload: message.payload()
          ? (stripParserKeys(message.payload()?.json()) as JsonSchema)
          : undefined,
        payloadRef,
        examples,
        location,
        line: sources.lineOf(location),
      };
    });
}

/**
 * Parses `<specDir>/parley.asyncapi.yaml`. Never throws for a faulty spec: a missing file,
 * a parser crash or any error diagnostic yields `document: undefined` and the diagnostics.
 */
export async function loadAsyncApi(specDir: string): Promise<AsyncApiModel> {
  const file = resolve(join(specDir, ASYNCAPI_FILE));
  const sources = new SourceSet();
  if (!existsSync(file)) {
    return {
      file,
      diagnostics: [{ file, message: 'the AsyncAPI document is missing' }],
      messages: [],
      sources,
    };
  }
  try {
    const { document, diagnostics } = await fromFile(new Parser(), file).parse();
    const mapped = diagnostics.map((d) => fromParserDiagnostic(d, file, sources));
    if (!document || mapped.some((d) => d.severity === 'error')) {
      return { file, diagnostics: mapped, messages: [], sources };
    }
    return {
      file,
      document,
      diagnostics: mapped,
      messages: buildMessages(document, file, sources),
      sources,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      file,
      diagnostics: [{ file, message: `the AsyncAPI parser failed: ${message}` }],
      messages: [],
      sources,
    };
  }
}
