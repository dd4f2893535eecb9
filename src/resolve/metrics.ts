import { Counter, Gauge, type Registry } from 'prom-client';

export type ResolveMetrics = ReturnType<typeof createResolveMetrics>;

/** Request-path metrics (docs/design.md §8). Labels are bounded: protocol, qtype name or "other", rcode name, source. */
export function createResolveMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'ballast_requests_total',
      help: 'Queries received, by transport and qtype.',
      labelNames: ['protocol', 'qtype'] as const,
      registers,
    }),
    responses: new Counter({
      name: 'ballast_responses_total',
      help: 'Responses sent, by rcode and by source (cache, stale, upstream, synthesized).',
      labelNames: ['rcode', 'source'] as const,
      registers,
    }),
    dropped: new Counter({
      name: 'ballast_dropped_queries_total',
      help: 'Datagrams or frames dropped without an answer, by reason (short, response, question).',
      labelNames: ['reason'] as const,
      registers,
    }),
    cacheHits: new Counter({
      name: 'ballast_cache_hits_total',
      help: 'Queries answered from the cache, by entry state (fresh, stale).',
      labelNames: ['state'] as const,
      registers,
    }),
    cacheMisses: new Counter({
      name: 'ballast_cache_misses_total',
      help: 'Queries that found no fresh cache entry (no entry, or a stale one).',
      registers,
    }),
    staleAnswers: new Counter({
      name: 'ballast_stale_answers_total',
      help:
        'Stale answers served (RFC 8767), by reason: upstream_down, failure_cached, client_timeout, refresh_failed, ' +
        'recovering, rate_limited, busy.',
      labelNames: ['reason'] as const,
      registers,
    }),
    coalesced: new Counter({
      name: 'ballast_coalesced_queries_total',
      help: 'Queries that waited on an upstream query already in flight for the same cache key.',
      registers,
    }),
    refreshes: new Counter({
      name: 'ballast_refreshes_total',
      help: 'Upstream refreshes of cached entries, by kind (prefetch, stale) and result (success, failure, skipped).',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    failureCacheHits: new Counter({
      name: 'ballast_failure_cache_hits_total',
      help: 'Queries not sent upstream because their key failed recently (RFC 9520 failure cache).',
      registers,
    }),
    rateLimited: new Counter({
      name: 'ballast_rate_limited_queries_total',
      help: 'Upstream-bound queries refused by the per-client limit (answered stale or REFUSED).',
      registers,
    }),
    inflight: new Gauge({
      name: 'ballast_inflight_queries',
      help: 'Client queries waiting on an upstream answer right now.',
      registers,
    }),
  };
}
