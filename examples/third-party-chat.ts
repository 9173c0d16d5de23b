// A runnable third-party chat (spec/consent.md "Origin and folders", spec/content.md, spec/groups.md):
// alice of wa.example, bob of chat.example (partner token), carol first-party, then a group of alice,
// bob and dan of talk.example; alice's inbox files the 1:1 chats and the group apart. The 1:1 chat
// runs twice: bob connects directly, then through chat.example's proxy (spec/proxy.md).
//
// Usage:
//   npx tsx examples/third-party-chat.ts          (starts the reference provider in-process)
//   npx tsx examples/third-party-chat.ts --server ws://127.0.0.1:8080/parley/v1 \
//       --registration-token T --partner-key partner.json [--second-partner-key partner2.json]
import { importJWK, SignJWT } from 'jose';
import {
  generatePartnerKey,
  type IncomingMessage,
  type ParleyClient,
} from '../reference-impl/client/index.ts';
import {
  importSigningKey,
  jwtLogin,
  LOGIN_HEADER,
  startProxy,
  type RunningProxy,
} from '../reference-impl/proxy/index.ts';
import { nextMessage, runExample, say, setUpExample, type ExampleSetup } from './support/setup.ts';

const USAGE =
  'usage: tsx examples/third-party-chat.ts [--server ws://… --registration-token T --partner-key partner.json [--second-partner-key partner2.json]]';

/** The next message `client` receives that `match` accepts. */
function next(
  client: ParleyClient,
  match: (m: IncomingMessage) => boolean,
): Promise<IncomingMessage> {
  return nextMessage(client, match, 10_000);
}

/** What alice's app keeps per chat: the peer's platform, the folder and a line per message. */
interface Chat {
  /** The peer's address, or the group's title for a group chat. */
  peer: string;
  /** A group's members as shown, with their platforms. */
  members?: string[];
  platform: string;
  thirdParty: boolean;
  folder: IncomingMessage['folder'];
  lines: string[];
}

/** Alice's app: files every incoming message into a chat, as a client UI would. */
function inbox(client: ParleyClient): {
  chats: Map<string, Chat>;
  sent(peer: string, text: string): void;
  member(group: string, members: string[], name?: string): void;
} {
  const chats = new Map<string, Chat>();
  client.on('message', (m) => {
    const key = m.group ?? m.from; // a group is one chat, whoever writes in it
    const chat = chats.get(key) ?? {
      peer: m.group === undefined ? m.from : `group ${m.group}`,
      platform: m.origin.platform,
      thirdParty: m.origin.thirdParty,
      folder: m.folder,
      lines: [],
    };
    chat.folder = m.folder;
    const c = m.content;
    const who = m.from.split('@')[0]!;
    if (c.kind === 'text') chat.lines.push(`${who}: ${c.body}`);
    else if (c.kind === 'reaction') chat.lines.push(`${who} reacted ${c.emoji}`);
    chats.set(key, chat);
  });
  return {
    chats,
    sent(peer, text) {
      chats.get(peer)?.lines.push(`me: ${text}`);
    },
    member(group, members, name) {
      const chat = chats.get(group);
      if (!chat) return;
      chat.members = members;
      if (name !== undefined) chat.peer = `group ${group} “${name}”`;
    },
  };
}

/** Prints alice's chats: first-party chats, then the "Third Party Chats" section (CONSENT-012/013). */
function printInbox(owner: string, chats: Map<string, Chat>): void {
  const all = [...chats.values()];
  const sections: [string, Chat[]][] = [
    ['Chats', all.filter((c) => c.folder === 'inbox')],
    ['Third Party Chats', all.filter((c) => c.folder === 'third-party')],
    ['Message requests', all.filter((c) => c.folder === 'requests')],
  ];
  console.log(`\n┌─ ${owner}'s inbox`);
  for (const [title, list] of sections) {
    if (list.length === 0) continue;
    console.log(`│ ${title}`);
    for (const chat of list) {
      const mark = chat.members ? '' : chat.thirdParty ? ` [via ${chat.platform}]` : '';
      console.log(`│   ${chat.peer}${mark}`);
      if (chat.members) console.log(`│     members: ${chat.members.join(', ')}`);
      for (const line of chat.lines) console.log(`│     ${line}`);
    }
  }
  console.log('└─\n');
}

/** Where a member's platform shows in the group's member line. */
function memberLabel(address: string, firstParty: string): string {
  const domain = address.slice(address.indexOf('@') + 1);
  return domain === firstParty ? address : `${address} [via ${domain}]`;
}

/**
 * A group of alice (first-party), bob (chat.example) and dan (talk.example, when a second partner
 * key is given): alice creates it, every member's client hands its sender key to the others over
 * their 1:1 sessions with its first group message, and each message is encrypted once.
 */
