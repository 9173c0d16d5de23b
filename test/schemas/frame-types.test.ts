// Checks the frame table against the frame types, the schema files and the examples (spec/protocol.md "Frames").
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { FRAME_EXAMPLES } from '../../schemas/examples.ts';
import { CONTENT_SCHEMAS, FRAME_TYPES } from '../../schemas/frame-types.ts';
import type { FrameTypeInfo } from '../../schemas/frame-types.ts';
import { SCHEMAS_DIR } from '../../schemas/generator.ts';
import { committedFileNames, committedSchemas, validatorFor } from './schema-files.ts';

const byType: Readonly<Record<string, FrameTypeInfo>> = FRAME_TYPES;
const table = Object.entries(byType);

/** Exported type names ending in "Frame", declared in schemas/frames/*.ts. */
function frameTypeNames(): string[] {
  const dir = path.join(SCHEMAS_DIR, 'frames');
  const names: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = ts.createSourceFile(
      file,
      readFileSync(path.join(dir, file), 'utf8'),
      ts.ScriptTarget.ES2022,
    );
    for (const statement of source.statements) {
      const exported = ts
        .getModifiers(statement as ts.HasModifiers)
        ?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue;
      if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        if (statement.name.text.endsWith('Frame')) names.push(statement.name.text);
      }
    }
  }
  return names.sort();
}

/** The `type` constants a schema accepts, following its top-level anyOf. */
function acceptedTypes(schema: Record<string, unknown>): string[] {
  const definitions = (schema.definitions ?? {}) as Record<string, Record<string, unknown>>;
  const variants = Array.isArray(schema.anyOf)
    ? (schema.anyOf as { $ref: string }[]).map(
        (ref) => definitions[ref.$ref.slice('#/definitions/'.length)] ?? {},
      )
    : [schema];
  return variants.map((variant) => {
    const properties = variant.properties as Record<string, { const?: string }>;
    return String(properties.type?.const);
  });
}

describe('FRAME_TYPES', () => {
  it('covers every frame type declared in schemas/frames, and nothing else', () => {
    const schemas = table.map(([, info]) => info.schema).sort();
    expect(schemas).to.eql(frameTypeNames());
  });

  it('covers every schema file, with the content schemas the only others', () => {
    const expected = [...table.map(([, info]) => info.schema), ...CONTENT_SCHEMAS]
      .map((name) => `${name}.json`)
      .sort();
    expect(committedFileNames()).to.eql(expected);
  });

  it('names schemas after the wire type: PascalCase of the type plus "Frame"', () => {
    for (const [type, info] of table) {
      const pascal = type
        .split('.')
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join('');
      expect(info.schema, type).to.equal(`${pascal}Frame`);
    }
  });

  it('points each type at a schema that accepts exactly that type', () => {
    const byName = new Map(committedSchemas().map(({ name, schema }) => [name, schema]));
    for (const [type, info] of table) {
      const schema = byName.get(info.schema);
      expect(schema, info.schema).to.not.equal(undefined);
      expect(new Set(acceptedTypes(schema ?? {})), type).to.eql(new Set([type]));
    }
  });

  it('pairs every request with its replies and every reply with its requests', () => {
    for (const [type, info] of table) {
      if (info.direction === 'client') {
        expect(info.replyTo, type).to.equal(undefined);
        expect(info.replies, type).to.include('error');
        for (const reply of info.replies ?? []) {
          if (reply === 'error') continue;
          expect(byType[reply]?.replyTo, `${type} → ${reply}`).to.include(type);
        }
      } else {
        expect(info.replies, type).to.equal(undefined);
        for (const request of info.replyTo ?? []) {
          expect(byType[request]?.replies, `${request} → ${type}`).to.include(type);
        }
      }
    }
  });

  it('has an example of every frame type that its schema accepts and every other schema refuses', () => {
    for (const [type, info] of table) {
      const example = FRAME_EXAMPLES[type as keyof typeof FRAME_EXAMPLES];
      const validate = validatorFor(info.schema);
      expect(validate(example), `${type}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      for (const [other, otherInfo] of table) {
        if (other === type) continue;
        expect(validatorFor(otherInfo.schema)(example), `${type} as ${other}`).to.equal(false);
      }
    }
  });
});
