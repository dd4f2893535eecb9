import { TalliedCounter, type Tally } from '../observe/counting.js';
import { Counter, Gauge, type Registry } from '../observe/prom.js';
import { qtypeLabel, rcodeLabel } from '../wire/index.js';

export type ResolveMetrics = ReturnType<typeof createResolveMetrics>;

/** Where a response came from (the `source` label). */
export type Source = 'cache' | 'stale' | 'upstream' | 'synthesized';
const SOURCES: readonly Source[] = ['cache', 'stale', 'upstream', 'synthesized'];

/**
 * Request-path metrics (docs/design.md §8). Labels are bounded: protocol, qtype name or "other", rcode name, source.
 * `request()` and `response()` keep each label combination's child once looked up, so the hit path does no label
 * hashing.
 */
export function createResolveMetrics(registry: Registry, sources: { failureCacheEntries: () => number }) {
  const registers = [registry];
  const requests = new TalliedCounter({
    name: 'ballast_requests_total',
    help: 'Queries received, by transport and qtype.',
    labelNames: ['protocol', 'qtype'] as const,
    registers,
  });
  const responses = new TalliedCounter({
    name: 'ballast_responses_total',
    help: 'Responses sent, by rcode and by source (cache, stale, upstream, synthesized).',
    labelNames: ['rcode', 'source'] as const,
    registers,
  });
  const cacheHits = new TalliedCounter({
    name: 'ballast_cache_hits_total',
    help: 'Queries answered from the cache, by entry state (fresh, stale).',
    labelNames: ['state'] as const,
    registers,
  });
  // Tallies, not prom-client children: an inc() on the hit path is a field increment (observe/counting.ts).
  const requestChildren = new Map<number, Tally>();
  const responseChildren = new Map<number, Tally>();
  return {
    requests: requests.counter,
    responses: responses.counter,
    cacheHits: cacheHits.counter,
    freshHit: cacheHits.tally('fresh'),
    staleHit: cacheHits.tally('stale'),
    /** Counts one query received. */
    request(transport: 'udp' | 'tcp', qtype: number): void {
      const k = (transport === 'udp' ? 0 : 0x10000) | qtype;
      let c = requestChildren.get(k);
      if (c === undefined) {
        c = requests.tally(transport, qtypeLabel(qtype));
        requestChildren.set(k, c);
      }
      c.inc();
    },
    /** Counts one response sent. */
    response(source: Source, rcode: number): void {
      const k = (SOURCES.indexOf(source) << 16) | rcode;
      let c = responseChildren.get(k);
      if (c === undefined) {
        c = responses.tally(rcodeLabel(rcode), source);
        responseChildren.set(k, c);
      }
      c.inc();
    },
    dropped: new Counter({
      name: 'ballast_dropped_queries_total',
      help: 'Datagrams or frames dropped without an answer, by reason (short, response, question).',
      labelNames: ['reason'] as const,
      registers,
    }),
    // Per query on the miss and stale paths too: tallies (observe/counting.ts).
    cacheMisses: new TalliedCounter({
      name: 'ballast_cache_misses_total',
      help: 'Queries that found no fresh cache entry (no entry, or a stale one).',
      registers,
    }).tally(),
    staleAnswers: new TalliedCounter({
      name: 'ballast_stale_answers_total',
      help:
        'Stale answers served (RFC 8767), by reason: upstream_down, failure_cached, client_timeout, refresh_failed, ' +
        'recovering, busy, no_recursion.',
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
    failureCacheEntries: new Gauge({
      name: 'ballast_failure_cache_entries',
      help: 'Cache keys remembered as recently failed (RFC 9520), held or backing off.',
      registers,
      collect() {
        this.set(sources.failureCacheEntries());
      },
    }),
    inflight: new Gauge({
      name: 'ballast_inflight_queries',
      help: 'Client queries waiting on an upstream answer right now.',
      registers,
    }),
  };
}
