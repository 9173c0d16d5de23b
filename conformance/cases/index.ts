// The case library: every conformance case, by requirement area (conformance/cases/<area>/).
import type { ConformanceCase } from '../runner/case.ts';
import { attachmentDownloadCases } from './att/download.ts';
import { attachmentLimitCases } from './att/limits.ts';
import { attachmentMediaCases } from './att/media.ts';
import { attachmentUploadCases } from './att/upload.ts';
import { deviceAuthCases } from './auth/device.ts';
import { partnerAuthCases } from './auth/partner.ts';
import { blockCases } from './consent/blocks.ts';
import { optInCases } from './consent/opt-in.ts';
import { optOutCases } from './consent/opt-out.ts';
import { requestCases } from './consent/requests.ts';
import { deviceCases } from './deliv/devices.ts';
import { idempotencyCases } from './deliv/idempotency.ts';
import { deliveryShouldCases } from './deliv/limits.ts';
import { queueCases } from './deliv/queue.ts';
import { ciphertextCases } from './enc/ciphertext.ts';
import { conversationCases } from './enc/conversation.ts';
import { malformedCiphertextCases } from './enc/malformed.ts';
import { claimCases } from './keys/claim.ts';
import { keyLimitCases } from './keys/limits.ts';
import { publishCases } from './keys/publish.ts';
import { faultyFrameCases } from './proto/faulty-frames.ts';
import { helloCases } from './proto/hello.ts';
import { registryCases } from './proto/registry.ts';
import { requestReplyCases } from './proto/requests.ts';
import { sessionStateCases } from './proto/session-state.ts';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...deviceAuthCases,
  ...partnerAuthCases,
  ...optInCases,
  ...requestCases,
  ...blockCases,
  ...optOutCases,
  ...idempotencyCases,
  ...queueCases,
  ...deviceCases,
  ...deliveryShouldCases,
  ...conversationCases,
  ...ciphertextCases,
  ...malformedCiphertextCases,
  ...publishCases,
  ...claimCases,
  ...keyLimitCases,
  ...helloCases,
  ...faultyFrameCases,
  ...sessionStateCases,
  ...requestReplyCases,
  ...registryCases,
  ...attachmentLimitCases,
  ...attachmentUploadCases,
  ...attachmentDownloadCases,
  ...attachmentMediaCases,
];
