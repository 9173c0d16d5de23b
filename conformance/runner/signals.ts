// What a case throws to end itself: a broken requirement (fail or warn), a skip with its reason, or
// a harness fault (error: timeout, unreachable target). The runner turns each into an outcome.

/** A requirement the target broke: `must` throws it with expected, actual and the requirement. */
export class RequirementFailure extends Error {
  override readonly name = 'RequirementFailure';
  constructor(
    readonly requirement: string,
    readonly expected: string,
    readonly actual: string,
    readonly note?: string,
  ) {
    super(`${requirement}: expected ${expected}; actual ${actual}${note ? ` (${note})` : ''}`);
  }
}

/** The case cannot apply to this target, for `reason` (a capability it does not claim). */
export class SkipCase extends Error {
  override readonly name = 'SkipCase';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The harness could not decide: never a pass or a fail. */
export class HarnessError extends Error {
  override readonly name: string = 'HarnessError';
  /** True when the target refused or dropped the connection (feeds the circuit breaker). */
  readonly unreachable: boolean;
  constructor(message: string, options: { unreachable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.unreachable = options.unreachable ?? false;
  }
}

/** A wait that ran out of time. */
export class HarnessTimeout extends HarnessError {
  override readonly name: string = 'HarnessTimeout';
}

/**
 * What the target did or failed to do, found by the harness rather than by a `must`: a wait for
 * something the target promised ran out (within the time scaled by --timeout-factor), or it
 * refused a step a conformant provider accepts. The verdict rule (conformance/README.md#verdicts):
 * never an ERROR, always a FAIL (or WARN) on `requirement`, else on the case's first requirement.
 */
export interface TargetVerdict {
  readonly requirement: string | undefined;
  readonly expected: string;
  readonly actual: string;
}

/** The target refused or garbled a step it promised (a registration, a reply, a decryptable push). */
export class TargetFault extends HarnessError implements TargetVerdict {
  override readonly name: string = 'TargetFault';
  constructor(
    readonly requirement: string | undefined,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${requirement ?? 'the target'}: expected ${expected}; actual ${actual}`);
  }
}

/**
 * A wait for something the target promised that ran out (or whose connection closed first). It is
 * a HarnessTimeout too, so that a case waiting for silence can still catch it as one.
 */
export class TargetSilence extends HarnessTimeout implements TargetVerdict {
  override readonly name: string = 'TargetSilence';
  readonly expected: string;
  constructor(
    readonly requirement: string | undefined,
    what: string,
    waitedMs: number,
    readonly actual: string,
  ) {
    super(`${requirement ?? 'the target'}: no ${what} within ${waitedMs} ms (${actual})`);
    this.expected = `${what} within ${waitedMs} ms (scaled by --timeout-factor)`;
  }
}

/** Whether `thrown` is a verdict on the target rather than a fault of the harness. */
export function isTargetVerdict(thrown: unknown): thrown is TargetVerdict & Error {
  return thrown instanceof TargetFault || thrown instanceof TargetSilence;
}
