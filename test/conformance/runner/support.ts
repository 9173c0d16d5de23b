// Test support for the runner: a target that is never dialled and small synthetic cases.
import { createFrameValidator, SCHEMA_DIR } from '../../../schemas/validator.ts';
import type { ConformanceCase } from '../../../conformance/runner/case.ts';
import { defineCase } from '../../../conformance/runner/case.ts';
import type { Target } from '../../../conformance/transport/target.ts';
import { generatePartnerKey } from '../../../conformance/transport/partner.ts';

export const validator = createFrameValidator(SCHEMA_DIR);

/** A target description for cases that never connect. */
export async function fakeTarget(
  capabilities: string[] = ['attachments', 'consent'],
): Promise<Target> {
  return {
    url: 'ws://127.0.0.1:9/none',
    registrationToken: 'secret-registration-token',
    partner: await generatePartnerKey('partner.example'),
    welcome: {},
    domain: 'provider.example',
    capabilities,
  };
}

/** A synthetic case with the given body. */
export function fakeCase(
  id: string,
  run: ConformanceCase['run'] = async () => undefined,
  extra: Partial<ConformanceCase> = {},
): ConformanceCase {
  return defineCase({
    id,
    title: `case ${id}`,
    requirements: [id.split('-').slice(0, 2).join('-')],
    level: 'MUST',
    quote: 'The provider MUST do it.',
    sends: 'nothing',
    run,
    ...extra,
  });
}
