/**
 * One valid example of every frame type and every content kind, typed by the protocol types and
 * checked against the generated schemas by the tests; the AsyncAPI document may reuse them.
 */
import type {
  AttachmentPointer,
  Content,
  ContentKind,
  FrameOfType,
  FrameType,
  InteropSettings,
  Origin,
} from './index.ts';

/** Deterministic base64url of `length` bytes, each byte `fill`, optionally after a leading type byte. */
function bytes(length: number, fill: number, typeByte?: number): string {
  const buffer = Buffer.alloc(length, fill);
  if (typeByte !== undefined) buffer[0] = typeByte;
  return buffer.toString('base64url');
}

const identityKey = bytes(33, 0x11, 0x05);
const deviceKey = bytes(33, 0x12, 0x05);
const signedPreKeyPublic = bytes(33, 0x22, 0x05);
const oneTimePreKeyPublic = bytes(33, 0x33, 0x05);
const kyberPublicKey = bytes(1569, 0x44, 0x08);
const signature = bytes(64, 0x55);
const digest = bytes(32, 0x66);
const attachmentKey = bytes(32, 0x77);
const noncePrefix = bytes(7, 0x88);
/** A `SignalMessage`-shaped body: version byte 0x44, then filler. */
const ciphertext = bytes(120, 0x99, 0x44);
/** A `SenderKeyMessage`-shaped body: version byte 0x33, then filler. */
const senderKeyCiphertext = bytes(140, 0xbb, 0x33);
const group = 'g.5Jq8mWc2RkS0vT1x';

const interop: InteropSettings = { enabled: true, platforms: ['chat.example'], inbox: 'separate' };
const thirdParty: Origin = { platform: 'chat.example', thirdParty: true };

