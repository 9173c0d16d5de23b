// junit.xml: one <testsuite> per subject and requirement area (its name is the classname of every
// testcase in it), one <testcase> per case named by its fixed ID (stable when a title changes), so CI
// systems can gate on a run; fail becomes <failure>, error <error>, skip <skipped>. Valid against
// the Jenkins xUnit plugin's junit-10.xsd: the root <testsuites> carries only name, time, tests,
// failures and errors.
import type { CaseResult } from '../runner/events.ts';
import type { Report } from './report.ts';

/** Escapes text for XML content and attribute values; drops characters XML 1.0 forbids. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The suite (and classname) of a result: `parley.ENC`, `parley.client.ENC`. */
export function suiteOf(r: CaseResult): string {
  return `parley.${r.subject === 'client' || r.subject === 'proxy' ? `${r.subject}.` : ''}${r.area}`;
}

function testcase(r: CaseResult): string {
  const head = `    <testcase classname="${xmlEscape(suiteOf(r))}" name="${xmlEscape(r.id)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
  const detail = `${r.failedRequirement ?? r.requirements.join(' ')}: expected ${r.expected ?? '?'}; actual ${r.actual ?? '?'}`;
  const title = `<system-out>${xmlEscape(`${r.title} (${r.requirements.join(', ')}, ${r.level})`)}</system-out>`;
  let inner = '';
  if (r.outcome === 'fail' && !r.expectedFailure)
    inner = `<failure message="${xmlEscape(detail)}" type="${xmlEscape(r.failedRequirement ?? 'fail')}"/>`;
  else if (r.unexpectedPass)
    inner = `<failure message="listed as an expected failure but passed" type="unexpected-pass"/>`;
  else if (r.outcome === 'error')
    inner = `<error message="${xmlEscape(r.message ?? 'harness error')}" type="error"/>`;
  else if (r.outcome === 'skip' || r.expectedFailure)
    inner = `<skipped message="${xmlEscape(r.expectedFailure ? `expected failure: ${detail}` : (r.message ?? 'skipped'))}"/>`;
  else if (r.outcome === 'warn')
    inner = `<system-out>${xmlEscape(`WARN (SHOULD) ${detail}`)}</system-out>`;
  return `${head}>${inner}${title}</testcase>`;
}

/** Renders junit.xml for a report. */
export function renderJunit(report: Report): string {
  const names = [...new Set(report.results.map(suiteOf))].sort();
  const suites = names.map((name) => {
    const rs = report.results.filter((r) => suiteOf(r) === name);
    const count = (p: (r: CaseResult) => boolean): number => rs.filter(p).length;
    const failures = count(
      (r) => (r.outcome === 'fail' && !r.expectedFailure) || !!r.unexpectedPass,
    );
    const errors = count((r) => r.outcome === 'error');
    const skipped = count((r) => r.outcome === 'skip' || !!r.expectedFailure);
    const time = rs.reduce((t, r) => t + r.durationMs, 0) / 1000;
    return [
      `  <testsuite name="${xmlEscape(name)}" tests="${rs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}">`,
      ...rs.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
  const s = report.summary;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="parley conform" tests="${s.total}" failures="${s.fail - s.expectedFailures + s.unexpectedPasses}" errors="${s.error}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
