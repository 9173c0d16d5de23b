// The runner: runs selected cases against a target in a seeded order with bounded concurrency
// (exclusive cases alone, after the others), per-case timeouts, expected failures and a circuit
// breaker, and emits typed events for the reporters (BRIEF.md, conformance suite).
import type { FrameValidator } from '../../schemas/validator.ts';
import type { ClientTarget } from '../client/target.ts';
import { ClientWorld } from '../client/world.ts';
import type { ProxyTarget } from '../proxy/target.ts';
import { ProxyWorld } from '../proxy/world.ts';
import type { Target } from '../transport/target.ts';
import { World } from '../transport/world.ts';
import {
  areaOf,
  subjectOf,
  type AnyCase,
  type ClientCase,
  type ConformanceCase,
  type Level,
  type ProxyCase,
} from './case.ts';
import { isListed } from './expected.ts';
import { RunnerEvents, type CaseResult, type RunEnd } from './events.ts';
import { Rng } from './rng.ts';
import {
  HarnessError,
  HarnessTimeout,
  isTargetVerdict,
  RequirementFailure,
  SkipCase,
  TargetSilence,
} from './signals.ts';
import { summarise } from './summary.ts';

/** How to run. */
export interface RunOptions {
  /** The provider under test; provider cases are skipped without one. */
  target?: Target;
  /** The client under test; client cases are skipped without one. One at a time per driver. */
  client?: ClientTarget;
  /**
   * More instances of the same client (each its own driver), so that client cases run that many
   * at a time: the embedded reference client uses them, a spawned driver runs alone.
   */
  moreClients?: readonly ClientTarget[];
  /** The partner proxy under test (spec/proxy.md); proxy cases are skipped without one. */
  proxy?: ProxyTarget;
  validator: FrameValidator;
  seed: number;
  concurrency?: number;
  timeoutFactor?: number;
  /** Case or requirement IDs expected to fail. */
  expectedFailures?: ReadonlySet<string>;
  /** Requirement levels from the catalogue: a broken SHOULD warns. */
  levels?: ReadonlyMap<string, string>;
  /** Requirement sentences from the catalogue: a broken requirement is shown with its own. */
  sentences?: ReadonlyMap<string, string>;
  /** Base wait for one reply before the factor. Default 2000 ms. */
  waitMs?: number;
  /** Whether the target still accepts connections; default: never asked. */
  probe?: () => Promise<boolean>;
  events?: RunnerEvents;
  /** Aborted on an interrupt (Ctrl-C): cases not started yet end as "not run", the rest finish. */
  signal?: AbortSignal;
}

const DEFAULT_CASE_TIMEOUT_MS = 5000;

