// The conformance case (STYLE.md point 3): a fixed ID, the requirement IDs and level it checks,
// the quoted requirement, what it sends, and a body that ends in one verifier.
import type { ClientWorld } from '../client/world.ts';
import type { ProxyWorld } from '../proxy/world.ts';
import type { Rng } from './rng.ts';
import type { Target } from '../transport/target.ts';
import type { World } from '../transport/world.ts';

export type Level = 'MUST' | 'SHOULD';

/** Outcomes, as spec/README.md#outcomes defines them. */
export type Outcome = 'pass' | 'fail' | 'warn' | 'skip' | 'error';
export const OUTCOMES: readonly Outcome[] = ['pass', 'fail', 'warn', 'skip', 'error'];

/**
 * What a case tests: a provider (the suite plays clients and peers against `--target`) or a client
 * (the suite plays the provider and the peers; the client is driven through its driver,
 * conformance/CLIENT-DRIVER.md).
 */
export type Subject = 'provider' | 'client' | 'proxy';
export const SUBJECTS: readonly Subject[] = ['provider', 'client', 'proxy'];

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

/** What every case declares, whatever its subject. */
export interface CaseHeader {
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
  /** Time the whole case may take before it ends as error, before the factor. Default 5000. */
  timeoutMs?: number;
}

/** One conformance case of a provider. */
export interface ConformanceCase extends CaseHeader {
  subject?: 'provider';
  /** Capabilities the target must claim in `welcome`, else the case is skipped. */
  capabilities?: readonly string[];
  /** Hostile wire cases that may disturb other cases run alone. */
  exclusive?: boolean;
  run(ctx: CaseContext): Promise<void>;
}

/** What a client case body receives: the client under test behind a mock provider of its own. */
export interface ClientCaseContext {
  client: ClientWorld;
  /** This case's own seeded generator. */
  rng: Rng;
  /** The default wait for one reply or event, already multiplied by --timeout-factor. */
  waitMs: number;
  /** Scales a duration by --timeout-factor. */
  scale(ms: number): number;
}

/** One conformance case of a client (conformance/client/HOWTO-CASES.md); one at a time per driver. */
export interface ClientCase extends CaseHeader {
  subject: 'client';
  run(ctx: ClientCaseContext): Promise<void>;
}

/** What a proxy case body receives: the proxy under test between the suite's clients and endpoint. */
export interface ProxyCaseContext {
  proxy: ProxyWorld;
  /** This case's own seeded generator. */
  rng: Rng;
  /** The default wait for one reply or event, already multiplied by --timeout-factor. */
  waitMs: number;
  /** Scales a duration by --timeout-factor. */
  scale(ms: number): number;
}

/** One conformance case of a partner proxy (spec/proxy.md); one at a time. */
export interface ProxyCase extends CaseHeader {
  subject: 'proxy';
  run(ctx: ProxyCaseContext): Promise<void>;
}

/** Any case of the library. */
export type AnyCase = ConformanceCase | ClientCase | ProxyCase;

/** The subject of a case: `provider` unless it says `client`. */
export function subjectOf(c: AnyCase): Subject {
  return c.subject ?? 'provider';
}

/** Declares a provider case; the identity function keeps case files free of type annotations. */
export function defineCase(c: ConformanceCase): ConformanceCase {
  return c;
}

/** Declares a proxy case (`subject: 'proxy'` is filled in). */
export function defineProxyCase(c: Omit<ProxyCase, 'subject'>): ProxyCase {
  return { ...c, subject: 'proxy' };
}

/** Declares a client case (`subject: 'client'` is filled in). */
export function defineClientCase(c: Omit<ClientCase, 'subject'>): ClientCase {
  return { ...c, subject: 'client' };
}

/** The area of a case or requirement ID: `ENC-003-x` → `ENC`. */
export function areaOf(id: string): string {
  return id.split('-')[0] ?? id;
}
