import { describe, expect, it } from 'vitest';
import { DnsCache } from '../../src/cache/index.js';
import { scanResponse } from '../../src/wire/index.js';
import { lowerCase } from '../wire/bytes.js';
import { fixture, RESPONSE_FACTS } from '../wire/fixtures.js';
import { admit, answerFor, expected, hooks, OPEN, query, T0 } from './helpers.js';

const TCP = { maxSize: 65535, udpSize: 1232 };

/** nxdomain-soa with its SOA TTL (offset 64) and MINIMUM (121..125) replaced. */
function nxdomain(soaTtl: number, minimum: number): Buffer {
  const { response } = fixture('nxdomain-soa');
  response.writeUInt32BE(soaTtl, 64);
  response.writeUInt32BE(minimum, 121);
  return response;
}

/** A copy of a fixture response with its authority section (bytes [start, end)) cut out. */
function withoutAuthority(name: string, start: number, end: number): Buffer {
  const { response } = fixture(name);
  const b = Buffer.concat([response.subarray(0, start), response.subarray(end)]);
  b.writeUInt16BE(0, 8);
  return b;
}

describe('DnsCache.admit: positive answers', () => {
  it('caches NOERROR answers for their smallest record TTL', () => {
    const cases: [string, number][] = [
      ['a-basic', 5],
      ['ns-with-glue', 5],
      ['cname-chain', 300],
      ['dnssec-dnskey-do', 300],
      ['any-rfc8482', 60], // NSEC and its RRSIG carry 60, the rest 300
      ['unknown-type', 300],
      ['big-txt-tcp', 300],
    ];
    for (const [name, ttl] of cases) {
      const { query: q, response } = fixture(name);
      const { cache, entry, cached, q: parsed } = admit(q, response);
      expect(cached, name).toBe(true);
      expect(entry.ttlSeconds, name).toBe(ttl);
      expect(entry.negative, name).toBe(false);
      expect(entry.rcode, name).toBe(0);
      expect(entry.storedAtMs, name).toBe(T0);
      expect(entry.expiresAtMs, name).toBe(T0 + ttl * 1000);
      const found = cache.lookup(parsed.key, T0)?.entry;
      expect([found?.bytes, found?.ttlSeconds, found?.storedAtMs], name).toEqual([entry.bytes, ttl, T0]);
      expect(cache.entries, name).toBe(1);
    }
  });

  it('raises TTLs to minTtlSeconds, for the lifetime and for what is served', () => {
    const { query: q, response } = fixture('a-basic'); // TTL 5 at 52
    const { entry } = admit(q, response, { minTtlSeconds: 30 });
    expect(entry.ttlSeconds).toBe(30);
    expect(entry.render(query(q), T0, TCP).readUInt32BE(52)).toBe(30);
    expect(entry.render(query(q), T0 + 29_000, TCP).readUInt32BE(52)).toBe(1);
  });

  it('caps TTLs at maxTtlSeconds, record by record', () => {
    const { query: q, response } = fixture('any-rfc8482');
    const { entry } = admit(q, response, { maxTtlSeconds: 100 });
    expect(entry.ttlSeconds).toBe(60);
    const out = entry.render(query(q), T0, TCP);
    for (const [at, , ttl] of RESPONSE_FACTS['any-rfc8482'].records)
      expect(out.readUInt32BE(at)).toBe(Math.min(ttl, 100));
    const mx = fixture('mx');
    expect(admit(mx.query, mx.response, { maxTtlSeconds: 60 }).entry.ttlSeconds).toBe(60);
  });

  it('does not cache a zero TTL unless minTtlSeconds lifts it', () => {
    const { query: q, response } = fixture('a-basic');
    response.writeUInt32BE(0, 52);
    const zero = admit(q, response);
    expect(zero.cached).toBe(false);
    expect(zero.cache.lookup(zero.q.key, T0)).toBeUndefined();
    // The entry comes back anyway, so clients waiting on this fetch still get the answer.
    expect(zero.entry.render(zero.q, T0, TCP)).toEqual(expected('a-basic', q, 0, { response, fixedTtl: 0 }));
    expect(admit(q, response, { minTtlSeconds: 2 }).cached).toBe(true);
  });
});

