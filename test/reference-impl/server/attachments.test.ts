// `attachment.slot`: limits per kind, quota, unguessable tokens and expiry (spec/attachments.md
// "Limits and quota", "Slot"). Upload and download routes are not part of this server module.
import { expect } from 'chai';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  firstParty,
  makePartner,
  startTestProvider,
  thirdParty,
  type AnyFrame,
  type Partner,
} from './support/harness.ts';

const digest = Buffer.alloc(32, 7).toString('base64url');

describe('provider attachment slots (spec/attachments.md)', () => {
  let provider: RunningProvider;
  let partner: Partner;
  before(async () => {
    partner = await makePartner();
    provider = await startTestProvider([partner], {
      limits: {
        advertised: { attachments: { image: 1000, ttlSeconds: 600 } },
        attachmentQuotaBytes: 1500,
      },
    });
  });
  after(() => provider.close());

  it('advertises a limit for every kind and 65536-byte chunks (ATT-011)', async () => {
    const alice = await firstParty(provider, 'a11', 0);
    const a = alice.welcome.limits.attachments;
    for (const kind of ['image', 'video', 'audio', 'document']) expect(a[kind]).to.be.a('number');
    expect(a.chunkBytes).to.equal(65536);
    expect(alice.welcome.mediaTypes.image).to.include('image/jpeg');
  });

  it('refuses a slot over the kind’s limit with ATTACHMENT_TOO_LARGE, for partner sessions alike (ATT-015, ATT-012)', async () => {
    const alice = await firstParty(provider, 'a15', 0);
    const bob = await thirdParty(provider, partner, 'a15b', 0);
    for (const d of [alice, bob]) {
      const error = await d.wire.request('attachment.slot', { kind: 'image', size: 1001, digest });
      expect(error).to.include({ code: 'ATTACHMENT_TOO_LARGE', pointer: '/size' });
      expect(
        (await d.wire.request('attachment.slot', { kind: 'image', size: 1000, digest })).type,
      ).to.equal('attachment.slotted');
    }
  });

  it('refuses a slot that would take the user over the quota with QUOTA_EXCEEDED (ATT-016)', async () => {
    const alice = await firstParty(provider, 'a16', 0);
    expect(
      (await alice.wire.request('attachment.slot', { kind: 'image', size: 1000, digest })).type,
    ).to.equal('attachment.slotted');
    expect(
      (await alice.wire.request('attachment.slot', { kind: 'image', size: 501, digest })).code,
    ).to.equal('QUOTA_EXCEEDED');
  });

  it('draws independent 256-bit upload tokens and capabilities and expires the slot after ttlSeconds (ATT-017, ATT-018)', async () => {
    const alice = await firstParty(provider, 'a17', 0);
    const before = Date.now();
    const a = await alice.wire.request('attachment.slot', { kind: 'audio', size: 10, digest });
    const b = await alice.wire.request('attachment.slot', { kind: 'audio', size: 10, digest });
    for (const s of [a, b]) {
      expect(Buffer.from(s.uploadToken, 'base64url')).to.have.length(32);
      expect(s.uploadUrl).to.equal(`${provider.httpUrl}/parley/v1/uploads/${s.blobId}`);
      const capability = s.downloadUrl.split('/').pop();
      expect(s.downloadUrl).to.equal(
        `${provider.httpUrl}/parley/v1/blobs/${s.blobId}/${capability}`,
      );
      expect(Buffer.from(capability, 'base64url')).to.have.length(32);
      expect(capability).not.to.equal(s.uploadToken);
      expect(s.expiresAt).to.be.within(before + 600_000, Date.now() + 600_000);
      expect(provider.store.getSlot(s.blobId)).to.include({
        owner: alice.address,
        size: 10,
        digest,
      });
    }
    expect(a.uploadToken).not.to.equal(b.uploadToken);
  });
});

describe('provider attachment reservations per partner platform (spec/attachments.md ATT-034)', () => {
  it('nine minted users of one platform each reserving their 2 GiB: the first eight get 16 GiB, the ninth RATE_LIMITED, alice first-party still her quota (ATT-034)', async () => {
    const partner = await makePartner();
    const provider = await startTestProvider([partner]);
    const document = 100 * 1024 * 1024;
    const slotOf = (d: { wire: { request: (t: string, b: object) => Promise<AnyFrame> } }) =>
      d.wire.request('attachment.slot', { kind: 'document', size: document, digest });
    let reserved = 0;
    for (let i = 0; i < 8; i += 1) {
      const user = await thirdParty(provider, partner, `minted-up-${i}`, 0);
      for (let j = 0; j < 20; j += 1) {
        expect((await slotOf(user)).type).to.equal('attachment.slotted');
        reserved += document;
      }
      expect((await slotOf(user)).code).to.equal('QUOTA_EXCEEDED');
      user.wire.close();
    }
    expect(reserved).to.equal(16_000 * 1024 * 1024);
    const ninth = await thirdParty(provider, partner, 'minted-up-8', 0);
    // 16 GiB less 16 000 MiB leave 384 MiB: three more slots, then the platform is out.
    for (let j = 0; j < 3; j += 1)
      expect((await slotOf(ninth)).type).to.equal('attachment.slotted');
    const refused = await slotOf(ninth);
    expect(refused.code).to.equal('RATE_LIMITED');
    expect(refused.retryAfterMs).to.be.a('number').above(0);
    const alice = await firstParty(provider, 'up-alice', 0);
    expect((await slotOf(alice)).type).to.equal('attachment.slotted');
    await provider.close();
  });
});
