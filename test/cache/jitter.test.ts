// docs/design.md §5: refresh points are uniform per entry between 75 % and 95 % of the TTL, so 10,000 entries stored at
// the same instant with the same TTL and kept hot do not refresh together.
import { describe, expect, it } from 'vitest';
import { DnsCache } from '../../src/cache/index.js';
import { seededRandom } from '../../src/util/random.js';
import { scanResponse } from '../../src/wire/index.js';
import { fixture } from '../wire/fixtures.js';
import { OPEN, query } from './helpers.js';

describe('jittered refresh points', () => {
  it('spread 10,000 simultaneous entries over the window: no 1 % slice holds more than 3× its share', () => {
    const t0 = 1_700_000_000_000;
    const cache = new DnsCache({ ...OPEN, maxEntries: 20_000 }, { random: seededRandom(7) });
    const { query: q, response } = fixture('a-basic'); // TTL 5 s
    const key = query(q).key;
    const scan = scanResponse(response);
    const points: number[] = [];
    // The same answer stored again and again: each store draws its own refresh point.
    for (let i = 0; i < 10_000; i++) points.push(cache.put(key, response, scan, t0).entry.refreshAtMs - t0);

    const ttlMs = 5000;
    const from = 0.75 * ttlMs;
    const to = 0.95 * ttlMs;
    for (const p of points) {
      expect(p).toBeGreaterThanOrEqual(from);
      expect(p).toBeLessThanOrEqual(to);
    }
    const slices = new Array(100).fill(0);
    for (const p of points) slices[Math.min(99, Math.floor(((p - from) / (to - from)) * 100))]++;
    expect(Math.max(...slices)).toBeLessThanOrEqual(3 * 100);
    expect(Math.min(...slices)).toBeGreaterThan(0);
  });
});