/** Runs `cases` and resolves the results in ID order. */
export async function runCases(cases: readonly AnyCase[], options: RunOptions): Promise<RunEnd> {
  const events = options.events ?? new RunnerEvents();
  const factor = options.timeoutFactor ?? 1;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const rng = new Rng(options.seed);
  const ordered = rng.shuffle(cases);
  const providerCases = ordered.filter((c): c is ConformanceCase => subjectOf(c) === 'provider');
  const clientCases = ordered.filter((c): c is ClientCase => subjectOf(c) === 'client');
  const proxyCases = ordered.filter((c): c is ProxyCase => subjectOf(c) === 'proxy');
  const shared = providerCases.filter((c) => !c.exclusive);
  const exclusive = providerCases.filter((c) => c.exclusive);
  const total = cases.length;
  const started = Date.now();
  const results: CaseResult[] = [];
  let breaker: string | undefined;
  let clientBreaker: string | undefined;
  let index = 0;
  events.emit('run.start', {
    total,
    seed: options.seed,
    concurrency,
    target: options.target?.url ?? '',
    ...(options.client ? { client: options.client.describe } : {}),
  });

  const finish = (result: CaseResult): void => {
    applyExpected(result, options.expectedFailures);
    results.push(result);
    events.emit('case.end', { result, done: results.length, total });
  };

  const runOne = async (c: ConformanceCase): Promise<void> => {
    events.emit('case.start', { id: c.id, index: index++, total });
    const caseRng = new Rng(options.seed).fork(c.id);
    const result = options.signal?.aborted
      ? interrupted(c)
      : !options.target
        ? notUnderTest(c)
        : breaker
          ? tripped(c, breaker)
          : await execute(c, options.target, options, caseRng, factor, options.levels);
    const silenced = silencedResults.has(result);
    if (
      (result.outcome === 'error' || silenced) &&
      !breaker &&
      options.probe &&
      !(await options.probe())
    ) {
      breaker = `the target stopped accepting connections (after ${c.id})`;
      events.emit('breaker.open', { reason: breaker });
    }
    // A target that died while the case waited on it is not judged on what the case waited for:
    // the run could not be completed (exit 2), as for every case after it.
    if (silenced && breaker) undoVerdict(result, breaker);
    finish(result);
  };

  const runClientCase = async (c: ClientCase, client: ClientTarget | undefined): Promise<void> => {
    events.emit('case.start', { id: c.id, index: index++, total });
    const caseRng = new Rng(options.seed).fork(c.id);
    const result = options.signal?.aborted
      ? interrupted(c)
      : !client
        ? notUnderTest(c)
        : clientBreaker
          ? tripped(c, clientBreaker)
          : await executeClient(c, client, options, caseRng, factor, options.levels);
    if (client?.link.dead && !clientBreaker) {
      clientBreaker = `the client's driver is gone (after ${c.id}): ${client.link.dead}`;
      events.emit('breaker.open', { reason: clientBreaker });
    }
    finish(result);
  };

  // Proxy cases one at a time: each counts the upstream connections the proxy opens.
  const proxyLane = (async () => {
    for (const c of proxyCases) {
      events.emit('case.start', { id: c.id, index: index++, total });
      const caseRng = new Rng(options.seed).fork(c.id);
      finish(
        options.signal?.aborted
          ? interrupted(c)
          : !options.proxy
            ? notUnderTest(c)
            : await executeProxy(c, options.proxy, options, caseRng, factor, options.levels),
      );
    }
  })();
  const queue = [...shared];
  const clientQueue = [...clientCases];
  const lanes = options.client ? [options.client, ...(options.moreClients ?? [])] : [undefined];
  const clientLanes = Promise.all(
    lanes.map(async (client) => {
      for (let c = clientQueue.shift(); c; c = clientQueue.shift()) await runClientCase(c, client);
    }),
  );
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await runOne(c);
    }),
  );
  for (const c of exclusive) await runOne(c);
  await clientLanes;
  await proxyLane;

  results.sort((a, b) => a.id.localeCompare(b.id));
  const end: RunEnd = {
    results,
    summary: summarise(results),
    durationMs: Date.now() - started,
    ...(breaker || clientBreaker
      ? { breaker: [breaker, clientBreaker].filter(Boolean).join('; ') }
      : {}),
  };
  events.emit('run.end', end);
  return end;
}

/** Results judged on a wait that ran out or a connection the target closed (TargetSilence). */
const silencedResults = new WeakSet<CaseResult>();

/** Turns a verdict on silence into an error once the target is known to have died. */
function undoVerdict(result: CaseResult, reason: string): void {
  result.outcome = 'error';
  result.message = `not judged: ${reason} while the case waited (${result.message ?? ''})`;
  delete result.failedRequirement;
  delete result.expected;
  delete result.actual;
}