async function groupChat(
  alice: ParleyClient,
  bob: ParleyClient,
  setup: ExampleSetup,
  app: ReturnType<typeof inbox>,
): Promise<void> {
  const a = alice.session!;
  const b = bob.session!;
  let dan: ParleyClient | undefined;
  if (setup.secondPartnerKey) {
    dan = setup.client('dan', setup.secondPartnerKey);
    const d = await dan.connect({
      method: 'partner',
      address: `dan${setup.suffix}@${setup.secondPartnerKey.domain}`,
    });
    say('dan', `signed in as ${d.address} with a ${d.origin.platform} partner token (third-party)`);
  } else {
    say('setup', 'no --second-partner-key: the group has users of one partner platform only');
  }
  const members = [b.address, ...(dan ? [dan.session!.address] : [])];
  const created = await alice.createGroup(members);
  const { group } = created;
  say('alice', `creates group ${group} with ${members.join(' and ')} (version ${created.version})`);

  // The provider keeps the membership only: the name travels as encrypted group content.
  const namedAtBob = next(bob, (m) => m.group === group && m.content.kind === 'group');
  const text = (m: IncomingMessage): boolean => m.group === group && m.content.kind === 'text';
  const atBob = next(bob, text);
  const atDan = dan ? next(dan, text) : undefined;
  await alice.setGroupInfo(group, { name: 'Trip planning' });
  say(
    'alice',
    '→ group: names it "Trip planning" (encrypted group content; the provider never sees it)',
  );
  await namedAtBob;
  say('bob', `← the group is now called "${(await bob.knownGroup(group))?.name}"`);
  const trip = await alice.sendGroupText(group, 'Trip planning: who is in?');
  say(
    'alice',
    `→ group: "Trip planning: who is in?" (one ciphertext; her sender key went to ${trip.distributedTo.length} devices over 1:1 sessions)`,
  );
  say('bob', `← group message from ${(await atBob).from} (folder ${(await atBob).folder})`);
  if (atDan)
    say('dan', `← group message from ${(await atDan).from} (folder ${(await atDan).folder})`);

  const bobAtAlice = next(alice, (m) => m.group === group && m.from === b.address);
  await bob.sendGroupText(group, 'Count me in!', { id: trip.content.id, author: a.address });
  say('bob', '→ group (a reply to alice): "Count me in!"');
  const fromBob = await bobAtAlice;
  say('alice', `← group message from ${fromBob.from} (folder ${fromBob.folder})`);

  if (dan) {
    const danAtAlice = next(alice, (m) => m.group === group && m.from === dan.session!.address);
    await dan.reactInGroup(group, { id: trip.content.id, author: a.address }, '🎉');
    say('dan', '→ group: reacts 🎉 to alice’s message');
    const reaction = await danAtAlice;
    say('alice', `← reaction from ${reaction.from} (folder ${reaction.folder})`);
  }
  const known = await alice.knownGroup(group);
  app.member(
    group,
    (known?.members ?? []).map((m) => memberLabel(m.address, a.address.split('@')[1]!)),
    known?.name,
  );
}

/** How bob reaches the provider: directly, or through chat.example's proxy. */
type Route =
  { name: 'direct' } | { name: 'proxy'; url: string; login(address: string): Promise<string> };

