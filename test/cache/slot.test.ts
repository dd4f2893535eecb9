// The hit path by slot (docs/performance.md §3): find → isFresh → noteHit → render, straight from the arena, must
// give byte for byte what a detached entry gives; a detached copy must outlive its slot.
import { describe, expect, it } from 'vitest';
import { DnsCache, NO_SLOT } from '../../src/cache/index.js';
import { Ede, scanResponse } from '../../src/wire/index.js';
import { mixCase } from '../wire/bytes.js';
import { fixture, fixtureCases, RESPONSE_FACTS } from '../wire/fixtures.js';
import { admit, answerFor, expected, hooks, OPEN, query, T0, withOpt } from './helpers.js';

describe('DnsCache by slot', () => {
  for (const meta of fixtureCases()) {
    it(`${meta.name}: render(slot) equals the expected answer, aged, for another ID and case`, () => {
      const { query: qBytes, response } = fixture(meta.name);
      const { cache, cached, entry } = admit(qBytes, response);
      const other = mixCase(qBytes, 12, RESPONSE_FACTS[meta.name].questionEnd - 4);
      other.writeUInt16BE(0xbeef, 0);
      const q = query(other);
      const slot = cache.find(q, T0 + 2_000);
      expect(slot === NO_SLOT).toBe(!cached);
      if (slot === NO_SLOT) return;
      expect(cache.render(slot, q, T0 + 2_000, 65535, 1232)).toEqual(expected(meta.name, other, 2));
      expect(cache.render(slot, q, T0 + 2_000, 65535, 1232)).toEqual(
        entry.render(q, T0 + 2_000, { maxSize: 65535, udpSize: 1232 }),
      );
    });
  }

  it('renders stale answers (fixed TTL, EDE) and truncation the same way as a detached entry', () => {
    const { query: qBytes, response } = fixture('mx');
    const { cache, entry } = admit(qBytes, response);
    const plain = query(qBytes);
    const q = plain.edns ? plain : query(withOpt(qBytes));
    const slot = cache.find(q, T0);
    const opts = { maxSize: 65535, udpSize: 1232, fixedTtl: 30, ede: Ede.STALE_ANSWER };
    expect(cache.render(slot, q, T0 + 900_000, 65535, 1232, 30, Ede.STALE_ANSWER)).toEqual(
      entry.render(q, T0 + 900_000, opts),
    );
    const small = { maxSize: 20, udpSize: 1232 };
    expect(cache.render(slot, q, T0, 20, 1232)).toEqual(entry.render(q, T0, small));
  });

  it('says fresh, then stale (demoted), and counts hits towards a refresh at the jittered point', () => {
    const { query: qBytes, response } = fixture('mx'); // TTL 300
    const { cache } = admit(qBytes, response);
    const q = query(qBytes);
    const slot = cache.find(q, T0);
    expect(cache.isFresh(slot, T0)).toBe(true);
    const marks = cache.refreshMarks(slot);
    expect(marks.refreshAtMs).toBeGreaterThanOrEqual(T0 + 225_000);
    expect(marks.refreshAtMs).toBeLessThanOrEqual(T0 + 285_000);
    expect(cache.refreshDue(slot, marks.refreshAtMs, 2)).toBe(false); // not hot yet
    cache.noteHit(slot);
    cache.noteHit(slot);
    expect(marks.hits).toBe(2);
    expect(cache.refreshDue(slot, marks.refreshAtMs - 1, 2)).toBe(false);
    expect(cache.refreshDue(slot, marks.refreshAtMs, 2)).toBe(true);
    cache.refreshMarks(slot).refreshing = true;
    expect(cache.refreshDue(slot, marks.refreshAtMs, 2)).toBe(false);
    expect(cache.staleEntries).toBe(0);
    expect(cache.find(q, T0 + 300_000)).toBe(slot);
    expect(cache.freshness(slot, T0 + 300_000)).toBe('stale');
    expect(cache.staleEntries).toBe(1);
  });

  it('gives a detached copy that keeps its answer after the slot is evicted and reused', () => {
    const cache = new DnsCache({ ...OPEN, maxEntries: 1 }, hooks());
    const first = answerFor('first.test');
    cache.put(first.key, first.response, scanResponse(first.response), T0);
    const q = query(
      Buffer.concat([Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), first.response.subarray(12, 12 + 16)]),
    );
    const slot = cache.find(q, T0);
    const copy = cache.entryAt(slot);
    const before = copy.render(q, T0, { maxSize: 512, udpSize: 1232 });
    const second = answerFor('second.test', { records: 3 });
    cache.put(second.key, second.response, scanResponse(second.response), T0);
    expect(cache.has(first.key)).toBe(false);
    expect(copy.render(q, T0, { maxSize: 512, udpSize: 1232 })).toEqual(before);
  });
});
