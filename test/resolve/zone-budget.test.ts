import { describe, expect, it } from 'vitest';
import { FailureCache } from '../../src/resolve/failures.js';
import { ZoneBudget } from '../../src/resolve/zone-budget.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import { TokenBucket } from '../../src/util/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const clock = new ManualClock();
    const b = new TokenBucket(10, 5, clock);
    expect(Array.from({ length: 6 }, () => b.take())).toEqual([true, true, true, true, true, false]);
    clock.advance(100);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });

  it('rate 0 means unlimited; give() earns fractions up to the burst', () => {
    const clock = new ManualClock();
    expect(Array.from({ length: 100 }, () => new TokenBucket(0, 1, clock).take()).every(Boolean)).toBe(true);
    const retry = new TokenBucket(0.000001, 2, clock, 0);
    for (let i = 0; i < 9; i++) retry.give(0.1);
    expect(retry.take()).toBe(false);
    retry.give(0.1);
    expect(retry.take()).toBe(true);
    for (let i = 0; i < 100; i++) retry.give(0.1);
    expect(retry.available).toBeCloseTo(2);
  });
});

/** When the hold on `key` ends, as `held` shows it (the first millisecond it no longer holds); undefined if not held. */
function heldUntil(f: FailureCache, key: string, now: number, epoch = 0): number | undefined {
  if (f.held(key, now, epoch) === undefined) return undefined;
  let [lo, hi] = [now, now + 10_000_000];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (f.held(key, mid, epoch) === undefined) hi = mid;
    else lo = mid;
  }
  return hi;
}

describe('FailureCache (RFC 9520)', () => {
  // A random source at the middle of its range: every hold is exactly its nominal length.
  const middle = { float: () => 0.5, id16: () => 0 };
  const opts = { initialMs: 5000, maxMs: 300_000, staleRecheckMs: 30_000, maxEntries: 3, random: middle };

  it('holds a key 5 s, doubling per consecutive failure up to 5 min, and forgets it on success', () => {
    const clock = new ManualClock();
    const f = new FailureCache(opts);
    const holds: number[] = [];
    for (let i = 0; i < 9; i++) {
      f.record('k', clock.now());
      const until = heldUntil(f, 'k', clock.now())!;
      holds.push(until - clock.now());
      clock.advance(until - clock.now());
      expect(heldUntil(f, 'k', clock.now())).toBeUndefined();
    }
    expect(holds).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    f.clear('k');
    f.record('k', clock.now());
    expect(heldUntil(f, 'k', clock.now())! - clock.now()).toBe(5000);
  });

  it('holds a key with a stale answer for the recheck time (30 s)', () => {
    const f = new FailureCache(opts);
    f.record('k', 0, { hasStale: true });
    expect(heldUntil(f, 'k', 29_999)).toBe(30_000);
    expect(heldUntil(f, 'k', 30_000)).toBeUndefined();
  });

  it('spreads each hold uniformly over ±25 % of its length, never under 1 s, never past the backoff cap', () => {
    const random = seededRandom(7);
    const f = new FailureCache({ ...opts, maxEntries: 10_000, random });
    const holds = Array.from({ length: 2000 }, (_, i) => {
      f.record(`k${i}`, 0);
      return heldUntil(f, `k${i}`, 0)!;
    });
    expect(Math.min(...holds)).toBeGreaterThanOrEqual(3750);
    expect(Math.max(...holds)).toBeLessThan(6250);
    // Spread, not clustered: each quarter of the range holds about a quarter of the keys.
    const quarters = [0, 0, 0, 0];
    for (const h of holds) quarters[Math.floor((h - 3750) / 625)]++;
    for (const q of quarters) expect(q).toBeGreaterThan(400);

    const low = new FailureCache({ ...opts, initialMs: 1000, random: { float: () => 0, id16: () => 0 } });
    low.record('k', 0);
    expect(heldUntil(low, 'k', 0)).toBe(1000); // 750 ms would be under RFC 9520 §3.2's 1 s
    const high = new FailureCache({ ...opts, initialMs: 300_000, random: { float: () => 0.999, id16: () => 0 } });
    high.record('k', 0);
    expect(heldUntil(high, 'k', 0)).toBe(300_000); // never past failureCache.maxSeconds
    high.record('s', 0, { hasStale: true });
    expect(heldUntil(high, 's', 0)).toBeGreaterThan(300_000); // a key with a stale answer is not backing off
  });

  it('a hold lasts while its zone stays in the epoch it was recorded in: a recovery voids it, and the backoff', () => {
    const f = new FailureCache(opts);
    f.record('k', 0, { epoch: 0 });
    f.record('k', 5000, { epoch: 0 }); // backing off: 10 s
    expect(heldUntil(f, 'k', 5000, 0)).toBe(15_000);
    expect(f.held('k', 6000, 1)).toBeUndefined(); // an upstream of the zone came back from being down
    f.record('k', 6000, { epoch: 1 }); // failing again after the recovery starts over at 5 s
    expect(heldUntil(f, 'k', 6000, 1)).toBe(11_000);
  });

  it('a held REFUSED survives a recovery: an upstream that answers REFUSED was not down', () => {
    const f = new FailureCache(opts);
    f.record('r', 0, { answer: { rcode: 5 }, epoch: 0 });
    expect(f.held('r', 1000, 1)).toEqual({ rcode: 5 });
    expect(heldUntil(f, 'r', 1000, 1)).toBe(5000);
  });

  it('without backoff (a resend ballast did not send), every failure is held for the first hold only', () => {
    const f = new FailureCache(opts);
    for (const at of [0, 5000, 10_000, 15_000]) {
      f.record('k', at, { backoff: false });
      expect(heldUntil(f, 'k', at)).toBe(at + 5000);
    }
  });

  it('is bounded: the least recently failed key is forgotten', () => {
    const f = new FailureCache(opts);
    for (const k of ['a', 'b', 'c', 'd']) f.record(k, 0);
    expect(f.size).toBe(3);
    expect(heldUntil(f, 'a', 1)).toBeUndefined();
    expect(heldUntil(f, 'd', 1)).toBe(5000);
  });
});

