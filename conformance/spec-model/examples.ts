// Checks the AsyncAPI messages against the JSON Schemas: every example validates against its
// payload schema (the parser does not check examples), and every schema file serves a message.
import { relative } from 'node:path';
import type { AsyncApiModel, SpecMessage } from './asyncapi.ts';
import { joinPath, type Diagnostic } from './diagnostics.ts';
import {
  compile,
  findSchemaFile,
  runValidator,
  type SchemaRegistry,
} from '../../schemas/validator.ts';

/** Where a message is written, as a diagnostic location. */
function at(
  message: SpecMessage,
  extra: (string | number)[] = [],
  line = message.line,
): Omit<Diagnostic, 'message'> {
  return {
    file: message.location.file,
    path: joinPath([...message.location.segments, ...extra]),
    line,
  };
}

/**
 * Validates every example of every message against the schema its payload references.
 * Reports the message, the example index and name, and ajv's instance path of the first fault.
 */
export function checkExamples(model: AsyncApiModel, registry: SchemaRegistry): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const message of model.messages) {
    if (!message.payloadRef) {
      out.push({
        ...at(message, ['payload']),
        message: `message ${message.name}: payload must be a $ref to a file in ${relative(process.cwd(), registry.dir) || '.'}`,
      });
      continue;
    }
    const file = findSchemaFile(registry, message.payloadRef.file);
    if (!file) {
      out.push({
        ...at(message, ['payload']),
        message: `message ${message.name}: payload references ${message.payloadRef.file}, which is not a schema file of ${registry.dir}`,
      });
      continue;
    }
    if (message.examples.length === 0) {
      out.push({
        ...at(message),
        severity: 'warning',
        message: `message ${message.name} has no example`,
      });
      continue;
    }
    let validate;
    try {
      validate = compile(registry, file, message.payloadRef.pointer);
    } catch (error) {
      out.push({
        file: file.file,
        message: `schema of message ${message.name} does not compile: ${(error as Error).message}`,
      });
      continue;
    }
    for (const example of message.examples) {
      const result = runValidator(validate, example.payload, file.name);
      if (result.ok) continue;
      const label = example.name ? ` ("${example.name}")` : '';
      out.push({
        file: example.location.file,
        path: joinPath([...example.location.segments, 'payload']),
        line: example.line,
        message: `message ${message.name} example ${example.index}${label} does not match ${file.name}.json: ${result.message}`,
      });
    }
  }
  return out;
}

/** Whether a schema is an `anyOf`/`oneOf` of `#/definitions/<name>` references, all to `names`. */
function isUnionOf(schema: Record<string, unknown>, names: ReadonlySet<string>): boolean {
  const branches = schema.anyOf ?? schema.oneOf;
  if (!Array.isArray(branches) || branches.length === 0) return false;
  return branches.every((branch: unknown) => {
    const ref = (branch as { $ref?: unknown } | null)?.$ref;
    return typeof ref === 'string' && ref.startsWith('#/definitions/') && names.has(ref.slice(14));
  });
}

/**
 * Reports every schema file the AsyncAPI document does not use. A file counts as used when a
 * message payload or a `components.schemas` entry reaches it through `$ref`s, transitively, or
 * when a reached schema embeds it as a definition of the same name (the generator inlines
 * `AttachmentPointer` into the content schemas), or when it is the union of used schemas: an
 * `anyOf` or `oneOf` of nothing but references to its definitions named after used schemas
 * (`Content`, the union of the `content` channel's payloads, which nothing on the wire carries).
 */
export function checkSchemaUsage(model: AsyncApiModel, registry: SchemaRegistry): Diagnostic[] {
  const used = new Set<string>();
  for (const f of registry.files) model.sources.aliases.set(f.key, f.file);
  for (const message of model.messages) {
    const start = {
      file: message.location.file,
      segments: [...message.location.segments, 'payload'],
    };
    for (const file of model.sources.reachableFiles(start)) used.add(file);
  }
  for (const file of model.sources.reachableFiles({
    file: model.file,
    segments: ['components', 'schemas'],
  })) {
    used.add(file);
  }
  const embedded = new Set<string>();
  for (const f of registry.files) {
    const definitions = f.schema.definitions;
    if (used.has(f.file) && typeof definitions === 'object' && definitions !== null) {
      for (const name of Object.keys(definitions)) embedded.add(name);
    }
  }
  const usedNames = new Set(registry.files.filter((f) => used.has(f.file)).map((f) => f.name));
  return registry.files
    .filter((f) => !used.has(f.file) && !embedded.has(f.name) && !isUnionOf(f.schema, usedNames))
    .map((f) => ({
      file: f.file,
      message: `schema ${f.name} is not used by the AsyncAPI document (no message payload or components.schemas entry reaches it through $ref or embeds it as a definition)`,
    }));
}
