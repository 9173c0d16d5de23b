// Tests of the reporters (conformance/reporters/): report.json shape, junit.xml well-formed,
// report.html self-contained and escaped, the signature, and transcript redaction.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { CaseResult, RunEnd } from '../../../conformance/runner/events.ts';
import { summarise } from '../../../conformance/runner/summary.ts';
import { renderHtml } from '../../../conformance/reporters/html.ts';
import { writeJsonReport } from '../../../conformance/reporters/json.ts';
import { renderJunit } from '../../../conformance/reporters/junit.ts';
import {
  buildReport,
  requirementRows,
  type Report,
} from '../../../conformance/reporters/report.ts';
import { signReport, verifyReport } from '../../../conformance/reporters/sign.ts';
import { renderSummaryTable } from '../../../conformance/reporters/console.ts';
import { REDACTED, Transcript } from '../../../conformance/transport/transcript.ts';
import { writePartnerKey } from '../../../conformance/cli/keygen.ts';
import { loadCatalogue } from '../../../conformance/spec-model/catalogue.ts';
import { fakeCase } from '../runner/support.ts';
import { main } from '../../../conformance/cli/main.ts';

const HOSTILE = '</pre><script>alert("x")</script> & <img src=http://evil.example/x>';

function result(
  id: string,
  outcome: CaseResult['outcome'],
  extra: Partial<CaseResult> = {},
): CaseResult {
  return {
    id,
    title: `title of ${id}`,
    area: id.split('-')[0]!,
    requirements: [id.split('-').slice(0, 2).join('-')],
    level: 'MUST',
    quote: 'The provider MUST do it.',
    sends: 'a frame',
    outcome,
    durationMs: 12,
    schemaFaults: [],
    transcript: [],
    ...extra,
  };
}

function sampleReport(): Report {
  const results = [
    result('ENC-003-relay', 'pass'),
    result('ENC-034-refused', 'fail', {
      failedRequirement: 'ENC-034',
      expected: 'NOT_SIGNAL_CIPHERTEXT',
      actual: HOSTILE,
      transcript: [
        { t: 1, peer: 'bob', dir: 'received', frame: { type: 'error', message: HOSTILE } },
      ],
    }),
    result('PROTO-029-ping', 'warn', {
      level: 'SHOULD',
      failedRequirement: 'PROTO-029',
      expected: 'a',
      actual: 'b',
    }),
    result('KEYS-018-exhausted', 'skip', { message: 'no operator hook' }),
    result('AUTH-004-late', 'error', { message: 'timed out' }),
  ];
  const end: RunEnd = { results, summary: summarise(results), durationMs: 99 };
  return buildReport({
    end,
    catalogue: loadCatalogue(join(process.cwd(), 'spec')).requirements,
    library: results.map((r) => fakeCase(r.id, undefined, { requirements: r.requirements })),
    suiteVersion: '0.1.0',
    specVersion: '1.0.0',
    target: {
      url: 'ws://127.0.0.1:1/parley/v1',
      domain: 'provider.example',
      embedded: true,
      capabilities: ['consent'],
    },
    seed: 7,
    options: {},
    startedAt: new Date(0),
    exitCode: 1,
  });
}

/** A small well-formedness check: balanced tags, no raw `<` or bare `&` in text or attributes. */
function wellFormed(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    if (/[<>]|&(?!(amp|lt|gt|quot|apos);)/.test(text)) return false;
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[3] ?? '')) return false;
    last = tag.lastIndex;
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else if (!m[4]) stack.push(m[2]!);
  }
  return stack.length === 0 && body.slice(last).trim() === '';
}

/**
 * What the Jenkins xUnit plugin's junit-10.xsd allows (jenkinsci/xunit-plugin, types/model/xsd):
 * each element's attributes, required ones, and children. Returns every violation found.
 */
