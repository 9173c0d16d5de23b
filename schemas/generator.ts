/**
 * Builds the JSON Schemas (draft-07) of every frame and content type from the TypeScript types,
 * with typescript-json-schema; deterministic, so regenerating yields identical bytes.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as TJS from 'typescript-json-schema';
import { CONTENT_SCHEMAS, FRAME_TYPES } from './frame-types.ts';

/** The directory of the TypeScript sources. */
export const SCHEMAS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Where the generated schema files live. */
export const JSON_DIR = path.join(SCHEMAS_DIR, 'json');

/** The base of every schema `$id`. */
export const SCHEMA_ID_BASE = 'https://schemas.parley.invalid/v1/';

/** The JSON Schema dialect of every file. */
export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';

/** The source files that declare wire types. */
const SOURCE_FILES = [
  'common.ts',
  'content.ts',
  'errors.ts',
  'frame-types.ts',
  'frames/envelope.ts',
  'frames/session.ts',
  'frames/error.ts',
  'frames/accounts.ts',
  'frames/keys.ts',
  'frames/messages.ts',
  'frames/consent.ts',
  'frames/attachments.ts',
  'frames/groups.ts',
].map((file) => path.join(SCHEMAS_DIR, file));

/** Every type that gets its own schema file: one per frame type, then the content types. */
export function schemaNames(): string[] {
  return [...Object.values(FRAME_TYPES).map((info) => info.schema), ...CONTENT_SCHEMAS];
}

/** The `$id` of a schema file. */
export function schemaId(name: string): string {
  return `${SCHEMA_ID_BASE}${name}.json`;
}

/** A JSON value as the generator emits it. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Schema keywords in the order a reader expects; others follow alphabetically. */
const KEYWORD_ORDER = [
  '$schema',
  '$id',
  '$ref',
  'title',
  'description',
  'type',
  'const',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'anyOf',
  'oneOf',
  'allOf',
  'definitions',
];

/** Envelope members (and a content's `kind`) lead every object's `properties`; the rest keep declaration order. */
const ENVELOPE_MEMBERS = ['v', 'type', 'id', 're', 'kind'];

function keywordRank(key: string): number {
  const rank = KEYWORD_ORDER.indexOf(key);
  return rank === -1 ? KEYWORD_ORDER.length : rank;
}

/**
 * Orders keys stably: keywords by KEYWORD_ORDER, definitions by name, properties as declared
 * (declaration order is part of the source, so it is stable too).
 */
function canonical(value: Json, parentKey?: string): Json {
  if (Array.isArray(value)) return value.map((item) => canonical(item));
  if (value === null || typeof value !== 'object') return value;
  let keys = Object.keys(value);
  if (parentKey === 'definitions') keys.sort();
  else if (parentKey === 'properties') {
    const envelope = ENVELOPE_MEMBERS.filter((key) => keys.includes(key));
    keys = [...envelope, ...keys.filter((key) => !envelope.includes(key))];
  } else {
    keys.sort((a, b) => keywordRank(a) - keywordRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }
  const out: { [key: string]: Json } = {};
  for (const key of keys) out[key] = canonical(value[key] as Json, key);
  return out;
}

function buildGenerator(): TJS.JsonSchemaGenerator {
  const program = TJS.getProgramFromFiles(SOURCE_FILES, {
    strict: true,
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const generator = TJS.buildGenerator(program, {
    ref: true,
    aliasRef: false,
    topRef: false,
    required: true,
    noExtraProps: true,
    strictNullChecks: true,
    titles: false,
    defaultProps: false,
    constAsEnum: false,
    uniqueNames: false,
  });
  if (generator === null) throw new Error('typescript-json-schema could not compile schemas/');
  return generator;
}

/**
 * typescript-json-schema loses the alias of an array's element type (`DeviceId[]` becomes
 * `number[]`), so such arrays name it with `@items {"$ref": "DeviceId"}`. This replaces those
 * references to TypeScript names with the alias's own schema, inlined like every other alias.
 */
function inlineTypeRefs(value: Json, generator: TJS.JsonSchemaGenerator): Json {
  if (Array.isArray(value)) return value.map((item) => inlineTypeRefs(item, generator));
  if (value === null || typeof value !== 'object') return value;
  const { $ref, ...rest } = value;
  if (typeof $ref === 'string' && !$ref.startsWith('#')) {
    const alias = generator.getSchemaForSymbol($ref, false) as { [key: string]: Json };
    delete alias.$schema;
    if ('definitions' in alias) throw new Error(`@items alias ${$ref} must be a primitive alias`);
    return inlineTypeRefs({ ...alias, ...rest }, generator);
  }
  const out: { [key: string]: Json } = {};
  for (const [key, item] of Object.entries(value)) out[key] = inlineTypeRefs(item, generator);
  return out;
}

/** Generates every schema: a map from file name (`<TypeName>.json`) to the file's exact text. */
export function generateSchemaFiles(): Map<string, string> {
  const generator = buildGenerator();
  const files = new Map<string, string>();
  for (const name of schemaNames()) {
    const generated = generator.getSchemaForSymbol(name, true) as Json;
    const raw = inlineTypeRefs(generated, generator) as { [key: string]: Json };
    const { description } = raw;
    if (typeof description !== 'string' || description === '') {
      throw new Error(`${name} has no TSDoc summary to use as its schema description`);
    }
    const schema = canonical({
      ...raw,
      $schema: JSON_SCHEMA_DIALECT,
      $id: schemaId(name),
      title: name,
    });
    files.set(`${name}.json`, `${JSON.stringify(schema, null, 2)}\n`);
  }
  return files;
}
