// Renders the documentation model as one self-contained HTML page: inline CSS, no scripts, no
// external resources (prose images become links), every text escaped.
import { Marked } from 'marked';
import type { DocArea, DocChapter, DocField, DocMessage, DocModel } from './docs-model.ts';
import { slugify } from './prose.ts';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escapes, then renders `code` spans: enough for one-line schema and registry descriptions. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A stable anchor id: `msg-auth.ok` → `msg-auth-ok`. */
export function anchor(prefix: string, name: string): string {
  return `${prefix}-${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;
}

/** Where a prose link lands in the single page: `keys.md#claim` → that chapter's heading. */
function chapterHref(href: string): string {
  const m = /^([\w-]+\.md)(?:#(.*))?$/.exec(href);
  if (!m) return href;
  const chapterId = anchor('chapter', m[1] as string);
  return m[2] ? `#${chapterId}--${m[2]}` : `#${chapterId}`;
}

/**
 * Prose Markdown of chapter `file` to HTML: headings demoted by `shift` and given ids that links
 * between chapters (`keys.md#claim`) resolve to inside the page, raw HTML escaped, images not loaded.
 */
function prose(markdown: string, shift: number, file: string): string {
  const chapterId = anchor('chapter', file);
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth, text }) {
        const level = Math.min(6, depth + shift);
        const id = `${chapterId}--${slugify(text)}`;
        return `<h${level} id="${escapeHtml(id)}">${this.parser.parseInline(tokens)}</h${level}>\n`;
      },
      link({ href, tokens }) {
        return `<a href="${escapeHtml(chapterHref(href))}">${this.parser.parseInline(tokens)}</a>`;
      },
      html({ text }) {
        return escapeHtml(text);
      },
      image({ href, text }) {
        return `<a href="${escapeHtml(href)}">[image: ${escapeHtml(text)}]</a>`;
      },
    },
  });
  return marked.parse(markdown, { async: false });
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;margin:0;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:17rem;flex:none;background:#f4f6f8;padding:1rem;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding-left:.8rem;margin:.2rem 0}nav>ul{padding-left:0}
nav a{color:#234;text-decoration:none}nav a:hover{text-decoration:underline}
main{max-width:62rem;padding:1rem 2rem 4rem;min-width:0}
h1{margin-top:0}h2{border-bottom:2px solid #d8dee4;padding-bottom:.2rem;margin-top:2.5rem}
h3{margin-top:2rem}section.message{border-top:1px solid #e3e7eb;margin-top:1.5rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
code{background:#eef1f4;padding:0 .25em;border-radius:3px}
pre{background:#f6f8fa;border:1px solid #e3e7eb;padding:.7rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:13.5px}
th,td{border:1px solid #d8dee4;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.req{text-align:center}
.meta{color:#57606a;font-size:13.5px}.meta b{color:#1d232a}
.tag{display:inline-block;background:#ddf4ff;border-radius:3px;padding:0 .35em;font-size:12px}
.MUST{color:#a40e26;font-weight:600}.SHOULD{color:#9a6700;font-weight:600}.MAY{color:#1a7f37;font-weight:600}
`;

function fieldRow(f: DocField): string {
  const pad = f.depth > 0 ? ` style="padding-left:${0.45 + f.depth * 1.1}rem"` : '';
  return (
    `<tr><td${pad}><code>${escapeHtml(f.path)}</code></td><td>${escapeHtml(f.type)}</td>` +
    `<td class="req">${f.required ? 'yes' : ''}</td>` +
    `<td>${f.constraints.map((c) => `<code>${escapeHtml(c)}</code>`).join('<br>')}</td>` +
    `<td>${inline(f.description)}</td></tr>`
  );
}

function fieldTable(fields: DocField[]): string {
  if (fields.length === 0) return '<p class="meta">No members.</p>';
  return (
    '<table><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Constraints</th><th>Description</th></tr></thead><tbody>' +
    fields.map(fieldRow).join('') +
    '</tbody></table>'
  );
}

function messageLinks(names: string[]): string {
  return names
    .map((n) => `<a href="#${anchor('msg', n)}"><code>${escapeHtml(n)}</code></a>`)
    .join(', ');
}

function message(doc: DocMessage): string {
  const m = doc.message;
  const meta = [
    `<b>Direction:</b> ${escapeHtml(m.direction)}`,
    m.replies.length ? `<b>Reply:</b> ${messageLinks(m.replies)}` : '',
    m.repliesTo.length ? `<b>Answers:</b> ${messageLinks(m.repliesTo)}` : '',
    doc.schemaName
      ? `<b>Schema:</b> <code>schemas/json/${escapeHtml(doc.schemaName)}.json</code>`
      : '',
  ].filter(Boolean);
  const variants = doc.variants
    .map((v) =>
      v.label !== undefined || doc.variants.length > 1
        ? `<h4>Variant: ${escapeHtml(v.label ?? '')}</h4>${v.description ? `<p>${inline(v.description)}</p>` : ''}${fieldTable(v.fields)}`
        : fieldTable(v.fields),
    )
    .join('');
  const examples = m.examples
    .map(
      (e) =>
        `<h4>Example ${e.index + 1}${e.name ? `: ${escapeHtml(e.name)}` : ''}</h4>` +
        (e.summary ? `<p>${inline(e.summary)}</p>` : '') +
        `<pre>${escapeHtml(JSON.stringify(e.payload, null, 2))}</pre>`,
    )
    .join('');
  return (
    `<section class="message" id="${anchor('msg', m.name)}"><h3><code>${escapeHtml(m.name)}</code>${m.title ? ` — ${escapeHtml(m.title)}` : ''}</h3>` +
    (m.summary ? `<p>${inline(m.summary)}</p>` : '') +
    (m.description ? prose(m.description, 3, 'messages') : '') +
    `<p class="meta">${meta.join(' · ')}</p>` +
    `<h4>Fields</h4>${variants || '<p class="meta">No payload.</p>'}${examples}</section>`
  );
}

function area(a: DocArea): string {
  return (
    `<section id="${anchor('area', a.name)}"><h2>Messages: ${escapeHtml(a.name)}</h2>` +
    (a.description ? `<p>${inline(a.description)}</p>` : '') +
    a.messages.map(message).join('') +
    '</section>'
  );
}

function chapter(c: DocChapter): string {
  return `<section id="${anchor('chapter', c.file)}" class="chapter">${prose(c.markdown, 2, c.file)}<p class="meta">Source: <code>spec/${escapeHtml(c.file)}</code></p></section>`;
}

function errorsTable(model: DocModel): string {
  const rows = model.errors
    .map(
      (e) =>
        `<tr id="${anchor('err', e.code)}"><td><code>${escapeHtml(e.code)}</code></td><td>${inline(e.meaning)}</td><td>${inline(e.sentWhen)}</td>` +
        `<td>${escapeHtml(e.carriers.join(', '))}${e.httpStatus ? ` (HTTP ${e.httpStatus})` : ''}</td>` +
        `<td>${e.connectionSurvives ? 'yes' : `no${e.closeCode ? ` (close ${e.closeCode})` : ''}`}</td></tr>`,
    )
    .join('');
  return (
    '<section id="errors"><h2>Error codes</h2><p>The registry <code>schemas/errors.ts</code>; every <code>error</code> frame and HTTP error body carries one of these codes.</p>' +
    '<table><thead><tr><th>Code</th><th>Meaning</th><th>Sent when</th><th>Carried by</th><th>Connection survives</th></tr></thead><tbody>' +
    rows +
    '</tbody></table></section>'
  );
}

function requirements(model: DocModel): string {
  const body = model.requirementAreas
    .map(
      ({ area: name, requirements: list }) =>
        `<h3 id="${anchor('req', name)}">${escapeHtml(name)}</h3><table><thead><tr><th>ID</th><th>Level</th><th>Requirement</th><th>DMA</th><th>Binds</th><th>Section</th></tr></thead><tbody>` +
        list
          .map(
            (r) =>
              `<tr id="${escapeHtml(r.id)}"><td><code>${escapeHtml(r.id)}</code></td><td class="${escapeHtml(r.level)}">${escapeHtml(r.level)}</td>` +
              `<td>${inline(r.text)}</td><td>${escapeHtml((r.dma ?? []).map((d) => `Art. ${d}`).join(', '))}</td>` +
              `<td>${escapeHtml((r.binds ?? []).join(', '))}</td><td>${escapeHtml(r.section ?? '')}</td></tr>`,
          )
          .join('') +
        '</tbody></table>',
    )
    .join('');
  return `<section id="requirements"><h2>Requirements</h2>${body || '<p class="meta">The catalogue is empty.</p>'}</section>`;
}

function toc(model: DocModel): string {
  const li = (href: string, text: string, children = ''): string =>
    `<li><a href="#${href}">${text}</a>${children}</li>`;
  const chapters = model.chapters
    .map((c) => li(anchor('chapter', c.file), escapeHtml(c.title)))
    .join('');
  const areas = model.areas
    .map((a) =>
      li(
        anchor('area', a.name),
        escapeHtml(a.name),
        `<ul>${a.messages.map((m) => li(anchor('msg', m.message.name), `<code>${escapeHtml(m.message.name)}</code>`)).join('')}</ul>`,
      ),
    )
    .join('');
  const reqs = model.requirementAreas
    .map((r) => li(anchor('req', r.area), escapeHtml(r.area)))
    .join('');
  return (
    `<nav><b>${escapeHtml(model.title)} ${escapeHtml(model.version)}</b><ul>` +
    li('overview', 'Overview') +
    (chapters ? li('prose', 'Specification', `<ul>${chapters}</ul>`) : '') +
    li('messages', 'Messages', `<ul>${areas}</ul>`) +
    li('errors', 'Error codes') +
    li('requirements', 'Requirements', reqs ? `<ul>${reqs}</ul>` : '') +
    '</ul></nav>'
  );
}

/** The whole page. Self-contained: no `<link>`, no `<script>`, no external `src`. */
export function renderHtml(model: DocModel): string {
  const title = `${model.title} ${model.version}`.trim();
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`,
    toc(model),
    `<main><section id="overview"><h1>${escapeHtml(title)}</h1>${prose(model.description, 1, 'overview')}`,
    `<p class="meta">HTTP attachment transfer: <code>spec/openapi/attachments.yaml</code> (OpenAPI 3.1).</p></section>`,
    model.chapters.length
      ? `<section id="prose"><h2>Specification</h2>${model.chapters.map(chapter).join('')}</section>`
      : '',
    `<section id="messages"><h2>Messages</h2><p>${model.areas.reduce((n, a) => n + a.messages.length, 0)} messages in ${model.areas.length} areas.</p></section>`,
    model.areas.map(area).join(''),
    errorsTable(model),
    requirements(model),
    '</main></body></html>',
    '',
  ].join('\n');
}
