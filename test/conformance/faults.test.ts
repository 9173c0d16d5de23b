// The suite's self-test, "red against broken variants": for each named fault of the reference
// provider (reference-impl/server/faults.ts), the suite runs in-process against that variant and must
// be non-conformant on the requirement the fault breaks; and no fault goes without a row here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import type { CliIo } from '../../conformance/cli/context.ts';
import { main } from '../../conformance/cli/main.ts';
import type { CaseResult } from '../../conformance/runner/events.ts';
import { runCases } from '../../conformance/runner/run.ts';
import { parseGlobs, selectCases } from '../../conformance/runner/select.ts';
import { EXIT_NONCONFORMANT, exitCodeOf } from '../../conformance/runner/summary.ts';
import { loadCatalogue } from '../../conformance/spec-model/catalogue.ts';
import { startEmbeddedTarget } from '../../conformance/transport/embedded.ts';
import { preflight, probe } from '../../conformance/transport/target.ts';
import { FAULTS, requirementOf, type Fault } from '../../reference-impl/server/faults.ts';
import { startProvider, type Logger } from '../../reference-impl/server/index.ts';

const SPEC_DIR = fileURLToPath(new URL('../../spec', import.meta.url));
const validator = createFrameValidator(SCHEMA_DIR);
const levels = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r.level]));

