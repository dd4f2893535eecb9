// docs/configuration.md (cache.maxBytes): the cache's memory never exceeds its documented bound — the slabs that
// cache.maxBytes bounds plus the per-slot columns and the index at cache.maxEntries — however many distinct names
// arrive. A flood of unique names at the default bounds, past both of them (by count with small answers, by bytes
// with large ones), with ballast_cache_bytes read as Prometheus would read it. RSS is checked only loosely, as a bound.
import { describe, expect, it } from 'vitest';
import { createCacheMetrics, DnsCache } from '../../src/cache/index.js';
import { validate } from '../../src/config/index.js';
import { createRegistry } from '../../src/observe/index.js';
import { scanResponse } from '../../src/wire/index.js';
import { answerFor, hooks, OPEN } from './helpers.js';

const MIB = 1024 * 1024;

describe('a flood of unique names', () => {
  it('keeps ballast_cache_bytes and RSS within the documented bound at the default bounds', async () => {
    const { maxEntries, maxBytes } = validate({}).cache;
    const registry = createRegistry(false);
    let cache: DnsCache | undefined;
    createCacheMetrics(registry, () => cache!);
    cache = new DnsCache({ ...OPEN, maxEntries, maxBytes }, hooks());
    const bound = cache.maxHeldBytes;
    // The documented figure: 32 MiB of slabs, plus about 60 bytes per slot and the index.
    expect(bound).toBeLessThan(maxBytes + 64 * maxEntries + 2 * MIB);
    const gauge = async () => (await registry.getSingleMetric('ballast_cache_bytes')!.get()).values[0].value as number;

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let maxGauge = 0;
    // Small answers past the entry bound, then 40-record answers (about 700 bytes) past the byte bound.
    const total = maxEntries + 60_000;
    for (let i = 0; i < total; i++) {
      const { key, response } = answerFor(`n${i}.flood.test`, { records: i < maxEntries ? 1 : 40 });
      cache.put(key, response, scanResponse(response), 1_700_000_000_000);
      if (i % 10_000 === 0 || i === total - 1) {
        const g = await gauge();
        expect(g).toBe(cache.bytes);
        expect(g).toBeLessThanOrEqual(bound);
        expect(cache.arenaBytes).toBeLessThanOrEqual(maxBytes);
        expect(cache.entries).toBeLessThanOrEqual(maxEntries);
        maxGauge = Math.max(maxGauge, g);
      }
    }
    // Both bounds were reached: the cache is full by count, then by bytes.
    expect(cache.arenaBytes).toBe(maxBytes);
    expect(cache.entries).toBeLessThan(maxEntries);
    expect(maxGauge).toBeGreaterThan(0.8 * bound);
    // Loosely: the process grew by no more than the bound plus room for the garbage a test makes.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(bound + 96 * MIB);
  }, 60_000);
});