/** A valid example of every frame, keyed by wire `type`; the compiler checks each against its type. */
export const FRAME_EXAMPLES: { readonly [T in FrameType]: FrameOfType<T> } = {
  hello: {
    v: 1,
    type: 'hello',
    id: 'r1',
    versions: [1],
    client: { name: 'Parley SDK', version: '0.1.0' },
  },
  welcome: {
    v: 1,
    type: 'welcome',
    re: 'r1',
    version: 1,
    provider: { domain: 'wa.example' },
    challenge: bytes(32, 0xaa),
    limits: {
      maxFrameBytes: 8_388_608,
      maxUnauthenticatedFrameBytes: 16_384,
      authWindowSeconds: 70,
      maxMessageBytes: 262_144,
      maxDevicesPerMessage: 16,
      maxOneTimePreKeysPerPublish: 100,
      queueTtlSeconds: 2_592_000,
      lowPreKeyThreshold: 10,
      maxGroupMembers: 1024,
      attachments: {
        image: 16_777_216,
        video: 104_857_600,
        audio: 16_777_216,
        document: 104_857_600,
        ttlSeconds: 2_592_000,
        chunkBytes: 65_536,
      },
    },
    capabilities: ['attachments', 'consent', 'groups'],
    mediaTypes: {
      image: ['image/jpeg', 'image/png'],
      video: ['video/mp4'],
      audio: ['audio/ogg; codecs=opus', 'audio/mp4'],
      document: ['application/pdf'],
    },
    serverTime: 1_767_225_600_000,
  },
  auth: {
    v: 1,
    type: 'auth',
    id: 'r2',
    method: 'partner',
    token: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJib2JAd2EuZXhhbXBsZSJ9.c2lnbmF0dXJl',
    deviceId: 1,
    registrationId: 4242,
    identityKey,
    signature,
  },
  'auth.ok': {
    v: 1,
    type: 'auth.ok',
    re: 'r2',
    address: 'bob@wa.example',
    deviceId: 1,
    origin: thirdParty,
  },
  ping: { v: 1, type: 'ping', id: 'r3' },
  pong: { v: 1, type: 'pong', re: 'r3' },
  error: {
    v: 1,
    type: 'error',
    re: 'r9',
    code: 'DEVICE_MISMATCH',
    message: 'The ciphertexts do not address exactly the recipient’s current devices.',
    details: { missing: [2], extra: [7], stale: [] },
  },
  'account.register': {
    v: 1,
    type: 'account.register',
    id: 'r4',
    registrationToken: 'operator-token-123',
    name: 'alice',
    identityKey,
    registrationId: 1234,
    deviceKey,
  },
  'account.registered': {
    v: 1,
    type: 'account.registered',
    re: 'r4',
    address: 'alice@wa.example',
    deviceId: 1,
  },
  'device.add': { v: 1, type: 'device.add', id: 'r5', registrationId: 2345, deviceKey },
  'device.added': { v: 1, type: 'device.added', re: 'r5', deviceId: 2 },
  'device.remove': { v: 1, type: 'device.remove', id: 'r6', deviceId: 2 },
  'device.removed': { v: 1, type: 'device.removed', re: 'r6', deviceId: 2 },
  'keys.publish': {
    v: 1,
    type: 'keys.publish',
    id: 'r7',
    identityKey,
    signedPreKey: { keyId: 1, publicKey: signedPreKeyPublic, signature },
    oneTimePreKeys: [{ keyId: 100, publicKey: oneTimePreKeyPublic }],
    lastResortKyberPreKey: { keyId: 1, publicKey: kyberPublicKey, signature },
    oneTimeKyberPreKeys: [{ keyId: 100, publicKey: kyberPublicKey, signature }],
  },
  'keys.published': {
    v: 1,
    type: 'keys.published',
    re: 'r7',
    oneTimePreKeyCount: 100,
    oneTimeKyberPreKeyCount: 100,
  },
  'keys.claim': { v: 1, type: 'keys.claim', id: 'r8', address: 'alice@wa.example' },
  'keys.bundle': {
    v: 1,
    type: 'keys.bundle',
    re: 'r8',
    address: 'alice@wa.example',
    devices: [
      {
        deviceId: 1,
        registrationId: 1234,
        identityKey,
        signedPreKey: { keyId: 1, publicKey: signedPreKeyPublic, signature },
        oneTimePreKey: { keyId: 100, publicKey: oneTimePreKeyPublic },
        kyberPreKey: { keyId: 100, publicKey: kyberPublicKey, signature },
      },
      {
        deviceId: 2,
        registrationId: 2345,
        identityKey,
        signedPreKey: { keyId: 1, publicKey: signedPreKeyPublic, signature },
        oneTimePreKey: null,
        kyberPreKey: { keyId: 1, publicKey: kyberPublicKey, signature },
      },
    ],
    exhausted: true,
  },
  'keys.low': {
    v: 1,
    type: 'keys.low',
    id: 'p1',
    oneTimePreKeyCount: 9,
    oneTimeKyberPreKeyCount: 40,
    threshold: 10,
  },
  'message.send': {
    v: 1,
    type: 'message.send',
    id: 'r9',
    to: 'alice@wa.example',
    idempotencyKey: '6f1c2a9e-3b7d-4c1a-9e2f-0a1b2c3d4e5f',
    messages: [{ deviceId: 1, registrationId: 1234, type: 'whisper', body: ciphertext }],
  },
  'message.accepted': {
    v: 1,
    type: 'message.accepted',
    re: 'r9',
    messageId: 'm_01JH',
    serverTimestamp: 1_767_225_600_123,
    duplicate: false,
  },
  message: {
    v: 1,
    type: 'message',
    id: 'd1',
    messageId: 'm_01JH',
    from: 'bob@chat.example',
    fromDevice: 1,
    origin: thirdParty,
    folder: 'requests',
    ciphertextType: 'prekey',
    body: ciphertext,
    serverTimestamp: 1_767_225_600_123,
  },
  'message.ack': { v: 1, type: 'message.ack', id: 'r10', deliveryIds: ['d1'] },
  'message.acked': { v: 1, type: 'message.acked', re: 'r10', count: 1 },
  'queue.empty': { v: 1, type: 'queue.empty', id: 'p2' },
  'consent.get': { v: 1, type: 'consent.get', id: 'r11' },
  'consent.set': { v: 1, type: 'consent.set', id: 'r12', interop },
  'consent.state': { v: 1, type: 'consent.state', re: 'r12', interop },
  'requests.list': { v: 1, type: 'requests.list', id: 'r13' },
  requests: {
    v: 1,
    type: 'requests',
    re: 'r13',
    pending: [{ from: 'bob@chat.example', origin: thirdParty, firstSeen: 1_767_225_600_123 }],
  },
  'request.respond': {
    v: 1,
    type: 'request.respond',
    id: 'r14',
    from: 'bob@chat.example',
    action: 'accept',
  },
  'request.responded': {
    v: 1,
    type: 'request.responded',
    re: 'r14',
    from: 'bob@chat.example',
    action: 'accept',
  },
  'block.set': {
    v: 1,
    type: 'block.set',
    id: 'r15',
    address: 'mallory@chat.example',
    blocked: true,
  },
  'block.state': {
    v: 1,
    type: 'block.state',
    re: 'r15',
    address: 'mallory@chat.example',
    blocked: true,
  },
  report: {
    v: 1,
    type: 'report',
    id: 'r16',
    address: 'mallory@chat.example',
    reason: 'spam',
    messageIds: ['m_01JH'],
    comment: 'Unsolicited advertising.',
  },
  'report.received': { v: 1, type: 'report.received', re: 'r16', reportId: 'rep_1' },
  'attachment.slot': {
    v: 1,
    type: 'attachment.slot',
    id: 'r17',
    kind: 'image',
    size: 1_049_600,
    digest,
  },
  'attachment.slotted': {
    v: 1,
    type: 'attachment.slotted',
    re: 'r17',
    blobId: 'b_7Qx',
    uploadUrl: 'https://wa.example/v1/attachments/b_7Qx',
    uploadToken: 'upl_c2VjcmV0LXVwbG9hZC10b2tlbg',
    downloadUrl: 'https://wa.example/v1/attachments/b_7Qx?cap=Zm9vYmFyYmF6cXV4',
    expiresAt: 1_769_817_600_000,
  },
  'group.create': {
    v: 1,
    type: 'group.create',
    id: 'r18',
    idempotencyKey: '0b6f3c2e-5a41-4d8e-9f27-1c3e8a9d4b60',
    members: ['carol@wa.example', 'bob@chat.example'],
  },
  'group.add': { v: 1, type: 'group.add', id: 'r19', group, members: ['dave@wa.example'] },
  'group.remove': { v: 1, type: 'group.remove', id: 'r20', group, members: ['dave@wa.example'] },
  'group.leave': { v: 1, type: 'group.leave', id: 'r21', group },
  'group.role': {
    v: 1,
    type: 'group.role',
    id: 'r22',
    group,
    member: 'carol@wa.example',
    role: 'admin',
  },
  'group.get': { v: 1, type: 'group.get', id: 'r23', group },
  'group.state': {
    v: 1,
    type: 'group.state',
    re: 'r18',
    group,
    version: 1,
    members: [
      { address: 'alice@wa.example', role: 'admin', state: 'member' },
      { address: 'carol@wa.example', role: 'member', state: 'member' },
      { address: 'bob@chat.example', role: 'member', state: 'member' },
    ],
  },
  'group.left': { v: 1, type: 'group.left', re: 'r21', group },
  'group.changed': {
    v: 1,
    type: 'group.changed',
    id: 'd2',
    group,
    version: 2,
    by: 'alice@wa.example',
    action: 'added',
    members: ['dave@wa.example'],
    serverTimestamp: 1_767_225_600_456,
  },
  'group.invited': {
    v: 1,
    type: 'group.invited',
    id: 'd3',
    group,
    by: 'bob@chat.example',
    origin: { platform: 'chat.example', thirdParty: true },
    serverTimestamp: 1_767_225_600_789,
  },
};

