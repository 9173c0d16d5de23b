// Renders the documentation model as one Markdown file (index.md) with the same content as the
// HTML page: overview, prose chapters, messages with field tables and examples, errors, requirements.
import type { DocField, DocMessage, DocModel } from './docs-model.ts';

/** Escapes a value for a Markdown table cell (pipes, newlines) — keeps inline code as it is. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A GitHub-style heading anchor, as renderers of Markdown compute them. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Demotes every ATX heading outside code fences by `shift` levels. */
function demote(markdown: string, shift: number): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced) return line;
      const m = /^(#{1,6})(\s.*)$/.exec(line);
      return m?.[1] && m[2] !== undefined
        ? `${'#'.repeat(Math.min(6, m[1].length + shift))}${m[2]}`
        : line;
    })
    .join('\n');
}

function code(text: string): string {
  const ticks = text.includes('`') ? '`` ' : '`';
  return `${ticks}${text}${ticks === '`' ? '`' : ' ``'}`;
}

function fieldTable(fields: DocField[]): string[] {
  if (fields.length === 0) return ['No members.', ''];
  return [
    '| Field | Type | Required | Constraints | Description |',
    '|---|---|---|---|---|',
    ...fields.map(
      (f) =>
        `| ${'&nbsp;&nbsp;'.repeat(f.depth)}${code(f.path)} | ${cell(f.type)} | ${f.required ? 'yes' : ''} | ${f.constraints.map((c) => cell(code(c))).join('<br>')} | ${cell(f.description)} |`,
    ),
    '',
  ];
}

function message(doc: DocMessage): string[] {
  const m = doc.message;
  const heading = `\`${m.name}\`${m.title ? ` — ${m.title}` : ''}`;
  const meta = [
    `**Direction:** ${m.direction}`,
    m.replies.length ? `**Reply:** ${m.replies.map(code).join(', ')}` : '',
    m.repliesTo.length ? `**Answers:** ${m.repliesTo.map(code).join(', ')}` : '',
    doc.schemaName ? `**Schema:** ${code(`schemas/json/${doc.schemaName}.json`)}` : '',
  ].filter(Boolean);
  const lines = [`### ${heading}`, ''];
  if (m.summary) lines.push(m.summary, '');
  if (m.description) lines.push(demote(m.description, 3), '');
  lines.push(meta.join(' · '), '', '#### Fields', '');
  if (doc.variants.length === 0) lines.push('No payload.', '');
  for (const v of doc.variants) {
    if (v.label !== undefined || doc.variants.length > 1)
      lines.push(`#### Variant: ${v.label ?? ''}`, '');
    if (v.description) lines.push(v.description, '');
    lines.push(...fieldTable(v.fields));
  }
  for (const e of m.examples) {
    lines.push(`#### Example ${e.index + 1}${e.name ? `: ${e.name}` : ''}`, '');
    if (e.summary) lines.push(e.summary, '');
    lines.push('```json', JSON.stringify(e.payload, null, 2), '```', '');
  }
  return lines;
}

/** The whole Markdown document. */
export function renderMarkdown(model: DocModel): string {
  const title = `${model.title} ${model.version}`.trim();
  const lines: string[] = [`# ${title}`, '', '## Contents', ''];
  lines.push('- [Overview](#overview)');
  if (model.chapters.length) {
    lines.push('- [Specification](#specification)');
    for (const c of model.chapters) lines.push(`  - [${c.title}](#${slug(c.title)})`);
  }
  lines.push('- [Messages](#messages)');
  for (const a of model.areas) {
    lines.push(`  - [${a.name}](#${slug(`Messages: ${a.name}`)})`);
    for (const m of a.messages)
      lines.push(
        `    - [${code(m.message.name)}](#${slug(`${m.message.name}${m.message.title ? ` — ${m.message.title}` : ''}`)})`,
      );
  }
  lines.push('- [Error codes](#error-codes)', '- [Requirements](#requirements)', '');
  lines.push('## Overview', '', demote(model.description, 1), '');
  lines.push('HTTP attachment transfer: `spec/openapi/attachments.yaml` (OpenAPI 3.1).', '');
  if (model.chapters.length) {
    lines.push('## Specification', '');
    for (const c of model.chapters)
      lines.push(demote(c.markdown, 2), '', `Source: \`spec/${c.file}\``, '');
  }
  lines.push(
    '## Messages',
    '',
    `${model.areas.reduce((n, a) => n + a.messages.length, 0)} messages in ${model.areas.length} areas.`,
    '',
  );
  for (const a of model.areas) {
    lines.push(`## Messages: ${a.name}`, '');
    if (a.description) lines.push(a.description, '');
    for (const m of a.messages) lines.push(...message(m));
  }
  lines.push(
    '## Error codes',
    '',
    'The registry `schemas/errors.ts`; every `error` frame and HTTP error body carries one of these codes.',
    '',
  );
  lines.push(
    '| Code | Meaning | Sent when | Carried by | Connection survives |',
    '|---|---|---|---|---|',
  );
  for (const e of model.errors) {
    const carried = `${e.carriers.join(', ')}${e.httpStatus ? ` (HTTP ${e.httpStatus})` : ''}`;
    const survives = e.connectionSurvives
      ? 'yes'
      : `no${e.closeCode ? ` (close ${e.closeCode})` : ''}`;
    lines.push(
      `| ${code(e.code)} | ${cell(e.meaning)} | ${cell(e.sentWhen)} | ${carried} | ${survives} |`,
    );
  }
  lines.push('', '## Requirements', '');
  if (model.requirementAreas.length === 0) lines.push('The catalogue is empty.', '');
  for (const { area, requirements } of model.requirementAreas) {
    lines.push(
      `### ${area}`,
      '',
      '| ID | Level | Requirement | DMA | Binds | Section |',
      '|---|---|---|---|---|---|',
    );
    for (const r of requirements) {
      const dma = (r.dma ?? []).map((d) => `Art. ${d}`).join(', ');
      lines.push(
        `| ${r.id} | ${r.level} | ${cell(r.text)} | ${dma} | ${(r.binds ?? []).join(', ')} | ${cell(r.section ?? '')} |`,
      );
    }
    lines.push('');
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
