/**
 * The fuzzing driver: a provider in its own process, many connections in every session state
 * sending generated inputs one at a time and judging each answer (oracle.ts), an honest
 * conversation beside them (honest.ts), the provider's log watched for unhandled errors and its
 * memory sampled against a baseline. Issue 7 part 4; spec/framing.md, spec/errors.md.
 */
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { loadSeeds, type Seed } from './corpus.ts';
import { HonestConversation, type HonestVerdict } from './honest.ts';
import { generate, type FuzzInput } from './mutators.ts';
import { expect, judge, type FuzzState, type Observation } from './oracle.ts';
import { FuzzPeer, SetupError, type FuzzAccount } from './peer.ts';
import { serveProvider, type ServedProvider } from './target.ts';

export interface FuzzOptions {
  readonly frames: number;
  readonly seed: number;
  /** Concurrent fuzzing connections; a quarter opened, a quarter greeted, half authenticated. */
  readonly connections: number;
  /** Called every so often with the frames done. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** One input whose answer broke a rule, with what it takes to replay it. */
export interface Finding {
  readonly index: number;
  readonly state: FuzzState;
  readonly mutator: string;
  readonly seedType: string;
  readonly binary: boolean;
  readonly fragments: number;
  readonly problem: string;
  /** The input's bytes in base64 (cut at MAX_PAYLOAD_SHOWN bytes; `--replay` regenerates it whole). */
  readonly payload: string;
  readonly payloadBytes: number;
}

/** Resident memory of the provider before, during and after the run. */
export interface MemoryVerdict {
  readonly baselineBytes: number;
  readonly peakBytes: number;
  /** [frames done, RSS bytes] at each progress step, to tell a plateau from a climb. */
  readonly samples: readonly (readonly [number, number])[];
  readonly finalBytes: number;
  readonly allowedBytes: number;
  readonly ok: boolean;
}

export interface FuzzReport {
  readonly seed: number;
  readonly frames: number;
  readonly connections: number;
  readonly durationMs: number;
  /** Inputs per mutator. */
  readonly mutators: Record<string, number>;
  /** Answers by error code, reply type or close code. */
  readonly answers: Record<string, number>;
  readonly findings: readonly Finding[];
  /** Findings beyond the ones kept. */
  readonly moreFindings: number;
  /** Unhandled-error log lines, stray stderr, an exit of the provider. */
  readonly serverProblems: readonly string[];
  readonly honest: HonestVerdict;
  /** Absent where /proc is unavailable. */
  readonly memory?: MemoryVerdict;
  readonly ok: boolean;
}

/** Findings kept in full; a systematic fault would otherwise repeat itself thousands of times. */
const MAX_FINDINGS = 100;
const MAX_PAYLOAD_SHOWN = 4096;
/** Frames before the memory baseline is taken: ajv has compiled every schema, SQLite is warm. */
const WARMUP_FRAMES = 2000;
const MEMORY_SAMPLE_MS = 200;
/** How long the provider gets to give memory back after the run. */
const MEMORY_SETTLE_MS = 10_000;
/**
 * Memory the provider may keep over its baseline after the run: 64 MiB, or half the baseline if
 * more. V8 keeps heap pages it grew into under load and glibc keeps freed arenas, so RSS does
 * not fall back to the byte; a leak of the state of even 100 bytes per frame exceeds this over
 * the full run of 1 000 000 frames, and every connection's buffers are freed at its close.
 */
const MEMORY_SLACK_BYTES = 64 * 1024 * 1024;
const MEMORY_SLACK_FRACTION = 0.5;
/** Honest texts per fuzzed frame, and the bounds on their number. */
const HONEST_EVERY_FRAMES = 250;
const HONEST_MIN = 20;
const HONEST_MAX = 4000;

/** alice@wa.example device 1 of spec/messages/messages.yaml's `first-contact` example. */
const EXAMPLE_RECIPIENT = { name: 'alice', registrationId: 5270 };
const ACK_INTERVAL_MS = 200;

const BASE_STATES: readonly FuzzState[] = ['opened', 'greeted', 'authenticated', 'authenticated'];

function answerLabel(seen: Observation): string {
  if (seen.timedOut) return 'no answer';
  if (!seen.reply) return `close ${String(seen.closeCode)}`;
  return seen.reply.type === 'error' ? String(seen.reply.code) : String(seen.reply.type);
}

function finding(input: FuzzInput, state: FuzzState, problem: string): Finding {
  return {
    index: input.index,
    state,
    mutator: input.mutator,
    seedType: input.seedType,
    binary: input.binary,
    fragments: input.fragments,
    problem,
    payload: input.payload.subarray(0, MAX_PAYLOAD_SHOWN).toString('base64'),
    payloadBytes: input.payload.length,
  };
}

/** Opens a connection and brings it to `state`; authenticated ones register their account once. */
async function setUp(
  target: ServedProvider,
  state: FuzzState,
  account: () => string,
  known: { account?: FuzzAccount },
): Promise<{
  peer: FuzzPeer;
  maxFrameBytes: number | undefined;
  maxUnauthenticatedFrameBytes: number | undefined;
}> {
  const peer = await FuzzPeer.connect(target.wsUrl);
  if (state === 'opened')
    return { peer, maxFrameBytes: undefined, maxUnauthenticatedFrameBytes: undefined };
  let welcome = await peer.greet();
  const { maxFrameBytes, maxUnauthenticatedFrameBytes } = welcome.limits as {
    maxFrameBytes: number;
    maxUnauthenticatedFrameBytes: number;
  };
  if (state === 'greeted') return { peer, maxFrameBytes, maxUnauthenticatedFrameBytes };
  known.account ??= await peer.register(target, account());
  if (await peer.authenticate(known.account, welcome))
    return { peer, maxFrameBytes, maxUnauthenticatedFrameBytes };
  // A fuzzed device.remove may have taken the account's device: start a new account.
  peer.close();
  const again = await FuzzPeer.connect(target.wsUrl);
  welcome = await again.greet();
  known.account = await again.register(target, account());
  if (!(await again.authenticate(known.account, welcome)))
    throw new SetupError('a freshly registered account could not authenticate');
  return { peer: again, maxFrameBytes, maxUnauthenticatedFrameBytes };
}

/** Runs the fuzzer; the report says what it found. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const validator = createFrameValidator(SCHEMA_DIR);
  const seeds: Seed[] = loadSeeds();
  const target = await serveProvider();
  const findings: Finding[] = [];
  let moreFindings = 0;
  const report = (f: Finding): void => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
    else moreFindings++;
  };
  const mutators: Record<string, number> = {};
  const answers: Record<string, number> = {};
  let honest: HonestConversation | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let acker: NodeJS.Timeout | undefined;
  let sink: FuzzPeer | undefined;
  try {
    honest = await HonestConversation.start(target, `s${options.seed}`);
    // The examples' recipient, alice@wa.example device 1 with their registration id: sends of
    // the seed corpus reach the Signal checks, and what is accepted is acked so no queue grows.
    const sinkSetUp = await FuzzPeer.connect(target.wsUrl);
    const sinkWelcome = await sinkSetUp.greet();
    await sinkSetUp.authenticate(
      await sinkSetUp.register(target, EXAMPLE_RECIPIENT.name, EXAMPLE_RECIPIENT.registrationId),
      sinkWelcome,
    );
    sink = sinkSetUp;
    let acking = false;
    acker = setInterval(() => {
      if (acking || !sinkSetUp.open) return;
      acking = true;
      sinkSetUp.ackPushes().then(
        () => (acking = false),
        (error: unknown) => target.problems.push(`acking alice's messages: ${String(error)}`),
      );
    }, ACK_INTERVAL_MS);
    const probe = await setUp(target, 'greeted', () => '', {});
    probe.peer.close();
    const maxFrameBytes = probe.maxFrameBytes!;
    const maxUnauthenticatedFrameBytes = probe.maxUnauthenticatedFrameBytes!;
    let next = 0;
    let done = 0;
    let accounts = 0;
    let baseline: number | undefined;
    let peak = 0;
    const samples: [number, number][] = [];
    sampler = setInterval(() => {
      const rss = target.rssBytes();
      if (rss !== undefined) peak = Math.max(peak, rss);
    }, MEMORY_SAMPLE_MS);
    const warmup = Math.min(WARMUP_FRAMES, Math.floor(options.frames / 10));
    const progressEvery = Math.max(1, Math.floor(options.frames / 20));

    const worker = async (w: number): Promise<void> => {
      const base = BASE_STATES[w % BASE_STATES.length]!;
      const known: { account?: FuzzAccount } = {};
      const accountName = (): string => `fz${options.seed}-${w}-${++accounts}`;
      let peer: FuzzPeer | undefined;
      let last: { input: FuzzInput; state: FuzzState } | undefined;
      while (next < options.frames && target.alive()) {
        if (!peer?.open) {
          // A close the oracle did not foresee after a surviving answer is a finding too.
          if (peer && last)
            report(
              finding(
                last.input,
                last.state,
                `the connection closed (${String(peer.closeCode)}) after an answer that keeps it open`,
              ),
            );
          try {
            peer = (await setUp(target, base, accountName, known)).peer;
          } catch (error) {
            // A provider that died is reported once, as its exit; not once per connection.
            await new Promise((r) => setTimeout(r, 500));
            if (target.alive())
              report(
                finding(
                  generate(options.seed, next, seeds, { maxFrameBytes }),
                  base,
                  `set-up failed: ${(error as Error).message}`,
                ),
              );
            return;
          }
        }
        if (next >= options.frames) break;
        const index = next++;
        const input = generate(options.seed, index, seeds, { maxFrameBytes });
        mutators[input.mutator] = (mutators[input.mutator] ?? 0) + 1;
        const state = peer.state;
        const expected = expect(
          input,
          state,
          maxFrameBytes,
          validator,
          maxUnauthenticatedFrameBytes,
        );
        const seen = await peer.exchange(input);
        const label = answerLabel(seen);
        answers[label] = (answers[label] ?? 0) + 1;
        const problem = judge(expected, seen, validator);
        if (problem) report(finding(input, state, problem));
        for (const push of peer.pushes.splice(0)) {
          const valid = validator.validate(push);
          if (!valid.ok)
            report(
              finding(
                input,
                state,
                `a ${String(push.type)} push fails its schema at ${valid.pointer}`,
              ),
            );
        }
        const closing = seen.closeCode !== undefined || seen.timedOut;
        last = closing ? undefined : { input, state };
        if (seen.timedOut) {
          peer.close();
          peer = undefined;
        }
        done++;
        if (done === warmup) baseline = target.rssBytes();
        if (done % progressEvery === 0) {
          const rss = target.rssBytes();
          if (rss !== undefined) samples.push([done, rss]);
          options.onProgress?.(done, options.frames);
        }
      }
      peer?.close();
    };

    const honestCount = Math.min(
      HONEST_MAX,
      Math.max(HONEST_MIN, Math.floor(options.frames / HONEST_EVERY_FRAMES)),
    );
    const talk = async (): Promise<void> => {
      for (let k = 1; k <= honestCount; k++) {
        const mark = Math.floor((k * options.frames) / (honestCount + 1));
        while (done < mark && next < options.frames && target.alive())
          await new Promise((r) => setTimeout(r, 10));
        if (!target.alive()) return;
        await honest!.say();
      }
    };

    await Promise.all([
      talk(),
      ...Array.from({ length: options.connections }, (_, w) => worker(w)),
    ]);
    options.onProgress?.(done, options.frames);
    const verdict = await honest.verdict();

    let memory: MemoryVerdict | undefined;
    baseline ??= target.rssBytes();
    if (baseline !== undefined && target.alive()) {
      const allowed = baseline + Math.max(MEMORY_SLACK_BYTES, baseline * MEMORY_SLACK_FRACTION);
      const settleUntil = Date.now() + MEMORY_SETTLE_MS;
      let final = target.rssBytes() ?? 0;
      while (final > allowed && Date.now() < settleUntil) {
        await new Promise((r) => setTimeout(r, 250));
        final = target.rssBytes() ?? 0;
      }
      memory = {
        baselineBytes: baseline,
        peakBytes: Math.max(peak, final),
        samples,
        finalBytes: final,
        allowedBytes: allowed,
        ok: final <= allowed,
      };
    }
    // Still serving: a fresh connection is greeted.
    if (target.alive()) {
      try {
        (await setUp(target, 'greeted', () => '', {})).peer.close();
      } catch (error) {
        target.problems.push(`the provider no longer answers hello: ${(error as Error).message}`);
      }
    }
    const ok =
      findings.length === 0 &&
      target.problems.length === 0 &&
      target.alive() &&
      verdict.failedSends.length === 0 &&
      verdict.lost.length === 0 &&
      verdict.duplicated.length === 0 &&
      (memory?.ok ?? true);
    return {
      seed: options.seed,
      frames: done,
      connections: options.connections,
      durationMs: Date.now() - started,
      mutators,
      answers,
      findings,
      moreFindings,
      serverProblems: [...target.problems],
      honest: verdict,
      ...(memory ? { memory } : {}),
      ok,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    if (acker) clearInterval(acker);
    sink?.close();
    await honest?.close();
    await target.stop();
  }
}

/** Regenerates input `index` of run `seed`, sends it alone on a fresh connection in `state`. */
export async function replay(
  seed: number,
  index: number,
  state: FuzzState,
): Promise<{
  input: FuzzInput;
  problem: string | undefined;
  seen: Observation;
  serverProblems: string[];
}> {
  const validator = createFrameValidator(SCHEMA_DIR);
  const target = await serveProvider();
  try {
    const known: { account?: FuzzAccount } = {};
    const probe = await setUp(target, 'greeted', () => 'probe', {});
    probe.peer.close();
    const { peer: p } = await setUp(target, state, () => `replay${index}`, known);
    const max = probe.maxFrameBytes!;
    const input = generate(seed, index, loadSeeds(), { maxFrameBytes: max });
    const expected = expect(input, p.state, max, validator, probe.maxUnauthenticatedFrameBytes);
    const seen = await p.exchange(input);
    p.close();
    await new Promise((r) => setTimeout(r, 200));
    return {
      input,
      problem: judge(expected, seen, validator),
      seen,
      serverProblems: [...target.problems],
    };
  } finally {
    await target.stop();
  }
}