/** One run of the chat; account names carry `tag` so that both runs share one provider. */
async function chat(setup: ExampleSetup, route: Route, tag: string): Promise<void> {
  const { registrationToken, partnerKey } = setup;
  const suffix = `${setup.suffix}${tag}`;
  const client = setup.client.bind(setup);
  const alice = client(`alice${tag}`);
  const carol = client(`carol${tag}`);
  const bob =
    route.name === 'direct'
      ? client(`bob${tag}`, partnerKey)
      : client(`bob${tag}`, partnerKey, {
          url: route.url,
          upgradeHeaders: async () => ({
            [LOGIN_HEADER]: await route.login(`bob${suffix}@${partnerKey.domain}`),
          }),
        });
  const app = inbox(alice);
  {
    const a = await alice.connect({
      method: 'register',
      registrationToken,
      name: `alice${suffix}`,
    });
    say(
      'alice',
      `registered ${a.address} (device ${a.deviceId}, first-party) and published her prekeys`,
    );
    const c = await carol.connect({
      method: 'register',
      registrationToken,
      name: `carol${suffix}`,
    });
    say('carol', `registered ${c.address} (first-party)`);
    const b = await bob.connect({
      method: 'partner',
      address: `bob${suffix}@${partnerKey.domain}`,
    });
    say('bob', `signed in as ${b.address} with a ${b.origin.platform} partner token (third-party)`);

    // CONSENT-002: only an explicit action of alice turns interop on; here, her tap in settings.
    const partnerDomains = [partnerKey.domain];
    if (setup.secondPartnerKey) partnerDomains.push(setup.secondPartnerKey.domain);
    const consent = await alice.setConsent({
      enabled: true,
      platforms: partnerDomains,
      inbox: 'separate',
    });
    say(
      'alice',
      `turns on third-party chats for ${JSON.stringify(consent.platforms)}, separate inbox`,
    );

    const hello = next(alice, (m) => m.from === b.address);
    const first = await bob.sendText(
      a.address,
      `Hi Alice! Bob here, writing from ${partnerKey.domain}.`,
    );
    say('bob', `→ alice: "${first.content.kind === 'text' ? first.content.body : ''}"`);
    const request = await hello;
    say(
      'alice',
      `← message request from ${request.from} via ${request.origin.platform} (folder ${request.folder})`,
    );
    const pending = await alice.listRequests();
    say('alice', `pending requests: ${pending.map((p) => p.from).join(', ')}`);
    await alice.respondToRequest(b.address, 'accept');
    say('alice', `accepts ${b.address}'s request`);

    const lunch = next(alice, (m) => m.from === c.address);
    await carol.sendText(a.address, 'Lunch tomorrow?');
    say('carol', '→ alice: "Lunch tomorrow?"');
    const fromCarol = await lunch;
    say(
      'alice',
      `← ${fromCarol.from} (origin ${fromCarol.origin.platform}, folder ${fromCarol.folder})`,
    );

    const replyArrives = next(bob, (m) => m.content.kind === 'text');
    const reply = await alice.sendText(b.address, 'Hi Bob, nice to hear from you!', {
      id: first.content.id,
      author: b.address,
    });
    app.sent(b.address, 'Hi Bob, nice to hear from you!');
    say('alice', `→ bob (replying to his first message): "Hi Bob, nice to hear from you!"`);
    const gotReply = await replyArrives;
    const quoted = gotReply.content.kind === 'text' ? gotReply.content.replyTo?.id : undefined;
    say(
      'bob',
      `← ${gotReply.from} (origin ${gotReply.origin.platform}), a reply to ${quoted === first.content.id ? 'his first message' : 'something else'}`,
    );

    const reactionArrives = next(alice, (m) => m.content.kind === 'reaction');
    await bob.react(a.address, { id: reply.content.id, author: a.address }, '👍');
    say('bob', '→ alice: reacts 👍 to her reply');
    const reaction = await reactionArrives;
    say(
      'alice',
      `← reaction ${reaction.content.kind === 'reaction' ? reaction.content.emoji : ''} from ${reaction.from} (folder ${reaction.folder})`,
    );

    const followUp = next(alice, (m) => m.content.kind === 'text' && m.from === b.address);
    const second = await bob.sendText(a.address, 'Talk soon!');
    say('bob', '→ alice: "Talk soon!"');
    say('alice', `← "Talk soon!" lands in folder ${(await followUp).folder}`);

    const receiptArrives = next(bob, (m) => m.content.kind === 'receipt');
    await alice.sendReceipt(b.address, 'read', [first.content.id, second.content.id]);
    say('alice', '→ bob: read receipt for his two messages');
    const receipt = await receiptArrives;
    say(
      'bob',
      `← ${receipt.content.kind === 'receipt' ? receipt.content.receipt : ''} receipt for ${receipt.content.kind === 'receipt' ? receipt.content.messageIds.length : 0} messages`,
    );

    // The group runs once, on the direct route.
    if (route.name === 'direct') await groupChat(alice, bob, setup, app);

    printInbox(a.address, app.chats);
  }
}

async function main(): Promise<number> {
  const setup = await setUpExample(USAGE, 'parley-example');
  if (typeof setup === 'number') return setup;
  let proxy: RunningProxy | undefined;
  try {
    say('route', 'bob connects directly to wa.example, with a chat.example partner token');
    await chat(setup, { name: 'direct' }, '');
    if (!setup.embedded) {
      say('route', "the run through chat.example's proxy needs the provider in this process");
      return 0;
    }
    // chat.example's proxy: its login service's key signs what bob's app sends the proxy; the
    // platform's partner key signs what the proxy sends wa.example (spec/proxy.md).
    const login = await generatePartnerKey('login.chat.example');
    const loginKey = await importJWK(login.key.privateJwk, 'EdDSA');
    proxy = await startProxy({
      upstream: setup.url,
      providerDomain: 'wa.example',
      key: await importSigningKey({
        ...setup.partnerKey.privateJwk,
        domain: setup.partnerKey.domain,
        kid: setup.partnerKey.kid!,
      }),
      login: jwtLogin([login.publicJwk]),
    });
    say(
      'route',
      `bob connects through chat.example's proxy at ${proxy.wsUrl}, one upstream for him`,
    );
    await chat(
      setup,
      {
        name: 'proxy',
        url: proxy.wsUrl,
        login: (address) =>
          new SignJWT({})
            .setProtectedHeader({ alg: 'EdDSA' })
            .setSubject(address)
            .setAudience('parley-proxy')
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(loginKey),
      },
      '-p',
    );
    say('done', 'every message above was end-to-end encrypted with the Signal Protocol');
    return 0;
  } finally {
    await proxy?.close();
    await setup.close();
  }
}

runExample(main);
