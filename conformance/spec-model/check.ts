// `parley spec check` without the printing: loads every part of the specification (AsyncAPI,
// JSON Schemas, OpenAPI, requirement catalogue, prose) and collects every disagreement as diagnostics.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAsyncApi, type AsyncApiModel } from './asyncapi.ts';
import { sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import { checkExamples, checkSchemaUsage } from './examples.ts';
import { checkOpenApi, type OpenApiSummary } from './openapi.ts';
import { loadRequirements, type RequirementsView } from './requirements.ts';
import {
  compileAll,
  createAjv,
  loadSchemaRegistry,
  type SchemaRegistry,
} from '../../schemas/validator.ts';

/** Where the specification lives; `schemaDir` defaults to `<specDir>/../schemas/json`. */
export interface SpecLocation {
  specDir: string;
  schemaDir?: string;
}

/** Every part of the specification, loaded once. */
export interface LoadedSpec {
  specDir: string;
  schemaDir: string;
  asyncapi: AsyncApiModel;
  schemas: SchemaRegistry;
  openapi: OpenApiSummary;
  requirements: RequirementsView;
  /** Every diagnostic of every part, sorted; includes info and hint diagnostics. */
  diagnostics: Diagnostic[];
}

/** Counts for the summary line. */
export interface SpecCounts {
  messages: number;
  examples: number;
  requirements: number;
  schemas: number;
}

/** The spec-relative default of the schema directory. */
export function defaultSchemaDir(specDir: string): string {
  return resolve(specDir, '..', 'schemas', 'json');
}

function emptyRegistry(dir: string, diagnostics: Diagnostic[]): SchemaRegistry {
  return { dir, files: [], ajv: createAjv(), diagnostics };
}

/**
 * Loads and cross-checks the specification. Never throws for a faulty spec: each fault is a
 * diagnostic. The checks: parser diagnostics; schema files load and compile; every example
 * validates; every schema serves a message; OpenAPI is 3.1.x with registered error codes;
 * catalogue, prose and errors table agree.
 */
export async function loadSpec(location: SpecLocation): Promise<LoadedSpec> {
  const specDir = resolve(location.specDir);
  const schemaDir = resolve(location.schemaDir ?? defaultSchemaDir(specDir));
  const diagnostics: Diagnostic[] = [];
  if (!existsSync(specDir))
    diagnostics.push({ file: specDir, message: 'the spec directory does not exist' });
  const asyncapi = await loadAsyncApi(specDir);
  diagnostics.push(...asyncapi.diagnostics);
  const schemas = existsSync(schemaDir)
    ? loadSchemaRegistry(schemaDir)
    : emptyRegistry(schemaDir, [
        { file: schemaDir, message: 'the schema directory does not exist' },
      ]);
  diagnostics.push(...schemas.diagnostics);
  if (schemas.files.length > 0) {
    diagnostics.push(...compileAll(schemas));
    if (asyncapi.document)
      diagnostics.push(...checkExamples(asyncapi, schemas), ...checkSchemaUsage(asyncapi, schemas));
  }
  const openapi = checkOpenApi(specDir);
  diagnostics.push(...openapi.diagnostics);
  const requirements = loadRequirements(specDir);
  diagnostics.push(...requirements.diagnostics);
  return {
    specDir,
    schemaDir,
    asyncapi,
    schemas,
    openapi: openapi.summary,
    requirements,
    diagnostics: sortDiagnostics(dedupe(diagnostics)),
  };
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = JSON.stringify([d.file, d.line, d.path, d.message]);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** The counts the summary line reports. */
export function countSpec(spec: LoadedSpec): SpecCounts {
  return {
    messages: spec.asyncapi.messages.length,
    examples: spec.asyncapi.messages.reduce((n, m) => n + m.examples.length, 0),
    requirements: spec.requirements.requirements.length,
    schemas: spec.schemas.files.length,
  };
}
