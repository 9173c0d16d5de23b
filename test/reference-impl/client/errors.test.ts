// Error mapping to ParleyError with registry codes (spec/errors.md, PROTO-043), partner tokens and the
// device proof (spec/auth.md), and the reconnect back-off.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import {
  deviceMismatchOf,
  errorFromFrame,
  memberDevicesOf,
  ParleyError,
} from '../../../reference-impl/client/errors.ts';
import {
  authInput,
  generatePartnerKey,
  identityKeyThumbprint,
  mintPartnerToken,
  parsePartnerKey,
} from '../../../reference-impl/client/auth.ts';
import {
  backoffCeiling,
  backoffDelay,
  DEFAULT_BACKOFF,
} from '../../../reference-impl/client/backoff.ts';

/** A Curve25519 identity key as the SDK holds it: 0x05 then 32 bytes. */
const BOB_IDENTITY = new Uint8Array([0x05, ...Array.from({ length: 32 }, (_, i) => i * 7 + 1)]);

describe('client errors', () => {
  it('maps RATE_LIMITED to a ParleyError carrying retryAfterMs', () => {
    const error = errorFromFrame({
      v: 1,
      type: 'error',
      re: 'c1',
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 1500,
    });
    expect(error).to.be.instanceOf(ParleyError);
    expect(error.code).to.equal('RATE_LIMITED');
    expect(error.retryAfterMs).to.equal(1500);
    expect(error.source).to.equal('provider');
    expect(error.connectionSurvives).to.equal(true);
  });

  it('maps DEVICE_MISMATCH with its missing, extra and stale device lists', () => {
    const error = errorFromFrame({
      v: 1,
      type: 'error',
      re: 'c2',
      code: 'DEVICE_MISMATCH',
      message: 'devices',
      details: { missing: [2, 3], extra: [], stale: [1] },
    });
    expect(deviceMismatchOf(error)).to.deep.equal({ missing: [2, 3], extra: [], stale: [1] });
  });

  it('reads the members a group send’s DEVICE_MISMATCH names on /distribution, skipping malformed entries (GROUP-052)', () => {
    const error = errorFromFrame({
      v: 1,
      type: 'error',
      code: 'DEVICE_MISMATCH',
      message: 'devices without the sender key',
      pointer: '/distribution',
      details: {
        missing: [],
        extra: [],
        stale: [],
        members: [
          { address: 'bob@chat.example', missing: [2, 'x', 3] },
          { missing: [1] },
          { address: 'alice@wa.example', missing: [4] },
        ],
      },
    });
    expect(error.pointer).to.equal('/distribution');
    expect(memberDevicesOf(error)).to.deep.equal([
      { address: 'bob@chat.example', missing: [2, 3] },
      { address: 'alice@wa.example', missing: [4] },
    ]);
    expect(deviceMismatchOf(error)).to.deep.equal({ missing: [], extra: [], stale: [] });
  });

  it('keeps the pointer of a SCHEMA_VIOLATION', () => {
    const error = errorFromFrame({
      v: 1,
      type: 'error',
      code: 'SCHEMA_VIOLATION',
      message: 'bad',
      pointer: '/to',
    });
    expect(error.pointer).to.equal('/to');
  });

  it('handles a code outside the registry as INTERNAL and keeps the original code', () => {
    const error = errorFromFrame({
      v: 1,
      type: 'error',
      code: 'TEAPOT',
      message: 'short and stout',
    });
    expect(error.code).to.equal('INTERNAL');
    expect(error.details).to.deep.equal({ unknownCode: 'TEAPOT' });
  });

  it('says that the connection does not survive AUTH_FAILED', () => {
    expect(new ParleyError('AUTH_FAILED', 'no').connectionSurvives).to.equal(false);
  });
});

