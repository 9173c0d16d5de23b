// The runner's typed events (STYLE.md point 10): reporters listen to these; the runner never formats.
import { EventEmitter } from 'node:events';
import type { Level, Outcome, Subject } from './case.ts';
import type { TranscriptEntry } from '../transport/transcript.ts';
import type { SchemaFault } from '../transport/peer.ts';

/** The result of one case. */
export interface CaseResult {
  id: string;
  /** What the case tested: the provider or the client under test (absent: the provider). */
  subject?: Subject;
  title: string;
  area: string;
  requirements: string[];
  level: Level;
  quote: string;
  sends: string;
  outcome: Outcome;
  /** The requirement a fail or warn broke. */
  failedRequirement?: string;
  /** The catalogue sentence of failedRequirement (the case's quote may be another requirement's). */
  failedQuote?: string;
  durationMs: number;
  expected?: string;
  actual?: string;
  /** Why the case was skipped, or what the harness could not do. */
  message?: string;
  /** Listed in the expected-failures file and failed: does not make the run non-conformant. */
  expectedFailure?: boolean;
  /** Listed in the expected-failures file but passed: makes the run fail. */
  unexpectedPass?: boolean;
  schemaFaults: SchemaFault[];
  transcript: TranscriptEntry[];
}

/** Counts of outcomes over a run. */
export interface Summary {
  total: number;
  pass: number;
  fail: number;
  warn: number;
  skip: number;
  error: number;
  expectedFailures: number;
  unexpectedPasses: number;
}

export interface RunStart {
  total: number;
  seed: number;
  concurrency: number;
  /** The provider under test's URL; empty when only a client is under test. */
  target: string;
  /** The client under test (its driver command, or the embedded reference client). */
  client?: string;
}

export interface RunEnd {
  results: CaseResult[];
  summary: Summary;
  durationMs: number;
  /** Set when the circuit breaker opened: the target stopped accepting connections. */
  breaker?: string;
}

/** Event name → payload. */
export interface RunnerEventMap {
  'run.start': RunStart;
  'case.start': { id: string; index: number; total: number };
  'case.end': { result: CaseResult; done: number; total: number };
  'breaker.open': { reason: string };
  'run.end': RunEnd;
}

/** A typed emitter over RunnerEventMap. */
export class RunnerEvents {
  private readonly emitter = new EventEmitter();

  on<K extends keyof RunnerEventMap>(
    event: K,
    listener: (payload: RunnerEventMap[K]) => void,
  ): this {
    this.emitter.on(event, listener);
    return this;
  }

  emit<K extends keyof RunnerEventMap>(event: K, payload: RunnerEventMap[K]): void {
    this.emitter.emit(event, payload);
  }
}