/** One row per fault: the requirement the suite must report failed, and the cases to run. */
const ROWS: Readonly<Record<Fault, { requirement: string; only: string }>> = {
  'accept-plaintext': { requirement: 'ENC-034', only: 'ENC-*' },
  'foreign-prekey-identity': { requirement: 'ENC-035', only: 'ENC-*' },
  'serve-prekey-twice': { requirement: 'KEYS-012', only: 'KEYS-*' },
  'ignore-consent': { requirement: 'CONSENT-005', only: 'CONSENT-*' },
  'reveal-nonexistence': { requirement: 'CONSENT-006', only: 'CONSENT-*' },
  'spoofable-origin': { requirement: 'CONSENT-010', only: 'CONSENT-*' },
  'redeliver-acked': { requirement: 'DELIV-025', only: 'DELIV-*' },
  'skip-device-check': { requirement: 'DELIV-002', only: 'DELIV-*' },
  'skip-size-check': { requirement: 'DELIV-005', only: 'DELIV-*' },
  'accept-bad-prekey-signature': { requirement: 'KEYS-001', only: 'KEYS-*' },
  'skip-identity-check': { requirement: 'KEYS-003', only: 'KEYS-*' },
  'accept-forged-device-proof': { requirement: 'AUTH-006', only: 'AUTH-*' },
  'accept-expired-token': { requirement: 'AUTH-015', only: 'AUTH-*' },
  'accept-wrong-audience': { requirement: 'AUTH-012', only: 'AUTH-*' },
  'ignore-block': { requirement: 'CONSENT-019', only: 'CONSENT-*' },
  'skip-digest-check': { requirement: 'ATT-021', only: 'ATT-*' },
  'timing-oracle': { requirement: 'CONSENT-007', only: 'CONSENT-*' },
  'accept-replayed-token': { requirement: 'AUTH-017', only: 'AUTH-*' },
  'accept-stale-challenge': { requirement: 'AUTH-004', only: 'AUTH-004*' },
  'skip-kyber-signature': { requirement: 'KEYS-002', only: 'KEYS-*' },
  'serve-kyber-prekey-twice': { requirement: 'KEYS-029', only: 'KEYS-*' },
  'last-resort-kyber-first': { requirement: 'KEYS-028', only: 'KEYS-*' },
  'consume-last-resort-kyber': { requirement: 'KEYS-030', only: 'KEYS-*' },
  'number-devices-upward': { requirement: 'AUTH-032', only: 'AUTH-*' },
  'low-ignores-kyber': { requirement: 'KEYS-031', only: 'KEYS-*' },
  'untyped-legacy-refusal': { requirement: 'ENC-057', only: 'ENC-*' },
  'ignore-signature-high-bits': { requirement: 'ENC-007', only: 'ENC-*' },
  'accept-untyped-prekey-signature': { requirement: 'ENC-008', only: 'ENC-*' },
  'ignore-quota': { requirement: 'ATT-016', only: 'ATT-*' },
  'serve-expired-blob': { requirement: 'ATT-032', only: 'ATT-*' },
  'count-expired-quota': { requirement: 'ATT-033', only: 'ATT-*' },
  'deliver-expired': { requirement: 'DELIV-028', only: 'DELIV-*' },
  'no-send-buffer-bound': { requirement: 'PROTO-045', only: 'PROTO-045*' },
  'no-connection-limit': { requirement: 'PROTO-046', only: 'PROTO-046*' },
  'type-before-v': { requirement: 'PROTO-044', only: 'PROTO-044*' },
  'idle-close-early': { requirement: 'PROTO-028', only: 'PROTO-028*' },
  'full-frame-limit-before-auth': { requirement: 'PROTO-047', only: 'PROTO-047*' },
  'parse-before-scan': { requirement: 'PROTO-048', only: 'PROTO-048*' },
  'no-read-budget': { requirement: 'PROTO-049', only: 'PROTO-049*' },
  'rate-limit-reveals-block': { requirement: 'CONSENT-022', only: 'CONSENT-022*' },
  'claims-limited-per-claimer-only': { requirement: 'KEYS-033', only: 'KEYS-033*' },
  'requests-limited-per-sender-only': { requirement: 'CONSENT-033', only: 'CONSENT-033*' },
  'slot-bytes-per-user-only': { requirement: 'ATT-034', only: 'ATT-034*' },
  'unlimited-writes': { requirement: 'PROTO-050', only: 'PROTO-050*' },
  'token-spent-only-on-success': { requirement: 'AUTH-029', only: 'AUTH-029*' },
  'unlimited-registration-guesses': { requirement: 'AUTH-030', only: 'AUTH-030*' },
  'auth-window-ignored': { requirement: 'AUTH-031', only: 'AUTH-031*' },
  'unbounded-queue': { requirement: 'DELIV-032', only: 'DELIV-032*' },
  'members-act-as-admins': { requirement: 'GROUP-011', only: 'GROUP-*' },
  'group-add-reveals-consent': { requirement: 'GROUP-021', only: 'GROUP-*' },
  'third-party-adds-directly': { requirement: 'GROUP-020', only: 'GROUP-*' },
  'no-invitation-push': { requirement: 'GROUP-025', only: 'GROUP-*' },
  'accept-non-member-send': { requirement: 'GROUP-042', only: 'GROUP-*' },
  'deliver-to-removed': { requirement: 'GROUP-043', only: 'GROUP-*' },
  'fan-out-first-device-only': { requirement: 'GROUP-041', only: 'GROUP-*' },
  'unlimited-group-additions': { requirement: 'GROUP-033', only: 'GROUP-033*' },
  'accept-non-sender-key': { requirement: 'GROUP-045', only: 'GROUP-*' },
  'group-changes-to-actor-only': { requirement: 'GROUP-013', only: 'GROUP-*' },
  'skip-group-version-check': { requirement: 'GROUP-044', only: 'GROUP-*' },
  'no-group-size-limit': { requirement: 'GROUP-031', only: 'GROUP-031*' },
  'decline-reveals': { requirement: 'GROUP-022', only: 'GROUP-*' },
  'distribution-to-non-members': { requirement: 'GROUP-046', only: 'GROUP-*' },
  'partners-never-claim': { requirement: 'GROUP-047', only: 'GROUP-*' },
  'no-admin-heir': { requirement: 'GROUP-015', only: 'GROUP-*' },
  'refuse-group-leave': { requirement: 'GROUP-014', only: 'GROUP-*' },
  'group-folder-inbox': { requirement: 'GROUP-024', only: 'GROUP-*' },
  'group-create-not-idempotent': { requirement: 'GROUP-061', only: 'GROUP-061*' },
  'unbounded-group-queue': { requirement: 'GROUP-062', only: 'GROUP-062*' },
  'undistributed-devices-accepted': { requirement: 'GROUP-052', only: 'GROUP-*' },
  'groups-start-at-version-2': { requirement: 'GROUP-001', only: 'GROUP-*' },
  'group-get-members-only': { requirement: 'GROUP-003', only: 'GROUP-*' },
  'group-get-reveals-membership': { requirement: 'GROUP-004', only: 'GROUP-*' },
  'group-adds-skip-partners': { requirement: 'GROUP-010', only: 'GROUP-*' },
  'role-change-counts-twice': { requirement: 'GROUP-012', only: 'GROUP-*' },
  'deliver-to-invitees': { requirement: 'GROUP-023', only: 'GROUP-*' },
  'no-group-size-advertised': { requirement: 'GROUP-030', only: 'GROUP-*' },
  'group-sends-not-idempotent': { requirement: 'GROUP-040', only: 'GROUP-*' },
  'group-fan-out-ignores-consent': { requirement: 'GROUP-048', only: 'GROUP-*' },
  'proxy-key-unchecked': { requirement: 'PROXY-001', only: 'PROXY-001*' },
  'proxy-any-source': { requirement: 'PROXY-002', only: 'PROXY-002*' },
  'proxy-token-replay': { requirement: 'PROXY-003', only: 'PROXY-003*' },
  'proxy-counted-at-proxy': { requirement: 'PROXY-004', only: 'PROXY-004*' },
  'proxy-carries-any-user': { requirement: 'PROXY-006', only: 'PROXY-006*' },
  'unbounded-proxy-connections': { requirement: 'PROXY-005', only: 'PROXY-005*' },
  'proxy-login-ignored': { requirement: 'PROXY-007', only: 'PROXY-007*' },
  'accept-identity-key-proof': { requirement: 'AUTH-033', only: 'AUTH-033*' },
  'forget-removed-device-keys': { requirement: 'AUTH-034', only: 'AUTH-034*' },
  'removed-device-stays-connected': { requirement: 'AUTH-035', only: 'AUTH-035*' },
  'reused-id-keeps-removed-key': { requirement: 'AUTH-036', only: 'AUTH-036*' },
  'ignore-token-binding': { requirement: 'AUTH-037', only: 'AUTH-037*' },
  'partner-session-outlives-token': { requirement: 'AUTH-038', only: 'AUTH-038*' },
};

