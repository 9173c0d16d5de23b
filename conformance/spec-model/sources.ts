// Raw YAML/JSON files of the spec with source positions and `$ref` following: what the
// parsed AsyncAPI model forgets (which file and line holds a message, which schema files it reaches).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';

/** A place in a raw file: the file and the JSON path segments inside it. */
export interface SourceLocation {
  file: string;
  segments: (string | number)[];
}

interface LoadedSource {
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Decodes a JSON pointer (`/channels/parley~1v1`) into path segments. */
export function pointerToSegments(pointer: string): string[] {
  const body = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (body === '' || body === '/') return [];
  return body
    .replace(/^\//, '')
    .split('/')
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The raw files of a specification, loaded on demand and cached. Throws only from `load`
 * when a file cannot be read or is not YAML; the parser reports those faults first.
 */
export class SourceSet {
  private readonly cache = new Map<string, LoadedSource>();
  /** Absolute URIs (schema `$id`s) that stand for local files, for `$ref`s written as URIs. */
  readonly aliases = new Map<string, string>();

  /** Loads and caches a YAML or JSON file. Throws when it cannot be read or parsed. */
  load(file: string): LoadedSource {
    const abs = resolve(file);
    let loaded = this.cache.get(abs);
    if (!loaded) {
      const lines = new LineCounter();
      const doc = parseDocument(readFileSync(abs, 'utf8'), { lineCounter: lines });
      if (doc.errors.length > 0) throw new Error(`${abs}: ${doc.errors[0]?.message ?? 'bad YAML'}`);
      loaded = { value: doc.toJS({ maxAliasCount: -1 }) as unknown, doc, lines };
      this.cache.set(abs, loaded);
    }
    return loaded;
  }

  /** The raw value at a location, or undefined when the path does not exist. */
  valueAt(location: SourceLocation): unknown {
    let node: unknown = this.load(location.file).value;
    for (const segment of location.segments) {
      if (Array.isArray(node)) node = node[Number(segment)];
      else if (isObject(node)) node = node[String(segment)];
      else return undefined;
    }
    return node;
  }

  /** The 1-based line of a location (the key's line for map members), when it exists. */
  lineOf(location: SourceLocation): number | undefined {
    try {
      const { doc, lines } = this.load(location.file);
      let node: unknown = doc.contents;
      let offset: number | undefined = (node as Node | null)?.range?.[0];
      for (const segment of location.segments) {
        if (isMap(node)) {
          const pair = node.items.find(
            (p) => isScalar(p.key) && String(p.key.value) === String(segment),
          );
          if (!pair) return undefined;
          offset = (pair.key as Node).range?.[0];
          node = pair.value;
        } else if (isSeq(node)) {
          node = node.items[Number(segment)];
          offset = (node as Node | undefined)?.range?.[0];
        } else return undefined;
      }
      return offset === undefined ? undefined : lines.linePos(offset).line;
    } catch {
      return undefined;
    }
  }

  /** Resolves a `$ref` string written in `fromFile` to the location it names. */
  resolveRef(fromFile: string, ref: string): SourceLocation {
    const hash = ref.indexOf('#');
    const filePart = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : ref.slice(hash);
    const alias = this.aliases.get(filePart);
    const file =
      alias ?? (filePart === '' ? resolve(fromFile) : resolve(dirname(fromFile), filePart));
    return { file, segments: pointerToSegments(pointer) };
  }

  /**
   * Walks `segments` from `file`, following any `$ref` met on the way (and at the end),
   * and returns where the node physically lives. Throws when a reference cannot be followed.
   */
  locate(location: SourceLocation): SourceLocation {
    let current: SourceLocation = { file: resolve(location.file), segments: [] };
    const follow = (): void => {
      for (let hops = 0; hops < 32; hops += 1) {
        const value = this.valueAt(current);
        if (!isObject(value) || typeof value.$ref !== 'string') return;
        current = this.resolveRef(current.file, value.$ref);
      }
      throw new Error(`$ref chain too long at ${current.file}`);
    };
    for (const segment of location.segments) {
      follow();
      current = { file: current.file, segments: [...current.segments, segment] };
    }
    follow();
    return current;
  }

  /**
   * Every file reachable from a node through `$ref`s, transitively (the node's own file
   * included). Unreadable targets are skipped: the parser reports broken references.
   */
  reachableFiles(start: SourceLocation): Set<string> {
    const files = new Set<string>();
    const seen = new Set<string>();
    const visit = (location: SourceLocation): void => {
      const key = `${location.file}#${location.segments.join('/')}`;
      if (seen.has(key)) return;
      seen.add(key);
      let value: unknown;
      try {
        value = this.valueAt(location);
      } catch {
        return;
      }
      files.add(location.file);
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (isObject(node)) {
          if (typeof node.$ref === 'string') visit(this.resolveRef(location.file, node.$ref));
          Object.entries(node).forEach(([k, v]) => k !== '$ref' && walk(v));
        }
      };
      walk(value);
    };
    visit({ file: resolve(start.file), segments: start.segments });
    return files;
  }
}
