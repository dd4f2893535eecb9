// Admission (docs/design.md §4): which queries that need the upstream may ask it now, and why not otherwise.
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/observe/index.js';
import {
  admit,
  type Candidate,
  Contests,
  createResolveMetrics,
  FailureCache,
  ZoneBudget,
  type ZoneView,
} from '../../src/resolve/index.js';
import { ManualClock } from '../../src/util/clock.js';

function setup() {
  const clock = new ManualClock();
  const failures = new FailureCache({
    initialMs: 5000,
    maxMs: 300_000,
    staleRecheckMs: 30_000,
    maxEntries: 100,
    random: { float: () => 0.5, id16: () => 0 },
  });
  const metrics = createResolveMetrics(createRegistry(false), { failureCacheEntries: () => failures.size });
  const budget = new ZoneBudget({ refreshPerSecond: 10, recoveryMinPerSecond: 1 }, clock);
  const view = (over: Partial<ZoneView> = {}): ZoneView =>
    ({ zone: undefined as never, acceptsTraffic: true, hasRoom: true, epoch: 0, budget, ...over }) as ZoneView;
  const candidate = (over: Partial<Candidate> = {}): Candidate => ({
    query: { key: 'k' },
    view: view(),
    joining: false,
    hasStale: false,
    now: clock.now(),
    ...over,
  });
  const contests = new Contests();
  return { clock, failures, metrics, budget, view, candidate, contests, deps: { failures, contests, metrics } };
}

describe('admit', () => {
  it('lets a query through when nothing holds it back', () => {
    const { candidate, deps } = setup();
    expect(admit(candidate(), deps)).toBeUndefined();
  });

  it('holds everything back while the zone is down, joiners included', () => {
    const { candidate, view, deps } = setup();
    expect(admit(candidate({ view: view({ acceptsTraffic: false, hasRoom: false }) }), deps)?.reason).toBe(
      'upstream_down',
    );
    expect(admit(candidate({ view: view({ acceptsTraffic: false }), joining: true }), deps)?.reason).toBe(
      'upstream_down',
    );
  });

  it('refuses a query to a zone that is down without reading its cache key (no key string per stale answer)', () => {
    const { candidate, view, deps } = setup();
    let reads = 0;
    const query = {
      get key() {
        reads++;
        return 'k';
      },
    };
    expect(admit(candidate({ query, view: view({ acceptsTraffic: false }) }), deps)?.reason).toBe('upstream_down');
    expect(reads).toBe(0);
    // A healthy zone asks the failure cache, which needs the key.
    expect(admit(candidate({ query }), deps)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('lets a joiner through whatever else holds: joining costs the upstream nothing', () => {
    const { candidate, view, failures, clock, deps } = setup();
    failures.record('k', clock.now());
    expect(admit(candidate({ joining: true, view: view({ hasRoom: false }) }), deps)).toBeUndefined();
  });

  it('without capacity: a miss goes on (to wait its turn in the fair queue); a stale entry is served at once', () => {
    const { candidate, view, deps } = setup();
    expect(admit(candidate({ view: view({ hasRoom: false }) }), deps)).toBeUndefined();
    expect(admit(candidate({ view: view({ hasRoom: false }), hasStale: true }), deps)?.reason).toBe('busy');
  });

  it('holds a recently failed key until its hold ends (RFC 9520), with how it failed, and counts the hit', async () => {
    const { candidate, failures, clock, metrics, deps } = setup();
    failures.record('k', clock.now(), { answer: { rcode: 5 } });
    expect(admit(candidate(), deps)).toEqual({ reason: 'failure_cached', failure: { rcode: 5 } });
    expect(admit(candidate({ query: { key: 'other' } }), deps)).toBeUndefined();
    clock.advance(5000);
    expect(admit(candidate({ now: clock.now() }), deps)).toBeUndefined();
    expect((await metrics.failureCacheHits.get()).values[0].value).toBe(1);
  });

  it('while the zone recovers from an outage, paces stale refreshes but never a miss', () => {
    const { candidate, budget, deps } = setup();
    budget.observeHealth(false);
    budget.observeHealth(true); // recovery starts with an empty bucket
    expect(admit(candidate({ hasStale: true }), deps)?.reason).toBe('recovering');
    expect(admit(candidate({ hasStale: false }), deps)).toBeUndefined();
  });

  it('holds a contested name back until its recheck, answering it from its last known good entry', () => {
    const { candidate, contests, deps, clock } = setup();
    contests.judge('k', 'NXDOMAIN', 'correlated', false, clock.now());
    expect(admit(candidate({ hasStale: true }), deps)).toEqual({ reason: 'last_known_good', said: 'NXDOMAIN' });
    expect(admit(candidate({ hasStale: false }), deps)).toBeUndefined(); // nothing to serve: it is asked
    expect(admit(candidate({ hasStale: true, now: clock.now() + 5000 }), deps)).toBeUndefined();
  });
});
