// The client cases of keys, auth, framing and delivery against the reference client, and against
// its fault variants (conformance/client/reference-faults.ts): green on the real client, red on the
// requirement each variant breaks.
import { expect } from 'chai';
import { ALL_CASES } from '../../conformance/cases/index.ts';
import {
  CLIENT_FAULTS,
  CLIENT_SHOULD_FAULTS,
  type ClientFault,
  type ClientShouldFault,
} from '../../conformance/client/reference-driver.ts';
import { subjectOf, type AnyCase } from '../../conformance/runner/case.ts';
import type { CaseResult } from '../../conformance/runner/events.ts';
import {
  describeRun,
  expectFailedOn,
  expectWarnedOnly,
  levels,
  runAgainstClient,
} from './support/client-variants.ts';

/** The fault variants these cases answer for, each with the requirement it breaks. */
const FAULTS: readonly ClientFault[] = [
  'reuse-prekey-ids',
  'reuse-kyber-prekey-ids',
  'accept-bad-bundle-signature',
  'refuse-exhausted-bundles',
  'sign-auth-without-device-id',
  'partner-token-hs256',
  'unbound-partner-token',
  'bad-request-ids',
  'extra-frame-member',
  'frame-without-v',
  'ignore-advertised-limits',
  'unknown-error-as-success',
  'fixed-idempotency-key',
  'volatile-chat-list',
  'no-message-id-dedupe',
];

/** The variants that break a SHOULD of these cases: a warning, never a failure. */
const SHOULD_FAULTS: readonly ClientShouldFault[] = [
  'no-signed-prekey-rotation',
  'drop-replaced-signed-prekey',
  'no-kyber-prekey-rotation',
  'drop-replaced-kyber-prekey',
  'ignore-keys-low',
  'give-up-on-device-mismatch',
  'no-retry-after-reconnect',
  'reuse-unanswered-ids',
];

/** The client cases of this part: KEYS, AUTH, PROTO and DELIV. */
const cases = ALL_CASES.filter(
  (c) => subjectOf(c) === 'client' && /^(KEYS|AUTH|PROTO|DELIV)-/.test(c.id),
);

const run = (
  selected: readonly AnyCase[],
  faults: (ClientFault | ClientShouldFault)[],
): Promise<CaseResult[]> => runAgainstClient(selected, faults, 6);

describe('the client cases of keys, auth, framing and delivery', function () {
  this.timeout(120_000);

  it('has a case for every client requirement of the part, and a fault for every MUST among them', () => {
    const covered = new Set(cases.flatMap((c) => c.requirements));
    for (const id of [
      'KEYS-008',
      'KEYS-016',
      'KEYS-026',
      'KEYS-020',
      'AUTH-005',
      'AUTH-009',
      'AUTH-037',
      'PROTO-008',
      'PROTO-024',
      'PROTO-043',
      'DELIV-010',
      'DELIV-022',
      'DELIV-023',
    ]) {
      expect(covered.has(id), id).to.equal(true);
      expect(Object.values(CLIENT_FAULTS), id).to.include(id);
    }
    for (const fault of FAULTS) expect(levels.get(CLIENT_FAULTS[fault]), fault).to.equal('MUST');
    for (const fault of SHOULD_FAULTS)
      expect(levels.get(CLIENT_SHOULD_FAULTS[fault]), fault).to.equal('SHOULD');
  });

  it('passes (or skips with a reason) every case against the reference client', async () => {
    const results = await run(cases, []);
    const bad = results.filter((r) => r.outcome !== 'pass' && r.outcome !== 'skip');
    expect(bad, describeRun(bad)).to.deep.equal([]);
    for (const r of results.filter((x) => x.outcome === 'skip'))
      expect(r.message, r.id).to.be.a('string').and.not.equal('');
  });

  for (const fault of FAULTS) {
    const requirement = CLIENT_FAULTS[fault];
    it(`fails ${requirement} against the client variant ${fault}`, async () => {
      const results = await run(
        cases.filter((c) => c.requirements.includes(requirement)),
        [fault],
      );
      expectFailedOn(results, requirement);
    });
  }

  for (const fault of SHOULD_FAULTS) {
    const requirement = CLIENT_SHOULD_FAULTS[fault];
    it(`warns on ${requirement}, and fails nothing, against the client variant ${fault}`, async () => {
      const results = await run(
        cases.filter((c) => c.requirements.includes(requirement)),
        [fault],
      );
      expectWarnedOnly(results, requirement);
    });
  }
});
