// The client cases of attachments and consent against the reference client, and against its fault
// variants (CLIENT_FAULTS and CLIENT_SHOULD_FAULTS in conformance/client/reference-driver.ts, the
// attachment ones in reference-driver-attachments.ts): green on the real client, red on the MUST
// requirement each variant breaks, a warning on the SHOULD one.
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
  levels,
  runAgainstClient,
} from './support/client-variants.ts';

/** The requirements of this part, each with the fault variant that breaks it. */
const MUST_FAULTS: readonly ClientFault[] = [
  'reuse-attachment-key',
  'nonzero-attachment-padding',
  'ignore-blob-length',
  'skip-chunk-tags',
  'skip-attachment-digest',
  'trust-padded-size',
  'padded-size-equals-size',
  'file-name-in-upload',
  'voice-without-flag',
  'enable-interop-on-connect',
  'third-party-in-inbox',
  'no-label-in-combined',
  'receipts-for-requests',
  'report-content-always',
  'forget-rate-limits',
];
const SHOULD_FAULTS: readonly ClientShouldFault[] = [
  'ignore-media-type-lists',
  'auto-download-attachments',
];

/** The client cases of this part: ATT and CONSENT. */
const cases = ALL_CASES.filter((c) => subjectOf(c) === 'client' && /^(ATT|CONSENT)-/.test(c.id));

const run = (
  selected: readonly AnyCase[],
  faults: (ClientFault | ClientShouldFault)[],
): Promise<CaseResult[]> => runAgainstClient(selected, faults, 8);

/** The cases that check `requirement`. */
const casesOf = (requirement: string): AnyCase[] =>
  cases.filter((c) => c.requirements.includes(requirement));

describe('the client cases of attachments and consent', function () {
  this.timeout(120_000);

  it('has a case for every client requirement of the part, and a fault for each of them', () => {
    const must = MUST_FAULTS.map((f) => CLIENT_FAULTS[f]);
    const should = SHOULD_FAULTS.map((f) => CLIENT_SHOULD_FAULTS[f]);
    expect([...must, ...should].sort()).to.deep.equal([
      'ATT-001',
      'ATT-002',
      'ATT-003',
      'ATT-004',
      'ATT-005',
      'ATT-006',
      'ATT-007',
      'ATT-008',
      'ATT-009',
      'ATT-010',
      'CONSENT-002',
      'CONSENT-012',
      'CONSENT-013',
      'CONSENT-017',
      'CONSENT-018',
      'CONSENT-024',
      'CONSENT-027',
    ]);
    for (const id of must) expect(levels.get(id), id).to.equal('MUST');
    for (const id of should) expect(levels.get(id), id).to.equal('SHOULD');
    for (const id of [...must, ...should]) expect(casesOf(id).length, id).to.be.above(0);
  });

  it('passes every attachment and consent case against the reference client', async () => {
    const results = await run(cases, []);
    const bad = results.filter((r) => r.outcome !== 'pass');
    expect(bad, describeRun(bad)).to.deep.equal([]);
  });

  for (const fault of MUST_FAULTS) {
    const requirement = CLIENT_FAULTS[fault];
    it(`fails ${requirement} against the client variant ${fault}`, async () => {
      const results = await run(casesOf(requirement), [fault]);
      expectFailedOn(results, requirement);
    });
  }

  for (const fault of SHOULD_FAULTS) {
    const requirement = CLIENT_SHOULD_FAULTS[fault];
    it(`warns on ${requirement}, and fails nothing, against the client variant ${fault}`, async () => {
      const results = await run(casesOf(requirement), [fault]);
      expect(
        results.map((r) => [r.outcome, r.failedRequirement]),
        describeRun(results),
      ).to.deep.equal(results.map(() => ['warn', requirement]));
    });
  }
});
