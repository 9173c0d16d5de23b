// The documentation model of `parley spec docs`: messages grouped by area with their fields
// flattened into tables, error codes, requirements and prose chapters — one model, two renderers.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ERROR_CODES, type ErrorCodeInfo } from '../../schemas/errors.ts';
import type { JsonSchema, SpecMessage } from './asyncapi.ts';
import type { LoadedSpec } from './check.ts';
import { areaOf, type Requirement } from './requirements.ts';

/** One row of a message's field table; `path` is dotted, `[]` marks array items. */
export interface DocField {
  path: string;
  depth: number;
  type: string;
  required: boolean;
  constraints: string[];
  description: string;
}

/** One shape of a payload: a frame with `anyOf` variants has several. */
export interface DocVariant {
  label?: string;
  description?: string;
  fields: DocField[];
}

export interface DocMessage {
  message: SpecMessage;
  schemaName?: string;
  variants: DocVariant[];
}

export interface DocArea {
  name: string;
  description?: string;
  messages: DocMessage[];
}

export interface DocChapter {
  file: string;
  title: string;
  markdown: string;
}

export interface DocModel {
  title: string;
  version: string;
  description: string;
  areas: DocArea[];
  errors: (ErrorCodeInfo & { code: string })[];
  requirementAreas: { area: string; requirements: Requirement[] }[];
  chapters: DocChapter[];
  openapiFile: string;
}

type Schema = JsonSchema;
const MAX_DEPTH = 8;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function branches(schema: Schema): Schema[] {
  const list = schema.anyOf ?? schema.oneOf;
  return Array.isArray(list) ? list.filter(isSchema) : [];
}

/** `X | null` written as anyOf: the non-null branch, so its members are expanded. */
function nonNull(schema: Schema): Schema {
  const list = branches(schema).filter((b) => b.type !== 'null');
  return list.length === 1 && list[0] ? list[0] : schema;
}

/** A readable type: `string`, `array of object`, `object | null`, `integer`. */
export function typeOf(schema: Schema): string {
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (schema.type === 'array')
    return isSchema(schema.items) ? `array of ${typeOf(schema.items)}` : 'array';
  if (typeof schema.type === 'string') return schema.type;
  const list = branches(schema);
  if (list.length > 0) return [...new Set(list.map(typeOf))].join(' | ');
  if (isSchema(schema.properties)) return 'object';
  if (schema.const !== undefined) return typeof schema.const;
  if (Array.isArray(schema.enum))
    return [...new Set(schema.enum.map((v) => (v === null ? 'null' : typeof v)))].join(' | ');
  return 'any';
}

function range(lo: unknown, hi: unknown, what: string): string | undefined {
  if (lo === undefined && hi === undefined) return undefined;
  if (lo !== undefined && hi !== undefined)
    return lo === hi ? `${what} ${String(lo)}` : `${what} ${String(lo)}–${String(hi)}`;
  return lo !== undefined ? `${what} ≥ ${String(lo)}` : `${what} ≤ ${String(hi)}`;
}

/** pattern, format, length, bounds, item counts, enum, const, default: what a schema constrains. */
export function constraintsOf(schema: Schema): string[] {
  const out: (string | undefined)[] = [
    schema.const !== undefined ? `= ${JSON.stringify(schema.const)}` : undefined,
    Array.isArray(schema.enum)
      ? `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`
      : undefined,
    typeof schema.pattern === 'string' ? `pattern ${schema.pattern}` : undefined,
    typeof schema.format === 'string' ? `format ${schema.format}` : undefined,
    typeof schema.contentEncoding === 'string' ? `encoding ${schema.contentEncoding}` : undefined,
    range(schema.minLength, schema.maxLength, 'length'),
    range(schema.minimum, schema.maximum, 'value'),
    schema.exclusiveMinimum !== undefined
      ? `value > ${String(schema.exclusiveMinimum)}`
      : undefined,
    schema.exclusiveMaximum !== undefined
      ? `value < ${String(schema.exclusiveMaximum)}`
      : undefined,
    range(schema.minItems, schema.maxItems, 'items'),
    schema.uniqueItems === true ? 'unique items' : undefined,
    range(schema.minProperties, schema.maxProperties, 'members'),
    schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : undefined,
  ];
  if (schema.type === 'array' && isSchema(schema.items)) {
    out.push(...constraintsOf(schema.items).map((c) => `each: ${c}`));
  }
  for (const b of branches(schema))
    if (b.const !== undefined) out.push(`or = ${JSON.stringify(b.const)}`);
  return out.filter((c): c is string => c !== undefined);
}

