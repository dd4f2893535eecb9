import type { RefreshMarks } from '../cache/index.js';
import type { ZoneView } from './zone-state.js';

/** What to do about a fresh hit: nothing, or one background refresh (`go`), or note one that was skipped. */
export type PrefetchDecision = 'none' | 'go' | 'skipped';

/**
 * A fresh hit is due for one background refresh when the entry is hot (≥ `minHits` in its lifetime, CoreDNS
 * prefetch), past its jittered refresh point, and not refreshed yet in this lifetime — so refresh load grows with
 * distinct hot keys, not with query rate. Refreshes pause while the zone is down (the entry is left to expire and
 * be served stale) and draw from the zone's budget otherwise. Marks the entry when it decides.
 */
export function prefetchDecision(
  entry: RefreshMarks,
  now: number,
  minHits: number,
  view: () => ZoneView,
): PrefetchDecision {
  if (entry.hits < minHits || now < entry.refreshAtMs || entry.refreshing) return 'none';
  const v = view();
  if (!v.acceptsTraffic) {
    entry.refreshing = true;
    return 'skipped';
  }
  if (!v.budget.allowPrefetch()) return 'skipped';
  entry.refreshing = true;
  return 'go';
}
