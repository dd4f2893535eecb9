// Last known good, as timelines on an injected clock: when a negative answer for a name that had a positive one is
// believed (resolve/contest.ts), and when an upstream is judged to answer a zone wrongly (upstream/contradiction.ts).
import { describe, expect, it } from 'vitest';
import { CONFIRM_MS, Contests, RECHECK_MS } from '../../src/resolve/index.js';
import { CONTRADICTION_WINDOW_MS, ContradictionEvidence } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

describe('Contests', () => {
  it('correlated: the first negative is kept back; a second one CONFIRM_MS later, no positive between, is believed', () => {
    const c = new Contests();
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, 0)).toBe('keep');
    expect(c.holding('k', RECHECK_MS - 1)).toBe('NXDOMAIN'); // not asked again before its recheck
    expect(c.holding('k', RECHECK_MS)).toBeUndefined();
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, CONFIRM_MS - 1)).toBe('keep');
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, CONFIRM_MS)).toBe('accept');
    expect(c.size).toBe(0);
  });

  it('a positive answer in between ends the contest: a name that flips by turns is never believed negative', () => {
    const c = new Contests();
    for (let t = 0; t < 60_000; t += 3000) {
      expect(c.judge('k', 'NXDOMAIN', 'correlated', false, t)).toBe('keep');
      expect(c.settle('k')).toBe(true);
    }
    expect(c.settle('k')).toBe(false);
  });

  it('while the upstream is judged wrong, a confirmed negative still waits', () => {
    const c = new Contests();
    c.judge('k', 'NODATA', 'correlated', true, 0);
    expect(c.judge('k', 'NODATA', 'correlated', true, 60_000)).toBe('keep');
    expect(c.judge('k', 'NODATA', 'correlated', false, 65_000)).toBe('accept');
  });

  it('prefer-positive never believes it; off always does', () => {
    const c = new Contests();
    for (let t = 0; t < 100_000; t += 5000) expect(c.judge('p', 'NXDOMAIN', 'prefer-positive', false, t)).toBe('keep');
    expect(c.judge('o', 'NXDOMAIN', 'off', false, 0)).toBe('accept');
    expect(c.holding('o', 1)).toBeUndefined();
  });
});

describe('ContradictionEvidence', () => {
  function evidence() {
    const clock = new ManualClock(0);
    const changes: [boolean, number][] = [];
    const e = new ContradictionEvidence(clock, (wrong, domains) => changes.push([wrong, domains]));
    return { clock, e, changes };
  }

  it('names of one or two domains are news about them; three domains within the window judge the upstream wrong', () => {
    const { e, changes } = evidence();
    for (let i = 0; i < 20; i++) e.contradicted(`svc${i}.ns0`, 'ns0');
    for (let i = 0; i < 20; i++) e.contradicted(`svc${i}.ns1`, 'ns1');
    expect(e.wrong).toBe(false);
    e.contradicted('svc.ns2', 'ns2');
    expect(e.wrong).toBe(true);
    expect(changes).toEqual([[true, 3]]);
  });

  it('agreeing again about the names clears it; so does the window running out without new contradictions', () => {
    const { clock, e, changes } = evidence();
    e.contradicted('a', 'd0');
    e.contradicted('b', 'd1');
    e.contradicted('c', 'd2');
    e.agreed('c');
    expect(e.wrong).toBe(false);
    e.contradicted('c', 'd2');
    expect(e.wrong).toBe(true);
    clock.advance(CONTRADICTION_WINDOW_MS);
    expect(e.wrong).toBe(false);
    expect(changes).toEqual([
      [true, 3],
      [false, 2],
      [true, 3],
      [false, 0],
    ]);
    e.stop();
  });
});