describe('ZoneBudget', () => {
  const opts = { refreshPerSecond: 100, recoveryMinPerSecond: 5 };

  /** `perSecond` upstream queries in each of `seconds` healthy seconds. */
  function steady(b: ZoneBudget, clock: ManualClock, perSecond: number, seconds: number) {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < perSecond; i++) b.noteQuery(false);
      clock.advance(1000);
    }
  }

  it('learns the steady-state rate while healthy, not while down', () => {
    const clock = new ManualClock(0);
    const b = new ZoneBudget(opts, clock);
    steady(b, clock, 40, 30);
    expect(b.steadyRate).toBeCloseTo(40);
    b.observeHealth(false);
    steady(b, clock, 1, 300); // probes only, for five minutes
    expect(b.steadyRate).toBeCloseTo(40);
  });

  it('bounds prefetches by refreshPerSecond in steady state; stale refreshes are not limited', () => {
    const clock = new ManualClock(0);
    const b = new ZoneBudget(opts, clock);
    const granted = Array.from({ length: 150 }, () => b.allowPrefetch()).filter(Boolean).length;
    expect(granted).toBe(100);
    expect(Array.from({ length: 1000 }, () => b.allowStaleRefresh()).every(Boolean)).toBe(true);
  });

  /** A zone that learnt 50 queries/s for a minute, was down for two, and is back: recovering. */
  const recovered = () => {
    const clock = new ManualClock(0);
    const b = new ZoneBudget(opts, clock);
    steady(b, clock, 50, 60);
    b.observeHealth(false);
    clock.advance(120_000);
    b.observeHealth(true);
    return { clock, b };
  };

  it('after an outage, refreshes come at the learned rate until a second passes without a refusal', () => {
    const { clock, b } = recovered();
    expect(b.recovering).toBe(true);
    const perSecond: number[] = [];
    for (let s = 0; s < 5; s++) {
      let granted = 0;
      for (let i = 0; i < 10; i++) {
        // 400 stale entries want a refresh in each second, spread over it
        for (let k = 0; k < 40; k++) if (b.allowStaleRefresh()) granted++;
        clock.advance(100);
      }
      perSecond.push(granted);
    }
    for (const n of perSecond) expect(n).toBeLessThanOrEqual(50);
    expect(perSecond.reduce((x, y) => x + y)).toBeGreaterThan(200);
    // Demand drops below the rate: a whole second without a refusal ends recovery.
    for (let i = 0; i < 10; i++) {
      b.allowStaleRefresh();
      clock.advance(200);
    }
    expect(b.recovering).toBe(false);
  });

  it('while recovering, misses (never held back) spend from the same rate, so refreshes fill only what they leave', () => {
    const { clock, b } = recovered();
    const refreshes: number[] = [];
    for (let s = 0; s < 5; s++) {
      let granted = 0;
      for (let i = 0; i < 10; i++) {
        for (let k = 0; k < 3; k++) b.noteQuery(false); // 30 misses a second: new demand, always sent
        for (let k = 0; k < 40; k++) {
          if (b.allowStaleRefresh()) {
            b.noteQuery(true);
            granted++;
          }
        }
        clock.advance(100);
      }
      refreshes.push(granted);
    }
    // Misses and refreshes together stay at the learned 50/s: about 20 refreshes a second, not 50.
    for (const n of refreshes) expect(n + 30).toBeLessThanOrEqual(52);
    expect(refreshes.reduce((x, y) => x + y)).toBeGreaterThan(60);
  });
});
