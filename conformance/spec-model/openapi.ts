// Checks spec/openapi/attachments.yaml, the HTTP half of the attachment transfer: it exists,
// is OpenAPI 3.1.x, and every error code its responses name is in the registry (schemas/errors.ts).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERROR_CODES, type ErrorCodeInfo } from '../../schemas/errors.ts';
import { joinPath, type Diagnostic } from './diagnostics.ts';
import { SourceSet } from './sources.ts';

/** The OpenAPI document's path inside the spec directory. */
export const OPENAPI_FILE = join('openapi', 'attachments.yaml');

type Registry = Readonly<Record<string, ErrorCodeInfo>>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Facts about the OpenAPI document that the summary and the docs use. */
export interface OpenApiSummary {
  file: string;
  version?: string;
  operations: number;
  errorCodes: string[];
}

/**
 * Checks the OpenAPI document and returns its diagnostics and summary. Error codes are found
 * as `code` members of response examples and as `enum`/`const` of a `code` property schema;
 * under `responses.<status>` each code must be carried over HTTP with that status.
 */
export function checkOpenApi(
  specDir: string,
  registry: Registry = ERROR_CODES,
): { diagnostics: Diagnostic[]; summary: OpenApiSummary } {
  const file = resolve(join(specDir, OPENAPI_FILE));
  const summary: OpenApiSummary = { file, operations: 0, errorCodes: [] };
  if (!existsSync(file))
    return { diagnostics: [{ file, message: 'the OpenAPI document is missing' }], summary };
  const sources = new SourceSet();
  let doc: unknown;
  try {
    doc = sources.load(file).value;
  } catch (error) {
    return { diagnostics: [{ file, message: `not YAML: ${(error as Error).message}` }], summary };
  }
  const out: Diagnostic[] = [];
  const lineOf = (segments: (string | number)[]): number | undefined =>
    sources.lineOf({ file, segments });
  if (!isObject(doc))
    return {
      diagnostics: [{ file, message: 'the OpenAPI document must be a YAML mapping' }],
      summary,
    };
  summary.version = typeof doc.openapi === 'string' ? doc.openapi : undefined;
  if (!summary.version || !/^3\.1\.\d+$/.test(summary.version)) {
    out.push({
      file,
      path: 'openapi',
      line: lineOf(['openapi']),
      message: `openapi must be 3.1.x, found ${JSON.stringify(doc.openapi)}`,
    });
  }
  if (!isObject(doc.paths) || Object.keys(doc.paths).length === 0) {
    out.push({
      file,
      path: 'paths',
      line: lineOf(['paths']),
      message: 'the OpenAPI document defines no paths',
    });
  } else {
    for (const item of Object.values(doc.paths)) {
      if (isObject(item))
        summary.operations += ['get', 'put', 'post', 'head', 'patch', 'delete'].filter(
          (m) => m in item,
        ).length;
    }
  }
  const found = new Set<string>();
  const checkCode = (code: unknown, segments: (string | number)[]): void => {
    if (typeof code !== 'string') return;
    found.add(code);
    const info = registry[code];
    const where = { file, path: joinPath(segments), line: lineOf(segments) };
    if (!info) {
      out.push({
        ...where,
        message: `error code ${code} is not in the registry (schemas/errors.ts)`,
      });
      return;
    }
    if (!info.carriers.includes('http'))
      out.push({
        ...where,
        message: `error code ${code} is not carried over HTTP in the registry`,
      });
    const r = segments.lastIndexOf('responses');
    const status = r >= 0 ? Number(segments[r + 1]) : NaN;
    if (Number.isInteger(status) && info.httpStatus !== undefined && info.httpStatus !== status) {
      out.push({
        ...where,
        message: `error code ${code} is answered with HTTP ${status}, the registry says ${info.httpStatus}`,
      });
    }
  };
  const walk = (node: unknown, segments: (string | number)[]): void => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, [...segments, i]));
    if (!isObject(node)) return;
    const codeSchema = isObject(node.properties) ? node.properties.code : undefined;
    if (isObject(codeSchema)) {
      const base = [...segments, 'properties', 'code'];
      if (Array.isArray(codeSchema.enum))
        codeSchema.enum.forEach((c, i) => checkCode(c, [...base, 'enum', i]));
      if (codeSchema.const !== undefined) checkCode(codeSchema.const, [...base, 'const']);
    }
    if (typeof node.code === 'string' && typeof node.message === 'string')
      checkCode(node.code, [...segments, 'code']);
    for (const [k, v] of Object.entries(node)) walk(v, [...segments, k]);
  };
  walk(doc, []);
  summary.errorCodes = [...found].sort();
  return { diagnostics: out, summary };
}
