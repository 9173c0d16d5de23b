// The conformance case (STYLE.md point 3): a fixed ID, the requirement IDs and level it checks,
// the quoted requirement, what it sends, and a body that ends in one verifier.
import type { Rng } from './rng.ts';
import type { Target } from '../transport/target.ts';
import type { World } from '../transport/world.ts';

export type Level = 'MUST' | 'SHOULD';

/** Outcomes, as spec/README.md#outcomes defines them. */
export type Outcome = 'pass' | 'fail' | 'warn' | 'skip' | 'error';
export const OUTCOMES: readonly Outcome[] = ['pass', 'fail', 'warn', 'skip', 'error'];

/** What a case body receives. */
export interface CaseContext {
  target: Target;
  world: World;
  /** This case's own seeded generator. */
  rng: Rng;
  /** The default wait for one reply, already multiplied by --timeout-factor. */
  waitMs: number;
  /** Scales a duration by --timeout-factor. */
  scale(ms: number): number;
}

/** One conformance case. */
export interface ConformanceCase {
  /** Fixed ID, never renumbered: `ENC-003-relay-byte-exact`, conventionally the first requirement. */
  id: string;
  /** A sentence: what the target must do. */
  title: string;
  /** Every requirement ID the case checks. */
  requirements: readonly string[];
  /** MUST: a broken requirement fails; SHOULD: it warns. */
  level: Level;
  /** The requirement's normative sentence, quoted. */
  quote: string;
  /** What the case sends, in one line. */
  sends: string;
  /** Capabilities the target must claim in `welcome`, else the case is skipped. */
  capabilities?: readonly string[];
  /** Hostile wire cases that may disturb other cases run alone. */
  exclusive?: boolean;
  /** Time the whole case may take before it ends as error, before the factor. Default 5000. */
  timeoutMs?: number;
  run(ctx: CaseContext): Promise<void>;
}

/** Declares a case; the identity function keeps case files free of type annotations. */
export function defineCase(c: ConformanceCase): ConformanceCase {
  return c;
}

/** The area of a case or requirement ID: `ENC-003-x` → `ENC`. */
export function areaOf(id: string): string {
  return id.split('-')[0] ?? id;
}
