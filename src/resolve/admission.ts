import type { NegativeKind } from '../wire/index.js';
import type { Contests } from './contest.js';
import type { FailedAnswer, FailureCache } from './failures.js';
import type { ResolveMetrics } from './metrics.js';
import type { ZoneView } from './zone-state.js';

/** Why a query was not (or not in time) answered by its upstream; the metric label of a stale answer. */
export type StaleReason =
  | 'upstream_down'
  | 'failure_cached'
  | 'client_timeout'
  | 'refresh_failed'
  | 'recovering'
  | 'busy'
  | 'no_recursion'
  | 'last_known_good';

export interface AdmissionDeps {
  readonly failures: FailureCache;
  readonly contests: Contests;
  readonly metrics: ResolveMetrics;
}

/** One query that found no fresh entry, as admission sees it. */
export interface Candidate {
  /** The query; its cache key is read only when a failure could hold it back (building it costs a string). */
  readonly query: { readonly key: string };
  readonly view: ZoneView;
  /** An upstream query for the same key is already in flight: joining it costs the upstream nothing. */
  readonly joining: boolean;
  /** There is a stale entry to answer with instead. */
  readonly hasStale: boolean;
  readonly now: number;
}

/**
 * Why not: a reason; for a held failure, how it failed (so it is answered the same way); for a contested name, what
 * the upstream said instead of its last known good answer.
 */
export interface Refusal {
  readonly reason: StaleReason;
  readonly failure?: FailedAnswer;
  readonly said?: NegativeKind;
}

/** The refusal of every query to a zone that is down: one object, not one per stale answer of an outage. */
const UPSTREAM_DOWN: Refusal = Object.freeze({ reason: 'upstream_down' });
/** The refusals of contested names, likewise one per thing the upstream said. */
const KEPT: Record<NegativeKind, Refusal> = {
  NXDOMAIN: Object.freeze({ reason: 'last_known_good', said: 'NXDOMAIN' }),
  NODATA: Object.freeze({ reason: 'last_known_good', said: 'NODATA' }),
};

/**
 * Decides whether a query that needs the upstream may ask it now (docs/design.md §4): undefined means yes; otherwise
 * why not, and the caller answers stale or with an error at once. A query joining a flight already in the air is
 * only held back by the zone being down. Capacity does not refuse a query without a stale entry: it waits its turn
 * in the fair queue; with a stale entry, the stale answer goes out at once instead.
 */
export function admit(c: Candidate, deps: AdmissionDeps): Refusal | undefined {
  if (!c.view.acceptsTraffic) return UPSTREAM_DOWN;
  if (c.joining) return undefined;
  const failure = deps.failures.held(c.query.key, c.now, c.view.epoch);
  if (failure !== undefined) {
    deps.metrics.failureCacheHits.inc();
    return { reason: 'failure_cached', failure };
  }
  if (c.hasStale) {
    // A contested name (contest.ts) is asked again only at its recheck; meanwhile its last known good answer.
    const said = deps.contests.holding(c.query.key, c.now);
    if (said !== undefined) return KEPT[said];
  }
  if (c.hasStale && !c.view.hasRoom) return { reason: 'busy' };
  if (c.hasStale && !c.view.budget.allowStaleRefresh()) {
    deps.metrics.refreshes.labels('stale', 'skipped').inc();
    return { reason: 'recovering' };
  }
  return undefined;
}
