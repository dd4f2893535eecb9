// The retry budget (src/upstream/retry-budget.ts): retransmissions are paid by answers, for the node, and shared between
// flows: above half the bank anyone takes; below half each flow pays with credit its own answers earned.
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

const opts = { perAnswer: 1, minPerSecond: 10, burst: 100 };
const takes = (b: RetryBudget, flow: string, n: number) =>
  Array.from({ length: n }, () => b.take(flow)).filter(Boolean).length;

describe('RetryBudget', () => {
  it('a flow alone takes the upper half, then its own credit (3 to start), then nothing until answers pay', () => {
    const clock = new ManualClock(0);
    const b = new RetryBudget(opts, clock);
    expect(takes(b, 'dead', 200)).toBe(50 + 3);
    b.earn('dead');
    expect(takes(b, 'dead', 10)).toBe(1);
    clock.advance(1000); // the floor: 10 tokens a second; the flow may take what rises above half (47 + 10 → 50)
    expect(takes(b, 'dead', 20)).toBe(7);
  });

  it('a flow that earned much credit and then asks dead names cannot empty the lower half for others', () => {
    const clock = new ManualClock(0);
    const b = new RetryBudget(opts, clock);
    for (let i = 0; i < 200; i++) b.earn('busy'); // 200 answers: the bank is full, busy's credit capped at 12.5
    expect(takes(b, 'busy', 200)).toBe(50 + 12);
    expect(takes(b, 'lossy', 3)).toBe(3); // another client still finds its resends
  });

  it('a flow whose datagrams are lost earns its next resend with each answer', () => {
    const clock = new ManualClock(0);
    const b = new RetryBudget(opts, clock);
    takes(b, 'dead', 200);
    for (let i = 0; i < 20; i++) {
      expect(b.take('lossy')).toBe(true);
      b.earn('lossy');
    }
  });

  it('fractions of a token add up (perAnswer 0.1: ten answers pay one resend)', () => {
    const clock = new ManualClock(0);
    const b = new RetryBudget({ perAnswer: 0.1, minPerSecond: 0, burst: 2 }, clock);
    expect(takes(b, 'a', 5)).toBe(2);
    for (let i = 0; i < 9; i++) b.earn('a');
    expect(b.take('a')).toBe(false);
    b.earn('a');
    expect(b.take('a')).toBe(true);
  });
});