describe('DnsCache.admit: negative answers (RFC 2308)', () => {
  it('caches NXDOMAIN with an SOA for min(SOA TTL, SOA MINIMUM)', () => {
    const { query: q, response } = fixture('nxdomain-soa');
    const { entry, cached, cache, q: parsed } = admit(q, response);
    expect(cached).toBe(true);
    expect(entry.negative).toBe(true);
    expect(entry.rcode).toBe(3);
    expect(entry.ttlSeconds).toBe(5);
    expect(cache.lookup(parsed.key, T0)?.state).toBe('fresh');
    // The signed zone's NXDOMAIN: SOA TTL 60, MINIMUM 60.
    const signed = fixture('dnssec-nxdomain-nsec-do');
    expect(admit(signed.query, signed.response).entry.ttlSeconds).toBe(60);
  });

  it('takes the smaller of the SOA TTL and MINIMUM, and serves the SOA with that TTL', () => {
    const { query: q } = fixture('nxdomain-soa');
    const byMinimum = admit(q, nxdomain(3600, 7));
    expect(byMinimum.entry.ttlSeconds).toBe(7);
    expect(byMinimum.entry.render(byMinimum.q, T0, TCP).readUInt32BE(64)).toBe(7);
    expect(byMinimum.entry.render(byMinimum.q, T0 + 3_000, TCP).readUInt32BE(64)).toBe(4);
    const byTtl = admit(q, nxdomain(4, 900));
    expect(byTtl.entry.ttlSeconds).toBe(4);
    expect(byTtl.entry.render(byTtl.q, T0, TCP).readUInt32BE(64)).toBe(4);
  });

  it('caps the negative TTL at maxNegativeTtlSeconds and serves every authority record with it', () => {
    const { query: q, response } = fixture('dnssec-nxdomain-nsec-do'); // six records at TTL 60
    const { entry } = admit(q, response, { maxNegativeTtlSeconds: 3 });
    expect(entry.ttlSeconds).toBe(3);
    const out = entry.render(query(q), T0, TCP);
    for (const [at] of RESPONSE_FACTS['dnssec-nxdomain-nsec-do'].records) expect(out.readUInt32BE(at)).toBe(3);
  });

  it('caches NODATA (NOERROR, no answers, SOA) the same way', () => {
    const { query: q, response } = fixture('nodata-soa');
    const { entry, cached } = admit(q, response);
    expect(cached).toBe(true);
    expect(entry.negative).toBe(true);
    expect(entry.rcode).toBe(0);
    expect(entry.ttlSeconds).toBe(5);
  });

  it('does not cache NXDOMAIN or NODATA without an SOA', () => {
    // nxdomain-soa's authority SOA is 45..125; nodata-soa's is 46..126.
    for (const [name, bytes] of [
      ['nxdomain-soa', withoutAuthority('nxdomain-soa', 45, 125)],
      ['nodata-soa', withoutAuthority('nodata-soa', 46, 126)],
    ] as const) {
      expect(scanResponse(bytes).soaTtl, name).toBe(-1);
      const { cached, cache, q, entry } = admit(fixture(name).query, bytes);
      expect(cached, name).toBe(false);
      expect(cache.lookup(q.key, T0), name).toBeUndefined();
      expect(cache.entries, name).toBe(0);
      // Waiting clients still get the answer: same rcode, no records.
      const out = entry.render(q, T0, TCP);
      expect(out.readUInt16BE(2) & 0xf, name).toBe(bytes.readUInt16BE(2) & 0xf);
      expect([out.readUInt16BE(6), out.readUInt16BE(8)], name).toEqual([0, 0]);
    }
  });

  it('treats an SOA in the answer section (an SOA query) as a positive answer', () => {
    // soa: an SOA in the answer section is a positive answer with its own TTL.
    const { query: q, response } = fixture('soa');
    const { entry } = admit(q, response);
    expect(entry.negative).toBe(false);
    expect(entry.ttlSeconds).toBe(5);
  });
});

describe('DnsCache.admit: what is never cached', () => {
  it('does not cache SERVFAIL, REFUSED or FORMERR', () => {
    const refused = fixture('refused-out-of-zone');
    expect(admit(refused.query, refused.response).cached).toBe(false);
    for (const rcode of [1, 2, 4, 5]) {
      const { query: q, response } = fixture('a-basic');
      response[3] = (response[3] & 0xf0) | rcode;
      const { cached, cache, q: parsed } = admit(q, response);
      expect(cached, `rcode ${rcode}`).toBe(false);
      expect(cache.lookup(parsed.key, T0), `rcode ${rcode}`).toBeUndefined();
    }
  });

  it('does not cache truncated answers', () => {
    for (const name of ['big-txt-noedns-tc', 'big-txt-edns4096-server-caps-at-1232-tc']) {
      const { query: q, response } = fixture(name);
      const { cached, cache, q: parsed } = admit(q, response);
      expect(cached, name).toBe(false);
      expect(cache.lookup(parsed.key, T0), name).toBeUndefined();
    }
    // Even a TC answer that carries records.
    const { query: q, response } = fixture('a-basic');
    response[2] |= 0x02;
    expect(admit(q, response).cached).toBe(false);
  });
});

