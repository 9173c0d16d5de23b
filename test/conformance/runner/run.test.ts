// Tests of the runner (conformance/runner/run.ts, summary.ts, expected.ts): outcomes, timeouts,
// skips, expected failures both ways, exit codes, seeded order, exclusive cases and the breaker.
import { expect } from 'chai';
import { isError } from '../../../conformance/assert/match.ts';
import { mustMatch, requireThat } from '../../../conformance/assert/must.ts';
import type { ConformanceCase } from '../../../conformance/runner/case.ts';
import { RunnerEvents } from '../../../conformance/runner/events.ts';
import { parseExpectedFailures } from '../../../conformance/runner/expected.ts';
import { runCases, type RunOptions } from '../../../conformance/runner/run.ts';
import { HarnessError, TargetFault, TargetSilence } from '../../../conformance/runner/signals.ts';
import { exitCodeOf } from '../../../conformance/runner/summary.ts';
import { fakeCase, fakeTarget, validator } from './support.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function run(cases: ConformanceCase[], options: Partial<RunOptions> = {}) {
  return runCases(cases, { target: await fakeTarget(), validator, seed: 1, ...options });
}

const failing = fakeCase('ENC-034-refused', async () => {
  mustMatch('ENC-034', { type: 'message.accepted' }, isError('NOT_SIGNAL_CIPHERTEXT'));
});

describe('conformance runner: outcomes', () => {
  it('passes a case whose body returns', async () => {
    const end = await run([fakeCase('PROTO-027-ping')]);
    expect(end.results[0]).to.include({ outcome: 'pass', id: 'PROTO-027-ping' });
  });

  it('fails a MUST case that throws a must-mismatch, with expected, actual and requirement', async () => {
    const [r] = (await run([failing])).results;
    expect(r).to.include({ outcome: 'fail', failedRequirement: 'ENC-034' });
    expect(r!.expected).to.equal('an error frame with code NOT_SIGNAL_CIPHERTEXT');
    expect(r!.actual).to.equal('{"type":"message.accepted"}');
  });

  it('warns when the broken requirement is a SHOULD, by case level or by catalogue level', async () => {
    const byLevel = await run([{ ...failing, level: 'SHOULD' }]);
    expect(byLevel.results[0]!.outcome).to.equal('warn');
    const byCatalogue = await run([failing], { levels: new Map([['ENC-034', 'SHOULD']]) });
    expect(byCatalogue.results[0]!.outcome).to.equal('warn');
  });

  it('ends a case that outlives its timeout (times the factor) as error, never fail', async () => {
    const slow = fakeCase('DELIV-008-slow', () => sleep(500), { timeoutMs: 20 });
    const end = await run([slow], { timeoutFactor: 2 });
    expect(end.results[0]).to.include({ outcome: 'error' });
    expect(end.results[0]!.message).to.match(/within 40 ms/);
  });

  it('skips a case whose capability the target does not claim, with the reason', async () => {
    const kyber = fakeCase('KEYS-015-kyber', async () => undefined, { capabilities: ['kyber'] });
    const [r] = (await run([kyber])).results;
    expect(r).to.include({ outcome: 'skip' });
    expect(r!.message).to.match(/kyber/);
  });

  it('skips a case that calls requireThat with a false condition', async () => {
    const c = fakeCase('ATT-001-x', async () => requireThat(false, 'no attachment endpoint'));
    expect((await run([c])).results[0]).to.include({
      outcome: 'skip',
      message: 'no attachment endpoint',
    });
  });

  it('fails the requirement a wait names when the target stays silent, never error (the verdict rule)', async () => {
    const silent = fakeCase(
      'DELIV-019-x',
      async () => {
        throw new TargetSilence('DELIV-015', 'a message push', 40, 'nothing arrived');
      },
      { level: 'SHOULD' },
    );
    const [r] = (await run([silent], { levels: new Map([['DELIV-015', 'MUST']]) })).results;
    expect(r).to.include({ outcome: 'fail', failedRequirement: 'DELIV-015' });
    expect(r!.expected).to.equal('a message push within 40 ms (scaled by --timeout-factor)');
    expect(r!.actual).to.equal('nothing arrived');
  });

  it('shows a broken requirement with its own catalogue sentence, not the quote of the case', async () => {
    const other = fakeCase('AUTH-017-x', async () => {
      mustMatch('AUTH-021', { type: 'error' }, isError('AUTH_FAILED'));
    });
    const sentences = new Map([['AUTH-021', 'The sentence of AUTH-021.']]);
    const [r] = (await run([other], { sentences })).results;
    expect(r).to.include({
      failedRequirement: 'AUTH-021',
      failedQuote: 'The sentence of AUTH-021.',
    });
    expect(r!.quote).to.equal('The provider MUST do it.');
  });

  it("fails the case's first requirement when the target refuses a step the wait did not name", async () => {
    const refused = fakeCase('CONSENT-005-x', async () => {
      throw new TargetFault(undefined, 'auth.ok for alice', '{"type":"error"}');
    });
    const [r] = (await run([refused])).results;
    expect(r).to.include({ outcome: 'fail', failedRequirement: 'CONSENT-005' });
  });

  it('turns an unexpected exception into error, not fail', async () => {
    const c = fakeCase('AUTH-001-x', async () => {
      throw new TypeError('bug in the case');
    });
    expect((await run([c])).results[0]!.outcome).to.equal('error');
  });
});

