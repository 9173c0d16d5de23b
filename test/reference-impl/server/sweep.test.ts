// The sweep (reference-impl/server/sweep.ts): expired deliveries (DELIV-028) and idempotency records
// past their 24 hours (DELIV-012) are deleted in bounded steps while the provider keeps serving.
import { expect } from 'chai';
import type { Logger } from '../../../reference-impl/server/index.ts';
import { SWEEP_ROWS_PER_STEP } from '../../../reference-impl/server/sweep.ts';
import { startTestProvider, sleep } from './support/harness.ts';

describe('the provider’s sweep of expired queue entries and idempotency records', () => {
  it('deletes a backlog larger than one step in several steps and reports every expired delivery', async () => {
    const logged: Record<string, unknown>[] = [];
    const logger: Logger = { log: (_level, event, fields) => logged.push({ event, ...fields }) };
    let clock = 1_000_000;
    const provider = await startTestProvider([], {
      logger,
      now: () => clock,
      limits: { sweepIntervalMs: 20, idempotencySeconds: 60 },
    });
    const backlog = SWEEP_ROWS_PER_STEP * 2 + 17;
    for (let i = 0; i < backlog; i++)
      provider.store.acceptMessage({
        messageId: `m${i}`,
        sender: 'alice@parley.localhost',
        senderDevice: 1,
        origin: { platform: 'parley.localhost', thirdParty: false },
        recipient: 'bob@parley.localhost',
        idempotencyKey: `k${i}`,
        requestHash: 'h',
        serverTimestamp: clock,
        expiresAt: clock + 1000,
        ciphertexts: [{ deviceId: 1, type: 'whisper', body: 'Mw' }],
      });
    // Queued rows whatever their expiry (a clock of 0), and the idempotency records left.
    const queued = (): number =>
      provider.store.pendingDeliveries('bob@parley.localhost', 1, 0, 0).length;
    const remembered = (): number =>
      [0, SWEEP_ROWS_PER_STEP, backlog - 1].filter((i) =>
        provider.store.findIdempotent('alice@parley.localhost', 1, `k${i}`),
      ).length;
    await sleep(100);
    expect(queued(), 'nothing expired yet').to.equal(backlog);
    expect(remembered()).to.equal(3);
    clock += 61_000;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && logged.every((l) => l.event !== 'queue.expired'))
      await sleep(20);
    expect(queued()).to.equal(0);
    expect(remembered()).to.equal(0);
    expect(logged.filter((l) => l.event === 'queue.expired')).to.deep.equal([
      { event: 'queue.expired', deliveries: backlog },
    ]);
    expect(logged.filter((l) => l.event === 'sweep.failed')).to.deep.equal([]);
    await provider.close();
  });
});
