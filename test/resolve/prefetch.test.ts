// Background refresh of hot entries (docs/design.md §4, §5): when a fresh hit starts one, and when it does not.
import { describe, expect, it } from 'vitest';
import { prefetchDecision, ZoneBudget, type ZoneView } from '../../src/resolve/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { admit, T0 } from '../cache/helpers.js';
import { fixture } from '../wire/fixtures.js';

/** An mx entry (TTL 300) stored at T0 with a refresh point between 75 % and 95 % of its TTL. */
function hotEntry() {
  const { query, response } = fixture('mx');
  const { entry } = admit(query, response);
  return entry;
}

function view(clock: ManualClock, healthy = true, refreshPerSecond = 10): () => ZoneView {
  const budget = new ZoneBudget({ refreshPerSecond, recoveryMinPerSecond: 1 }, clock);
  return () => ({ zone: undefined as never, acceptsTraffic: healthy, hasRoom: healthy, epoch: 0, budget });
}

describe('prefetchDecision', () => {
  it('waits for the refresh point, then starts exactly one refresh in the entry’s lifetime', () => {
    const clock = new ManualClock(T0);
    const entry = hotEntry();
    entry.hits = 2;
    expect(entry.refreshAtMs).toBeGreaterThanOrEqual(T0 + 225_000);
    expect(entry.refreshAtMs).toBeLessThanOrEqual(T0 + 285_000);
    expect(prefetchDecision(entry, entry.refreshAtMs - 1, 2, view(clock))).toBe('none');
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, view(clock))).toBe('go');
    expect(prefetchDecision(entry, entry.refreshAtMs + 1, 2, view(clock))).toBe('none');
  });

  it('leaves a cold entry alone: fewer than minHits in its lifetime', () => {
    const clock = new ManualClock(T0);
    const entry = hotEntry();
    entry.hits = 1;
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, view(clock))).toBe('none');
  });

  it('does not ask about the zone unless the entry is due (the hit path stays cheap)', () => {
    const clock = new ManualClock(T0);
    const entry = hotEntry();
    entry.hits = 5;
    let asked = 0;
    const v = view(clock);
    prefetchDecision(entry, T0, 2, () => {
      asked++;
      return v();
    });
    expect(asked).toBe(0);
  });

  it('pauses while the zone is down: the entry is left to expire and be served stale', () => {
    const clock = new ManualClock(T0);
    const entry = hotEntry();
    entry.hits = 2;
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, view(clock, false))).toBe('skipped');
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, view(clock, true))).toBe('none');
  });

  it('skips when the zone’s refresh budget is spent, and tries again on a later hit', () => {
    const clock = new ManualClock(T0);
    const v = view(clock, true, 1);
    v().budget.allowPrefetch(); // spends the one token
    const entry = hotEntry();
    entry.hits = 2;
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, v)).toBe('skipped');
    clock.advance(1000);
    expect(prefetchDecision(entry, entry.refreshAtMs, 2, v)).toBe('go');
  });
});
