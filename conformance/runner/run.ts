// The runner: runs selected cases against a target in a seeded order with bounded concurrency
// (exclusive cases alone, after the others), per-case timeouts, expected failures and a circuit
// breaker, and emits typed events for the reporters (BRIEF.md, conformance suite).
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Target } from '../transport/target.ts';
import { World } from '../transport/world.ts';
import { areaOf, type ConformanceCase, type Level } from './case.ts';
import { isListed } from './expected.ts';
import { RunnerEvents, type CaseResult, type RunEnd } from './events.ts';
import { Rng } from './rng.ts';
import { HarnessError, HarnessTimeout, RequirementFailure, SkipCase } from './signals.ts';
import { summarise } from './summary.ts';

/** How to run. */
export interface RunOptions {
  target: Target;
  validator: FrameValidator;
  seed: number;
  concurrency?: number;
  timeoutFactor?: number;
  /** Case or requirement IDs expected to fail. */
  expectedFailures?: ReadonlySet<string>;
  /** Requirement levels from the catalogue: a broken SHOULD warns. */
  levels?: ReadonlyMap<string, string>;
  /** Base wait for one reply before the factor. Default 2000 ms. */
  waitMs?: number;
  /** Whether the target still accepts connections; default: never asked. */
  probe?: () => Promise<boolean>;
  events?: RunnerEvents;
}

const DEFAULT_CASE_TIMEOUT_MS = 5000;

/** Runs `cases` and resolves the results in ID order. */
export async function runCases(
  cases: readonly ConformanceCase[],
  options: RunOptions,
): Promise<RunEnd> {
  const events = options.events ?? new RunnerEvents();
  const factor = options.timeoutFactor ?? 1;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const rng = new Rng(options.seed);
  const ordered = rng.shuffle(cases);
  const shared = ordered.filter((c) => !c.exclusive);
  const exclusive = ordered.filter((c) => c.exclusive);
  const total = cases.length;
  const started = Date.now();
  const results: CaseResult[] = [];
  let breaker: string | undefined;
  let index = 0;
  events.emit('run.start', { total, seed: options.seed, concurrency, target: options.target.url });

  const runOne = async (c: ConformanceCase): Promise<void> => {
    events.emit('case.start', { id: c.id, index: index++, total });
    const caseRng = new Rng(options.seed).fork(c.id);
    const result = breaker
      ? tripped(c, breaker)
      : await execute(c, options, caseRng, factor, options.levels);
    if (result.outcome === 'error' && !breaker && options.probe && !(await options.probe())) {
      breaker = `the target stopped accepting connections (after ${c.id})`;
      events.emit('breaker.open', { reason: breaker });
    }
    applyExpected(result, options.expectedFailures);
    results.push(result);
    events.emit('case.end', { result, done: results.length, total });
  };

  const queue = [...shared];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await runOne(c);
    }),
  );
  for (const c of exclusive) await runOne(c);

  results.sort((a, b) => a.id.localeCompare(b.id));
  const end: RunEnd = {
    results,
    summary: summarise(results),
    durationMs: Date.now() - started,
    ...(breaker ? { breaker } : {}),
  };
  events.emit('run.end', end);
  return end;
}

function base(c: ConformanceCase): Omit<CaseResult, 'outcome' | 'durationMs'> {
  return {
    id: c.id,
    title: c.title,
    area: areaOf(c.id),
    requirements: [...c.requirements],
    level: c.level,
    quote: c.quote,
    sends: c.sends,
    schemaFaults: [],
    transcript: [],
  };
}

function tripped(c: ConformanceCase, reason: string): CaseResult {
  return { ...base(c), outcome: 'error', durationMs: 0, message: `not run: ${reason}` };
}

/** Runs one case body under its timeout and classifies how it ended. */
async function execute(
  c: ConformanceCase,
  options: RunOptions,
  rng: Rng,
  factor: number,
  levels: ReadonlyMap<string, string> | undefined,
): Promise<CaseResult> {
  const started = Date.now();
  const missing = (c.capabilities ?? []).filter(
    (cap) => !options.target.capabilities.includes(cap),
  );
  if (missing.length > 0)
    return {
      ...base(c),
      outcome: 'skip',
      durationMs: 0,
      message: `the target does not claim the capability ${missing.join(', ')}`,
    };
  const waitMs = Math.round((options.waitMs ?? 2000) * factor);
  const world = new World(options.target, rng, options.validator, waitMs);
  const limit = Math.round((c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) * factor);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HarnessTimeout(`the case did not finish within ${limit} ms`)),
      limit,
    );
  });
  let thrown: unknown;
  try {
    const body = c.run({ target: options.target, world, rng, waitMs, scale: (ms) => ms * factor });
    body.catch(() => undefined); // a body still running after the timeout must not go unhandled
    await Promise.race([body, timeout]);
  } catch (error) {
    thrown = error;
  } finally {
    clearTimeout(timer);
    world.closeAll();
  }
  const result: CaseResult = {
    ...base(c),
    outcome: 'pass',
    durationMs: Date.now() - started,
    schemaFaults: world.faults,
    transcript: world.transcript.entries,
  };
  classify(result, thrown, levels);
  return result;
}

/** Turns what the body threw (or schema faults) into the outcome. */
function classify(
  result: CaseResult,
  thrown: unknown,
  levels: ReadonlyMap<string, string> | undefined,
): void {
  const levelOf = (requirement: string): Level =>
    levels?.get(requirement) === 'SHOULD' ? 'SHOULD' : result.level;
  if (thrown instanceof RequirementFailure) {
    result.outcome = levelOf(thrown.requirement) === 'SHOULD' ? 'warn' : 'fail';
    result.failedRequirement = thrown.requirement;
    result.expected = thrown.expected;
    result.actual = thrown.actual;
    if (thrown.note) result.message = thrown.note;
  } else if (thrown instanceof SkipCase) {
    result.outcome = 'skip';
    result.message = thrown.reason;
  } else if (thrown !== undefined) {
    result.outcome = 'error';
    result.message =
      thrown instanceof HarnessError
        ? thrown.message
        : `the case threw: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`;
  } else if (result.schemaFaults.length > 0) {
    // A frame that fails its schema breaks the requirement the case checks (and the schema's).
    const requirement = result.requirements[0] ?? 'PROTO-007';
    result.outcome = levelOf(requirement) === 'SHOULD' ? 'warn' : 'fail';
    result.failedRequirement = requirement;
    result.expected = 'every frame the target sends to match its schema';
    result.actual = result.schemaFaults
      .map((f) => `${f.type} ${f.pointer || '/'}: ${f.message}`)
      .join('; ');
  }
}

function applyExpected(result: CaseResult, listed: ReadonlySet<string> | undefined): void {
  if (!listed || listed.size === 0) return;
  if (result.outcome === 'fail' || result.outcome === 'warn') {
    if (isListed(listed, result.id, result.requirements, result.failedRequirement))
      result.expectedFailure = true;
  } else if (result.outcome === 'pass' && isListed(listed, result.id, result.requirements)) {
    result.unexpectedPass = true;
  }
}
