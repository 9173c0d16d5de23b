/**
 * `npm run schemas`: writes schemas/json/<TypeName>.json from the TypeScript types and removes
 * stale schema files. Spec: the JSON Schemas that spec/asyncapi.yaml references.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JSON_DIR, generateSchemaFiles } from './generator.ts';

const files = generateSchemaFiles();
mkdirSync(JSON_DIR, { recursive: true });
for (const existing of readdirSync(JSON_DIR)) {
  if (!files.has(existing)) rmSync(path.join(JSON_DIR, existing));
}
for (const [name, text] of files) writeFileSync(path.join(JSON_DIR, name), text);
console.log(`wrote ${files.size} schemas to ${path.relative(process.cwd(), JSON_DIR) || '.'}`);
