// The frame validator over a schema directory (the minimal fixture): keyed by frame type, strict
// draft-07 ajv, cross-file $refs, and a JSON pointer to the first offending member.
import { expect } from 'chai';
import {
  createFrameValidator,
  describeError,
  frameTypesOf,
  loadSchemaRegistry,
} from '../../schemas/validator.ts';
import { MINIMAL_SCHEMA_DIR } from '../conformance/spec-fixtures.ts';

const hello = { v: 1, type: 'hello', id: 'c1', versions: [1] };

describe('the frame validator', function () {
  const validator = createFrameValidator(MINIMAL_SCHEMA_DIR);

  it('knows the frame types of every frame schema and none of Content', function () {
    expect(validator.types).to.deep.equal(['hello', 'message', 'welcome']);
  });

  it('accepts alice’s valid hello', function () {
    expect(validator.validate(hello)).to.deep.equal({ ok: true });
  });

  it('points at the missing member when a required one is dropped', function () {
    const rest: Record<string, unknown> = { ...hello };
    delete rest.id;
    expect(validator.validate(rest)).to.include({
      ok: false,
      pointer: '/id',
      schema: 'HelloFrame',
    });
  });

  it('points at the unknown member when one is added', function () {
    expect(validator.validate({ ...hello, mallory: true })).to.include({
      ok: false,
      pointer: '/mallory',
    });
  });

  it('points at a member that breaks its pattern', function () {
    expect(validator.validate({ ...hello, id: 'has spaces' })).to.include({
      ok: false,
      pointer: '/id',
    });
  });

  it('refuses an unknown frame type at /type and a non-object frame at the root', function () {
    expect(validator.validate({ v: 1, type: 'gossip' })).to.include({
      ok: false,
      pointer: '/type',
    });
    expect(validator.validate([hello])).to.include({ ok: false, pointer: '' });
  });

  it('follows a $ref into another schema file by its $id', function () {
    const frame = {
      v: 1,
      type: 'message',
      id: 'd1',
      from: 'bob@chat.example',
      body: 'AA',
      content: { v: 1, kind: 'attachment', attachments: [{ blobId: 'b1' }] },
    };
    expect(validator.validate(frame)).to.include({
      ok: false,
      pointer: '/content/attachments/0/size',
    });
  });

  it('validates any value against a schema named by file name, and throws for an unknown name', function () {
    expect(validator.validateAs('Content', { v: 1, kind: 'text', body: 'hi' })).to.deep.equal({
      ok: true,
    });
    expect(validator.validateAs('Content.json', { v: 1, kind: 'poem' })).to.include({
      ok: false,
      pointer: '/kind',
    });
    expect(() => validator.validateAs('Nothing', {})).to.throw(/no schema named Nothing/);
  });
});

describe('the schema registry', function () {
  it('registers every file under its $id and reports no fault for the fixture', function () {
    const registry = loadSchemaRegistry(MINIMAL_SCHEMA_DIR);
    expect(registry.diagnostics).to.deep.equal([]);
    expect(registry.files.map((f) => f.key)).to.include(
      'https://parley.example/schemas/Content.json',
    );
  });

  it('finds frame types behind local refs and anyOf variants', function () {
    const schema = {
      anyOf: [{ $ref: '#/definitions/A' }, { $ref: '#/definitions/B' }],
      definitions: {
        A: { properties: { type: { const: 'auth' }, method: { const: 'device' } } },
        B: { properties: { type: { enum: ['auth'] }, method: { const: 'partner' } } },
      },
    };
    expect(frameTypesOf(schema)).to.deep.equal(['auth']);
  });

  it('describes an error without a member as a pointer to the instance path', function () {
    const error = {
      keyword: 'maxLength',
      instancePath: '/body',
      schemaPath: '',
      params: { limit: 3 },
      message: 'must NOT have more than 3 characters',
    };
    expect(describeError(error)).to.deep.equal({
      pointer: '/body',
      message: '/body must NOT have more than 3 characters',
    });
  });
});
