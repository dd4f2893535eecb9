// The breaker's timeline on an injected clock: closed → open → probing → open (backoff doubles, full jitter) → closed.
import { describe, expect, it } from 'vitest';
import { Breaker, type BreakerState } from '../../src/upstream/health.js';
import { RttEstimator } from '../../src/upstream/rtt.js';
import { ManualClock } from '../../src/util/clock.js';

const opts = {
  failureThreshold: 5,
  probeBackoffMinMs: 500,
  probeBackoffMaxMs: 30_000,
  servfailRatio: 0.9,
  servfailMinNames: 10,
};

function setup(float = 0.999) {
  const clock = new ManualClock(0);
  const probes: number[] = [];
  let answer = false;
  const states: BreakerState[] = [];
  const breaker = new Breaker(
    opts,
    clock,
    { float: () => float, id16: () => 0 },
    async () => {
      probes.push(clock.now());
      return answer;
    },
    (s) => states.push(s),
  );
  return { clock, probes, states, breaker, setAnswer: (v: boolean) => (answer = v) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('Breaker', () => {
  it('opens after failureThreshold consecutive failures; a success in between resets the count', () => {
    const { breaker } = setup();
    for (let i = 0; i < 4; i++) breaker.record('failure', `k${i}`);
    breaker.record('success', 'ok');
    for (let i = 0; i < 4; i++) breaker.record('failure', `k${i}`);
    expect(breaker.state).toBe('closed');
    breaker.record('failure', 'k4');
    expect(breaker.state).toBe('open');
  });

  it('probes one at a time, backing off 0.5 s → 30 s with full jitter, and closes on an answer', async () => {
    const { clock, probes, breaker, setAnswer, states } = setup(0.999);
    for (let i = 0; i < 5; i++) breaker.record('failure', `k${i}`);
    // float 0.999 → each delay is 99.9 % of its cap: 0.5 s, 1 s, 2 s … then capped at 30 s.
    const gaps = [499.5, 999, 1998, 3996, 7992, 15984, 29970, 29970];
    for (const [n, gap] of gaps.entries()) {
      clock.advance(gap - 0.5);
      await flush();
      expect(probes).toHaveLength(n);
      clock.advance(0.5);
      await flush(); // the probe fails; the breaker re-opens and schedules the next one from now
      expect(probes).toHaveLength(n + 1);
      expect(breaker.state).toBe('open');
    }
    expect(states.filter((s) => s === 'probing').length).toBe(probes.length);
    setAnswer(true);
    clock.advance(30_000);
    await flush();
    expect(breaker.state).toBe('closed');
  });

  it('full jitter: with a small random draw the probe comes early', async () => {
    const { clock, probes, breaker } = setup(0.1);
    for (let i = 0; i < 5; i++) breaker.record('failure', `k${i}`);
    clock.advance(50);
    await flush();
    expect(probes).toEqual([50]);
  });

  it('opens when SERVFAIL answers ≥ 90 % of the recent distinct names, but not for one name repeated', () => {
    const one = setup().breaker;
    for (let i = 0; i < 50; i++) one.record('servfail', 'same-name');
    expect(one.state).toBe('closed');
    const many = setup().breaker;
    many.record('success', 'a');
    for (let i = 0; i < 8; i++) many.record('servfail', `n${i}`);
    expect(many.state).toBe('closed'); // 9 distinct names: below servfailMinNames (10)
    many.record('servfail', 'n8');
    expect(many.state).toBe('open'); // 9 SERVFAIL of 10 distinct names: 90 %
  });
});

describe('RttEstimator', () => {
  it('starts at the maximum, follows SRTT + 4·RTTVAR within bounds, and backs off on a timeout', () => {
    const rtt = new RttEstimator(50, 2000);
    expect(rtt.timeoutMs).toBe(2000);
    for (let i = 0; i < 20; i++) rtt.sample(1);
    expect(rtt.timeoutMs).toBe(50);
    for (let i = 0; i < 20; i++) rtt.sample(100);
    expect(rtt.timeoutMs).toBeGreaterThan(100);
    expect(rtt.timeoutMs).toBeLessThan(2000);
    const before = rtt.timeoutMs;
    rtt.timedOut();
    expect(rtt.timeoutMs).toBeGreaterThan(before);
  });
});