function base(c: AnyCase): Omit<CaseResult, 'outcome' | 'durationMs'> {
  return {
    id: c.id,
    subject: subjectOf(c),
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

function tripped(c: AnyCase, reason: string): CaseResult {
  return { ...base(c), outcome: 'error', durationMs: 0, message: `not run: ${reason}` };
}

function interrupted(c: AnyCase): CaseResult {
  return {
    ...base(c),
    outcome: 'error',
    durationMs: 0,
    message: 'not run: the run was interrupted',
  };
}

function notUnderTest(c: AnyCase): CaseResult {
  return {
    ...base(c),
    outcome: 'skip',
    durationMs: 0,
    message: `no ${subjectOf(c)} is under test in this run`,
  };
}

/** Races a case body against its time limit. Resolves what the body threw (undefined when it returned). */
async function within(body: Promise<void>, limit: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HarnessTimeout(`the case did not finish within ${limit} ms`)),
      limit,
    );
  });
  body.catch(() => undefined); // a body still running after the timeout must not go unhandled
  try {
    await Promise.race([body, timeout]);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one client case: a fresh mock provider, the client reset through its driver, the body. */
async function executeClient(
  c: ClientCase,
  client: ClientTarget,
  options: RunOptions,
  rng: Rng,
  factor: number,
  levels: ReadonlyMap<string, string> | undefined,
): Promise<CaseResult> {
  const started = Date.now();
  const waitMs = Math.round((options.waitMs ?? 2000) * factor);
  const limit = Math.round((c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) * factor);
  const opened = ClientWorld.open(client, rng, options.validator, waitMs);
  const body = opened.then((world) =>
    c.run({ client: world, rng, waitMs, scale: (ms) => ms * factor }),
  );
  let thrown = await within(body, limit);
  // Even after a timeout the world is closed once it opened (the reset is bounded by its own wait).
  const world = await opened.catch(() => undefined);
  const driverFaults = await world?.close().catch((e: Error) => e.message);
  if (thrown === undefined && driverFaults)
    thrown = new HarnessError(`the harness saw a protocol fault: ${driverFaults}`);
  if (thrown === undefined && client.link.dead)
    thrown = new HarnessError(`the client's driver died: ${client.link.dead}`);
  const result: CaseResult = {
    ...base(c),
    outcome: 'pass',
    durationMs: Date.now() - started,
    schemaFaults: world?.faults ?? [],
    transcript: world?.transcript.entries ?? [],
  };
  classify(result, thrown, levels);
  const sentence = result.failedRequirement && options.sentences?.get(result.failedRequirement);
  if (sentence) result.failedQuote = sentence;
  return result;
}

/** Runs one proxy case: a fresh world on the proxy under test, the body, every connection closed. */
async function executeProxy(
  c: ProxyCase,
  proxy: ProxyTarget,
  options: RunOptions,
  rng: Rng,
  factor: number,
  levels: ReadonlyMap<string, string> | undefined,
): Promise<CaseResult> {
  const started = Date.now();
  const waitMs = Math.round((options.waitMs ?? 2000) * factor);
  const world = new ProxyWorld(proxy, rng, waitMs);
  const limit = Math.round((c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) * factor);
  let thrown: unknown;
  try {
    thrown = await within(c.run({ proxy: world, rng, waitMs, scale: (ms) => ms * factor }), limit);
  } catch (error) {
    thrown = error;
  } finally {
    await world.close();
  }
  const result: CaseResult = { ...base(c), outcome: 'pass', durationMs: Date.now() - started };
  classify(result, thrown, levels);
  const sentence = result.failedRequirement && options.sentences?.get(result.failedRequirement);
  if (sentence) result.failedQuote = sentence;
  return result;
}

/** Runs one case body under its timeout and classifies how it ended. */
async function execute(
  c: ConformanceCase,
  target: Target,
  options: RunOptions,
  rng: Rng,
  factor: number,
  levels: ReadonlyMap<string, string> | undefined,
): Promise<CaseResult> {
  const started = Date.now();
  const missing = (c.capabilities ?? []).filter((cap) => !target.capabilities.includes(cap));
  if (missing.length > 0)
    return {
      ...base(c),
      outcome: 'skip',
      durationMs: 0,
      message: `the target does not claim the capability ${missing.join(', ')}`,
    };
  const waitMs = Math.round((options.waitMs ?? 2000) * factor);
  const world = new World(target, rng, options.validator, waitMs);
  const limit = Math.round((c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS) * factor);
  let thrown: unknown;
  try {
    thrown = await within(c.run({ target, world, rng, waitMs, scale: (ms) => ms * factor }), limit);
  } catch (error) {
    thrown = error; // the body threw before returning its promise
  } finally {
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
  const sentence = result.failedRequirement && options.sentences?.get(result.failedRequirement);
  if (sentence) result.failedQuote = sentence;
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
  } else if (isTargetVerdict(thrown)) {
    // What the target did or did not do within the scaled time is a verdict, never an error.
    const requirement = thrown.requirement ?? result.requirements[0] ?? 'PROTO-010';
    const level = levels?.get(requirement) ?? levelOf(requirement); // a MUST named by a wait fails
    result.outcome = level === 'SHOULD' ? 'warn' : 'fail';
    result.failedRequirement = requirement;
    result.expected = thrown.expected;
    result.actual = thrown.actual;
    result.message = thrown.message;
    if (thrown instanceof TargetSilence) silencedResults.add(result);
  } else if (thrown instanceof SkipCase) {
    result.outcome = 'skip';
    result.message = thrown.reason;
  } else if (thrown !== undefined) {
    result.outcome = 'error';
    result.message =
      thrown instanceof HarnessError
        ? thrown.message
        : `the case threw: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`;
  } else if (result.schemaFaults.some((f) => f.requirement !== undefined)) {
    // A frame that breaks a requirement of its own (PROTO-051: a reply to no request).
    const faults = result.schemaFaults.filter((f) => f.requirement !== undefined);
    const requirement = faults[0]!.requirement!;
    result.outcome = (levels?.get(requirement) ?? 'MUST') === 'SHOULD' ? 'warn' : 'fail';
    result.failedRequirement = requirement;
    result.expected = 'every frame with re to answer a request sent on that connection';
    result.actual = faults.map((f) => `${f.type}: ${f.message}`).join('; ');
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
