// The soak (bench/soak.ts): its figures and verdict, and a run of a few seconds end to end with
// real ratchet ciphertexts through parley serve in its own process.
import { expect } from 'chai';
import { measureSoak, soakFailed, soakFigures, type SoakMeasurement } from '../../bench/soak.ts';

function measurement(over: {
  rss?: [number, number];
  p99?: [number, number];
  lost?: number;
  duplicated?: number;
}): SoakMeasurement {
  const [rssStart, rssEnd] = over.rss ?? [200, 210];
  const [p99Start, p99End] = over.p99 ?? [10, 11];
  const latency = (p99: number) => ({ count: 600, p50: 2, p99, max: p99 + 1, mean: 3 });
  const cost = { serverCpuMsPerMessage: 1.5, load1: 1 };
  return {
    minutes: 10,
    pairs: 16,
    maxThroughput: 2000,
    rate: 1000,
    achievedRate: 999,
    heldSent: 180_000,
    heldDelivered: 180_000 - (over.lost ?? 0),
    samples: [
      { atSeconds: 60, rssMiB: rssStart, delivered: 60_000, latency: latency(p99Start), ...cost },
      {
        atSeconds: 120,
        rssMiB: (rssStart + rssEnd) / 2,
        delivered: 60_000,
        latency: latency(9),
        ...cost,
      },
      { atSeconds: 180, rssMiB: rssEnd, delivered: 60_000, latency: latency(p99End), ...cost },
    ],
    counts: {
      sent: 180_000,
      accepted: 180_000,
      refused: 0,
      delivered: 180_000 - (over.lost ?? 0),
      duplicated: over.duplicated ?? 0,
      corrupt: 0,
    },
    lost: over.lost ?? 0,
    outstanding: over.lost ?? 0,
    serverErrors: [],
    load: { before: [1, 1, 1], after: [1, 1, 1] },
  };
}

describe('the soak', () => {
  it('compares the first interval’s RSS and p99 with the last one’s', () => {
    const [rss, p99, messages, rate, cpu] = soakFigures(measurement({}));
    expect(rss!.ours).to.equal(210);
    expect(rss!.baseline).to.equal(200);
    expect(rss!.met).to.equal(true);
    expect(p99!.ours).to.equal(11);
    expect(p99!.baseline).to.equal(10);
    expect(p99!.met).to.equal(true);
    expect(messages!.ours).to.equal(0);
    expect(messages!.met).to.equal(true);
    expect(rate!.ratio).to.equal(0.5);
    expect(cpu!.ratio).to.equal(1);
  });

  it('misses the RSS target when the provider grew by more than 10 %', () => {
    expect(soakFigures(measurement({ rss: [200, 221] }))[0]!.met).to.equal(false);
  });

  it('misses the latency target when the p99 grew by more than 20 %', () => {
    expect(soakFigures(measurement({ p99: [10, 12.5] }))[1]!.met).to.equal(false);
  });

  it('fails the run when a message is lost or delivered twice', () => {
    expect(soakFailed(measurement({}))).to.equal(false);
    expect(soakFailed(measurement({ lost: 1 }))).to.equal(true);
    expect(soakFailed(measurement({ duplicated: 1 }))).to.equal(true);
    expect(soakFigures(measurement({ lost: 2, duplicated: 1 }))[2]!.ours).to.equal(3);
  });

  it('refuses a run shorter than two sampling intervals', async () => {
    let error: unknown;
    try {
      await measureSoak({ minutes: 0.01, sampleMs: 1000 });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.include('minutes');
  });

  it('carries every message from alice’s ratchet to bob exactly once at a held rate for a few seconds', async function () {
    this.timeout(120_000);
    const m = await measureSoak({ minutes: 0.1, sampleMs: 2000, pairs: 2, rate: 40 });
    expect(m.samples).to.have.length(3);
    expect(m.heldSent).to.equal(240);
    expect(m.heldDelivered).to.equal(240);
    expect(m.counts.sent).to.equal(240);
    expect(m.counts.accepted).to.equal(240);
    expect(m.counts.delivered).to.equal(240);
    expect(m.lost).to.equal(0);
    expect(m.counts.duplicated).to.equal(0);
    expect(m.counts.corrupt).to.equal(0);
    for (const s of m.samples) {
      expect(s.rssMiB).to.be.above(0);
      expect(s.serverCpuMsPerMessage).to.be.a('number').above(0);
    }
    expect(soakFigures(m)).to.have.length(5);
  });
});
