// The generated JSON Schemas (schemas/json/*.json) in one strict draft-07 ajv instance, and a
// frame validator keyed by frame `type`: what spec check, the conformance runner and the server use.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The committed JSON Schemas of this package. */
export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'json');

/** A schema file that could not be loaded or compiled (the shape of a spec-check diagnostic). */
export interface SchemaFault {
  file: string;
  message: string;
}

/** A JSON Schema object as read from a file. */
export type SchemaObject = Record<string, unknown>;

/** One schema file: `name` is the file name without `.json` (`HelloFrame`), `key` its ajv key. */
export interface SchemaFile {
  name: string;
  file: string;
  key: string;
  schema: SchemaObject;
  /** The frame `type` values the schema accepts (`["hello"]`); empty for Content and the like. */
  frameTypes: string[];
}

/** Every schema file of a directory, registered in one ajv instance. */
export interface SchemaRegistry {
  dir: string;
  files: SchemaFile[];
  ajv: Ajv;
  /** Faults found while loading (unreadable JSON, duplicate `$id` or frame type). */
  diagnostics: SchemaFault[];
}

/** The outcome of validating a value: `pointer` is the JSON pointer of the first fault. */
export type Validation =
  { ok: true } | { ok: false; pointer: string; message: string; schema?: string };

/** Validates frames by their `type`, or any value against a named schema file. */
export interface FrameValidator {
  /** Frame types that have a schema, sorted. */
  readonly types: readonly string[];
  /** Validates a frame against the schema of its `type`; an unknown type fails at `/type`. */
  validate(frame: unknown): Validation;
  /** Validates against the schema named by file name (`Content`), `$id`, or `key#/pointer`. Throws for an unknown name. */
  validateAs(schema: string, value: unknown): Validation;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `type` constants a frame schema admits, looking through local refs and combinators. */
export function frameTypesOf(schema: SchemaObject): string[] {
  const found = new Set<string>();
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    if (!isObject(node) || seen.has(node)) return;
    seen.add(node);
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
      let target: unknown = schema;
      for (const s of node.$ref.slice(2).split('/'))
        target = isObject(target) ? target[s] : undefined;
      visit(target);
    }
    const type = isObject(node.properties) ? node.properties.type : undefined;
    if (isObject(type)) {
      if (typeof type.const === 'string') found.add(type.const);
      if (Array.isArray(type.enum) && type.enum.length === 1 && typeof type.enum[0] === 'string')
        found.add(type.enum[0]);
    }
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const)
      if (Array.isArray(node[k])) node[k].forEach(visit);
  };
  visit(schema);
  return [...found].sort();
}

/** Builds the strict draft-07 ajv instance Parley validates with (formats included). */
export function createAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: false });
  addFormats.default(ajv);
  return ajv;
}

/**
 * Reads every `*.json` of `schemaDir` and adds it to one ajv instance with `addSchema`, under
 * its `$id` (or its file name when it has none, so `"$ref": "Content.json"` still resolves).
 * Faulty files become diagnostics; throws only when the directory cannot be read.
 */
