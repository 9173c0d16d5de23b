// Test support for test/schemas: the committed schema files and one strict draft-07 ajv instance holding them all.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { JSON_DIR } from '../../schemas/generator.ts';

/** A schema file as committed: its name without `.json` and its parsed content. */
export interface CommittedSchema {
  readonly name: string;
  readonly schema: Record<string, unknown>;
}

/** The file names in schemas/json, sorted. */
export function committedFileNames(): string[] {
  return readdirSync(JSON_DIR).sort();
}

/** Every committed schema file, parsed. */
export function committedSchemas(): CommittedSchema[] {
  return committedFileNames()
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({
      name: file.slice(0, -'.json'.length),
      schema: JSON.parse(readFileSync(path.join(JSON_DIR, file), 'utf8')) as Record<
        string,
        unknown
      >,
    }));
}

/** A strict ajv (draft-07, the default class) with ajv-formats. */
export function strictAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats.default(ajv);
  return ajv;
}

let validators: Map<string, ValidateFunction> | undefined;

/** The compiled validator of one committed schema, by type name (`HelloFrame`). */
export function validatorFor(name: string): ValidateFunction {
  if (validators === undefined) {
    const ajv = strictAjv();
    validators = new Map(committedSchemas().map(({ name: n, schema }) => [n, ajv.compile(schema)]));
  }
  const validate = validators.get(name);
  if (validate === undefined) throw new Error(`no schema file ${name}.json`);
  return validate;
}
