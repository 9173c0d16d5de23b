// The connection scale benchmark (bench/connections.ts): its arithmetic and figures, and a small
// run end to end (parley serve and a bare ws server in their own processes, two load processes).
import { expect } from 'chai';
import {
  connectionFigures,
  connectionsWithin,
  DELIVERY_P99_TARGET_MS,
  measureConnections,
  peerLimitsFor,
  SERVER_FD_RESERVE,
  slices,
  type ConnectionsMeasurement,
} from '../../bench/connections.ts';

const MiB = 2 ** 20;

/** A measurement as the benchmark would return it, with the numbers a test wants. */
function measurement(over: {
  held?: number;
  opened?: number;
  failed?: number;
  idleRss?: number;
  fullRss?: number;
  p99?: number;
  lost?: number;
}): ConnectionsMeasurement {
  const held = over.held ?? 20_000;
  const opened = over.opened ?? held;
  const p99 = over.p99 ?? 10;
  return {
    requested: 20_000,
    held,
    fdLimit: 65_536,
    loadProcesses: 2,
    bare: { idleRss: 80 * MiB, fullRss: 180 * MiB, opened: held, failed: 0, seconds: 10 },
    parley: {
      registered: held + 2,
      registerSeconds: 40,
      idleRss: over.idleRss ?? 150 * MiB,
      fullRss: over.fullRss ?? 550 * MiB,
      opened,
      failed: over.failed ?? 0,
      authSeconds: 20,
      serverOpenFiles: opened + 30,
      delivery: { count: 200, p50: 3, p99, max: p99 + 1, mean: 4 },
      accept: { count: 200, p50: 2, p99: 5, max: 6, mean: 2.5 },
      lost: over.lost ?? 0,
      serverErrors: [],
    },
    load: { before: [1, 1, 1], after: [2, 2, 2] },
  };
}

describe('the connection scale benchmark', () => {
  it('splits the accounts into contiguous slices that differ by at most one', () => {
    expect(slices(10, 3)).to.deep.equal([
      { from: 0, to: 4 },
      { from: 4, to: 7 },
      { from: 7, to: 10 },
    ]);
    expect(slices(2, 4).map((s) => s.to - s.from)).to.deep.equal([1, 1, 0, 0]);
  });

  it('holds no more connections than the open-file limit leaves after the server’s own descriptors', () => {
    expect(connectionsWithin(20_000, 65_536)).to.equal(20_000);
    expect(connectionsWithin(20_000, 20_000)).to.equal(20_000 - SERVER_FD_RESERVE);
    expect(connectionsWithin(20_000, 10)).to.equal(0);
  });

  it('raises the per-address connection limits above the run so that one loopback address may hold it all', () => {
    const peers = peerLimitsFor(20_000).limits!.peers!;
    expect(peers.maxConnectionsPerAddress).to.be.above(20_000);
    expect(peers.newConnectionsPerAddress!.burst).to.be.above(20_000);
  });

  it('reports RSS, RSS per connection beside bare ws, authentications per second and delivery p99', () => {
    const figures = connectionFigures(measurement({}));
    expect(figures.map((f) => f.unit)).to.deep.equal(['MiB', 'KiB', 'per s', 'ms']);
    const [total, perConnection, auth, delivery] = figures;
    expect(total!.ours).to.equal(550);
    expect(total!.met).to.equal(true);
    expect(perConnection!.ours).to.equal(20.5); // 400 MiB / 20 000
    expect(perConnection!.baseline).to.equal(5.1); // 100 MiB / 20 000
    expect(perConnection!.ratio).to.equal(4);
    expect(auth!.ours).to.equal(1000);
    expect(auth!.met).to.equal(null);
    expect(delivery!.ours).to.equal(10);
    expect(delivery!.met).to.equal(true);
  });

  it('misses the memory target when 20 000 connections would need more than 1.5 GiB', () => {
    const [total] = connectionFigures(measurement({ fullRss: 1700 * MiB }));
    expect(total!.met).to.equal(false);
  });

  it('judges a run capped below 20 000 by the projection from its per-connection cost, and says so', () => {
    // 10 000 held at 100 KiB each: 20 000 would take 150 MiB + 1953 MiB.
    const [total] = connectionFigures(
      measurement({ held: 10_000, fullRss: 150 * MiB + 10_000 * 100 * 1024 }),
    );
    expect(total!.met).to.equal(false);
    expect(total!.note).to.include('projected');
  });

  it('misses the delivery target on a slow p99 or a lost probe', () => {
    expect(connectionFigures(measurement({ p99: DELIVERY_P99_TARGET_MS }))[3]!.met).to.equal(false);
    expect(connectionFigures(measurement({ lost: 1 }))[3]!.met).to.equal(false);
  });

  it('holds 200 authenticated connections against parley serve and a bare ws server, and times deliveries to them', async function () {
    this.timeout(120_000);
    const m = await measureConnections({
      connections: 200,
      loadProcesses: 1,
      probes: 10,
      settleMs: 200,
    });
    expect(m.held).to.equal(200);
    expect(m.bare.opened).to.equal(200);
    expect(m.parley.registered).to.equal(201); // and the probes’ sender
    expect(m.parley.opened).to.equal(200);
    expect(m.parley.failed).to.equal(0);
    expect(m.parley.serverOpenFiles).to.be.at.least(200);
    expect(m.parley.lost).to.equal(0);
    expect(m.parley.delivery!.count).to.equal(10);
    expect(m.parley.fullRss).to.be.above(0);
    const figures = connectionFigures(m);
    expect(figures).to.have.length(4);
    for (const f of figures) expect(f.note).to.be.a('string');
  });
});
