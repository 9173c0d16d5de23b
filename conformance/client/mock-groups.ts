// The groups a mock provider hosts in client cases (spec/groups.md): the client's own membership
// requests answered as a provider answers them, groups the suite's peers "created" with the client
// in them, `group.changed` pushes, and the version check of a group `message.send`.
import { randomBytes } from 'node:crypto';
import type { Frame } from '../assert/match.ts';
import { HarnessError } from '../runner/signals.ts';

/** One member or invitation of a hosted group. */
export interface MockMember {
  address: string;
  role: 'admin' | 'member';
  state: 'member' | 'invited';
}

/** A group the mock hosts. */
export interface MockGroup {
  group: string;
  version: number;
  members: MockMember[];
}

/** What the groups need of the mock that holds them. */
export interface MockGroupsHost {
  /** The client's address, once it authenticated. */
  clientAddress(): string | undefined;
  /** Pushes a frame to the client's live connection; returns the delivery id. */
  push(body: Frame): string;
}

const notFound = (): Frame => ({
  type: 'error',
  code: 'NOT_FOUND',
  message: 'no such group, or not a member',
});

/** The groups of one mock provider. */
export class MockGroups {
  readonly byId = new Map<string, MockGroup>();
  /** The group each `group.create` idempotency key created, so a retry gets it again (GROUP-061). */
  private readonly created = new Map<string, string>();

  constructor(private readonly owner: MockGroupsHost) {}

  /** A group with `members` (the first is its admin), as if a peer had created it; no push. */
  create(members: readonly string[]): MockGroup {
    const g: MockGroup = {
      group: `g_${randomBytes(9).toString('base64url')}`,
      version: 1,
      members: members.map((address, i) => ({
        address,
        role: i === 0 ? 'admin' : 'member',
        state: 'member',
      })),
    };
    this.byId.set(g.group, g);
    return g;
  }

  get(group: string): MockGroup {
    const g = this.byId.get(group);
    if (!g) throw new HarnessError(`the mock hosts no group ${group}`);
    return g;
  }

  /**
   * Commits a change made by `by` (a peer) and pushes `group.changed` to the client when it is a
   * member before or after. Returns the push's delivery id, or undefined when none went out.
   */
  change(
    group: string,
    by: string,
    action: 'added' | 'removed' | 'left',
    members: readonly string[],
  ): string | undefined {
    const g = this.get(group);
    const client = this.owner.clientAddress();
    const wasMember = g.members.some((m) => m.address === client);
    if (action === 'added') {
      for (const address of members)
        if (!g.members.some((m) => m.address === address))
          g.members.push({ address, role: 'member', state: 'member' });
    } else {
      g.members = g.members.filter((m) => !members.includes(m.address));
    }
    g.version++;
    const isMember = g.members.some((m) => m.address === client);
    if (!wasMember && !isMember) return undefined;
    return this.owner.push({
      type: 'group.changed',
      group,
      version: g.version,
      by,
      action,
      members: [...members],
      serverTimestamp: Date.now(),
    });
  }

  private state(g: MockGroup): Frame {
    return {
      type: 'group.state',
      group: g.group,
      version: g.version,
      members: g.members.map((m) => ({ ...m })),
    };
  }

  private member(group: unknown): MockGroup | undefined {
    const g = this.byId.get(String(group));
    const client = this.owner.clientAddress();
    return g && g.members.some((m) => m.address === client && m.state === 'member') ? g : undefined;
  }

  /** The answers to the client's group requests, as a provider gives them (spec/groups.md). */
  readonly handlers: Record<string, (f: Frame) => Frame> = {
    'group.create': (f) => {
      const client = this.owner.clientAddress();
      if (!client) throw new HarnessError('group.create before auth');
      const members = Array.isArray(f.members) ? (f.members as string[]) : [];
      const earlier = this.byId.get(this.created.get(String(f.idempotencyKey)) ?? '');
      if (earlier) return this.state(earlier);
      const g = this.create([client, ...members.filter((m) => m !== client)]);
      this.created.set(String(f.idempotencyKey), g.group);
      return this.state(g);
    },
    'group.add': (f) => {
      const g = this.member(f.group);
      if (!g) return notFound();
      for (const address of f.members as string[])
        if (!g.members.some((m) => m.address === address))
          g.members.push({ address, role: 'member', state: 'member' });
      g.version++;
      return this.state(g);
    },
    'group.remove': (f) => {
      const g = this.member(f.group);
      if (!g) return notFound();
      g.members = g.members.filter((m) => !(f.members as string[]).includes(m.address));
      g.version++;
      return this.state(g);
    },
    'group.leave': (f) => {
      const g = this.member(f.group);
      if (!g) return notFound();
      g.members = g.members.filter((m) => m.address !== this.owner.clientAddress());
      g.version++;
      return { type: 'group.left', group: g.group };
    },
    'group.role': (f) => {
      const g = this.member(f.group);
      if (!g) return notFound();
      g.members = g.members.map((m) =>
        m.address === f.member ? { ...m, role: f.role as MockMember['role'] } : m,
      );
      g.version++;
      return this.state(g);
    },
    'group.get': (f) => {
      const g = this.member(f.group);
      return g ? this.state(g) : notFound();
    },
  };

  /** The refusal of a group `message.send` (membership, then version), or undefined to accept it. */
  refuseSend(f: Frame): Frame | undefined {
    const g = this.member(f.group);
    if (!g) return notFound();
    if (f.groupVersion !== g.version)
      return {
        type: 'error',
        code: 'GROUP_VERSION_STALE',
        message: `the group is at version ${g.version}`,
        pointer: '/groupVersion',
      };
    return undefined;
  }
}
