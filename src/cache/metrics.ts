import { Counter, Gauge, type Registry } from '../observe/prom.js';
import type { Tier } from './store.js';

/** What the cache gauges read when scraped. */
export interface CacheStats {
  readonly entries: number;
  readonly staleEntries: number;
  readonly bytes: number;
  /** The bound on `bytes`: the slabs cache.maxBytes allows plus the columns and index at cache.maxEntries. */
  readonly maxHeldBytes: number;
}

export type CacheMetrics = ReturnType<typeof createCacheMetrics>;

/**
 * Cache metrics (docs/design.md §8). The gauges read `stats()` at scrape time, so the hit path updates nothing;
 * `evicted` is the store's eviction hook.
 */
export function createCacheMetrics(registry: Registry, stats: () => CacheStats) {
  const registers = [registry];
  const evictions = new Counter({
    name: 'ballast_cache_evictions_total',
    help: 'Entries removed to stay within the entry or byte bound, by state (stale entries go first).',
    labelNames: ['state'] as const,
    registers,
  });
  const gauge = (name: string, help: string, read: (s: CacheStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(stats()));
      },
    });
  gauge('ballast_cache_entries', 'Entries in the cache.', (s) => s.entries);
  gauge(
    'ballast_cache_stale_entries',
    'Entries past their TTL, kept to be served stale (as of the last lookup or sweep).',
    (s) => s.staleEntries,
  );
  gauge('ballast_cache_bytes', 'Bytes held by the cache: arena slabs, per-entry columns and index.', (s) => s.bytes);
  gauge(
    'ballast_cache_max_bytes',
    'The bound on ballast_cache_bytes: cache.maxBytes of slabs plus the columns and index at cache.maxEntries.',
    (s) => s.maxHeldBytes,
  );
  const stale = evictions.labels('stale');
  const fresh = evictions.labels('fresh');
  return {
    /** The store's eviction hook: a secondary-tier entry is a stale one. */
    evicted(tier: Tier): void {
      (tier === 'secondary' ? stale : fresh).inc();
    },
  };
}