/** A `message.send` to a group, with a sender-key distribution message for a new member's device. */
export const GROUP_SEND_EXAMPLE: FrameOfType<'message.send'> = {
  v: 1,
  type: 'message.send',
  id: 'r24',
  group,
  groupVersion: 2,
  idempotencyKey: '0b6d1f4e-8a2c-4f3e-b1d0-7c9e5a4f2b1d',
  body: senderKeyCiphertext,
  distribution: [
    {
      to: 'dave@wa.example',
      messages: [{ deviceId: 1, registrationId: 4321, type: 'prekey', body: ciphertext }],
    },
  ],
};

/** A group message pushed to a member's device, with the distribution message sent to it. */
export const GROUP_MESSAGE_EXAMPLE: FrameOfType<'message'> = {
  v: 1,
  type: 'message',
  id: 'd3',
  messageId: 'm_01JK',
  from: 'alice@wa.example',
  fromDevice: 1,
  origin: { platform: 'wa.example', thirdParty: false },
  folder: 'third-party',
  ciphertextType: 'senderkey',
  body: senderKeyCiphertext,
  group,
  distribution: { ciphertextType: 'prekey', body: ciphertext },
  serverTimestamp: 1_767_225_600_789,
};

/** A valid attachment pointer (a voice message). */
export const ATTACHMENT_POINTER_EXAMPLE: AttachmentPointer = {
  blobId: 'b_7Qx',
  downloadUrl: 'https://wa.example/v1/attachments/b_7Qx?cap=Zm9vYmFyYmF6cXV4',
  key: attachmentKey,
  noncePrefix,
  digest,
  size: 1_000_000,
  paddedSize: 1_048_576,
  mediaType: 'audio/ogg; codecs=opus',
  fileName: 'voice-note.ogg',
  voice: true,
  durationMs: 12_500,
};

