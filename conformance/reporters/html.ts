// report.html: a self-contained page (inline CSS, no script, no external resource) with the summary,
// the requirement × outcome matrix grouped by area and by DMA Art. 7 provision, and per-case detail
// with expected, actual and the frame transcript. Every value from the run is escaped.
import type { CaseResult } from '../runner/events.ts';
import type { Report, RequirementRow, RequirementStatus } from './report.ts';

/** Escapes text for HTML content and attribute values. */
export function htmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = htmlEscape;
const STATUSES: RequirementStatus[] = [
  'pass',
  'fail',
  'warn',
  'skip',
  'error',
  'not run',
  'not covered',
];
const DMA: Record<string, string> = {
  '7(2)': 'basic functionalities: text, images, voice, video, files',
  '7(2)(b)': 'group text messaging and files with users of other platforms',
  '7(3)': 'level of security, end-to-end encryption preserved',
  '7(7)': 'end users free to decide whether to use interoperability',
  '7(8)': 'only strictly necessary personal data',
};

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
.pass{background:#dff5df}.fail{background:#f9d6d5}.warn{background:#fff1c2}.skip{background:#eee}.error{background:#f3d9f7}
.not-run{background:#f7f7f7}.not-covered{background:#fff;color:#999}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.5em;font-size:12px}
details{margin:.3em 0}summary{cursor:pointer}code{font-size:12px}`;

const cls = (s: string): string => s.replace(' ', '-');

/** A subject's verdict in words: conformant, not conformant, or incomplete, and why. */
export function verdictOf(
  report: Report,
  subject: 'provider' | 'client',
): { word: 'conformant' | 'not conformant' | 'incomplete'; why: string } {
  const rs = report.results.filter((r) => (r.subject ?? 'provider') === subject);
  const broken = rs.filter(
    (r) =>
      r.unexpectedPass ||
      (!r.expectedFailure &&
        (r.outcome === 'fail' || (report.options.failOn === 'warn' && r.outcome === 'warn'))),
  );
  const errors = rs.filter((r) => r.outcome === 'error');
  const named = new Set(rs.flatMap((r) => r.requirements));
  const unchecked = report.coverage.notChecked.filter((n) => n.level === 'MUST' && named.has(n.id));
  if (broken.length > 0)
    return {
      word: 'not conformant',
      why: `${broken.length} case${broken.length === 1 ? '' : 's'} broke ${[...new Set(broken.map((r) => r.failedRequirement ?? r.id))].join(', ')}`,
    };
  if (errors.length > 0 || report.breaker || report.interrupted)
    return {
      word: 'incomplete',
      why: [
        report.interrupted ? 'the run was interrupted' : '',
        report.breaker ? `circuit breaker: ${report.breaker}` : '',
        errors.length > 0 ? `${errors.length} cases could not be decided (ERROR)` : '',
      ]
        .filter(Boolean)
        .join('; '),
    };
  if (unchecked.length > 0 && report.options.failOn === 'unchecked')
    return {
      word: 'incomplete',
      why: `${unchecked.length} selected MUSTs were not checked (--fail-on unchecked)`,
    };
  return {
    word: 'conformant',
    why: `no MUST broken among the requirements checked${unchecked.length > 0 ? `; ${unchecked.length} selected MUSTs were not checked (listed below)` : ''}`,
  };
}

function verdict(report: Report): string {
  const subjects: ['provider' | 'client', string][] = [];
  if (report.results.some((r) => (r.subject ?? 'provider') === 'provider'))
    subjects.push(['provider', `the provider ${report.target.domain || report.target.url}`]);
  if (report.target.client)
    subjects.push([
      'client',
      `the client ${report.target.client.name} ${report.target.client.version}`,
    ]);
  const lines = subjects.map(([subject, what]) => {
    const v = verdictOf(report, subject);
    const c = v.word === 'conformant' ? 'pass' : v.word === 'not conformant' ? 'fail' : 'error';
    return `<p class="${c}" id="verdict-${subject}"><b>Verdict for ${e(what)}: ${e(v.word.toUpperCase())}</b> — ${e(v.why)}.</p>`;
  });
  return lines.join('\n');
}

function summaryTable(report: Report): string {
  const s = report.summary;
  const cells = (['total', 'pass', 'fail', 'warn', 'skip', 'error'] as const)
    .map((k) => `<td class="${k}">${k} <b>${s[k]}</b></td>`)
    .join('');
  const c = report.coverage;
  const notChecked = c.notChecked.map(
    (n) => `<tr><td><code>${e(n.id)}</code></td><td>${e(n.level)}</td><td>${e(n.reason)}</td></tr>`,
  );
  return `<table><tr>${cells}</tr></table>
<p>Expected failures: ${s.expectedFailures}; unexpected passes: ${s.unexpectedPasses}.${report.breaker ? ` <b>Circuit breaker: ${e(report.breaker)}</b>` : ''}</p>
<p id="coverage">Requirements that have a case: <b>${c.covered}</b> of ${c.requirements} (${c.notCovered} have none).
Requirements checked in this run: <b>${c.checked}</b> of ${c.requirements} (${c.selected} named by the selected cases).</p>
${c.notCoveredIds.length > 0 ? `<p>Requirements without a case: ${c.notCoveredIds.map((id) => `<code>${e(id)}</code>`).join(' ')}</p>` : ''}
${
  notChecked.length > 0
    ? `<details open><summary>Requirements with a case not checked in this run (${notChecked.length}; MUSTs: ${c.notChecked.filter((n) => n.level === 'MUST').length})</summary>
<table><tr><th>ID</th><th>level</th><th>why not checked</th></tr>
${notChecked.join('\n')}</table></details>`
    : ''
}`;
}

/** Failures, errors, warnings and skips before passes; case ID order within each. */
const ORDER = ['fail', 'error', 'warn', 'skip', 'pass'];
const rank = (r: CaseResult): number => (r.unexpectedPass ? -1 : ORDER.indexOf(r.outcome));

function matrixRow(row: RequirementRow): string {
  const cases = row.cases.map((id) => `<a href="#${e(id)}">${e(id)}</a>`).join(' ');
  return `<tr><td><code>${e(row.id)}</code></td><td>${e(row.level)}</td><td>${e(row.dma.join(' '))}</td>
<td class="${cls(row.status)}">${e(row.status)}</td><td>${e(row.text)}</td><td>${cases}</td></tr>`;
}

function matrix(report: Report): string {
  const areas = [...new Set(report.requirements.map((r) => r.area))];
  const byArea = areas.map((area) => {
    const rows = report.requirements.filter((r) => r.area === area);
    const counts = STATUSES.map((s) => `${s} ${rows.filter((r) => r.status === s).length}`).join(
      ', ',
    );
    return `<details><summary><b>${e(area)}</b> — ${rows.length} requirements: ${e(counts)}</summary>
<table><tr><th>ID</th><th>level</th><th>DMA</th><th>status</th><th>requirement</th><th>cases</th></tr>
${rows.map(matrixRow).join('\n')}</table></details>`;
  });
  const dma = Object.entries(DMA).map(([art, what]) => {
    const rows = report.requirements.filter((r) => r.dma.includes(art));
    const cells = STATUSES.map(
      (s) => `<td class="${cls(s)}">${rows.filter((r) => r.status === s).length}</td>`,
    ).join('');
    return `<tr><td>Art. ${e(art)}</td><td>${e(what)}</td><td>${rows.length}</td>${cells}</tr>`;
  });
  return `<h2>Requirements by DMA provision</h2>
<table><tr><th>provision</th><th>what it protects</th><th>requirements</th>${STATUSES.map((s) => `<th>${e(s)}</th>`).join('')}</tr>
${dma.join('\n')}</table>
<h2>Requirements by area</h2>
${byArea.join('\n')}`;
}

function transcript(r: CaseResult): string {
  const lines = r.transcript.map((t) => {
    const arrow = t.dir === 'sent' ? '→' : t.dir === 'received' ? '←' : '·';
    const body = t.frame !== undefined ? JSON.stringify(t.frame) : (t.text ?? '');
    return `${String(t.t).padStart(5)} ms ${t.peer} ${arrow} ${body}`;
  });
  return `<details><summary>transcript (${r.transcript.length} entries)</summary><pre>${e(lines.join('\n'))}</pre></details>`;
}

function caseDetail(r: CaseResult): string {
  const flags = [
    r.expectedFailure ? 'expected failure' : '',
    r.unexpectedPass ? 'UNEXPECTED PASS' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `<section id="${e(r.id)}"><h3 class="${r.outcome}">${e(r.outcome.toUpperCase())} <code>${e(r.id)}</code> ${r.subject === 'client' ? '[client] ' : ''}${e(r.title)}${flags ? ` (${e(flags)})` : ''}</h3>
<p>Requirements: ${r.requirements.map((x) => `<code>${e(x)}</code>`).join(' ')} (${e(r.level)}) · ${r.durationMs} ms</p>
<blockquote>${e(r.quote)}</blockquote><p>Sends: ${e(r.sends)}</p>
${r.failedRequirement ? `<p>Broken: <code>${e(r.failedRequirement)}</code> — ${e(r.failedQuote ?? r.quote)}</p>` : ''}
${r.expected !== undefined ? `<p>Expected: <code>${e(r.expected)}</code><br>Actual: <code>${e(r.actual ?? '')}</code></p>` : ''}
${r.message ? `<p>${e(r.message)}</p>` : ''}
${transcript(r)}</section>`;
}

/** Renders report.html. */
export function renderHtml(report: Report): string {
  const t = report.target;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Parley conformance report — ${e(t.domain)}</title><style>${CSS}</style></head><body>
<h1>Parley conformance report</h1>
${verdict(report)}
<p>Target <code>${e(t.url)}</code> (${e(t.domain)}${t.embedded ? ', embedded reference provider' : ''}); capabilities ${e(t.capabilities.join(', '))}.<br>
Suite ${e(report.suite.version)}, spec ${e(report.spec.version)}, seed <code>${report.seed}</code>, started ${e(report.startedAt)}, ${report.durationMs} ms, exit code ${report.exitCode}.</p>
${summaryTable(report)}
${matrix(report)}
<h2>Cases</h2>
${[...report.results]
  .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id))
  .map(caseDetail)
  .join('\n')}
</body></html>
`;
}
