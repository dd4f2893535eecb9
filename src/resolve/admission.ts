import type { FailureCache } from './failures.js';
import type { ClientLimiter } from './limits.js';
import type { ResolveMetrics } from './metrics.js';
import type { ZoneView } from './zone-state.js';

/** Why a query was not (or not in time) answered by its upstream; the metric label of a stale answer. */
export type StaleReason =
  | 'upstream_down'
  | 'failure_cached'
  | 'client_timeout'
  | 'refresh_failed'
  | 'recovering'
  | 'rate_limited'
  | 'busy';

export interface AdmissionDeps {
  readonly failures: FailureCache;
  readonly limiter: ClientLimiter;
  readonly metrics: ResolveMetrics;
}

/** One query that found no fresh entry, as admission sees it. */
export interface Candidate {
  readonly key: string;
  readonly client: string;
  readonly view: ZoneView;
  /** An upstream query for the same key is already in flight: joining it costs the upstream nothing. */
  readonly joining: boolean;
  /** There is a stale entry to answer with instead. */
  readonly hasStale: boolean;
  readonly now: number;
}

/**
 * Decides whether a query that needs the upstream may ask it now (docs/design.md §4): undefined means yes; otherwise
 * the reason it may not, and the caller answers stale or with an error at once. A query joining a flight already in
 * the air is only held back by the zone being down.
 */
export function admit(c: Candidate, deps: AdmissionDeps): StaleReason | undefined {
  if (!c.view.healthy) return 'upstream_down';
  if (c.joining) return undefined;
  if (!c.view.available) return 'busy';
  if (deps.failures.heldUntil(c.key, c.now) !== undefined) {
    deps.metrics.failureCacheHits.inc();
    return 'failure_cached';
  }
  if (!deps.limiter.allow(c.client)) {
    deps.metrics.rateLimited.inc();
    return 'rate_limited';
  }
  if (c.hasStale && !c.view.budget.allowStaleRefresh()) {
    deps.metrics.refreshes.labels('stale', 'skipped').inc();
    return 'recovering';
  }
  return undefined;
}
