// Admission (docs/design.md §4): which queries that need the upstream may ask it now, and why not otherwise.
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/observe/index.js';
import {
  admit,
  type Candidate,
  ClientLimiter,
  createResolveMetrics,
  FailureCache,
  ZoneBudget,
  type ZoneView,
} from '../../src/resolve/index.js';
import { ManualClock } from '../../src/util/clock.js';

function setup() {
  const clock = new ManualClock();
  const failures = new FailureCache({ initialMs: 5000, maxMs: 300_000, staleRecheckMs: 30_000, maxEntries: 100 });
  const limiter = new ClientLimiter(2, 2, clock);
  const metrics = createResolveMetrics(createRegistry(false), { failureCacheEntries: () => failures.size });
  const budget = new ZoneBudget({ refreshPerSecond: 10, recoveryMinPerSecond: 1 }, clock);
  const view = (over: Partial<ZoneView> = {}): ZoneView =>
    ({ zone: undefined as never, healthy: true, available: true, budget, ...over }) as ZoneView;
  const candidate = (over: Partial<Candidate> = {}): Candidate => ({
    key: 'k',
    client: '10.0.0.1',
    view: view(),
    joining: false,
    hasStale: false,
    now: clock.now(),
    ...over,
  });
  return { clock, failures, limiter, metrics, budget, view, candidate, deps: { failures, limiter, metrics } };
}

describe('admit', () => {
  it('lets a query through when nothing holds it back', () => {
    const { candidate, deps } = setup();
    expect(admit(candidate(), deps)).toBeUndefined();
  });

  it('holds everything back while the zone is down, joiners included', () => {
    const { candidate, view, deps } = setup();
    expect(admit(candidate({ view: view({ healthy: false, available: false }) }), deps)).toBe('upstream_down');
    expect(admit(candidate({ view: view({ healthy: false }), joining: true }), deps)).toBe('upstream_down');
  });

  it('lets a joiner through whatever else holds: joining costs the upstream nothing', () => {
    const { candidate, view, failures, clock, deps } = setup();
    failures.record('k', clock.now(), false);
    expect(admit(candidate({ joining: true, view: view({ available: false }) }), deps)).toBeUndefined();
  });

  it('says busy when every upstream is at its in-flight cap', () => {
    const { candidate, view, deps } = setup();
    expect(admit(candidate({ view: view({ available: false }) }), deps)).toBe('busy');
  });

  it('holds a recently failed key until its hold ends (RFC 9520), and counts the hit', async () => {
    const { candidate, failures, clock, metrics, deps } = setup();
    failures.record('k', clock.now(), false);
    expect(admit(candidate(), deps)).toBe('failure_cached');
    expect(admit(candidate({ key: 'other' }), deps)).toBeUndefined();
    clock.advance(5000);
    expect(admit(candidate({ now: clock.now() }), deps)).toBeUndefined();
    expect((await metrics.failureCacheHits.get()).values[0].value).toBe(1);
  });

  it('limits one client, not the others, and refills with time', () => {
    const { candidate, clock, deps } = setup();
    expect([admit(candidate(), deps), admit(candidate(), deps), admit(candidate(), deps)]).toEqual([
      undefined,
      undefined,
      'rate_limited',
    ]);
    expect(admit(candidate({ client: '10.0.0.2' }), deps)).toBeUndefined();
    clock.advance(500);
    expect(admit(candidate(), deps)).toBeUndefined();
  });

  it('while the zone recovers from an outage, paces stale refreshes but never a miss', () => {
    const { candidate, budget, deps } = setup();
    budget.observeHealth(false);
    budget.observeHealth(true); // recovery starts with an empty bucket
    expect(admit(candidate({ hasStale: true }), deps)).toBe('recovering');
    expect(admit(candidate({ hasStale: false }), deps)).toBeUndefined();
  });
});
