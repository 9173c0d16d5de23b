// Checks that the schema annotations bite: malformed frames and contents are rejected where the spec says.
import { expect } from 'chai';
import { ERROR_CODES, ERROR_CODE_LIST } from '../../schemas/errors.ts';
import type { ErrorCode } from '../../schemas/errors.ts';
import type { DirectSendVariant } from '../../schemas/frames/messages.ts';
import { SCHEMA_LIMITS, base64UrlLength } from '../../schemas/limits.ts';
import {
  ATTACHMENT_POINTER_EXAMPLE,
  CONTENT_EXAMPLES,
  FRAME_EXAMPLES,
} from '../../schemas/examples.ts';
import { committedSchemas, validatorFor } from './schema-files.ts';

const carriedInFrames = (code: ErrorCode): boolean =>
  (ERROR_CODES[code].carriers as readonly string[]).includes('frame');

/** Whether `value` validates against the committed schema `name`. */
function accepts(name: string, value: unknown): boolean {
  return validatorFor(name)(value);
}

const b64 = (length: number, fill: number): string =>
  Buffer.alloc(length, fill).toString('base64url');

describe('schema annotations', () => {
  describe('envelope and objects', () => {
    it('accepts the example hello frame', () => {
      expect(accepts('HelloFrame', FRAME_EXAMPLES.hello)).to.equal(true);
    });

    it('rejects a HelloFrame with an extra member', () => {
      expect(accepts('HelloFrame', { ...FRAME_EXAMPLES.hello, body: {} })).to.equal(false);
    });

    it('rejects a frame whose v is not 1', () => {
      expect(accepts('PingFrame', { ...FRAME_EXAMPLES.ping, v: 2 })).to.equal(false);
    });

    it('rejects a request without an id and one whose id has a space', () => {
      expect(accepts('PingFrame', { v: 1, type: 'ping' })).to.equal(false);
      expect(accepts('PingFrame', { v: 1, type: 'ping', id: 'r 1' })).to.equal(false);
      expect(accepts('PingFrame', { v: 1, type: 'ping', id: 'r'.repeat(65) })).to.equal(false);
    });

    it('rejects an extra member inside a nested object (welcome limits)', () => {
      const welcome = FRAME_EXAMPLES.welcome;
      const limits = { ...welcome.limits, maxStickers: 5 };
      expect(accepts('WelcomeFrame', { ...welcome, limits })).to.equal(false);
    });
  });

  describe('addresses', () => {
    const claim = FRAME_EXAMPLES['keys.claim'];

    it('rejects an address without a domain', () => {
      expect(accepts('KeysClaimFrame', { ...claim, address: 'alice' })).to.equal(false);
      expect(accepts('KeysClaimFrame', { ...claim, address: 'alice@' })).to.equal(false);
    });

    it('rejects an address with uppercase letters, a bad label or a too long name', () => {
      for (const address of [
        'Alice@wa.example',
        'alice@WA.example',
        'alice@-wa.example',
        'alice@wa..example',
        `${'a'.repeat(65)}@wa.example`,
      ]) {
        expect(accepts('KeysClaimFrame', { ...claim, address }), address).to.equal(false);
      }
    });

    it('accepts an address on a multi-label and on a single-label domain', () => {
      for (const address of [
        'alice.b_c-d@wa.example',
        'bob@chat.partner.example',
        'carol@localhost',
      ]) {
        expect(accepts('KeysClaimFrame', { ...claim, address }), address).to.equal(true);
      }
    });
  });

  describe('binary values', () => {
    const send = FRAME_EXAMPLES['message.send'];
    const withBody = (body: string) => ({
      ...send,
      messages: [{ deviceId: 1, registrationId: 1234, type: 'whisper', body }],
    });

    it('rejects a non-base64url body', () => {
      expect(accepts('MessageSendFrame', withBody('M5mZ+/mZmQ=='))).to.equal(false);
      expect(accepts('MessageSendFrame', withBody('M5mZ mZmQ'))).to.equal(false);
    });

    it('rejects an empty body and one over the 512 KiB ceiling', () => {
      expect(accepts('MessageSendFrame', withBody(''))).to.equal(false);
      expect(accepts('MessageSendFrame', withBody(b64(524_289, 1)))).to.equal(false);
      expect(accepts('MessageSendFrame', withBody(b64(524_288, 1)))).to.equal(true);
    });

    it('rejects a public key that is not 33 bytes or lacks the 0x05 type byte', () => {
      const register = FRAME_EXAMPLES['account.register'];
      const short = Buffer.alloc(32, 5).toString('base64url');
      const untyped = Buffer.alloc(33, 0x11).toString('base64url');
      expect(accepts('AccountRegisterFrame', { ...register, identityKey: short })).to.equal(false);
      expect(accepts('AccountRegisterFrame', { ...register, identityKey: untyped })).to.equal(
        false,
      );
    });

    it('rejects a non-canonical encoding of a 32-byte digest and of a 64-byte signature', () => {
      const slot = FRAME_EXAMPLES['attachment.slot'];
      const digest = slot.digest.slice(0, 42) + 'B';
      expect(accepts('AttachmentSlotFrame', { ...slot, digest })).to.equal(false);
      const auth = FRAME_EXAMPLES.auth;
      const signature = auth.signature.slice(0, 85) + 'B';
      expect(accepts('AuthFrame', { ...auth, signature })).to.equal(false);
    });
  });

  describe('numbers', () => {
    it('rejects device ids outside libsignal’s 1..127 and fractional ones (PROTO-016)', () => {
      const remove = FRAME_EXAMPLES['device.remove'];
      for (const deviceId of [0, 128, 2_147_483_647, 1.5, -1]) {
        expect(accepts('DeviceRemoveFrame', { ...remove, deviceId }), String(deviceId)).to.equal(
          false,
        );
      }
      expect(accepts('DeviceRemoveFrame', { ...remove, deviceId: 127 })).to.equal(true);
      expect(accepts('DeviceRemoveFrame', { ...remove, deviceId: 1 })).to.equal(true);
    });

    it('rejects registration ids outside libsignal’s 1..16380', () => {
      const add = FRAME_EXAMPLES['device.add'];
      expect(accepts('DeviceAddFrame', { ...add, registrationId: 0 })).to.equal(false);
      expect(accepts('DeviceAddFrame', { ...add, registrationId: 16_381 })).to.equal(false);
      expect(accepts('DeviceAddFrame', { ...add, registrationId: 16_380 })).to.equal(true);
    });
  });

  describe('array bounds', () => {
    it('rejects more than 100 one-time prekeys in one publish', () => {
      const publish = FRAME_EXAMPLES['keys.publish'];
      const key = publish.oneTimePreKeys[0];
      const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ ...key, keyId: i }));
      expect(accepts('KeysPublishFrame', { ...publish, oneTimePreKeys: keys(100) })).to.equal(true);
      expect(accepts('KeysPublishFrame', { ...publish, oneTimePreKeys: keys(101) })).to.equal(
        false,
      );
    });

    it('rejects more than 100 one-time Kyber prekeys in one publish', () => {
      const publish = FRAME_EXAMPLES['keys.publish'];
      const key = publish.lastResortKyberPreKey;
      const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ ...key, keyId: i }));
      expect(accepts('KeysPublishFrame', { ...publish, oneTimeKyberPreKeys: keys(100) })).to.equal(
        true,
      );
      expect(accepts('KeysPublishFrame', { ...publish, oneTimeKyberPreKeys: keys(101) })).to.equal(
        false,
      );
    });

    it('requires a last-resort Kyber prekey in keys.publish and a Kyber prekey in every bundle entry', () => {
      const publish: Record<string, unknown> = { ...FRAME_EXAMPLES['keys.publish'] };
      delete publish.lastResortKyberPreKey;
      expect(accepts('KeysPublishFrame', publish)).to.equal(false);
      const bundle = FRAME_EXAMPLES['keys.bundle'];
      const entry: Record<string, unknown> = { ...bundle.devices[0]! };
      delete entry.kyberPreKey;
      expect(accepts('KeysBundleFrame', { ...bundle, devices: [entry] })).to.equal(false);
    });

    it('refuses a Kyber public key of another length or another type byte than 0x08', () => {
      const publish = FRAME_EXAMPLES['keys.publish'];
      const withKey = (bytes: Buffer) => ({
        ...publish,
        lastResortKyberPreKey: {
          ...publish.lastResortKyberPreKey,
          publicKey: bytes.toString('base64url'),
        },
      });
      const key = Buffer.from(publish.lastResortKyberPreKey.publicKey, 'base64url');
      expect(accepts('KeysPublishFrame', withKey(key))).to.equal(true);
      for (const type of [0x05, 0x09, 0x0a, 0x0b]) {
        const other = Buffer.from(key);
        other[0] = type;
        expect(accepts('KeysPublishFrame', withKey(other)), `type 0x${type.toString(16)}`).to.equal(
          false,
        );
      }
      expect(accepts('KeysPublishFrame', withKey(key.subarray(0, 1568)))).to.equal(false);
      expect(
        accepts('KeysPublishFrame', withKey(Buffer.concat([key, key.subarray(0, 3)]))),
      ).to.equal(false);
    });

    it('rejects a message to more than 64 devices', () => {
      const send = FRAME_EXAMPLES['message.send'] as DirectSendVariant;
      const item = send.messages[0]!;
      const messages = Array.from({ length: 65 }, (_, i) => ({ ...item, deviceId: i + 1 }));
      expect(accepts('MessageSendFrame', { ...send, messages })).to.equal(false);
    });
  });

  describe('the error frame', () => {
    const error = { v: 1, type: 'error', re: 'r1', message: 'No.' };

    it('rejects an ErrorFrame with a code outside the registry', () => {
      expect(accepts('ErrorFrame', { ...error, code: 'TEAPOT' })).to.equal(false);
    });

    it('accepts every frame-carried code of the registry with the members it requires', () => {
      for (const code of ERROR_CODE_LIST.filter((c) => carriedInFrames(c))) {
        const frame =
          code === 'DEVICE_MISMATCH'
            ? { ...error, code, details: { missing: [], extra: [2], stale: [] } }
            : code === 'RATE_LIMITED'
              ? { ...error, code, retryAfterMs: 1000 }
              : { ...error, code };
        expect(accepts('ErrorFrame', frame), code).to.equal(true);
      }
    });

    it('rejects an ErrorFrame with a code the registry carries over HTTP only', () => {
      expect(accepts('ErrorFrame', { ...error, code: 'DIGEST_MISMATCH' })).to.equal(false);
      expect(accepts('ErrorFrame', { ...error, code: 'BAD_REQUEST' })).to.equal(false);
    });

    it('rejects DEVICE_MISMATCH without details and RATE_LIMITED without retryAfterMs', () => {
      expect(accepts('ErrorFrame', { ...error, code: 'DEVICE_MISMATCH' })).to.equal(false);
      expect(accepts('ErrorFrame', { ...error, code: 'RATE_LIMITED' })).to.equal(false);
    });

    it('rejects details that do not belong to the code', () => {
      const mismatch = { missing: [], extra: [2], stale: [] };
      expect(accepts('ErrorFrame', { ...error, code: 'NOT_FOUND', details: mismatch })).to.equal(
        false,
      );
      // AUTH-008: every failed authentication looks the same, so AUTH_FAILED carries no reason.
      expect(
        accepts('ErrorFrame', {
          ...error,
          code: 'AUTH_FAILED',
          details: { reason: 'token-expired' },
        }),
      ).to.equal(false);
    });

    it('rejects a pointer that is not a JSON pointer', () => {
      const frame = { ...error, code: 'SCHEMA_VIOLATION', pointer: 'messages.0.body' };
      expect(accepts('ErrorFrame', frame)).to.equal(false);
      expect(accepts('ErrorFrame', { ...frame, pointer: '/messages/0/body' })).to.equal(true);
    });
  });

  describe('content', () => {
    for (const [kind, content] of Object.entries(CONTENT_EXAMPLES)) {
      it(`accepts a Content of kind ${kind}`, () => {
        expect(accepts('Content', content)).to.equal(true);
      });
    }

    it('rejects a Content with an unknown kind', () => {
      expect(accepts('Content', { ...CONTENT_EXAMPLES.typing, kind: 'sticker' })).to.equal(false);
    });

    it('rejects a Content whose members belong to another kind', () => {
      const { body } = CONTENT_EXAMPLES.text;
      expect(accepts('Content', { ...CONTENT_EXAMPLES.typing, body })).to.equal(false);
    });

    it('rejects a text over 65536 characters and a client message id that is not a UUID', () => {
      const text = CONTENT_EXAMPLES.text;
      expect(accepts('Content', { ...text, body: 'x'.repeat(65_537) })).to.equal(false);
      expect(accepts('Content', { ...text, body: 'x'.repeat(65_536) })).to.equal(true);
      expect(accepts('Content', { ...text, id: 'message-1' })).to.equal(false);
    });

    it('rejects an attachment message with no attachments or more than 32', () => {
      const content = CONTENT_EXAMPLES.attachment;
      expect(accepts('Content', { ...content, attachments: [] })).to.equal(false);
      const many = Array.from({ length: 33 }, () => ATTACHMENT_POINTER_EXAMPLE);
      expect(accepts('Content', { ...content, attachments: many })).to.equal(false);
    });

    it('accepts the example AttachmentPointer and rejects one with a 16-byte key', () => {
      expect(accepts('AttachmentPointer', ATTACHMENT_POINTER_EXAMPLE)).to.equal(true);
      const key = b64(16, 7);
      expect(accepts('AttachmentPointer', { ...ATTACHMENT_POINTER_EXAMPLE, key })).to.equal(false);
    });

    it('rejects an attachment file name with a path separator', () => {
      const fileName = '../etc/passwd';
      expect(accepts('AttachmentPointer', { ...ATTACHMENT_POINTER_EXAMPLE, fileName })).to.equal(
        false,
      );
    });
  });

  describe('every schema', () => {
    type Node = Record<string, unknown>;
    /** Calls `visit` on every subschema of `schema`. */
    function walk(node: unknown, at: string, visit: (node: Node, at: string) => void): void {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${at}/${i}`, visit));
      else if (node !== null && typeof node === 'object') {
        visit(node as Node, at);
        for (const [key, value] of Object.entries(node)) walk(value, `${at}/${key}`, visit);
      }
    }

    it('bounds every string, number and array and closes every object', () => {
      const unbounded: string[] = [];
      for (const { name, schema } of committedSchemas()) {
        walk(schema, name, (node, at) => {
          const fixed = 'const' in node || 'enum' in node;
          if (node.type === 'string' && !fixed && node.maxLength === undefined) unbounded.push(at);
          if ((node.type === 'integer' || node.type === 'number') && !fixed) {
            if (node.minimum === undefined || node.maximum === undefined) unbounded.push(at);
          }
          if (node.type === 'number' && !fixed) unbounded.push(`${at} (not an integer)`);
          if (node.type === 'array' && node.maxItems === undefined) unbounded.push(at);
          if (node.type === 'object' && node.additionalProperties !== false) unbounded.push(at);
        });
      }
      expect(unbounded).to.eql([]);
    });
  });
});

describe('SCHEMA_LIMITS', () => {
  /** The schema at a JSON pointer-like path of a committed schema, following local $refs. */
  function at(name: string, ...keys: string[]): Record<string, unknown> {
    const root = committedSchemas().find((s) => s.name === name)?.schema ?? {};
    let node: Record<string, unknown> = root;
    for (const key of keys) {
      node = node[key] as Record<string, unknown>;
      const ref = node.$ref;
      if (typeof ref === 'string') {
        const definitions = root.definitions as Record<string, Record<string, unknown>>;
        node = { ...definitions[ref.slice('#/definitions/'.length)], ...node };
      }
    }
    return node;
  }

  it('matches the ceilings annotated in the schemas', () => {
    const direct = ['definitions', 'DirectSendVariant', 'properties'];
    const body = at('MessageSendFrame', ...direct, 'messages', 'items', 'properties', 'body');
    expect(body.maxLength).to.equal(base64UrlLength(SCHEMA_LIMITS.maxCiphertextBytes));
    expect(at('MessageFrame', 'properties', 'body').maxLength).to.equal(body.maxLength);
    expect(at('MessageSendFrame', ...direct, 'messages').maxItems).to.equal(
      SCHEMA_LIMITS.maxDevicesPerMessage,
    );
    expect(at('KeysBundleFrame', 'properties', 'devices').maxItems).to.equal(
      SCHEMA_LIMITS.maxDevicesPerMessage,
    );
    expect(at('KeysPublishFrame', 'properties', 'oneTimePreKeys').maxItems).to.equal(
      SCHEMA_LIMITS.maxOneTimePreKeysPerPublish,
    );
    expect(at('KeysPublishFrame', 'properties', 'oneTimeKyberPreKeys').maxItems).to.equal(
      SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish,
    );
    for (const path of [
      ['KeysPublishFrame', 'properties', 'lastResortKyberPreKey', 'properties', 'publicKey'],
      ['KeysBundleFrame', 'definitions', 'KyberPreKey', 'properties', 'publicKey'],
    ]) {
      const [name, ...keys] = path as [string, ...string[]];
      expect(at(name, ...keys).maxLength, path.join('/')).to.equal(
        base64UrlLength(SCHEMA_LIMITS.kyberPublicKeyBytes),
      );
    }
    const limits = ['properties', 'limits'];
    expect(at('WelcomeFrame', ...limits, 'properties', 'maxDevicesPerMessage').maximum).to.equal(
      SCHEMA_LIMITS.maxDevicesPerMessage,
    );
    expect(
      at('WelcomeFrame', ...limits, 'properties', 'maxOneTimePreKeysPerPublish').maximum,
    ).to.equal(SCHEMA_LIMITS.maxOneTimePreKeysPerPublish);
    expect(at('TextContent', 'properties', 'body').maxLength).to.equal(SCHEMA_LIMITS.maxTextLength);
    expect(at('EditContent', 'properties', 'body').maxLength).to.equal(SCHEMA_LIMITS.maxTextLength);
    expect(at('GroupContextContent', 'properties', 'name').maxLength).to.equal(
      SCHEMA_LIMITS.maxGroupNameLength,
    );
    expect(at('AttachmentContent', 'properties', 'attachments').maxItems).to.equal(
      SCHEMA_LIMITS.maxAttachmentsPerMessage,
    );
    expect(at('MessageAckFrame', 'properties', 'deliveryIds').maxItems).to.equal(
      SCHEMA_LIMITS.maxAcksPerFrame,
    );
    expect(at('RequestsFrame', 'properties', 'pending').maxItems).to.equal(
      SCHEMA_LIMITS.maxPendingRequests,
    );
  });
});
