// Checks that every generated schema compiles under ajv 8 strict mode with ajv-formats (draft-07).
import { expect } from 'chai';
import { committedSchemas, strictAjv } from './schema-files.ts';

describe('schemas/json under strict ajv', () => {
  const schemas = committedSchemas();

  it('finds schema files to check', () => {
    expect(schemas.length).to.be.greaterThan(40);
  });

  for (const { name, schema } of schemas) {
    it(`compiles ${name}.json in strict mode`, () => {
      const ajv = strictAjv();
      expect(() => ajv.compile(schema)).not.to.throw();
    });
  }

  it('compiles all files together in one instance, each $id once', () => {
    const ajv = strictAjv();
    for (const { schema } of schemas) ajv.addSchema(schema);
    for (const { schema } of schemas) expect(ajv.getSchema(String(schema.$id))).to.be.a('function');
  });
});
