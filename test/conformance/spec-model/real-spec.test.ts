// The real specification in spec/ and schemas/json/: parses without errors or warnings, every
// example validates, every schema serves a message, and broken examples of every area are refused.
import { expect } from 'chai';
import {
  loadAsyncApi,
  type AsyncApiModel,
  type SpecMessage,
} from '../../../conformance/spec-model/asyncapi.ts';
import { isFailing } from '../../../conformance/spec-model/diagnostics.ts';
import { checkExamples, checkSchemaUsage } from '../../../conformance/spec-model/examples.ts';
import {
  createFrameValidator,
  findSchemaFile,
  loadSchemaRegistry,
  type FrameValidator,
  type SchemaRegistry,
  type Validation,
} from '../../../schemas/validator.ts';
import { SCHEMA_DIR, SPEC_DIR } from '../spec-fixtures.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The payload's object shapes: itself, or each branch of a top-level anyOf/oneOf. */
function shapes(schema: Obj | undefined): Obj[] {
  if (!schema) return [];
  if (isObj(schema.properties)) return [schema];
  const list = schema.anyOf ?? schema.oneOf;
  return Array.isArray(list) ? list.filter(isObj).filter((b) => isObj(b.properties)) : [];
}

describe('the real Parley specification', function () {
  this.timeout(60_000);
  let model: AsyncApiModel;
  let registry: SchemaRegistry;
  let validator: FrameValidator;

  before(async function () {
    model = await loadAsyncApi(SPEC_DIR);
    registry = loadSchemaRegistry(SCHEMA_DIR);
    validator = createFrameValidator(registry);
  });

  /** Validates like the conformance runner: frames by `type`, content by its schema file. */
  function validate(message: SpecMessage, value: unknown): Validation {
    const file = message.payloadRef && findSchemaFile(registry, message.payloadRef.file);
    if (!file) throw new Error(`message ${message.name} has no schema file`);
    return file.frameTypes.length > 0
      ? validator.validate(value)
      : validator.validateAs(file.name, value);
  }

  it('parses with no error or warning diagnostic', function () {
    expect(model.document, 'document').to.not.equal(undefined);
    expect(model.diagnostics.filter(isFailing)).to.deep.equal([]);
  });

  it('loads every schema file into strict ajv without a fault', function () {
    expect(registry.files.length).to.be.greaterThan(10);
    expect(registry.diagnostics).to.deep.equal([]);
  });

  it('gives every message at least one example and validates each against its schema', function () {
    for (const message of model.messages)
      expect(message.examples.length, message.name).to.be.greaterThan(0);
    expect(checkExamples(model, registry)).to.deep.equal([]);
    for (const message of model.messages) {
      for (const example of message.examples) {
        expect(
          validate(message, example.payload),
          `${message.name} example ${example.index}`,
        ).to.deep.equal({ ok: true });
      }
    }
  });

  it('uses every schema file from some message payload', function () {
    expect(checkSchemaUsage(model, registry)).to.deep.equal([]);
  });

  it('counts Content as used only while it is the union of used payloads (no components.schemas entry)', function () {
    const withContent = (schema: Obj): SchemaRegistry => ({
      ...registry,
      files: registry.files.map((f) => (f.name === 'Content' ? { ...f, schema } : f)),
    });
    const content = registry.files.find((f) => f.name === 'Content');
    expect(content, 'Content.json').to.not.equal(undefined);
    const anyOf = content!.schema.anyOf as Obj[];
    const flagged = (schema: Obj): string[] =>
      checkSchemaUsage(model, withContent(schema)).map((d) => d.file);
    const file = [content!.file];
    expect(
      flagged({ ...content!.schema, anyOf: [...anyOf, { $ref: '#/definitions/Sticker' }] }),
    ).to.deep.equal(file);
    expect(flagged({ ...content!.schema, anyOf: [...anyOf, { type: 'string' }] })).to.deep.equal(
      file,
    );
    expect(flagged({ ...content!.schema, anyOf: [] })).to.deep.equal(file);
  });

  it('keys every frame type the messages carry to a schema of the validator', function () {
    for (const message of model.messages) {
      const file = message.payloadRef && findSchemaFile(registry, message.payloadRef.file);
      for (const type of file?.frameTypes ?? []) expect(validator.types).to.include(type);
    }
  });

  describe('for each message area, a mutated example is refused', function () {
    const areas = (): Map<string, SpecMessage[]> => {
      const byArea = new Map<string, SpecMessage[]>();
      for (const m of model.messages) byArea.set(m.area, [...(byArea.get(m.area) ?? []), m]);
      return byArea;
    };

    it('refuses an example without a member every shape of its schema requires', function () {
      for (const [area, messages] of areas()) {
        const message = messages.find((m) => m.examples.length > 0);
        const example = message?.examples[0]?.payload;
        if (!message || !isObj(example)) throw new Error(`area ${area} has no example`);
        const required = shapes(message.payload)
          .map((s) => (Array.isArray(s.required) ? (s.required as string[]) : []))
          .reduce((a, b) => a.filter((k) => b.includes(k)));
        const member = required.find((k) => k in example);
        expect(member, `${area}: a required member`).to.be.a('string');
        const rest: Obj = { ...example };
        delete rest[member as string];
        const result = validate(message, rest);
        expect(result.ok, `${area}: ${message.name} without ${String(member)}`).to.equal(false);
      }
    });

    it('refuses an example with an unknown member', function () {
      for (const [area, messages] of areas()) {
        const message = messages.find((m) => m.examples.length > 0);
        const example = message?.examples[0]?.payload;
        if (!message || !isObj(example)) throw new Error(`area ${area} has no example`);
        const result = validate(message, { ...example, bystander: 'eve' });
        expect(result, `${area}: ${message.name}`).to.include({ ok: false });
      }
    });

    it('refuses an example whose patterned member breaks its pattern, pointing at it', function () {
      for (const [area, messages] of areas()) {
        let checked = false;
        for (const message of messages) {
          for (const example of message.examples) {
            const payload = example.payload;
            if (!isObj(payload)) continue;
            const props = Object.assign(
              {},
              ...shapes(message.payload).map((s) => s.properties),
            ) as Obj;
            const member = Object.keys(payload).find(
              (k) =>
                typeof payload[k] === 'string' &&
                isObj(props[k]) &&
                typeof props[k].pattern === 'string',
            );
            if (!member) continue;
            const result = validate(message, { ...payload, [member]: 'not\nvalid' });
            expect(result, `${area}: ${message.name}.${member}`).to.include({
              ok: false,
              pointer: `/${member}`,
            });
            checked = true;
            break;
          }
          if (checked) break;
        }
        expect(checked, `${area} has a patterned member in some example`).to.equal(true);
      }
    });
  });
});
