// Raw spec files: JSON pointers, source lines, following $refs across files, reachable files.
import { join } from 'node:path';
import { expect } from 'chai';
import { pointerToSegments, SourceSet } from '../../../conformance/spec-model/sources.ts';
import { MINIMAL_SCHEMA_DIR, MINIMAL_SPEC_DIR } from '../spec-fixtures.ts';

const root = join(MINIMAL_SPEC_DIR, 'parley.asyncapi.yaml');

describe('the raw spec sources', function () {
  it('decodes JSON pointer escapes into segments', function () {
    expect(pointerToSegments('#/channels/a~1b/c~0d')).to.deep.equal(['channels', 'a/b', 'c~d']);
    expect(pointerToSegments('#')).to.deep.equal([]);
  });

  it('follows a message $ref into its own file', function () {
    const at = new SourceSet().locate({
      file: root,
      segments: ['channels', 'parley', 'messages', 'welcome'],
    });
    expect(at).to.deep.equal({
      file: join(MINIMAL_SPEC_DIR, 'messages', 'session.yaml'),
      segments: ['welcome'],
    });
  });

  it('gives the 1-based line of a member and of a sequence item', function () {
    const sources = new SourceSet();
    const file = join(MINIMAL_SPEC_DIR, 'messages', 'session.yaml');
    expect(sources.lineOf({ file, segments: ['welcome'] })).to.equal(16);
    expect(sources.lineOf({ file, segments: ['hello', 'examples', 0] })).to.equal(10);
    expect(sources.lineOf({ file, segments: ['nothing'] })).to.equal(undefined);
  });

  it('reaches Content.json and AttachmentPointer.json transitively from the message payload', function () {
    const sources = new SourceSet();
    sources.aliases.set(
      'https://parley.example/schemas/AttachmentPointer.json',
      join(MINIMAL_SCHEMA_DIR, 'AttachmentPointer.json'),
    );
    const files = sources.reachableFiles({
      file: join(MINIMAL_SPEC_DIR, 'messages', 'messages.yaml'),
      segments: ['message', 'payload'],
    });
    expect([...files]).to.include.members([
      join(MINIMAL_SCHEMA_DIR, 'MessageFrame.json'),
      join(MINIMAL_SCHEMA_DIR, 'Content.json'),
      join(MINIMAL_SCHEMA_DIR, 'AttachmentPointer.json'),
    ]);
    expect([...files]).to.not.include(join(MINIMAL_SCHEMA_DIR, 'HelloFrame.json'));
  });
});
