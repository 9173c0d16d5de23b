// The client cases of sender keys and groups (ENC-080..089, GROUP-049..056, GROUP-060) against the reference
// client, and against its group fault variants (conformance/client/reference-group-faults.ts):
// green on the real client, red on the MUST requirement each variant breaks, a warning on the SHOULD one.
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
  'fixed-sender-key',
  'plaintext-distribution',
  'sender-keys-by-distribution-id',
  'unsigned-sender-key-messages',
  'reuse-sender-message-keys',
  'skip-sender-key-signature',
  'accept-far-ahead-sender-keys',
  'keep-used-sender-message-keys',
  'keep-all-skipped-sender-keys',
  'rewind-on-repeated-distribution',
  'no-sender-key-rotation',
  'distribute-to-first-device-only',
  'accept-non-member-group-messages',
  'accept-messages-of-other-groups',
  'one-distribution-id-for-all-groups',
  'no-group-in-content',
  'accept-content-of-other-groups',
  'ignore-group-changes',
  'group-context-from-non-members',
  'group-context-last-delivered-wins',
];
const SHOULD_FAULTS: readonly ClientShouldFault[] = [
  'keep-one-sender-key-state',
  'give-up-on-undistributed-devices',
];

/** The client cases of this part. */
const cases = ALL_CASES.filter(
  (c) => subjectOf(c) === 'client' && /^(ENC-08\d|GROUP-0[456]\d)-/.test(c.id),
);

const run = (
  selected: readonly AnyCase[],
  faults: (ClientFault | ClientShouldFault)[],
): Promise<CaseResult[]> => runAgainstClient(selected, faults, 8);

/** The cases that check `requirement`. */
const casesOf = (requirement: string): AnyCase[] =>
  cases.filter((c) => c.requirements.includes(requirement));

describe('the client cases of sender keys and groups', function () {
  this.timeout(120_000);

  it('has a case for every client requirement of sender keys and groups, and a fault for each of them', () => {
    const must = MUST_FAULTS.map((f) => CLIENT_FAULTS[f]);
    const should = SHOULD_FAULTS.map((f) => CLIENT_SHOULD_FAULTS[f]);
    expect([...new Set([...must, ...should])].sort()).to.deep.equal([
      'ENC-080',
      'ENC-081',
      'ENC-082',
      'ENC-083',
      'ENC-084',
      'ENC-085',
      'ENC-086',
      'ENC-087',
      'ENC-088',
      'ENC-089',
      'GROUP-049',
      'GROUP-050',
      'GROUP-051',
      'GROUP-053',
      'GROUP-054',
      'GROUP-055',
      'GROUP-056',
      'GROUP-060',
    ]);
    for (const id of must) expect(levels.get(id), id).to.equal('MUST');
    for (const id of should) expect(levels.get(id), id).to.equal('SHOULD');
    for (const id of [...must, ...should]) expect(casesOf(id).length, id).to.be.above(0);
  });

  it('passes every sender-key and group case against the reference client', async () => {
    const results = await run(cases, []);
    const bad = results.filter((r) => r.outcome !== 'pass');
    expect(bad, describeRun(bad)).to.deep.equal([]);
    expect(results.length).to.equal(cases.length);
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
