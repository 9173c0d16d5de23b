// PROTO-023 of spec/framing.md#version-negotiation: every capability `welcome` lists is exercised
// and must work; v1 defines `attachments`, `consent`, `groups` and `proxy` (spec/proxy.md), nothing
// else.
import { randomBytes } from 'node:crypto';
import { isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { TestUser } from '../../transport/users.ts';
import type { World } from '../../transport/world.ts';
import { generatePartnerKey } from '../../transport/partner.ts';
import { mintProxyToken, PROXY_HEADER, tryUpgrade } from '../../transport/proxy-token.ts';
import { digestOf, http, isBody, slotFor, upload } from '../att/blob.ts';

/** One exercise per v1 capability: resolves when the capability works, throws a failure if not. */
const EXERCISES: Record<string, (world: World, alice: TestUser) => Promise<void>> = {
  async attachments(world, alice) {
    const bytes = randomBytes(64);
    const slotted = await slotFor(alice.peer, bytes, digestOf(bytes));
    const put = await upload(world, slotted, bytes);
    must(
      'PROTO-023',
      that(
        put.status >= 200 && put.status < 300,
        'attachments: an upload that succeeds',
        put.status,
      ),
    );
    mustMatch('PROTO-023', await http(world, 'GET', slotted.downloadUrl as string), isBody(bytes));
  },
  async consent(_world, alice) {
    mustMatch('PROTO-023', await alice.peer.request('consent.get'), isType('consent.state'));
    mustMatch(
      'PROTO-023',
      await alice.peer.request('consent.set', {
        interop: { enabled: true, platforms: 'all', inbox: 'separate' },
      }),
      isType('consent.state'),
    );
  },
  async groups(world, alice) {
    const created = await alice.peer.request('group.create', {
      idempotencyKey: `k.${world.rng.word(12)}`,
    });
    mustMatch('PROTO-023', created, isType('group.state'));
    mustMatch(
      'PROTO-023',
      await alice.peer.request('group.get', { group: created.group }),
      isType('group.state'),
    );
  },
  // Whether or not the suite's proxy is enlisted, a token by a key nobody enlisted is refused
  // (spec/proxy.md, PROXY-001): the target checks proxy tokens.
  async proxy(world) {
    const stranger = await generatePartnerKey(world.target.partner.domain);
    const headers = {
      [PROXY_HEADER]: await mintProxyToken(stranger, {
        aud: world.target.domain,
        addr: '203.0.113.10',
      }),
    };
    const u = await tryUpgrade(world.target.url, world.env.waitMs, headers);
    if ('ws' in u) u.ws.terminate();
    must(
      'PROTO-023',
      that(
        !('ws' in u) && u.status === 403 && u.body.includes('PROXY_REFUSED'),
        'proxy: an upgrade with a proxy token of a key not enlisted refused with 403 PROXY_REFUSED',
        'ws' in u ? 'upgraded' : `HTTP ${u.status} ${u.body.slice(0, 120)}`,
      ),
    );
  },
};

export const capabilityCases = [
  defineCase({
    id: 'PROTO-023-capabilities-implemented',
    title: 'every capability welcome lists is one v1 defines, and exercising it works',
    requirements: ['PROTO-023'],
    level: 'MUST',
    quote:
      'The provider MUST NOT list in `welcome.capabilities` a capability it does not implement.',
    sends:
      'alice: per listed capability, attachments: slot, upload, download; consent: consent.get, consent.set; groups: group.create, group.get; proxy: an upgrade with a proxy token of a key not enlisted',
    timeoutMs: 8000,
    async run({ target, world }) {
      const unknown = target.capabilities.filter((c) => !(c in EXERCISES));
      must(
        'PROTO-023',
        that(
          unknown.length === 0,
          `only capabilities v1 defines (${Object.keys(EXERCISES).join(', ')})`,
          unknown,
        ),
      );
      const alice = await world.firstParty('alice', { preKeys: 0 });
      for (const capability of target.capabilities) await EXERCISES[capability]!(world, alice);
    },
  }),
];
