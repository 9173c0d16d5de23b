// The documentation model and its renderers: nested fields expanded with their constraints,
// text escaped in HTML and Markdown, prose images never loaded.
import { expect } from 'chai';
import type { SpecMessage } from '../../../conformance/spec-model/asyncapi.ts';
import { escapeHtml, renderHtml } from '../../../conformance/spec-model/docs-html.ts';
import { renderMarkdown } from '../../../conformance/spec-model/docs-markdown.ts';
import {
  constraintsOf,
  fieldsOf,
  typeOf,
  variantsOf,
  type DocModel,
} from '../../../conformance/spec-model/docs-model.ts';

const bundle = {
  type: 'object',
  required: ['devices'],
  properties: {
    devices: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['deviceId'],
        properties: {
          deviceId: {
            type: 'integer',
            minimum: 1,
            maximum: 2147483647,
            description: 'The device.',
          },
          oneTimePreKey: {
            anyOf: [
              { type: 'object', properties: { keyId: { type: 'integer' } } },
              { type: 'null' },
            ],
          },
        },
      },
    },
  },
};

function model(message: Partial<SpecMessage>): DocModel {
  const full: SpecMessage = {
    id: 'x',
    name: 'x',
    tags: ['session'],
    area: 'session',
    direction: 'client → provider',
    replies: [],
    repliesTo: [],
    examples: [],
    location: { file: '/spec/x.yaml', segments: [] },
    ...message,
  };
  return {
    title: 'Parley',
    version: '1.0.0',
    description: 'Overview with ![tracker](https://tracker.example/pixel.png) and <b>html</b>.',
    areas: [{ name: 'session', messages: [{ message: full, variants: variantsOf(full.payload) }] }],
    errors: [
      {
        code: 'BAD_JSON',
        meaning: 'Not <JSON>.',
        sentWhen: 'a | b',
        carriers: ['frame'],
        connectionSurvives: true,
      },
    ],
    requirementAreas: [
      {
        area: 'ENC',
        requirements: [
          {
            id: 'ENC-001',
            level: 'MUST',
            text: 'Alice MUST encrypt.',
            section: 'crypto.md#x',
            dma: ['7(3)'],
            binds: ['client'],
          },
        ],
      },
    ],
    chapters: [],
    openapiFile: '/spec/openapi/attachments.yaml',
  };
}

describe('the spec documentation', function () {
  it('expands array items and nullable objects into dotted rows with their constraints', function () {
    const rows = fieldsOf(bundle).map((f) => [
      f.path,
      f.type,
      f.required,
      f.constraints.join('; '),
    ]);
    expect(rows).to.deep.equal([
      ['devices', 'array of object', true, 'items ≥ 1'],
      ['devices[].deviceId', 'integer', true, 'value 1–2147483647'],
      ['devices[].oneTimePreKey', 'object | null', false, ''],
      ['devices[].oneTimePreKey.keyId', 'integer', false, ''],
    ]);
  });

  it('states patterns, lengths, formats, enums and constants', function () {
    expect(
      constraintsOf({
        type: 'string',
        pattern: '^[a-z]+$',
        minLength: 1,
        maxLength: 64,
        format: 'uri',
      }),
    ).to.deep.equal(['pattern ^[a-z]+$', 'format uri', 'length 1–64']);
    expect(constraintsOf({ enum: ['inbox', 'requests'] })).to.deep.equal([
      'one of "inbox", "requests"',
    ]);
    expect(constraintsOf({ const: 'hello' })).to.deep.equal(['= "hello"']);
    expect(typeOf({ type: ['string', 'null'] })).to.equal('string | null');
  });

  it('labels anyOf variants by their constant members', function () {
    const auth = {
      anyOf: [
        { properties: { type: { const: 'auth' }, method: { const: 'device' } } },
        { properties: { type: { const: 'auth' }, method: { const: 'partner' } } },
      ],
    };
    expect(variantsOf(auth).map((v) => v.label)).to.deep.equal([
      'method = "device"',
      'method = "partner"',
    ]);
  });

  it('escapes titles, summaries and examples in the HTML page', function () {
    const html = renderHtml(
      model({
        title: '<script>alert(1)</script>',
        summary: 'Eve & "Mallory"',
        examples: [
          {
            index: 0,
            payload: { body: '</pre><img src=x>' },
            location: { file: '', segments: [] },
          },
        ],
      }),
    );
    expect(html).to.not.include('<script>alert');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).to.include('Eve &amp; &quot;Mallory&quot;');
    expect(html).to.include('&lt;/pre&gt;&lt;img src=x&gt;');
    expect(escapeHtml(`'`)).to.equal('&#39;');
  });

  it('turns prose images into links and escapes raw HTML in prose', function () {
    const html = renderHtml(model({}));
    expect(html).to.not.match(/<img\b/);
    expect(html).to.include('<a href="https://tracker.example/pixel.png">[image: tracker]</a>');
    expect(html).to.include('&lt;b&gt;html&lt;/b&gt;');
  });

  it('points links between prose chapters at headings inside the single page', function () {
    const html = renderHtml({
      ...model({}),
      chapters: [
        {
          file: 'keys.md',
          title: 'Keys',
          markdown: '# Keys\n\n## Claim\n\nSee [auth](auth.md#device-proof).',
        },
        {
          file: 'auth.md',
          title: 'Auth',
          markdown: '# Auth\n\n## Device proof\n\nSee [keys](keys.md).',
        },
      ],
    });
    const links = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1] as string);
    expect(links).to.include.members(['chapter-auth-md--device-proof', 'chapter-keys-md']);
    for (const id of links) expect(html, id).to.include(`id="${id}"`);
  });

  it('writes Markdown tables with escaped pipes and the requirements by area', function () {
    const md = renderMarkdown(model({ payload: bundle }));
    expect(md).to.include('| `BAD_JSON` | Not <JSON>. | a \\| b | frame | yes |');
    expect(md).to.include('### ENC');
    expect(md).to.include(
      '| ENC-001 | MUST | Alice MUST encrypt. | Art. 7(3) | client | crypto.md#x |',
    );
    expect(md).to.include('`devices[].deviceId`');
  });
});
