// ManualClock's contract, which every clock-driven test and the fleet simulation rely on: timers fire in time order,
// ties in creation order, timers scheduled while advancing fire if due, cancelled ones never fire.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';

describe('ManualClock', () => {
  it('fires due timers in time order, ties in creation order, and sets now() to each timer time', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const at = (name: string, ms: number) => clock.setTimer(() => fired.push(`${name}@${clock.now()}`), ms);
    at('c', 30);
    at('a', 10);
    at('b1', 20);
    at('b2', 20);
    at('late', 100);
    clock.advance(50);
    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.now()).toBe(50);
    expect(clock.pending).toBe(1);
    expect(clock.nextAt).toBe(100);
  });

  it('fires timers scheduled during advance() when they fall due, and never cancelled ones', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const doomed = clock.setTimer(() => fired.push(-1), 5);
    clock.setTimer(() => {
      fired.push(clock.now());
      clock.setTimer(() => fired.push(clock.now()), 0);
      clock.setTimer(() => fired.push(clock.now()), 15);
      clock.setTimer(() => fired.push(clock.now()), 500);
    }, 10);
    doomed.cancel();
    doomed.cancel();
    expect(clock.pending).toBe(1);
    clock.advance(100);
    expect(fired).toEqual([10, 10, 25]);
    expect(clock.pending).toBe(1);
  });

  it('keeps order across many timers (the heap)', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const times = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 1000);
    const timers = times.map((t, i) => clock.setTimer(() => fired.push(i), t));
    for (let i = 0; i < timers.length; i += 3) timers[i].cancel();
    clock.advance(1000);
    const expected = times
      .map((t, i) => ({ t, i }))
      .filter(({ i }) => i % 3 !== 0)
      .sort((x, y) => x.t - y.t || x.i - y.i)
      .map(({ i }) => i);
    expect(fired).toEqual(expected);
    expect(clock.pending).toBe(0);
    expect(clock.nextAt).toBeUndefined();
  });
});