interface VariantRun {
  exitCode: number;
  results: readonly CaseResult[];
}

/** Runs the selected cases (all when `only` is empty) against the reference provider with `faults`. */
async function runAgainst(faults: readonly Fault[], only: readonly string[]): Promise<VariantRun> {
  const embedded = await startEmbeddedTarget({ faults });
  try {
    const target = await preflight(
      embedded.url,
      embedded.registrationToken,
      embedded.partner,
      validator,
      2000,
    );
    const end = await runCases(selectCases(ALL_CASES, parseGlobs(only)), {
      target,
      validator,
      seed: 7,
      concurrency: 4,
      levels,
      probe: () => probe(embedded.url, validator, 2000),
    });
    return {
      exitCode: exitCodeOf(end.results, end.breaker ? { breaker: end.breaker } : {}),
      results: end.results,
    };
  } finally {
    await embedded.stop();
  }
}

/**
 * The failed results that name `requirement` among their requirements and failed on it, and a
 * readable list of every result that did not pass.
 */
function failuresOn(run: VariantRun, requirement: string): { hits: CaseResult[]; all: string } {
  const hits = run.results.filter(
    (r) =>
      r.outcome === 'fail' &&
      r.requirements.includes(requirement) &&
      r.failedRequirement === requirement,
  );
  const all = run.results
    .filter((r) => r.outcome !== 'pass' && r.outcome !== 'skip')
    .map((r) => `${r.id} ${r.outcome} ${r.failedRequirement ?? ''}: ${r.message ?? r.actual ?? ''}`)
    .join('\n');
  return { hits, all };
}

