// Transcript caps (conformance/reporters/caps.ts): a report keeps the first and last frames of a
// case, shortens long frames, and says exactly how much it left out.
import { expect } from 'chai';
import {
  capTranscript,
  MAX_FRAME_BYTES,
  MAX_FRAMES_NOT_PASSED,
  MAX_FRAMES_PASSED,
} from '../../../conformance/reporters/caps.ts';
import type { CaseResult } from '../../../conformance/runner/events.ts';
import type { TranscriptEntry } from '../../../conformance/transport/transcript.ts';

function resultWith(outcome: CaseResult['outcome'], transcript: TranscriptEntry[]): CaseResult {
  return {
    id: 'PROTO-002-x',
    title: 't',
    area: 'PROTO',
    requirements: ['PROTO-002'],
    level: 'MUST',
    quote: 'q',
    sends: 's',
    outcome,
    durationMs: 1,
    schemaFaults: [],
    transcript,
  };
}

const frames = (n: number): TranscriptEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    t: i,
    peer: 'alice',
    dir: 'received' as const,
    frame: { v: 1, type: 'pong', re: `alice.${i}` },
  }));

describe('transcript caps of the reports', () => {
  it('keeps a short transcript of a failed case as it is', () => {
    const entries = frames(10);
    expect(capTranscript(resultWith('fail', entries))).to.deep.equal(entries);
  });

  it('keeps the first and last frames of a long passing case and marks how many were omitted', () => {
    const capped = capTranscript(resultWith('pass', frames(100)));
    expect(capped).to.have.length(MAX_FRAMES_PASSED + 1);
    const marker = capped.find((e) => e.peer === 'suite');
    expect(marker?.text).to.equal(`truncated: ${100 - MAX_FRAMES_PASSED} frames omitted`);
    expect((capped[0]!.frame as { re: string }).re).to.equal('alice.0');
    expect((capped.at(-1)!.frame as { re: string }).re).to.equal('alice.99');
  });

  it('keeps more frames of a case that did not pass than of one that passed', () => {
    expect(capTranscript(resultWith('error', frames(500)))).to.have.length(
      MAX_FRAMES_NOT_PASSED + 1,
    );
  });

  it('shortens a frame over the byte bound and counts the bytes left out', () => {
    const big = { v: 1, type: 'message', body: 'x'.repeat(5000) };
    const capped = capTranscript(
      resultWith('fail', [{ t: 0, peer: 'bob', dir: 'received', frame: big }]),
    );
    const omitted = JSON.stringify(big).length - MAX_FRAME_BYTES;
    expect(capped[0]!.frame).to.equal(undefined);
    expect(capped[0]!.text).to.have.length.below(MAX_FRAME_BYTES + 64);
    expect(capped[0]!.text).to.match(new RegExp(`truncated: ${omitted} bytes omitted\\)$`));
    expect(capped[1]!.text).to.equal(
      `truncated: ${omitted} bytes omitted from frames over ${MAX_FRAME_BYTES} bytes`,
    );
  });
});
