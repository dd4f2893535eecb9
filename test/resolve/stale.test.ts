// The stale race (RFC 8767 §5), as a timeline on the injected clock.
import { describe, expect, it } from 'vitest';
import { raceStale, remainingWait } from '../../src/resolve/index.js';
import { ManualClock } from '../../src/util/clock.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('raceStale', () => {
  it('gives the refresh its answer when it comes before the client timer', async () => {
    const clock = new ManualClock();
    let answer!: (v: string) => void;
    const race = raceStale(new Promise<string>((r) => (answer = r)), 1800, clock);
    clock.advance(1799);
    answer('fresh');
    expect(await race).toEqual({ kind: 'answer', value: 'fresh' });
    expect(clock.pending).toBe(0); // the timer is cancelled
  });

  it('gives the client the stale answer when the timer fires first; a late answer changes nothing', async () => {
    const clock = new ManualClock();
    let answer!: (v: string) => void;
    const outcomes: unknown[] = [];
    raceStale(new Promise<string>((r) => (answer = r)), 1800, clock).then((o) => outcomes.push(o));
    clock.advance(1800);
    await tick();
    answer('late');
    await tick();
    expect(outcomes).toEqual([{ kind: 'timeout' }]);
  });

  it('serves stale at once when the refresh fails before the timer', async () => {
    const clock = new ManualClock();
    const err = new Error('SERVFAIL');
    const race = raceStale(Promise.reject(err), 1800, clock);
    expect(await race).toEqual({ kind: 'failed', err });
  });
});

describe('remainingWait', () => {
  it('runs the timer from when the refresh started, so a late joiner waits only what is left', () => {
    expect(remainingWait(1800, 10_000, 10_000)).toBe(1800);
    expect(remainingWait(1800, 10_000, 11_500)).toBe(300);
    expect(remainingWait(1800, 10_000, 12_000)).toBe(0);
  });
});