function junit10Faults(xml: string): string[] {
  const allowed: Record<string, { attrs: string[]; required: string[]; children: string[] }> = {
    testsuites: {
      attrs: ['name', 'time', 'tests', 'failures', 'errors'],
      required: [],
      children: ['testsuite'],
    },
    testsuite: {
      attrs: [
        'name',
        'tests',
        'failures',
        'errors',
        'group',
        'time',
        'skipped',
        'timestamp',
        'hostname',
        'id',
        'package',
        'file',
        'log',
        'url',
      ],
      required: ['name', 'tests', 'failures', 'errors'],
      children: ['testsuite', 'properties', 'testcase', 'system-out', 'system-err'],
    },
    testcase: {
      attrs: ['name', 'time', 'classname', 'group'],
      required: ['name'],
      children: ['skipped', 'error', 'failure', 'system-out', 'system-err'],
    },
    failure: { attrs: ['type', 'message'], required: [], children: [] },
    error: { attrs: ['type', 'message'], required: [], children: [] },
    skipped: { attrs: ['type', 'message'], required: [], children: [] },
    'system-out': { attrs: [], required: [], children: [] },
    'system-err': { attrs: [], required: [], children: [] },
  };
  const faults: string[] = [];
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  if (!body.startsWith('<testsuites')) faults.push('the root is not testsuites');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      stack.pop();
      continue;
    }
    const rule = allowed[name!];
    if (!rule) {
      faults.push(`element ${name} is not in the schema`);
      continue;
    }
    const parent = stack.at(-1);
    if (parent && !allowed[parent]!.children.includes(name!))
      faults.push(`${name} inside ${parent}`);
    const attrs = [...attrText!.matchAll(/([\w-]+)="/g)].map((a) => a[1]!);
    for (const a of attrs) if (!rule.attrs.includes(a)) faults.push(`${name} has attribute ${a}`);
    for (const a of rule.required) if (!attrs.includes(a)) faults.push(`${name} lacks ${a}`);
    const time = /\stime="([^"]*)"/.exec(attrText!)?.[1];
    if (
      time !== undefined &&
      (name === 'testsuite' || name === 'testsuites') &&
      !/^[0-9]*(\.[0-9]*)?$/.test(time)
    )
      faults.push(`${name} time ${time} is not a SUREFIRE_TIME`);
    if (!selfClose) stack.push(name!);
  }
  return faults;
}

