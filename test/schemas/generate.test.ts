// Checks that schemas/json is exactly what `npm run schemas` generates from the TypeScript types.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { JSON_DIR, generateSchemaFiles, schemaId } from '../../schemas/generator.ts';
import { committedFileNames } from './schema-files.ts';

describe('generated JSON Schemas (schemas/json)', function () {
  this.timeout(60_000);
  let generated: Map<string, string>;

  before(() => {
    generated = generateSchemaFiles();
  });

  it('regenerating the schemas yields exactly the committed files, byte for byte', () => {
    const differing = [...generated]
      .filter(([file, text]) => {
        try {
          return readFileSync(path.join(JSON_DIR, file), 'utf8') !== text;
        } catch {
          return true;
        }
      })
      .map(([file]) => file);
    expect(differing, 'schemas/json files differ from the types; run `npm run schemas`').to.eql([]);
  });

  it('schemas/json holds no file the generator does not write', () => {
    const stray = committedFileNames().filter((file) => !generated.has(file));
    expect(stray, 'stray files in schemas/json').to.eql([]);
  });

  it('generating twice gives identical bytes', () => {
    expect([...generateSchemaFiles()]).to.eql([...generated]);
  });

  it('every file carries its draft-07 dialect, its $id, a title and a description', () => {
    for (const [file, text] of generated) {
      const name = file.slice(0, -'.json'.length);
      const schema = JSON.parse(text) as Record<string, unknown>;
      expect(schema.$schema, file).to.equal('http://json-schema.org/draft-07/schema#');
      expect(schema.$id, file).to.equal(schemaId(name));
      expect(schema.title, file).to.equal(name);
      expect(schema.description, file).to.be.a('string').and.not.equal('');
      expect(text.endsWith('}\n'), `${file} ends in one newline`).to.equal(true);
    }
  });

  it('every reference stays inside its own file', () => {
    for (const [file, text] of generated) {
      const refs = [...text.matchAll(/"\$ref": "([^"]*)"/g)].map((match) => match[1] ?? '');
      const outside = refs.filter((ref) => !ref.startsWith('#/definitions/'));
      expect(outside, file).to.eql([]);
      const definitions = Object.keys(
        (JSON.parse(text) as { definitions?: Record<string, unknown> }).definitions ?? {},
      );
      const dangling = refs.filter(
        (ref) => !definitions.includes(decodeURIComponent(ref.slice('#/definitions/'.length))),
      );
      expect(dangling, file).to.eql([]);
    }
  });
});
