// The group cipher (spec: Cryptography — Sender keys): Signal sender keys as libsignal 0.103.0. Re-exports only.
export {
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  processSenderKeyDistributionMessage,
  rotateSenderKey,
} from './cipher.ts';
export {
  deserializeSenderKeyRecord,
  SENDER_KEY_RECORD_VERSION,
  serializeSenderKeyRecord,
} from './record.ts';
export { SenderKeyRecord, type SenderKeyState } from './state.ts';
export {
  canonicalDistributionId,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
  SENDER_KEY_VERSION_BYTE,
  type SenderKeyDistributionMessage,
  type SenderKeyMessage,
} from './wire.ts';
