import { type CacheEntry, type CacheOptions, DnsCache } from '../../src/cache/index.js';
import { seededRandom } from '../../src/util/random.js';
import { Flag, isRejection, parseQuery, type Query, scanResponse } from '../../src/wire/index.js';
import { fixture, RESPONSE_FACTS } from '../wire/fixtures.js';

/** Wide-open bounds, so a test only meets the limit it sets itself. */
export const OPEN: CacheOptions = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  minTtlSeconds: 0,
  maxTtlSeconds: 7 * 24 * 3600,
  maxNegativeTtlSeconds: 3600,
  staleMaxAgeSeconds: 86_400,
  refreshFrom: 0.75,
  refreshTo: 0.95,
};

/** Hooks with a seeded random source, so refresh points are repeatable. */
export const hooks = (onEvict?: () => void) => ({ random: seededRandom(1), onEvict });

/** Fetch time of every entry in these tests: an arbitrary fixed instant, so ages are exact. */
export const T0 = 1_700_000_000_000;

export function query(bytes: Buffer): Query {
  const r = parseQuery(bytes);
  if (isRejection(r)) throw new Error(`test query rejected: ${r.reason}`);
  return r;
}

/** Admits `response` under the key of `queryBytes` at T0. */
export function admit(
  queryBytes: Buffer,
  response: Buffer,
  opts: Partial<CacheOptions> = {},
  nowMs = T0,
): { cache: DnsCache; entry: CacheEntry; cached: boolean; q: Query } {
  const cache = new DnsCache({ ...OPEN, ...opts }, hooks());
  const q = query(queryBytes);
  const { entry, cached } = cache.put(q.key, response, scanResponse(response), nowMs);
  return { cache, entry, cached, q };
}

/** A copy of a non-EDNS query with an OPT record appended (ARCOUNT 1). */
export function withOpt(queryBytes: Buffer, { udpSize = 1232, dnssecOk = false } = {}): Buffer {
  const b = Buffer.concat([
    queryBytes,
    Buffer.from([0, 0, 41, udpSize >> 8, udpSize & 0xff, 0, 0, dnssecOk ? 0x80 : 0, 0, 0, 0]),
  ]);
  b.writeUInt16BE(b.readUInt16BE(10) + 1, 10);
  return b;
}

/** A copy of an EDNS query with its OPT (the last 11 bytes, no options) removed. */
export function withoutOpt(queryBytes: Buffer): Buffer {
  const b = Buffer.from(queryBytes.subarray(0, queryBytes.length - 11));
  b.writeUInt16BE(b.readUInt16BE(10) - 1, 10);
  return b;
}

/** Ballast's own OPT record as the tests expect it, built by hand: root owner, type 41, payload size, DO, EDE. */
export function ownOpt(udpSize: number, dnssecOk: boolean, ede?: number, extendedRcode = 0): Buffer {
  const head = [
    0,
    0,
    41,
    udpSize >> 8,
    udpSize & 0xff,
    extendedRcode,
    0,
    dnssecOk ? 0x80 : 0,
    0,
    0,
    ede === undefined ? 0 : 6,
  ];
  return Buffer.from(ede === undefined ? head : [...head, 0, 15, 0, 2, ede >> 8, ede & 0xff]);
}

/**
 * The upstream's answer as ballast serves it to `clientQuery` after `ageSeconds`, built from the independently
 * decoded facts: the upstream OPT cut out (TTLs after it move up), AA cleared and RA set, the client's ID, question
 * and RD bit, aged TTLs, and ballast's OPT at the end when the client sent EDNS.
 */
export function expected(
  name: string,
  clientQuery: Buffer,
  ageSeconds: number,
  opts: { udpSize?: number; ede?: number; fixedTtl?: number; response?: Buffer } = {},
): Buffer {
  const response = opts.response ?? fixture(name).response;
  const facts = RESPONSE_FACTS[name];
  const [optStart, optEnd] = facts.opt ?? [response.length, response.length];
  const body = Buffer.concat([response.subarray(0, optStart), response.subarray(optEnd)]);
  if (facts.opt) body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  body.writeUInt16BE(
    (body.readUInt16BE(2) & ~Flag.AA & ~Flag.RD) | Flag.RA | (clientQuery.readUInt16BE(2) & Flag.RD),
    2,
  );
  clientQuery.copy(body, 0, 0, 2);
  clientQuery.copy(body, 12, 12, facts.questionEnd);
  for (const [at, , ttl] of facts.records) {
    const moved = at >= optEnd ? at - (optEnd - optStart) : at;
    body.writeUInt32BE(opts.fixedTtl ?? Math.max(ttl - ageSeconds, 0), moved);
  }
  const q = query(clientQuery);
  if (!q.edns) return body;
  body.writeUInt16BE(body.readUInt16BE(10) + 1, 10);
  return Buffer.concat([body, ownOpt(opts.udpSize ?? 1232, q.dnssecOk, opts.ede)]);
}

/** The wire form of a name. */
export function wireName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/**
 * A NOERROR answer for `name` A with `records` A records (TTL `ttl`), and its cache key: for tests that need many
 * distinct names (the fixtures are one name each).
 */
export function answerFor(name: string, { records = 1, ttl = 300 } = {}): { key: string; response: Buffer } {
  const qname = wireName(name);
  const head = Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, records, 0, 0, 0, 0]);
  const rrs = Array.from({ length: records }, (_, i) => {
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, i & 0xff]);
    rr.writeUInt32BE(ttl, 6);
    return rr;
  });
  const response = Buffer.concat([head, qname, Buffer.from([0, 1, 0, 1]), ...rrs]);
  const request = Buffer.concat([Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 1, 0, 1])]);
  return { key: query(request).key, response };
}