export function loadSchemaRegistry(schemaDir: string): SchemaRegistry {
  const dir = resolve(schemaDir);
  const ajv = createAjv();
  const files: SchemaFile[] = [];
  const diagnostics: SchemaFault[] = [];
  for (const entry of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const file = join(dir, entry);
    let schema: unknown;
    try {
      schema = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      diagnostics.push({ file, message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    if (!isObject(schema)) {
      diagnostics.push({ file, message: 'a schema file must hold a JSON object' });
      continue;
    }
    const key = typeof schema.$id === 'string' ? schema.$id : entry;
    try {
      ajv.addSchema(schema, typeof schema.$id === 'string' ? undefined : entry);
    } catch (error) {
      diagnostics.push({ file, message: `ajv refused the schema: ${(error as Error).message}` });
      continue;
    }
    files.push({
      name: basename(entry, '.json'),
      file,
      key,
      schema,
      frameTypes: frameTypesOf(schema),
    });
  }
  return { dir, files, ajv, diagnostics };
}

/** Finds a schema file by name (`Content`), file name, `$id` or absolute path. */
export function findSchemaFile(registry: SchemaRegistry, name: string): SchemaFile | undefined {
  return registry.files.find(
    (f) =>
      f.name === name || `${f.name}.json` === name || f.key === name || f.file === resolve(name),
  );
}

/** Compiles one schema (or a pointer inside it); throws ajv's error for an invalid or strict-mode-faulty schema. */
export function compile(
  registry: SchemaRegistry,
  file: SchemaFile,
  pointer = '',
): ValidateFunction {
  const fn = registry.ajv.getSchema(`${file.key}${pointer}`);
  if (!fn) throw new Error(`no schema at ${file.key}${pointer}`);
  return fn;
}

/** Compiles every schema file; each one that fails becomes a diagnostic. */
export function compileAll(registry: SchemaRegistry): SchemaFault[] {
  const out: SchemaFault[] = [];
  for (const file of registry.files) {
    try {
      compile(registry, file);
    } catch (error) {
      out.push({
        file: file.file,
        message: `the schema does not compile: ${(error as Error).message}`,
      });
    }
  }
  return out;
}

/** Turns ajv's first error into a pointer to the offending member and a message. */
export function describeError(error: ErrorObject | undefined): {
  pointer: string;
  message: string;
} {
  if (!error) return { pointer: '', message: 'invalid' };
  const params = error.params as Record<string, unknown>;
  const member = params.missingProperty ?? params.additionalProperty ?? params.propertyName;
  const pointer =
    typeof member === 'string'
      ? `${error.instancePath}/${member.replace(/~/g, '~0').replace(/\//g, '~1')}`
      : error.instancePath;
  const detail =
    error.keyword === 'additionalProperties'
      ? `must NOT have additional property '${String(params.additionalProperty)}'`
      : error.keyword === 'enum' || error.keyword === 'const'
        ? `${error.message ?? 'invalid'}: ${JSON.stringify(params.allowedValues ?? params.allowedValue)}`
        : (error.message ?? 'invalid');
  return { pointer, message: `${error.instancePath || '/'} ${detail}` };
}

/**
 * The error to report. A frame of several variants (`anyOf`: `auth`, `message.send`) fails each
 * variant on its own first error; the variant whose error lies deepest in the frame is the one the
 * sender meant (a group send with a bad `body` is not "missing `to`"), the first one on a tie.
 */
function reportedError(errors: readonly ErrorObject[] | null | undefined): ErrorObject | undefined {
  const last = errors?.[errors.length - 1];
  if (!errors || last?.keyword !== 'anyOf' || last.instancePath !== '') return errors?.[0];
  const depth = (e: ErrorObject): number => describeError(e).pointer.split('/').length;
  let best = errors[0];
  for (const e of errors.slice(0, -1)) if (depth(e) > depth(best!)) best = e;
  return best;
}

/** Runs a compiled validator and shapes its result. */
export function runValidator(fn: ValidateFunction, value: unknown, schema?: string): Validation {
  if (fn(value)) return { ok: true };
  return { ok: false, ...describeError(reportedError(fn.errors)), schema };
}

/** Validators over a schema directory, one per directory and process: compiling costs. */
const validatorsByDir = new Map<string, FrameValidator>();

/**
 * A frame validator over the registry (or over `schemaDir`, which it loads once per process: a
 * provider restarted in the same process reuses what its predecessor compiled). Schemas compile on
 * first use; `validate` throws only when a schema itself is broken (ajv's compile error).
 */
export function createFrameValidator(source: string | SchemaRegistry): FrameValidator {
  if (typeof source !== 'string') return frameValidatorOf(source);
  const dir = resolve(source);
  let validator = validatorsByDir.get(dir);
  if (validator === undefined) {
    validator = frameValidatorOf(loadSchemaRegistry(dir));
    validatorsByDir.set(dir, validator);
  }
  return validator;
}

function frameValidatorOf(registry: SchemaRegistry): FrameValidator {
  const byType = new Map<string, SchemaFile>();
  for (const file of registry.files)
    for (const t of file.frameTypes) if (!byType.has(t)) byType.set(t, file);
  const types = [...byType.keys()].sort();
  return {
    types,
    validate(frame) {
      if (!isObject(frame))
        return { ok: false, pointer: '', message: 'a frame must be a JSON object' };
      const file = typeof frame.type === 'string' ? byType.get(frame.type) : undefined;
      if (!file)
        return {
          ok: false,
          pointer: '/type',
          message: `/type names no frame type: ${JSON.stringify(frame.type)}`,
        };
      return runValidator(compile(registry, file), frame, file.name);
    },
    validateAs(schema, value) {
      const hash = schema.indexOf('#');
      const name = hash < 0 ? schema : schema.slice(0, hash);
      const file = findSchemaFile(registry, name);
      if (!file) throw new Error(`no schema named ${name} in ${registry.dir}`);
      return runValidator(
        compile(registry, file, hash < 0 ? '' : schema.slice(hash)),
        value,
        file.name,
      );
    },
  };
}