describe('DnsCache.lookup', () => {
  it('says fresh until the TTL has passed, stale until staleMaxAge past expiry, then dead, and keeps the entry', () => {
    const { query: q, response } = fixture('a-basic'); // TTL 5
    const { cache, entry, q: parsed } = admit(q, response);
    expect(cache.lookup(parsed.key, T0)?.state).toBe('fresh');
    expect(cache.lookup(parsed.key, T0 + 4_999)?.state).toBe('fresh');
    expect(cache.lookup(parsed.key, T0 + 5_000)?.state).toBe('stale');
    expect(cache.lookup(parsed.key, T0 + 5_000 + 86_400_000 - 1)?.state).toBe('stale');
    const late = cache.lookup(parsed.key, T0 + 5_000 + 86_400_000);
    expect(late?.state).toBe('dead');
    expect(late?.entry.bytes).toEqual(entry.bytes);
  });

  it('finds a mixed-case query under the same key, and nothing under other keys', () => {
    const { query: q, response } = fixture('mixed-case-0x20');
    const { cache, q: parsed } = admit(q, response);
    expect(parsed.key).toBe(query(lowerCase(q, 12, parsed.questionEnd - 4)).key);
    expect(cache.lookup(query(fixture('a-basic').query).key, T0)).toBeUndefined();
  });

  it('replaces an entry admitted again under the same key, and forgets deleted keys', () => {
    const { query: q, response } = fixture('a-basic');
    const { cache, q: parsed } = admit(q, response);
    const again = cache.put(parsed.key, response, scanResponse(response), T0 + 60_000);
    expect(cache.entries).toBe(1);
    const found = cache.lookup(parsed.key, T0 + 60_000);
    expect(found?.state).toBe('fresh');
    expect(found?.entry.storedAtMs).toBe(T0 + 60_000);
    expect(found?.entry.bytes).toEqual(again.entry.bytes);
    cache.delete(parsed.key);
    expect(cache.lookup(parsed.key, T0 + 60_000)).toBeUndefined();
    expect(cache.entries).toBe(0);
  });
});

