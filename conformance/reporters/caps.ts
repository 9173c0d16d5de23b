// Transcript caps for the reports: a run against the reference provider records thousands of
// frames, most of them in passing cases. Each result keeps its first and last frames, each frame
// shortened to a bound, with an explicit marker of what was left out, so a report stays reviewable.
import type { CaseResult } from '../runner/events.ts';
import type { TranscriptEntry } from '../transport/transcript.ts';

/** Frames kept of a case that did not pass: enough to read the exchange that broke a rule. */
export const MAX_FRAMES_NOT_PASSED = 64;
/** Frames kept of a passing or skipped case: its opening and its end, as evidence. */
export const MAX_FRAMES_PASSED = 8;
/** Bytes of one frame's JSON kept; a longer frame is replaced by its head and its length. */
export const MAX_FRAME_BYTES = 512;
/** Of the frames kept, the share taken from the end of the transcript (where a case decides). */
const TAIL_SHARE = 0.25;

/** One entry, its frame shortened to MAX_FRAME_BYTES; returns the entry and the bytes left out. */
function capEntry(entry: TranscriptEntry): [TranscriptEntry, number] {
  const body = entry.frame !== undefined ? JSON.stringify(entry.frame) : (entry.text ?? '');
  const bytes = Buffer.byteLength(body);
  if (bytes <= MAX_FRAME_BYTES) return [entry, 0];
  const head = Buffer.from(body)
    .subarray(0, MAX_FRAME_BYTES)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  const omitted = bytes - Buffer.byteLength(head);
  const capped: TranscriptEntry = {
    ...entry,
    text: `${head}… (truncated: ${omitted} bytes omitted)`,
  };
  delete capped.frame;
  return [capped, omitted];
}

/** The transcript of `result` within the caps, with a marker entry where frames were left out. */
export function capTranscript(result: CaseResult): TranscriptEntry[] {
  const passed = result.outcome === 'pass' || result.outcome === 'skip';
  const max = passed ? MAX_FRAMES_PASSED : MAX_FRAMES_NOT_PASSED;
  const all = result.transcript;
  const tail = Math.floor(max * TAIL_SHARE);
  const kept =
    all.length <= max ? all : [...all.slice(0, max - tail), ...all.slice(all.length - tail)];
  const dropped = all.length - kept.length;
  const out: TranscriptEntry[] = [];
  let bytes = 0;
  for (const [i, entry] of kept.entries()) {
    if (dropped > 0 && i === max - tail)
      out.push({
        t: entry.t,
        peer: 'suite',
        dir: 'event',
        text: `truncated: ${dropped} frames omitted`,
      });
    const [capped, omitted] = capEntry(entry);
    bytes += omitted;
    out.push(capped);
  }
  if (bytes > 0)
    out.push({
      t: out.at(-1)?.t ?? 0,
      peer: 'suite',
      dir: 'event',
      text: `truncated: ${bytes} bytes omitted from frames over ${MAX_FRAME_BYTES} bytes`,
    });
  return out;
}

/** `result` with its transcript capped. */
export function capResult(result: CaseResult): CaseResult {
  return { ...result, transcript: capTranscript(result) };
}