/** The object whose members a field table expands under a property, if any. */
function expandable(schema: Schema): { object: Schema; suffix: string } | undefined {
  const s = nonNull(schema);
  if (isSchema(s.properties)) return { object: s, suffix: '.' };
  if (s.type === 'array' && isSchema(s.items)) {
    const item = nonNull(s.items);
    if (isSchema(item.properties)) return { object: item, suffix: '[].' };
  }
  return undefined;
}

/** Flattens an object schema's members into table rows, nested objects expanded. */
export function fieldsOf(schema: Schema, prefix = '', depth = 0): DocField[] {
  const rows: DocField[] = [];
  const props = isSchema(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const [name, value] of Object.entries(props)) {
    if (!isSchema(value)) continue;
    const path = `${prefix}${name}`;
    const shown = nonNull(value);
    rows.push({
      path,
      depth,
      type: typeOf(value),
      required: required.includes(name),
      constraints: constraintsOf(value),
      description: String(value.description ?? shown.description ?? ''),
    });
    const inner = expandable(value);
    if (inner && depth < MAX_DEPTH)
      rows.push(...fieldsOf(inner.object, `${path}${inner.suffix}`, depth + 1));
  }
  return rows;
}

function variantLabel(schema: Schema, index: number): string {
  const props = isSchema(schema.properties) ? schema.properties : {};
  const consts = Object.entries(props)
    .filter(([k, v]) => k !== 'type' && k !== 'v' && isSchema(v) && v.const !== undefined)
    .map(([k, v]) => `${k} = ${JSON.stringify((v as Schema).const)}`);
  return consts.length > 0
    ? consts.join(', ')
    : typeof schema.title === 'string'
      ? schema.title
      : `variant ${index + 1}`;
}

/** The payload's shapes: one for a plain object, one per branch of a top-level anyOf/oneOf. */
export function variantsOf(payload: Schema | undefined): DocVariant[] {
  if (!payload) return [];
  if (isSchema(payload.properties)) return [{ fields: fieldsOf(payload) }];
  return branches(payload).map((b, i) => ({
    label: variantLabel(b, i),
    description: typeof b.description === 'string' ? b.description : undefined,
    fields: fieldsOf(b),
  }));
}

function chapters(specDir: string): DocChapter[] {
  let files: string[];
  try {
    files = readdirSync(specDir)
      .filter((f) => f.endsWith('.md'))
      .sort();
  } catch {
    return [];
  }
  // README first, then the chapters in the order its document table links them, then the rest.
  const readme = files.find((f) => f.toLowerCase() === 'readme.md');
  const linked = readme
    ? [...readFileSync(join(specDir, readme), 'utf8').matchAll(/\]\(([\w-]+\.md)\)/g)].map(
        (m) => m[1] as string,
      )
    : [];
  const rank = (f: string): number =>
    f === readme ? -1 : linked.includes(f) ? linked.indexOf(f) : linked.length;
  files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return files.map((f) => {
    const markdown = readFileSync(join(specDir, f), 'utf8');
    const heading = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
    return { file: f, title: heading ?? basename(f, '.md'), markdown };
  });
}

/** Builds the documentation model from a loaded (and parsed) spec. */
export function buildDocModel(spec: LoadedSpec): DocModel {
  const document = spec.asyncapi.document;
  const info = document?.info();
  const tagDescriptions = new Map<string, string | undefined>(
    (info?.tags().all() ?? []).map((t) => [t.name(), t.description()]),
  );
  const areaNames = [...tagDescriptions.keys()];
  for (const m of spec.asyncapi.messages) if (!areaNames.includes(m.area)) areaNames.push(m.area);
  const areas = areaNames
    .map((name) => ({
      name,
      description: tagDescriptions.get(name),
      messages: spec.asyncapi.messages
        .filter((m) => m.area === name)
        .map((message) => ({
          message,
          schemaName: message.payloadRef ? basename(message.payloadRef.file, '.json') : undefined,
          variants: variantsOf(message.payload),
        })),
    }))
    .filter((a) => a.messages.length > 0);
  const byArea = new Map<string, Requirement[]>();
  for (const r of spec.requirements.requirements)
    byArea.set(areaOf(r), [...(byArea.get(areaOf(r)) ?? []), r]);
  return {
    title: info?.title() ?? 'Parley',
    version: info?.version() ?? '',
    description: info?.description() ?? '',
    areas,
    errors: Object.entries(ERROR_CODES).map(([code, e]) => ({ code, ...(e as ErrorCodeInfo) })),
    requirementAreas: [...byArea].map(([area, requirements]) => ({ area, requirements })),
    chapters: chapters(spec.specDir),
    openapiFile: spec.openapi.file,
  };
}