describe('DnsCache bounds', () => {
  const names = ['a-basic', 'aaaa-basic', 'mx'];
  const load = (cache: DnsCache, list = names) => {
    const keys: string[] = [];
    for (const name of list) {
      const { query: q, response } = fixture(name);
      const key = query(q).key;
      cache.put(key, response, scanResponse(response), T0);
      keys.push(key);
    }
    return keys;
  };

  it('holds at most maxEntries, evicting the least recently used', () => {
    let evictions = 0;
    const cache = new DnsCache(
      { ...OPEN, maxEntries: 2 },
      hooks(() => evictions++),
    );
    const [first, second, third] = load(cache);
    expect(cache.entries).toBe(2);
    expect(evictions).toBe(1);
    expect(cache.lookup(first, T0)).toBeUndefined();
    expect(cache.lookup(second, T0)).toBeDefined();
    expect(cache.lookup(third, T0)).toBeDefined();
  });

  it('counts a lookup as a use: the entry looked up survives the next eviction', () => {
    const cache = new DnsCache({ ...OPEN, maxEntries: 2 }, hooks());
    const [first, second] = load(cache, names.slice(0, 2));
    expect(cache.lookup(first, T0)).toBeDefined();
    const [third] = load(cache, names.slice(2));
    expect(cache.lookup(first, T0)).toBeDefined();
    expect(cache.lookup(second, T0)).toBeUndefined();
    expect(cache.lookup(third, T0)).toBeDefined();
  });

  it('under pressure evicts stale entries before fresh ones, even fresher-used stale ones', () => {
    const evicted: string[] = [];
    const cache = new DnsCache({ ...OPEN, maxEntries: 2 }, { ...hooks(), onEvict: (tier) => evicted.push(tier) });
    // a-basic has TTL 5; mx has a longer TTL. At T0 + 6 s a-basic is stale, mx still fresh.
    const [stale] = load(cache, ['a-basic']);
    const [fresh] = load(cache, ['mx']);
    expect(cache.lookup(fresh, T0 + 6_000)?.state).toBe('fresh');
    expect(cache.lookup(stale, T0 + 6_000)?.state).toBe('stale'); // most recently used, but stale
    load(cache, ['aaaa-basic']);
    expect(evicted).toEqual(['secondary']);
    expect(cache.lookup(stale, T0 + 6_000)).toBeUndefined();
    expect(cache.lookup(fresh, T0 + 6_000)?.state).toBe('fresh');
  });

  it('sweep demotes expired entries and drops those past staleMaxAge unless told to keep them', () => {
    const cache = new DnsCache({ ...OPEN, staleMaxAgeSeconds: 60 }, hooks());
    const [a, mx] = load(cache, ['a-basic', 'mx']);
    expect(cache.sweep(T0 + 6_000, () => false)).toEqual({ demoted: 1, dropped: 0 });
    expect(cache.staleEntries).toBe(1);
    expect(cache.sweep(T0 + 66_000, () => true)).toEqual({ demoted: 0, dropped: 0 });
    expect(cache.sweep(T0 + 66_000, () => false)).toEqual({ demoted: 0, dropped: 1 });
    expect(cache.has(a)).toBe(false);
    expect(cache.has(mx)).toBe(true);
  });

  it('holds at most maxBytes of arena, evicting the least recently used, and counts what it holds exactly', () => {
    // Slabs of 4 KiB, two of them: each entry is its key, its message, its TTL table and an 8-byte block header.
    let evictions = 0;
    const cache = new DnsCache(
      { ...OPEN, maxBytes: 8192, slabBytes: 4096 },
      hooks(() => evictions++),
    );
    const names = Array.from({ length: 400 }, (_, i) => answerFor(`n${i}.bounds.test`));
    for (const { key, response } of names) {
      cache.put(key, response, scanResponse(response), T0);
      expect(cache.arenaBytes).toBeLessThanOrEqual(8192);
    }
    expect(evictions).toBe(400 - cache.entries);
    expect(cache.entries).toBeGreaterThan(80);
    // The oldest went, the newest stayed.
    expect(cache.has(names[0].key)).toBe(false);
    expect(cache.lookup(names[399].key, T0)?.state).toBe('fresh');
    // bytes is every typed array and slab the cache holds: more than the arena, by the per-slot columns.
    expect(cache.bytes).toBeGreaterThan(cache.arenaBytes);
    expect(cache.bytes - cache.arenaBytes).toBeLessThan(64 * 1024);
  });

  it('stays within both bounds under a stream of distinct keys, larger answers included', () => {
    const cache = new DnsCache({ ...OPEN, maxEntries: 1000, maxBytes: 64 * 1024, slabBytes: 16 * 1024 }, hooks());
    for (let i = 0; i < 3000; i++) {
      const { key, response } = answerFor(`k${i}.flood.test`, { records: i % 10 === 0 ? 60 : 1 });
      expect(cache.put(key, response, scanResponse(response), T0).cached).toBe(true);
      expect(cache.arenaBytes).toBeLessThanOrEqual(64 * 1024);
      expect(cache.entries).toBeLessThanOrEqual(1000);
    }
    expect(cache.has(answerFor('k0.flood.test').key)).toBe(false);
    expect(cache.lookup(answerFor('k2999.flood.test').key, T0)?.state).toBe('fresh');
  });

  it('keeps its entries, their order and their stale tier when the bounds change (a reload)', () => {
    const cache = new DnsCache({ ...OPEN, maxEntries: 100 }, hooks());
    const names = Array.from({ length: 10 }, (_, i) => answerFor(`r${i}.reload.test`, { ttl: 5 + i }));
    for (const { key, response } of names) cache.put(key, response, scanResponse(response), T0);
    cache.sweep(T0 + 6_500, () => false); // r0, r1 (TTL 5, 6) expired: secondary tier
    expect(cache.staleEntries).toBe(2);
    cache.reconfigure({ ...OPEN, maxEntries: 5 });
    // Five stay: the stale ones went first, then the least recently used fresh ones.
    expect(cache.entries).toBe(5);
    expect(names.map((n) => cache.has(n.key))).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
    ]);
    const kept = cache.lookup(names[9].key, T0);
    expect(kept?.entry.ttlSeconds).toBe(14);
    expect(kept?.entry.bytes).toEqual(names[9].response);
  });
});