describe('client auth material', () => {
  it('builds the device proof input as label, challenge, address and a big-endian device id', () => {
    const challenge = new Uint8Array(32).fill(7);
    const input = authInput(challenge, 'alice@wa.example', 258);
    const expected = Buffer.concat([
      Buffer.from('PARLEY-AUTH-v1'),
      Buffer.alloc(32, 7),
      Buffer.from('alice@wa.example'),
      Buffer.from([0, 0, 1, 2]),
    ]);
    expect(Buffer.from(input)).to.deep.equal(expected);
  });

  it('mints a partner token with the claims of spec/auth.md, verifiable with the public key', async () => {
    const { key, publicJwk } = await generatePartnerKey('chat.example');
    const now = Date.UTC(2026, 0, 1);
    const token = await mintPartnerToken(
      key,
      { address: 'bob@chat.example', audience: 'wa.example', identityKey: BOB_IDENTITY },
      now,
    );
    expect(decodeProtectedHeader(token)).to.include({ alg: 'EdDSA', kid: key.kid });
    const claims = decodeJwt(token);
    expect(claims).to.include({ iss: 'chat.example', sub: 'bob@chat.example', aud: 'wa.example' });
    expect(claims.exp! - claims.iat!).to.be.within(1, 3600);
    expect(claims.jti!.length).to.be.within(16, 128);
    const verified = await jwtVerify(token, await importJWK(publicJwk, 'EdDSA'), {
      currentDate: new Date(now),
    });
    expect(verified.payload.sub).to.equal('bob@chat.example');
    const second = await mintPartnerToken(
      key,
      { address: 'bob@chat.example', audience: 'wa.example', identityKey: BOB_IDENTITY },
      now,
    );
    expect(decodeJwt(second).jti).to.not.equal(claims.jti);
  });

  it('binds a partner token to the identity key by cnf.jkt, the RFC 7638 SHA-256 thumbprint of the key as an X25519 OKP JWK (AUTH-037)', async () => {
    const { key } = await generatePartnerKey('chat.example');
    const token = await mintPartnerToken(key, {
      address: 'bob@chat.example',
      audience: 'wa.example',
      identityKey: BOB_IDENTITY,
    });
    // RFC 7638 §3: the required members in lexicographic order, no whitespace, hashed.
    const x = Buffer.from(BOB_IDENTITY.subarray(1)).toString('base64url');
    const canonical = `{"crv":"X25519","kty":"OKP","x":"${x}"}`;
    const expected = createHash('sha256').update(canonical).digest('base64url');
    expect(decodeJwt(token).cnf).to.deep.equal({ jkt: expected });
    expect(await identityKeyThumbprint(BOB_IDENTITY)).to.equal(expected);
  });

  it('reads a partner key file as parley keygen writes it, or with the JWK under a member', async () => {
    const { key } = await generatePartnerKey('chat.example', 'k1');
    expect(
      parsePartnerKey({ domain: 'chat.example', kid: 'k1', jwk: key.privateJwk }).privateJwk.d,
    ).to.equal(key.privateJwk.d);
    const keygenFile = {
      ...key.privateJwk,
      alg: 'EdDSA',
      use: 'sig',
      kid: 'k1',
      domain: 'chat.example',
    };
    const fromKeygen = parsePartnerKey(keygenFile);
    expect(fromKeygen).to.deep.include({ domain: 'chat.example', kid: 'k1' });
    expect(fromKeygen.privateJwk).to.not.have.property('domain');
    const token = await mintPartnerToken(fromKeygen, {
      address: 'bob@chat.example',
      audience: 'wa.example',
      identityKey: BOB_IDENTITY,
    });
    expect(decodeJwt(token).iss).to.equal('chat.example');
    expect(() => parsePartnerKey({ domain: 'chat.example' })).to.throw(ParleyError);
  });
});

describe('client reconnect back-off', () => {
  it('grows exponentially up to the cap and keeps every delay between half the ceiling and the ceiling', () => {
    const options = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffCeiling(options, a))).to.deep.equal([
      100, 200, 400, 800, 1000, 1000,
    ]);
    for (let attempt = 0; attempt < 12; attempt++) {
      for (const r of [0, 0.5, 0.999]) {
        const delay = backoffDelay(options, attempt, () => r);
        const ceiling = backoffCeiling(options, attempt);
        expect(delay).to.be.within(ceiling / 2, ceiling);
      }
    }
  });
});
