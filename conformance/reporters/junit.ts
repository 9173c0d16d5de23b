// junit.xml: one <testsuite> per requirement area, one <testcase> per case, so CI systems can gate
// on a run; fail and warn-under-strict become <failure>, error <error>, skip <skipped>.
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

function testcase(r: CaseResult): string {
  const head = `    <testcase classname="parley.${r.subject === 'client' ? 'client.' : ''}${xmlEscape(r.area)}" name="${xmlEscape(`${r.id}: ${r.title}`)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
  const detail = `${r.failedRequirement ?? r.requirements.join(' ')}: expected ${r.expected ?? '?'}; actual ${r.actual ?? '?'}`;
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
  return inner ? `${head}>${inner}</testcase>` : `${head}/>`;
}

/** Renders junit.xml for a report. */
export function renderJunit(report: Report): string {
  const areas = [...new Set(report.results.map((r) => r.area))].sort();
  const suites = areas.map((area) => {
    const rs = report.results.filter((r) => r.area === area);
    const count = (p: (r: CaseResult) => boolean): number => rs.filter(p).length;
    const failures = count(
      (r) => (r.outcome === 'fail' && !r.expectedFailure) || !!r.unexpectedPass,
    );
    const errors = count((r) => r.outcome === 'error');
    const skipped = count((r) => r.outcome === 'skip' || !!r.expectedFailure);
    const time = rs.reduce((t, r) => t + r.durationMs, 0) / 1000;
    return [
      `  <testsuite name="parley.${xmlEscape(area)}" tests="${rs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}">`,
      ...rs.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
  const s = report.summary;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="parley conform" tests="${s.total}" failures="${s.fail - s.expectedFailures + s.unexpectedPasses}" errors="${s.error}" skipped="${s.skip}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