describe('conformance reporters', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-report-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.json with summary, target, versions, seed, timings, coverage and results', () => {
    const file = writeJsonReport(dir, sampleReport());
    const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
    expect(r.summary).to.include({ total: 5, pass: 1, fail: 1, warn: 1, skip: 1, error: 1 });
    expect(r).to.include.keys(
      'target',
      'suite',
      'spec',
      'seed',
      'startedAt',
      'durationMs',
      'results',
    );
    expect(r.results[1]).to.include.keys(
      'id',
      'requirements',
      'outcome',
      'durationMs',
      'expected',
      'actual',
      'transcript',
    );
    expect(r.coverage.requirements).to.equal(
      loadCatalogue(join(process.cwd(), 'spec')).requirements.length,
    );
    expect(r.requirements.find((x) => x.id === 'ENC-034')!.status).to.equal('fail');
    expect(r.requirements.find((x) => x.id === 'ATT-001')!.status).to.equal('not covered');
  });

  it('renders junit.xml that is well-formed, escapes hostile text and counts outcomes', () => {
    const xml = renderJunit(sampleReport());
    expect(wellFormed(xml)).to.equal(true);
    expect(xml).to.not.include('<script>');
    expect(xml).to.match(
      /<testsuites name="parley conform" tests="5" failures="1" errors="1" time=/,
    );
  });

  it('renders junit.xml that the Jenkins xUnit junit-10.xsd accepts: its elements and attributes only, one classname per suite, names that are case IDs', () => {
    const report = sampleReport();
    report.results.push(result('ENC-040-client-same-content', 'pass', { subject: 'client' }));
    const xml = renderJunit(report);
    expect(junit10Faults(xml)).to.deep.equal([]);
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)"([^]*?)<\/testsuite>/g)];
    expect(suites.map((m) => m[1])).to.deep.equal([
      'parley.AUTH',
      'parley.ENC',
      'parley.KEYS',
      'parley.PROTO',
      'parley.client.ENC',
    ]);
    for (const [, name, body] of suites)
      expect([
        ...new Set([...body!.matchAll(/classname="([^"]+)"/g)].map((m) => m[1])),
      ]).to.deep.equal([name]);
    const names = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]).sort();
    expect(names).to.deep.equal(report.results.map((r) => r.id).sort());
    // A retitled case keeps its JUnit name.
    report.results[0]!.title = 'a new title';
    expect(renderJunit(report)).to.include('name="ENC-003-relay"');
  });

  it('opens report.html with the verdict in words, lists failures, errors and skips before passes, and shows a broken requirement with its own sentence', () => {
    const report = sampleReport();
    report.results[1]!.failedRequirement = 'AUTH-021';
    report.results[1]!.failedQuote = 'The sentence of AUTH-021 itself.';
    const html = renderHtml(report);
    const verdictAt = html.indexOf('Verdict for the provider provider.example: NOT CONFORMANT');
    expect(verdictAt).to.be.above(0);
    expect(verdictAt).to.be.below(html.indexOf('<table'));
    const order = [
      'ENC-034-refused',
      'AUTH-004-late',
      'PROTO-029-ping',
      'KEYS-018-exhausted',
      'ENC-003-relay',
    ];
    const at = order.map((id) => html.indexOf(`<section id="${id}"`));
    expect(at.every((x) => x > 0)).to.equal(true);
    expect([...at].sort((x, y) => x - y)).to.deep.equal(at);
    expect(html).to.include('Broken: <code>AUTH-021</code> — The sentence of AUTH-021 itself.');
    expect(html).to.match(/Requirements checked in this run: <b>3<\/b>/);
    expect(html).to.include('skipped: no operator hook');
  });

  it('says incomplete, not conformant, for a run with errors and no failure; conformant when every selected case passed', () => {
    const report = sampleReport();
    report.results = report.results.filter((r) => r.outcome !== 'fail' && r.outcome !== 'warn');
    expect(renderHtml(report)).to.include('Verdict for the provider provider.example: INCOMPLETE');
    report.results = report.results.filter((r) => r.outcome === 'pass');
    report.coverage.notChecked = [];
    expect(renderHtml(report)).to.include('Verdict for the provider provider.example: CONFORMANT');
  });

  it('counts in report.json what has a case apart from what this run checked, with the reason of each MUST not checked', () => {
    const c = sampleReport().coverage;
    expect(c.covered).to.equal(5);
    expect(c.checked).to.equal(3);
    expect(c.selected).to.equal(5);
    expect(c.notChecked.filter((n) => n.level === 'MUST')).to.deep.include.members([
      { id: 'KEYS-018', level: 'MUST', reason: 'skipped: no operator hook' },
      { id: 'AUTH-004', level: 'MUST', reason: 'error: timed out' },
    ]);
    const stopped = sampleReport();
    stopped.results[1]!.requirements.push('ENC-035');
    const rows = requirementRows(
      loadCatalogue(join(process.cwd(), 'spec')).requirements,
      stopped.results.map((r) => fakeCase(r.id, undefined, { requirements: r.requirements })),
      stopped.results,
    );
    expect(rows.find((r) => r.id === 'ENC-035')).to.include({
      checked: false,
      status: 'not run',
      reason: 'its case ENC-034-refused stopped at the failure of ENC-034',
    });
    expect(rows.find((r) => r.id === 'ENC-034')).to.include({ checked: true, status: 'fail' });
  });

  it('renders report.html self-contained, with no script or external resource, everything escaped', () => {
    const html = renderHtml(sampleReport());
    expect(html).to.not.match(/<(script|link|img|iframe|object|embed)\b|url\(|@import/i);
    expect(html).to.include('&lt;img src=http://evil.example/x&gt;');
    expect(html).to.include('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).to.include('Art. 7(3)');
    expect(html).to.include('not covered');
  });

  it('signs a manifest of every file the run wrote, so that verify-report rejects one flipped byte in any of them', async () => {
    const report = sampleReport();
    writeJsonReport(dir, report);
    writeFileSync(join(dir, 'junit.xml'), renderJunit(report));
    writeFileSync(join(dir, 'report.html'), renderHtml(report));
    const key = join(dir, 'signer.json');
    await writePartnerKey('lab.example', key);
    signReport(dir, key);
    const pub = join(dir, 'signer.pub.json');
    const verifyCli = async (): Promise<number> =>
      main(['node', 'parley', 'verify-report', dir, '--public-key', pub], {
        out: () => undefined,
        err: () => undefined,
      });
    expect(verifyReport(dir, pub)).to.deep.equal({
      valid: true,
      reason: `report.json, junit.xml, report.html are signed by ${JSON.parse(readFileSync(pub, 'utf8')).kid}`,
    });
    expect(await verifyCli()).to.equal(0);
    for (const name of ['report.json', 'junit.xml', 'report.html']) {
      const original = readFileSync(join(dir, name));
      const bytes = Buffer.from(original);
      bytes[100] = bytes[100]! ^ 1;
      writeFileSync(join(dir, name), bytes);
      expect(verifyReport(dir, pub)).to.deep.equal({
        valid: false,
        reason: `${name} was altered after it was signed`,
      });
      expect(await verifyCli()).to.equal(1);
      writeFileSync(join(dir, name), original);
    }
    const sig = JSON.parse(readFileSync(join(dir, 'report.json.sig'), 'utf8'));
    delete sig.files['report.html'];
    writeFileSync(join(dir, 'report.json.sig'), JSON.stringify(sig));
    expect(verifyReport(dir, pub).valid).to.equal(false);
  });

  it('refuses a private key given as --public-key to verify-report, exit 2, naming the file', async () => {
    writeJsonReport(dir, sampleReport());
    writeFileSync(join(dir, 'junit.xml'), '<testsuites/>');
    writeFileSync(join(dir, 'report.html'), '<!doctype html>');
    const key = join(dir, 'signer.json');
    await writePartnerKey('lab.example', key);
    signReport(dir, key);
    let err = '';
    const code = await main(['node', 'parley', 'verify-report', dir, '--public-key', key], {
      out: () => undefined,
      err: (t) => void (err += t),
    });
    expect(code).to.equal(2);
    expect(err).to.include(`${key}: holds a private key`);
  });

  it('prints a summary table per area without colour when asked for none', () => {
    const r = sampleReport();
    const text = renderSummaryTable(
      { results: r.results, summary: r.summary, durationMs: 99 },
      r.coverage,
    );
    expect(text).to.match(/ENC\s+1\s+1\s+0\s+0\s+0\s+2/);
    const all = r.coverage.requirements;
    expect(text).to.include(`requirements: 5/${all} have a case; 3/${all} checked in this run`);
    expect(text).to.include('selected MUSTs not checked in this run: 2');
    expect(text).to.include('KEYS-018: skipped: no operator hook');
    expect(text).to.include('AUTH-004: error: timed out');
    expect(text).to.not.include('\u001b[');
  });

  it('redacts registration tokens, partner JWTs and device proofs from transcripts', () => {
    const t = new Transcript();
    t.addSecret('s3cret-token');
    t.record('alice', 'sent', {
      type: 'account.register',
      registrationToken: 's3cret-token',
      name: 'alice',
    });
    t.record('bob', 'sent', {
      type: 'auth',
      method: 'partner',
      token: 'eyJhbGciOi.eyJzdWIi.c2ln',
      signature: 'proof',
    });
    t.record(
      'eve',
      'sent',
      'raw {"registrationToken":"s3cret-token","t":"eyJhbGciOi.eyJzdWIi.c2ln"}',
    );
    const text = JSON.stringify(t.entries);
    expect(text).to.not.include('s3cret-token');
    expect(text).to.not.include('eyJhbGciOi');
    expect(text).to.not.include('"proof"');
    expect(text).to.include(REDACTED);
  });
});
