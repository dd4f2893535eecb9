// Last known good, as timelines on an injected clock: when a negative answer for a name that had a positive one is
// believed (resolve/contest.ts), and when an upstream is judged to answer a zone wrongly (upstream/contradiction.ts).
import { describe, expect, it } from 'vitest';
import { CONFIRM_MS, Contests, FIRST_RECHECK_MS, RECHECK_MS } from '../../src/resolve/index.js';
import { CONTRADICTION_WINDOW_MS, ContradictionEvidence } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

describe('Contests', () => {
  it('correlated: the first negative is kept back; three over CONFIRM_MS, no positive between, are believed', () => {
    const c = new Contests();
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, 0)).toBe('keep');
    expect(c.holding('k', FIRST_RECHECK_MS - 1)).toBe('NXDOMAIN'); // not asked again before its first recheck
    expect(c.holding('k', FIRST_RECHECK_MS)).toBeUndefined();
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, FIRST_RECHECK_MS)).toBe('keep');
    expect(c.holding('k', FIRST_RECHECK_MS + RECHECK_MS - 1)).toBe('NXDOMAIN'); // then every RECHECK_MS
    expect(c.holding('k', FIRST_RECHECK_MS + RECHECK_MS)).toBeUndefined();
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, CONFIRM_MS - 1)).toBe('keep'); // three, too soon
    expect(c.judge('k', 'NXDOMAIN', 'correlated', false, CONFIRM_MS)).toBe('accept');
    expect(c.size).toBe(0);
  });

  it('two negatives are never enough, however far apart', () => {
    const c = new Contests();
    c.judge('k', 'NODATA', 'correlated', false, 0);
    expect(c.judge('k', 'NODATA', 'correlated', false, 3_600_000)).toBe('keep');
    expect(c.judge('k', 'NODATA', 'correlated', false, 3_600_001)).toBe('accept');
  });

  it('a positive answer in between ends the contest: a name that flips by turns is never believed negative', () => {
    const c = new Contests();
    for (let t = 0; t < 60_000; t += 3000) {
      expect(c.judge('k', 'NXDOMAIN', 'correlated', false, t)).toBe('keep');
      expect(c.judge('k', 'NXDOMAIN', 'correlated', false, t + 1000)).toBe('keep');
      c.settle('k');
      expect(c.size).toBe(0);
    }
  });

  it('while the upstream is judged wrong, a confirmed negative still waits', () => {
    const c = new Contests();
    c.judge('k', 'NODATA', 'correlated', true, 0);
    c.judge('k', 'NODATA', 'correlated', true, 30_000);
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
    const e = new ContradictionEvidence(clock, (wrong, names) => changes.push([wrong, names]));
    return { clock, e, changes };
  }

  it('all at once: three names, ≥ 80 % of those answered within 30 s, judge the upstream wrong', () => {
    const { clock, e, changes } = evidence();
    for (let i = 0; i < 5; i++) e.agreed(`svc${i}`); // the zone answered normally
    clock.advance(1000);
    e.contradicted('svc0');
    e.contradicted('svc1');
    expect(e.wrong).toBe(false); // two names: news about them
    e.contradicted('svc2');
    expect(e.wrong).toBe(false); // 3 of 5: the rest of the zone answers
    e.contradicted('svc3');
    expect(e.wrong).toBe(true); // 4 of 5
    expect(changes).toEqual([[true, 4]]);
    e.stop();
  });

  it('a deletion among normal answers is not, however often its names are rechecked', () => {
    const { clock, e } = evidence();
    // 30 of 50 names deleted at once (three namespaces of five), rechecked every 5 s; the other 20 are answered
    // normally, once per 30 s (a zone with a 30 s TTL): names are counted, not answers.
    for (let i = 0; i < 20; i++) e.agreed(`live${i}`);
    clock.advance(1000);
    for (let t = 0; t < 120_000; t += 1000) {
      const s = t / 1000;
      if (s % 30 < 20) e.agreed(`live${s % 30}`);
      for (let i = 0; i < 6; i++) e.contradicted(`gone${s % 5}-${i}`);
      expect(e.wrong).toBe(false);
      clock.advance(1000);
    }
    e.stop();
  });

  it('by turns: a contradicted name answered positively again judges it wrong while others are contradicted', () => {
    const { clock, e, changes } = evidence();
    e.contradicted('a');
    e.contradicted('b');
    expect(e.wrong).toBe(false);
    e.agreed('a'); // a replica that answers some asks wrongly
    expect(e.wrong).toBe(false); // only one name contradicted now
    e.contradicted('a');
    expect(e.wrong).toBe(true);
    clock.advance(CONTRADICTION_WINDOW_MS);
    expect(e.wrong).toBe(false); // nothing new for the window: it ages out
    expect(changes).toEqual([
      [true, 2],
      [false, 0],
    ]);
    e.stop();
  });

  it('by turns, one name: contradicted, answered, contradicted again is enough on its own', () => {
    const { clock, e } = evidence();
    e.contradicted('a');
    clock.advance(5000);
    e.agreed('a'); // a flip, with nothing standing contradicted: a recovery looks the same
    expect(e.wrong).toBe(false);
    clock.advance(5000);
    e.contradicted('a'); // and back: a replica answering some asks wrongly
    expect(e.wrong).toBe(true);
    e.agreed('a');
    expect(e.wrong).toBe(false); // nothing stands contradicted
    e.stop();
  });

  it('the upstream agreeing again ends it as the names are answered, and a deletion right after is news', () => {
    const { clock, e } = evidence();
    for (let i = 0; i < 50; i++) e.contradicted(`svc${i}`);
    expect(e.wrong).toBe(true);
    clock.advance(5000);
    for (let i = 0; i < 49; i++) e.agreed(`svc${i}`); // recovery: a flip each, but no name stays contradicted
    expect(e.wrong).toBe(false);
    clock.advance(5000);
    e.contradicted('svc49'); // deleted: still contradicted, alone
    e.contradicted('svc49');
    expect(e.wrong).toBe(false);
    e.stop();
  });

  it('stops: no judgement or timer after it', () => {
    const { clock, e, changes } = evidence();
    e.stop();
    for (let i = 0; i < 10; i++) e.contradicted(`svc${i}`);
    expect(e.wrong).toBe(false);
    expect(changes).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
