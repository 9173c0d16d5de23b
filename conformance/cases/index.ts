// The case library: every conformance case, by requirement area (conformance/cases/<area>/).
import type { AnyCase } from '../runner/case.ts';
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
import { queueBoundCases } from './deliv/queue-bound.ts';
import { queueCases } from './deliv/queue.ts';
import { ciphertextCases } from './enc/ciphertext.ts';
import { clientContentCases } from './enc/client-content.ts';
import { clientAttachmentSendingCases } from './att/client-sending.ts';
import { clientAttachmentReceivingCases } from './att/client-receiving.ts';
import { clientConsentCases } from './consent/client-consent.ts';
import { clientAuthCases } from './auth/client-auth.ts';
import { clientDeliveryCases } from './deliv/client-delivery.ts';
import { clientBundleCases } from './keys/client-bundles.ts';
import { clientPrekeyCases } from './keys/client-prekeys.ts';
import { clientFrameCases } from './proto/client-frames.ts';
import { clientReceivingCases } from './enc/client-receiving.ts';
import { clientBraidCases } from './enc/client-braid.ts';
import { clientSenderKeyCases } from './enc/client-sender-keys.ts';
import { clientGroupCases } from './group/client-groups.ts';
import { clientPqCases } from './enc/client-pq.ts';
import { clientSendingCases } from './enc/client-sending.ts';
import { conversationCases } from './enc/conversation.ts';
import { malformedCiphertextCases } from './enc/malformed.ts';
import { claimCases } from './keys/claim.ts';
import { kyberCases } from './keys/kyber.ts';
import { keyLimitCases } from './keys/limits.ts';
import { publishCases } from './keys/publish.ts';
import { abusivePeerCases } from './proto/abusive-peers.ts';
import { hostileFrameCases } from './proto/hostile-frames.ts';
import { writeLimitCases } from './proto/write-limits.ts';
import { faultyFrameCases } from './proto/faulty-frames.ts';
import { helloCases } from './proto/hello.ts';
import { registryCases } from './proto/registry.ts';
import { requestReplyCases } from './proto/requests.ts';
import { sessionStateCases } from './proto/session-state.ts';
import { slotSecretCases } from './att/tokens.ts';
import { quotaCases } from './att/quota.ts';
import { challengeCases } from './auth/challenge.ts';
import { consentRateCases } from './consent/rate-limits.ts';
import { blockOracleCases } from './consent/block-oracle.ts';
import { recipientLimitCases } from './consent/recipient-limits.ts';
import { claimTargetCases } from './keys/claim-target.ts';
import { platformQuotaCases } from './att/platform-quota.ts';
import { tokenSpentCases } from './auth/token-spent.ts';
import { registrationGuessCases } from './auth/registration-guesses.ts';
import { authWindowCases } from './auth/auth-window.ts';
import { deviceKeyCases } from './auth/device-keys.ts';
import { tokenBindingCases } from './auth/token-binding.ts';
import { durabilityCases } from './deliv/durability.ts';
import { wireFormatCases } from './enc/wire-format.ts';
import { claimRateCases } from './keys/rate-limit.ts';
import { signatureCases } from './keys/signatures.ts';
import { capabilityCases } from './proto/capabilities.ts';
import { proxyEnlistmentCases } from './proxy/enlistment.ts';
import { proxySideCases } from './proxy/proxy-side.ts';
import { faultOrderCases } from './proto/fault-order.ts';
import { httpErrorCases } from './proto/http-errors.ts';
import { livenessCases } from './proto/liveness.ts';
import { transportCases } from './proto/transport.ts';
import { groupInvitationCases } from './group/invitations.ts';
import { groupLimitCases } from './group/limits.ts';
import { groupMembershipCases } from './group/membership.ts';
import { groupDistributionCases } from './group/distributions.ts';
import { groupMessageCases } from './group/messages.ts';
import { groupQueueBoundCases } from './group/queue-bound.ts';

/** Every case: provider cases, then client cases (subject `client`, conformance/client/HOWTO-CASES.md). */
export const ALL_CASES: readonly AnyCase[] = [
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
  ...queueBoundCases,
  ...conversationCases,
  ...ciphertextCases,
  ...malformedCiphertextCases,
  ...publishCases,
  ...claimCases,
  ...keyLimitCases,
  ...kyberCases,
  ...helloCases,
  ...faultyFrameCases,
  ...sessionStateCases,
  ...requestReplyCases,
  ...registryCases,
  ...attachmentLimitCases,
  ...attachmentUploadCases,
  ...attachmentDownloadCases,
  ...attachmentMediaCases,
  ...challengeCases,
  ...consentRateCases,
  ...blockOracleCases,
  ...recipientLimitCases,
  ...claimTargetCases,
  ...platformQuotaCases,
  ...tokenSpentCases,
  ...registrationGuessCases,
  ...authWindowCases,
  ...deviceKeyCases,
  ...tokenBindingCases,
  ...durabilityCases,
  ...wireFormatCases,
  ...signatureCases,
  ...claimRateCases,
  ...transportCases,
  ...capabilityCases,
  ...proxyEnlistmentCases,
  ...proxySideCases,
  ...livenessCases,
  ...abusivePeerCases,
  ...hostileFrameCases,
  ...writeLimitCases,
  ...faultOrderCases,
  ...httpErrorCases,
  ...slotSecretCases,
  ...quotaCases,
  ...groupMembershipCases,
  ...groupInvitationCases,
  ...groupMessageCases,
  ...groupDistributionCases,
  ...groupLimitCases,
  ...groupQueueBoundCases,
  // client cases (subject: client), one line per file
  ...clientSendingCases,
  ...clientPqCases,
  ...clientBraidCases,
  ...clientSenderKeyCases,
  ...clientGroupCases,
  ...clientReceivingCases,
  ...clientContentCases,
  ...clientPrekeyCases,
  ...clientBundleCases,
  ...clientAuthCases,
  ...clientFrameCases,
  ...clientDeliveryCases,
  ...clientAttachmentSendingCases,
  ...clientAttachmentReceivingCases,
  ...clientConsentCases,
];
