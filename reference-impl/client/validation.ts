// One shared validator over the generated JSON Schemas (schemas/json): every provider frame the SDK
// receives, and every decrypted Content, is checked against its schema (spec/framing.md, content.md).
import { createFrameValidator, SCHEMA_DIR, type FrameValidator } from '../../schemas/validator.ts';

let shared: FrameValidator | undefined;

/** The process-wide validator; schemas compile on first use. */
export function validator(): FrameValidator {
  shared ??= createFrameValidator(SCHEMA_DIR);
  return shared;
}