const base = { v: 1, sentAt: 1_767_225_600_000 } as const;

/** A valid example of every content kind. */
export const CONTENT_EXAMPLES: { readonly [K in ContentKind]: Extract<Content, { kind: K }> } = {
  text: {
    ...base,
    id: '0b8f5c1e-2a4d-4e6f-8a1b-3c5d7e9f1a2b',
    kind: 'text',
    body: 'Hello Bob!',
    replyTo: { id: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d', author: 'bob@chat.example' },
  },
  attachment: {
    ...base,
    id: '1c9a6d2f-3b5e-4f70-9b2c-4d6e8f0a2b3c',
    kind: 'attachment',
    attachments: [ATTACHMENT_POINTER_EXAMPLE],
    caption: 'Listen to this',
  },
  receipt: {
    ...base,
    id: '2d0b7e3a-4c6f-4081-8c3d-5e7f9a1b3c4d',
    kind: 'receipt',
    receipt: 'read',
    messageIds: ['9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d'],
  },
  reaction: {
    ...base,
    id: '3e1c8f4b-5d70-4192-9d4e-6f8a0b2c4d5e',
    kind: 'reaction',
    targetId: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d',
    targetAuthor: 'bob@chat.example',
    emoji: '👍',
  },
  edit: {
    ...base,
    id: '4f2d9a5c-6e81-42a3-8e5f-7a9b1c3d5e6f',
    kind: 'edit',
    targetId: '0b8f5c1e-2a4d-4e6f-8a1b-3c5d7e9f1a2b',
    body: 'Hello, Bob!',
  },
  delete: {
    ...base,
    id: '5a3e0b6d-7f92-43b4-9f6a-8b0c2d4e6f7a',
    kind: 'delete',
    targetId: '0b8f5c1e-2a4d-4e6f-8a1b-3c5d7e9f1a2b',
  },
  typing: { ...base, id: '6b4f1c7e-8a03-44c5-8a7b-9c1d3e5f7a8b', kind: 'typing', state: 'started' },
  group: {
    ...base,
    id: '7c5a2d8f-9b14-45d6-9b8c-0d2e4f6a8b9c',
    kind: 'group',
    name: 'Book club 📚',
    avatar: {
      blobId: 'b_9Rz',
      downloadUrl: 'https://wa.example/v1/attachments/b_9Rz?cap=cXV4YmF6YmFyZm9v',
      key: attachmentKey,
      noncePrefix,
      digest,
      size: 48_213,
      paddedSize: 49_152,
      mediaType: 'image/jpeg',
      width: 640,
      height: 640,
    },
  },
};
