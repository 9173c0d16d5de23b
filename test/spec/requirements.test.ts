// Tests of the requirement catalogue against the normative prose (spec/README.md#requirement-catalogue),
// and of the spec model in conformance/spec-model that `parley spec check` reuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  DMA_PROVISIONS,
  LEVELS,
  PARTIES,
  checkCatalogueAgainstProse,
  loadCatalogue,
} from '../../conformance/spec-model/catalogue.ts';
import {
  extractProseRequirements,
  headingAnchors,
  slugify,
  strongestLevel,
} from '../../conformance/spec-model/prose.ts';

const SPEC = 'spec';
const ID = /^(PROTO|AUTH|KEYS|ENC|ATT|CONSENT|DELIV|GROUP)-\d{3}$/;

describe('the requirement catalogue of spec/requirements.yaml', () => {
  const catalogue = loadCatalogue(SPEC);
  const prose = extractProseRequirements(SPEC);
  const proseById = new Map(prose.requirements.map((r) => [r.id, r]));

  it('loads without diagnostics', () => {
    expect(catalogue.diagnostics).to.deep.equal([]);
  });

  it('holds the full set of requirements, well over 80', () => {
    expect(catalogue.requirements.length).to.be.greaterThan(80);
  });

  it('has well-formed, unique IDs', () => {
    const ids = catalogue.requirements.map((r) => r.id);
    for (const id of ids) expect(id).to.match(ID);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('lists every ID of the prose, and no other', () => {
    const catalogued = catalogue.requirements.map((r) => r.id).sort();
    const written = prose.requirements.map((r) => r.id).sort();
    expect(catalogued).to.deep.equal(written);
  });

  it('quotes for each ID exactly the sentence of the prose', () => {
    for (const entry of catalogue.requirements) {
      expect(entry.text, entry.id).to.equal(proseById.get(entry.id)?.text);
    }
  });

  it('gives each requirement the level of the strongest key word in its sentence', () => {
    for (const entry of catalogue.requirements) {
      expect(entry.level, entry.id).to.equal(strongestLevel(entry.text));
    }
  });

  it('points each section to the file and heading that hold the sentence', () => {
    for (const entry of catalogue.requirements) {
      const sentence = proseById.get(entry.id);
      expect(entry.section, entry.id).to.equal(`${sentence?.file}#${sentence?.anchor}`);
    }
  });

  it('uses only the defined DMA provisions and parties, at least one of each', () => {
    for (const entry of catalogue.requirements) {
      expect(entry.dma.length, entry.id).to.be.greaterThan(0);
      expect(entry.binds.length, entry.id).to.be.greaterThan(0);
      for (const dma of entry.dma) expect(DMA_PROVISIONS, entry.id).to.include(dma);
      for (const party of entry.binds) expect(PARTIES, entry.id).to.include(party);
      expect(LEVELS).to.include(entry.level);
    }
  });

  it('agrees with the prose according to checkCatalogueAgainstProse', () => {
    expect(checkCatalogueAgainstProse(SPEC)).to.deep.equal([]);
  });
});

describe('the normative prose of spec/*.md', () => {
  const prose = extractProseRequirements(SPEC);

  it('has no malformed items and no key word outside a requirement item', () => {
    expect(prose.diagnostics).to.deep.equal([]);
  });

  it('covers every requirement area', () => {
    const areas = new Set(prose.requirements.map((r) => r.id.split('-')[0]));
    expect([...areas].sort()).to.deep.equal(
      ['ATT', 'AUTH', 'CONSENT', 'DELIV', 'ENC', 'GROUP', 'KEYS', 'PROTO'].sort(),
    );
  });

  it('states each requirement in one sentence ending with a full stop', () => {
    for (const requirement of prose.requirements) {
      expect(requirement.text, requirement.id).to.match(/\.$/);
    }
  });
});

describe('the spec model', () => {
  let dir: string;

  const write = (files: Record<string, string>): void => {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  };

  const GOOD_MD = [
    '# Keys',
    '',
    'Explanatory text without key words.',
    '',
    '## Claiming',
    '',
    '- **KEYS-001** The provider MUST hand out each one-time prekey',
    '  at most once.',
    '- **KEYS-002** A client SHOULD publish more prekeys.',
    '',
  ].join('\n');

  const GOOD_YAML = [
    '- id: KEYS-001',
    '  level: MUST',
    '  text: The provider MUST hand out each one-time prekey at most once.',
    '  section: keys.md#claiming',
    "  dma: ['7(3)']",
    '  binds: [provider]',
    '- id: KEYS-002',
    '  level: SHOULD',
    '  text: A client SHOULD publish more prekeys.',
    '  section: keys.md#claiming',
    "  dma: ['7(2)']",
    '  binds: [client]',
    '',
  ].join('\n');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-spec-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('extracts a requirement that wraps onto an indented line as one sentence', () => {
    write({ 'keys.md': GOOD_MD });
    const { requirements, diagnostics } = extractProseRequirements(dir);
    expect(diagnostics).to.deep.equal([]);
    expect(requirements[0]).to.deep.equal({
      id: 'KEYS-001',
      text: 'The provider MUST hand out each one-time prekey at most once.',
      file: 'keys.md',
      anchor: 'claiming',
      line: 7,
    });
  });

  it('accepts a catalogue that matches the prose', () => {
    write({ 'keys.md': GOOD_MD, 'requirements.yaml': GOOD_YAML });
    expect(checkCatalogueAgainstProse(dir)).to.deep.equal([]);
  });

  it('reports a catalogue entry whose text differs from the prose', () => {
    write({
      'keys.md': GOOD_MD,
      'requirements.yaml': GOOD_YAML.replace('at most once.', 'only once.'),
    });
    const messages = checkCatalogueAgainstProse(dir).map((d) => d.message);
    expect(messages).to.deep.equal(['text of KEYS-001 differs from the prose (keys.md line 7)']);
  });

  it('reports a level that is not the strongest key word of the sentence', () => {
    write({
      'keys.md': GOOD_MD,
      'requirements.yaml': GOOD_YAML.replace('level: SHOULD', 'level: MUST'),
    });
    const diagnostics = checkCatalogueAgainstProse(dir);
    expect(diagnostics.map((d) => d.message)).to.deep.equal([
      'level of KEYS-002 is MUST but its sentence says SHOULD',
    ]);
    expect(diagnostics[0]?.line).to.equal(7);
  });

  it('reports a section whose heading does not exist', () => {
    write({
      'keys.md': GOOD_MD,
      'requirements.yaml': GOOD_YAML.replace('keys.md#claiming', 'keys.md#publishing'),
    });
    const messages = checkCatalogueAgainstProse(dir).map((d) => d.message);
    expect(messages).to.deep.equal(['keys.md has no heading #publishing']);
  });

  it('reports a section that exists but does not hold the sentence', () => {
    write({
      'keys.md': GOOD_MD,
      'requirements.yaml': GOOD_YAML.replace('keys.md#claiming', 'keys.md#keys'),
    });
    const messages = checkCatalogueAgainstProse(dir).map((d) => d.message);
    expect(messages).to.deep.equal([
      'section of KEYS-001 is keys.md#keys but the sentence is in keys.md#claiming',
    ]);
  });

  it('reports an ID of the prose that the catalogue lacks, and the reverse', () => {
    write({
      'keys.md': GOOD_MD.replace('KEYS-002', 'KEYS-003'),
      'requirements.yaml': GOOD_YAML,
    });
    const messages = checkCatalogueAgainstProse(dir).map((d) => d.message);
    expect(messages).to.deep.equal([
      'KEYS-002 does not appear in the prose',
      'KEYS-003 is missing from requirements.yaml',
    ]);
  });

  it('reports duplicate IDs, unknown DMA provisions and unknown parties with their lines', () => {
    write({
      'requirements.yaml': GOOD_YAML.replace('KEYS-002', 'KEYS-001')
        .replace("['7(2)']", "['7(9)']")
        .replace('[client]', '[server]'),
    });
    const { diagnostics } = loadCatalogue(dir);
    expect(diagnostics.map((d) => [d.path, d.line])).to.deep.equal([
      ['/1/id', 7],
      ['/1/dma', 11],
      ['/1/binds', 12],
    ]);
  });

  it('reports a key word outside a requirement item and an item without a key word', () => {
    write({
      'keys.md': [
        '# Keys',
        '',
        'Clients MUST NOT do this in prose.',
        '',
        '- **KEYS-001** The provider hands out prekeys.',
        '- **KEY-1** A malformed item MUST be reported.',
        '',
        'Quoted `MUST` in code is fine.',
      ].join('\n'),
    });
    const { diagnostics } = extractProseRequirements(dir);
    expect(diagnostics.map((d) => [d.line, d.message])).to.deep.equal([
      [3, 'key word MUST NOT outside a requirement item'],
      [5, 'KEYS-001 has no BCP 14 key word'],
      [6, 'malformed requirement ID "KEY-1"'],
    ]);
  });

  it('ignores requirement-shaped lines inside code fences', () => {
    write({
      'keys.md': ['# Keys', '', '```', '- **KEYS-001** The provider MUST do it.', '```', ''].join(
        '\n',
      ),
    });
    expect(extractProseRequirements(dir)).to.deep.equal({ requirements: [], diagnostics: [] });
  });

  it('reports YAML that is not a list', () => {
    write({ 'requirements.yaml': 'id: KEYS-001\n' });
    expect(loadCatalogue(dir).diagnostics.map((d) => d.message)).to.deep.equal([
      'the catalogue must be a YAML list of requirements',
    ]);
  });

  it('computes GitHub heading anchors, with suffixes for repeated headings', () => {
    expect(slugify('Refusal without an existence oracle')).to.equal(
      'refusal-without-an-existence-oracle',
    );
    expect(slugify('The `keys.low` push (v1)')).to.equal('the-keyslow-push-v1');
    expect(headingAnchors('# A\n## Notes\n## Notes\n')).to.deep.equal(['a', 'notes', 'notes-1']);
  });

  it('takes MUST NOT as MUST and SHOULD NOT as SHOULD', () => {
    expect(strongestLevel('A client MUST NOT do it.')).to.equal('MUST');
    expect(strongestLevel('A client SHOULD NOT do it, and MAY do that.')).to.equal('SHOULD');
    expect(strongestLevel('A client MAY do it.')).to.equal('MAY');
    expect(strongestLevel('A client does `MUST` in code.')).to.equal(undefined);
  });
});