describe('the conformance suite against deliberately broken reference providers', function () {
  this.timeout(60_000);

  it('has a test row for every fault, naming the requirement the fault says it breaks', function () {
    expect(Object.keys(ROWS).sort()).to.deep.equal(Object.keys(FAULTS).sort());
    for (const [fault, row] of Object.entries(ROWS))
      expect(row.requirement, fault).to.equal(requirementOf(fault as Fault));
    for (const row of Object.values(ROWS))
      expect(levels.get(row.requirement)).to.be.oneOf(['MUST', 'SHOULD']);
  });

  it('offers no flag of parley serve or parley conform, nor a serve config member, to inject a fault', async function () {
    for (const command of ['serve', 'conform']) {
      let out = '';
      const io: CliIo = { out: (t) => void (out += t), err: (t) => void (out += t) };
      expect(await main(['node', 'parley', command, '--help'], io)).to.equal(0);
      expect(out)
        .to.include('--')
        .and.not.match(/\bfaults?\b/i);
    }
    const serve = readFileSync(new URL('../../conformance/cli/serve.ts', import.meta.url), 'utf8');
    expect(serve).to.not.match(/\bfaults?\b/i);
  });

  it('logs a warning naming the active faults when a provider starts broken', async function () {
    const lines: [string, string, Record<string, unknown> | undefined][] = [];
    const logger: Logger = {
      log: (level, event, fields) => void lines.push([level, event, fields]),
    };
    const provider = await startProvider({
      port: 0,
      dbPath: ':memory:',
      logger,
      faults: ['accept-plaintext'],
    });
    await provider.close();
    const warning = lines.find(([, event]) => event === 'faults.injected');
    expect(warning?.[0]).to.equal('warn');
    expect(warning?.[2]?.faults).to.deep.equal(['accept-plaintext']);
  });

  const mustRows = (Object.entries(ROWS) as [Fault, (typeof ROWS)[Fault]][]).filter(
    ([, row]) => levels.get(row.requirement) === 'MUST',
  );
  const shouldRows = (Object.entries(ROWS) as [Fault, (typeof ROWS)[Fault]][]).filter(
    ([, row]) => levels.get(row.requirement) === 'SHOULD',
  );

  for (const [fault, row] of shouldRows)
    it(`warns on the SHOULD ${row.requirement}, and stays conformant, against the variant ${fault}`, async function () {
      const run = await runAgainst([fault], [row.only]);
      const warned = run.results.filter(
        (r) => r.outcome === 'warn' && r.failedRequirement === row.requirement,
      );
      const all = run.results.map((r) => `${r.id} ${r.outcome}: ${r.message ?? r.actual ?? ''}`);
      expect(warned.length, `no case warned on ${row.requirement}:\n${all.join('\n')}`).to.be.above(
        0,
      );
      expect(run.exitCode, all.join('\n')).to.equal(0);
    });

  for (const [fault, row] of mustRows)
    it(`is non-conformant on ${row.requirement} against the variant ${fault}`, async function () {
      const run = await runAgainst([fault], [row.only]);
      const { hits, all } = failuresOn(run, row.requirement);
      expect(run.exitCode, all).to.equal(EXIT_NONCONFORMANT);
      expect(hits.length, `no case failed on ${row.requirement}; non-passing:\n${all}`).to.be.above(
        0,
      );
    });

  it('passes the whole suite against the same provider with no fault injected', async function () {
    const run = await runAgainst([], []);
    expect(run.exitCode, failuresOn(run, '').all).to.equal(0);
  });

  it('still fails on the broken requirement when the whole suite runs, not only its area', async function () {
    const run = await runAgainst(['reveal-nonexistence'], []);
    const { hits, all } = failuresOn(run, 'CONSENT-006');
    expect(run.exitCode, all).to.equal(EXIT_NONCONFORMANT);
    expect(hits.length, all).to.be.above(0);
    expect(run.results.length).to.equal(ALL_CASES.length);
  });
});
