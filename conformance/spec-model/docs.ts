// `parley spec docs` without the command line: builds the documentation model from the parsed
// spec and writes index.html (self-contained) and index.md into the output directory.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedSpec } from './check.ts';
import { renderHtml } from './docs-html.ts';
import { renderMarkdown } from './docs-markdown.ts';
import { buildDocModel } from './docs-model.ts';

/** Renders both documents in memory. */
export function renderSpecDocs(spec: LoadedSpec): { html: string; markdown: string } {
  const model = buildDocModel(spec);
  return { html: renderHtml(model), markdown: renderMarkdown(model) };
}

/** Writes `<outDir>/index.html` and `<outDir>/index.md`, creating the directory; returns the paths. */
export async function writeSpecDocs(spec: LoadedSpec, outDir: string): Promise<string[]> {
  const { html, markdown } = renderSpecDocs(spec);
  await mkdir(outDir, { recursive: true });
  const files = [join(outDir, 'index.html'), join(outDir, 'index.md')];
  await writeFile(files[0] as string, html);
  await writeFile(files[1] as string, markdown);
  return files;
}
