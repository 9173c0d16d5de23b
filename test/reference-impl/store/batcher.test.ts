// Group commit: several writes in one durable transaction, each rolled back alone when it throws,
// and their submitters answered only once the commit is on disk (spec/messages.md DELIV-008,
// DELIV-026).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  openSqliteStore,
  WriteBatcher,
  type NewMessage,
  type ProviderStore,
} from '../../../reference-impl/store/index.ts';

function message(n: number, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    messageId: `m${n}`,
    sender: 'alice@wa.example',
    senderDevice: 1,
    origin: { platform: 'wa.example', thirdParty: false },
    recipient: 'bob@wa.example',
    idempotencyKey: `k${n}`,
    requestHash: `h${n}`,
    serverTimestamp: 1000,
    expiresAt: 10_000,
    ciphertexts: [{ deviceId: 1, type: 'whisper', body: `body${n}` }],
    ...overrides,
  };
}

const pendingIds = (store: ProviderStore): string[] =>
  store.pendingDeliveries('bob@wa.example', 1, 0, 0).map((d) => d.messageId);

describe('group commit (reference-impl/store/batcher.ts)', () => {
  it('rolls back only the write of a batch that throws and commits the others', () => {
    const store = openSqliteStore(':memory:');
    const outcomes = store.writeBatch<unknown>([
      () => store.acceptMessage(message(1)),
      () => {
        store.acceptMessage(message(2));
        throw new Error('alice’s second send fails after its insert');
      },
      () => store.acceptMessage(message(3)),
    ]);
    expect(outcomes.map((o) => o.ok)).to.deep.equal([true, false, true]);
    expect(pendingIds(store)).to.deep.equal(['m1', 'm3']);
    store.close();
  });

  it('returns the queued deliveries of an accepted send in seq order, none for a duplicate', () => {
    const store = openSqliteStore(':memory:');
    const first = store.acceptMessage(
      message(1, {
        ciphertexts: [
          { deviceId: 1, type: 'whisper', body: 'a' },
          { deviceId: 2, type: 'whisper', body: 'b' },
        ],
      }),
    );
    expect(first.queued.map((q) => q.deviceId)).to.deep.equal([1, 2]);
    expect(first.queued[1]!.delivery.seq).to.be.greaterThan(first.queued[0]!.delivery.seq);
    expect(store.pendingDeliveries('bob@wa.example', 1, 0, 0)[0]!.seq).to.equal(
      first.queued[0]!.delivery.seq,
    );
    expect(store.acceptMessage(message(1, { messageId: 'again' })).queued).to.deep.equal([]);
    store.close();
  });

  it('commits writes submitted in one turn together and answers each only after the commit, in order', async () => {
    const store = openSqliteStore(':memory:');
    const commits: number[] = [];
    const spied = {
      writeBatch: <T>(writes: readonly (() => T)[]) => {
        const outcomes = store.writeBatch(writes);
        commits.push(writes.length);
        return outcomes;
      },
      flushed: () => store.flushed(),
    };
    const batcher = new WriteBatcher(spied, (error) => {
      throw error;
    });
    const order: string[] = [];
    const sends = [1, 2, 3].map((n) =>
      batcher.submit(
        () => store.acceptMessage(message(n)),
        (r) => order.push(`pushed ${r.messageId} after ${commits.length} commit(s)`),
      ),
    );
    expect(commits).to.deep.equal([]);
    const results = await Promise.all(sends);
    expect(commits).to.deep.equal([3]);
    expect(results.map((r) => r.messageId)).to.deep.equal(['m1', 'm2', 'm3']);
    expect(order).to.deep.equal([
      'pushed m1 after 1 commit(s)',
      'pushed m2 after 1 commit(s)',
      'pushed m3 after 1 commit(s)',
    ]);
    store.close();
  });

  it('rejects a write that throws without failing the others of its batch', async () => {
    const store = openSqliteStore(':memory:');
    const batcher = new WriteBatcher(store, () => {});
    const [ok, bad] = await Promise.allSettled([
      batcher.submit(() => store.acceptMessage(message(1))),
      batcher.submit(() => {
        throw new Error('bob’s write fails');
      }),
    ]);
    expect(ok.status).to.equal('fulfilled');
    expect(bad.status).to.equal('rejected');
    expect(pendingIds(store)).to.deep.equal(['m1']);
    store.close();
  });

  it('rejects every write of a batch whose commit fails, so that none is answered as stored', async () => {
    const failing = {
      writeBatch: (): never => {
        throw new Error('disk I/O error');
      },
      flushed: () => Promise.resolve(),
    };
    const batcher = new WriteBatcher(failing, () => {});
    const results = await Promise.allSettled([batcher.submit(() => 1), batcher.submit(() => 2)]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
  });

  it('answers no write and pushes nothing before its commit is flushed to disk', async () => {
    const store = openSqliteStore(':memory:');
    let flush: () => void = () => {};
    const slowDisk = {
      writeBatch: <T>(writes: readonly (() => T)[]) => store.writeBatch(writes),
      flushed: () => new Promise<void>((resolve) => (flush = resolve)),
    };
    const batcher = new WriteBatcher(slowDisk, () => {});
    const seen: string[] = [];
    const sent = batcher
      .submit(
        () => store.acceptMessage(message(1)),
        () => seen.push('pushed'),
      )
      .then(() => seen.push('accepted'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pendingIds(store), 'committed').to.deep.equal(['m1']);
    expect(seen, 'before the flush').to.deep.equal([]);
    flush();
    await sent;
    expect(seen).to.deep.equal(['pushed', 'accepted']);
    store.close();
  });

  it('rejects every write of a batch whose flush to disk fails', async () => {
    const store = openSqliteStore(':memory:');
    const brokenDisk = {
      writeBatch: <T>(writes: readonly (() => T)[]) => store.writeBatch(writes),
      flushed: () => Promise.reject(new Error('EIO: fsync failed')),
    };
    const batcher = new WriteBatcher(brokenDisk, () => {});
    const results = await Promise.allSettled([
      batcher.submit(() => store.acceptMessage(message(1))),
      batcher.submit(() => store.acceptMessage(message(2))),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    store.close();
  });

  it('settles flushes of a file database in call order and keeps direct writes synchronous FULL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-flush-'));
    try {
      const path = join(dir, 'provider.db');
      const store = openSqliteStore(path);
      const batcher = new WriteBatcher(store, () => {});
      const order: number[] = [];
      await Promise.all(
        [1, 2, 3, 4].map(async (n) => {
          if (n > 2) await new Promise((resolve) => setImmediate(resolve)); // a later batch
          await batcher.submit(() => store.acceptMessage(message(n)));
          order.push(n);
        }),
      );
      expect(order).to.deep.equal([1, 2, 3, 4]);
      expect(store.db.pragma('synchronous', { simple: true }), 'FULL is 2').to.equal(2);
      store.close();
      const reopened = openSqliteStore(path);
      expect(pendingIds(reopened)).to.deep.equal(['m1', 'm2', 'm3', 'm4']);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
