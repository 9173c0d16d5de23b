/**
 * The fuzzer's seed corpus: the client-to-provider example frames of spec/messages/*.yaml (real
 * signatures, real Signal bodies) and the JSON Schema of each client frame type (schemas/json/),
 * which the schema-aware mutators read to know what each member should be.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FRAME_TYPES, type ClientFrameType } from '../../schemas/frame-types.ts';
import { SCHEMA_DIR } from '../../schemas/validator.ts';

/** A JSON Schema node, as loosely as the mutators read it. */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  maximum?: number;
  minimum?: number;
  $ref?: string;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  definitions?: Record<string, SchemaNode>;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One client frame type: its valid examples and its schema. */
export interface Seed {
  readonly type: ClientFrameType;
  readonly examples: readonly JsonObject[];
  readonly schema: SchemaNode;
}

const MESSAGES_DIR = new URL('../../spec/messages/', import.meta.url).pathname;

function isClientType(type: unknown): type is ClientFrameType {
  return (
    typeof type === 'string' &&
    Object.hasOwn(FRAME_TYPES, type) &&
    FRAME_TYPES[type as keyof typeof FRAME_TYPES].direction === 'client'
  );
}

/** Every client frame type with at least one example, in a stable order. */
export function loadSeeds(): Seed[] {
  const examples = new Map<ClientFrameType, JsonObject[]>();
  for (const file of readdirSync(MESSAGES_DIR).sort()) {
    if (!file.endsWith('.yaml')) continue;
    const doc = parse(readFileSync(join(MESSAGES_DIR, file), 'utf8')) as {
      messages?: Record<string, { examples?: { payload?: JsonObject }[] }>;
    };
    for (const message of Object.values(doc.messages ?? {}))
      for (const example of message.examples ?? []) {
        const payload = example.payload;
        if (!payload || !isClientType(payload.type)) continue;
        const list = examples.get(payload.type) ?? [];
        list.push(payload);
        examples.set(payload.type, list);
      }
  }
  return [...examples.keys()].sort().map((type) => ({
    type,
    examples: examples.get(type)!,
    schema: JSON.parse(
      readFileSync(join(SCHEMA_DIR, `${FRAME_TYPES[type].schema}.json`), 'utf8'),
    ) as SchemaNode,
  }));
}

/** Follows a local `$ref` (and a lone `anyOf`/`oneOf` branch) to the node that describes a value. */
export function resolve(root: SchemaNode, node: SchemaNode | undefined): SchemaNode | undefined {
  let n = node;
  for (let hops = 0; n?.$ref !== undefined && hops < 16; hops++) {
    const name = n.$ref.replace(/^#\/definitions\//, '');
    n = root.definitions?.[name];
  }
  return n;
}
