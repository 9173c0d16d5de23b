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
  override readonly name = 'HarnessTimeout';
}
