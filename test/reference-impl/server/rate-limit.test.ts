// The token buckets of reference-impl/server/rate-limit.ts: costs, waits without taking, and the
// eviction of buckets that refilled (issue 15, finding 7: minted senders must not grow the map).
import { expect } from 'chai';
import { RateLimiter } from '../../../reference-impl/server/rate-limit.ts';

describe('the provider’s rate limiter', () => {
  const limit = { burst: 2, perMinute: 60 };

  it('takes a cost from a bucket and says how long until it has that much again', () => {
    let now = 0;
    const rates = new RateLimiter(() => now);
    const big = { burst: 100, perMinute: 60 };
    expect(rates.take([['bytes', big, 80]])).to.equal(0);
    expect(rates.take([['bytes', big, 40]])).to.equal(20_000);
    now = 20_000;
    expect(rates.take([['bytes', big, 40]])).to.equal(0);
  });

  it('answers waitFor without taking a token', () => {
    const rates = new RateLimiter(() => 0);
    expect(rates.waitFor([['k', limit]])).to.equal(0);
    expect(rates.waitFor([['k', limit]])).to.equal(0);
    rates.take([['k', limit]]);
    rates.take([['k', limit]]);
    expect(rates.waitFor([['k', limit]])).to.equal(1000);
  });

  it('forgets the buckets of 10 000 minted senders once they have refilled, and keeps a drained one', () => {
    let now = 0;
    const rates = new RateLimiter(() => now);
    for (let i = 0; i < 10_000; i += 1) rates.take([[`send:minted${i}@chat.example`, limit]]);
    rates.take([['send:busy@chat.example', limit]]);
    rates.take([['send:busy@chat.example', limit]]);
    expect(rates.size).to.equal(10_001);
    now = 1000; // the minted ones refilled (1 token a second); busy holds 1 of 2
    expect(rates.forgetFull()).to.equal(10_000);
    expect(rates.size).to.equal(1);
    expect(rates.take([['send:busy@chat.example', limit]])).to.equal(0);
    expect(rates.take([['send:busy@chat.example', limit]])).to.be.above(0);
  });
});
