// The SDK's membership bookkeeping (reference-impl/client/groups.ts, spec/groups.md GROUP-051,
// spec/crypto.md ENC-089): group.changed pushes applied in order to the recorded group.
import { expect } from 'chai';
import type { GroupChangedFrame } from '../../../schemas/frames/index.ts';
import { applyChange } from '../../../reference-impl/client/groups.ts';
import type { GroupRecord } from '../../../reference-impl/client/store.ts';

const ALICE = 'alice@wa.example';
const BOB = 'bob@chat.example';
const CAROL = 'carol@wa.example';

const record: GroupRecord = {
  group: 'g1',
  version: 4,
  members: [
    { address: ALICE, role: 'admin', state: 'member' },
    { address: BOB, role: 'member', state: 'member' },
    { address: CAROL, role: 'member', state: 'invited' },
  ],
  distributionId: '6f2f8a3e-1b7c-4c2a-9d51-0b7f3c2e8a11',
  rotate: false,
  distributed: [`${BOB}.1`, `${BOB}.2`],
};

const change = (action: GroupChangedFrame['action'], members: string[], extra = {}) =>
  ({
    type: 'group.changed',
    v: 1,
    id: 'd1',
    group: 'g1',
    version: 5,
    by: ALICE,
    action,
    members,
    serverTimestamp: 1,
    ...extra,
  }) as GroupChangedFrame;

describe('group.changed applied to the recorded group', () => {
  it('bob’s removal drops him and his devices’ hold of the key, and makes the next send rotate (ENC-089)', () => {
    const after = applyChange(record, change('removed', [BOB]));
    expect(after.version).to.equal(5);
    expect(after.members.map((m) => m.address)).to.deep.equal([ALICE, CAROL]);
    expect(after.rotate).to.equal(true);
    expect(after.distributed).to.deep.equal([]);
  });

  it('bob leaving makes the next send rotate too (ENC-089)', () => {
    expect(applyChange(record, change('left', [BOB])).rotate).to.equal(true);
  });

  it('withdrawing carol’s invitation does not rotate: she never held the key', () => {
    const after = applyChange(record, change('removed', [CAROL]));
    expect(after.rotate).to.equal(false);
    expect(after.distributed).to.deep.equal([`${BOB}.1`, `${BOB}.2`]);
  });

  it('carol joining turns her invitation into a membership', () => {
    const after = applyChange(record, change('joined', [CAROL]));
    expect(after.members.find((m) => m.address === CAROL)?.state).to.equal('member');
    expect(after.members).to.have.length(3);
  });

  it('a role change sets bob’s role and keeps the rest', () => {
    const after = applyChange(record, change('role', [BOB], { role: 'admin' }));
    expect(after.members.find((m) => m.address === BOB)?.role).to.equal('admin');
    expect(after.rotate).to.equal(false);
  });
});
