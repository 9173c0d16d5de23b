// `parley spec check` run as a child process: clean on the real spec, and exit 1 naming the file
// and path when a copy of the spec has one thing broken (a $ref, an example, a requirement ID).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { isMap, isSeq, parse } from 'yaml';
import { ASYNCAPI_FILE } from '../../../conformance/spec-model/asyncapi.ts';
import { SourceSet, type SourceLocation } from '../../../conformance/spec-model/sources.ts';
import { copySpec, editYaml, runParley, type RunResult, type SpecCopy } from '../spec-fixtures.ts';

/** Where the first message of the first channel is written, in a spec copy. */
function firstMessage(specDir: string): SourceLocation {
  const root = join(specDir, ASYNCAPI_FILE);
  const raw = parse(readFileSync(root, 'utf8')) as {
    channels: Record<string, { messages: Record<string, unknown> }>;
  };
  const [channel, { messages }] = Object.entries(raw.channels)[0] ?? ['', { messages: {} }];
  const [message] = Object.keys(messages);
  return new SourceSet().locate({
    file: root,
    segments: ['channels', channel, 'messages', message ?? ''],
  });
}

describe('parley spec check', function () {
  this.timeout(60_000);
  const copies: SpecCopy[] = [];
  let clean: RunResult;
  const broken: Record<
    'ref' | 'example' | 'duplicate',
    { run: RunResult; file: string; path: string }
  > = {} as never;

  before(async function () {
    // Two copies keep the run short: a broken $ref stops the parser (so examples go unchecked),
    // while an invalid example and a duplicated requirement ID are independent of each other.
    const refCopy = copySpec();
    const twoFaults = copySpec();
    copies.push(refCopy, twoFaults);

    const refAt = firstMessage(refCopy.specDir);
    editYaml(refAt.file, (doc) =>
      doc.setIn([...refAt.segments, 'payload', '$ref'], './NoSuchFrame.json'),
    );

    const exampleAt = firstMessage(twoFaults.specDir);
    editYaml(exampleAt.file, (doc) =>
      doc.setIn([...exampleAt.segments, 'examples', 0, 'payload', 'v'], 'one'),
    );

    const catalogue = join(twoFaults.specDir, 'requirements.yaml');
    let duplicatedId = '';
    editYaml(catalogue, (doc) => {
      const seq = isSeq(doc.contents) ? doc.contents : (doc.get('requirements') as unknown);
      if (!isSeq(seq) || !isMap(seq.items[0])) throw new Error('unexpected catalogue layout');
      duplicatedId = String(seq.items[0].get('id'));
      seq.items.push(seq.items[0].clone());
    });

    const check = (copy: SpecCopy): Promise<RunResult> =>
      runParley(['spec', 'check', '--spec-dir', copy.specDir]);
    const [cleanRun, refRun, twoFaultsRun] = await Promise.all([
      runParley(['spec', 'check']),
      check(refCopy),
      check(twoFaults),
    ]);
    clean = cleanRun;
    broken.ref = { run: refRun, file: refAt.file, path: [...refAt.segments, 'payload'].join('.') };
    broken.example = {
      run: twoFaultsRun,
      file: exampleAt.file,
      path: [...exampleAt.segments, 'examples', 0, 'payload'].join('.'),
    };
    broken.duplicate = { run: twoFaultsRun, file: catalogue, path: duplicatedId };
  });

  after(() => copies.forEach((c) => c.remove()));

  it('exits 0 on the real spec with a summary of zero problems first', function () {
    expect(clean.stdout.split('\n')[0], clean.stdout).to.match(
      /^spec check: 0 problems in spec\/ \(\d+ messages, \d+ examples, \d+ requirements, \d+ schemas\)/,
    );
    expect(clean.code, clean.stdout + clean.stderr).to.equal(0);
  });

  it('exits 1 naming the message file and the payload path when a $ref points nowhere', function () {
    const { run, file, path } = broken.ref;
    expect(run.code, run.stdout).to.equal(1);
    expect(run.stdout).to.match(/^spec check: [1-9]\d* problems? in /);
    const line = run.stdout.split('\n').find((l) => l.startsWith(`${file}:`) && l.includes(path));
    expect(line, run.stdout).to.be.a('string').and.include('NoSuchFrame.json');
  });

  it('exits 1 naming the file, the example path and the message when an example breaks its schema', function () {
    const { run, file, path } = broken.example;
    expect(run.code, run.stdout).to.equal(1);
    const line = run.stdout
      .split('\n')
      .find((l) => l.startsWith(`${file}:`) && l.includes(` ${path}:`));
    expect(line, run.stdout)
      .to.be.a('string')
      .and.match(/example 0 .*\/v /);
  });

  it('exits 1 naming requirements.yaml and the ID when a requirement ID is duplicated', function () {
    const { run, file, path } = broken.duplicate;
    expect(run.code, run.stdout).to.equal(1);
    const line = run.stdout.split('\n').find((l) => l.startsWith(`${file}:`) && l.includes(path));
    expect(line, run.stdout)
      .to.be.a('string')
      .and.match(/duplicate/i);
  });
});