describe('conformance runner: expected failures and exit codes', () => {
  it('reads a JSON list and a text list with comments', () => {
    expect([...parseExpectedFailures('["ENC-034", "PROTO-004-bad-json"]')]).to.deep.equal([
      'ENC-034',
      'PROTO-004-bad-json',
    ]);
    expect([...parseExpectedFailures('# known\nENC-034\n\nKEYS-012 # racy\n')]).to.deep.equal([
      'ENC-034',
      'KEYS-012',
    ]);
  });

  it('marks a listed failure as expected, so the run stays conformant', async () => {
    const end = await run([failing], { expectedFailures: new Set(['ENC-034']) });
    expect(end.results[0]).to.include({ outcome: 'fail', expectedFailure: true });
    expect(exitCodeOf(end.results)).to.equal(0);
  });

  it('fails the run when a listed case unexpectedly passes', async () => {
    const end = await run([fakeCase('PROTO-004-bad-json')], {
      expectedFailures: new Set(['PROTO-004-bad-json']),
    });
    expect(end.results[0]).to.include({ outcome: 'pass', unexpectedPass: true });
    expect(end.summary.unexpectedPasses).to.equal(1);
    expect(exitCodeOf(end.results)).to.equal(1);
  });

  it('exits 1 on fail, 2 on error only, 0 on warn unless warnings fail the run', async () => {
    const fail = (await run([failing])).results;
    const warn = (await run([{ ...failing, level: 'SHOULD' }])).results;
    const error = (
      await run([
        fakeCase('X-1', async () => {
          throw new HarnessError('down');
        }),
      ])
    ).results;
    expect(exitCodeOf(fail)).to.equal(1);
    expect(exitCodeOf(error)).to.equal(2);
    expect(exitCodeOf(warn)).to.equal(0);
    expect(exitCodeOf(warn, { failOnWarn: true })).to.equal(1);
  });
});

describe('conformance runner: scheduling', () => {
  it('runs in an order fixed by the seed and reports results in ID order', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `PROTO-${String(i).padStart(3, '0')}-x`);
    const order = async (seed: number): Promise<string[]> => {
      const events = new RunnerEvents();
      const seen: string[] = [];
      events.on('case.start', (e) => seen.push(e.id));
      const end = await run(
        ids.map((id) => fakeCase(id)),
        { seed, concurrency: 1, events },
      );
      expect(end.results.map((r) => r.id)).to.deep.equal(ids);
      return seen;
    };
    expect(await order(5)).to.deep.equal(await order(5));
    expect(await order(5)).to.not.deep.equal(await order(6));
  });

  it('never runs more than --concurrency cases at once, and exclusive cases alone', async () => {
    let running = 0;
    let peak = 0;
    let overlapWithExclusive = false;
    let exclusiveRunning = false;
    const body = (exclusive: boolean) => async () => {
      running++;
      peak = Math.max(peak, running);
      if (exclusive) exclusiveRunning = true;
      if (running > 1 && exclusiveRunning) overlapWithExclusive = true;
      await sleep(10);
      if (exclusive) exclusiveRunning = false;
      running--;
    };
    const cases = [
      ...Array.from({ length: 8 }, (_, i) => fakeCase(`DELIV-00${i}-x`, body(false))),
      fakeCase('PROTO-005-big', body(true), { exclusive: true }),
      fakeCase('PROTO-003-bin', body(true), { exclusive: true }),
    ];
    await run(cases, { concurrency: 3 });
    expect(peak).to.equal(3);
    expect(overlapWithExclusive).to.equal(false);
  });

  it('opens the circuit breaker when the target stops accepting connections', async () => {
    const events = new RunnerEvents();
    let opened = '';
    events.on('breaker.open', (e) => (opened = e.reason));
    let first = true;
    const body = async (): Promise<void> => {
      if (!first) return;
      first = false;
      throw new HarnessError('cannot connect', { unreachable: true });
    };
    const cases = ['AUTH-001-a', 'AUTH-002-b', 'AUTH-003-c', 'AUTH-004-d'].map((id) =>
      fakeCase(id, body),
    );
    const end = await run(cases, { concurrency: 1, probe: async () => false, events, seed: 3 });
    expect(opened).to.match(/stopped accepting connections/);
    expect(end.breaker).to.be.a('string');
    const notRun = end.results.filter((r) => r.message?.startsWith('not run'));
    expect(notRun.length).to.equal(3);
    expect(notRun.every((r) => r.outcome === 'error')).to.equal(true);
    expect(exitCodeOf(end.results, { breaker: end.breaker })).to.equal(2);
  });
});
