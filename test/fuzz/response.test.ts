// Property-based fuzzing of the response side (docs/design.md §6): scanResponse against the independent decoder,
// then an upstream answer's whole way through ballast — validated, stored, rendered for a client — with the reply
// compared, record by record, to what the upstream sent. See params.ts to re-run a failure.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { DnsCache } from '../../src/cache/index.js';
import { checkResponse, isScan } from '../../src/upstream/validate.js';
import { seededRandom } from '../../src/util/random.js';
import {
  isRejection,
  MalformedMessageError,
  parseQuery,
  type Query,
  type ResponseScan,
  scanResponse,
  upstreamQuery,
} from '../../src/wire/index.js';
import { applyBreak, breakPlan, buildResponse, noise, query, responsePlan, sometimesBroken } from './arbitraries.js';
import { encode } from './model.js';
import { answersQuestion } from './oracle.js';
import { fuzz, must, runs, same } from './params.js';
import { type StrictMessage, type StrictRecord, strictDecode, tryStrictDecode } from './strict.js';

/** How an upstream's message is read: its OPT is dropped unread, so its options need not parse. */
const UPSTREAM = { ednsOptions: false };

/** scanResponse, or undefined for MalformedMessageError; anything else it throws fails the property. */
function scan(buf: Buffer): ResponseScan | undefined {
  try {
    return scanResponse(buf);
  } catch (err) {
    if (err instanceof MalformedMessageError) return undefined;
    throw err;
  }
}

/** ballast reads a message exactly when the independent decoder does, and finds the same TTLs and OPT. */
function checkScan(buf: Buffer): void {
  const s = scan(buf);
  const m = tryStrictDecode(buf, UPSTREAM);
  same(s !== undefined, m !== undefined, 'scanResponse accepts what the strict decoder accepts');
  if (s === undefined || m === undefined) return;
  same(s.ttlOffsets.join(), m.records.map((r) => r.ttlAt).join(), 'TTL offsets');
  same(s.ttls.join(), m.records.map((r) => (r.ttl > 0x7fffffff ? 0 : r.ttl)).join(), 'TTLs (RFC 2181 §8)');
  same(s.topBitTtls, m.records.filter((r) => r.ttl > 0x7fffffff).length, 'TTLs with the top bit set');
  same(s.rcode, m.rcode, 'rcode');
  same(s.optStart !== -1, m.opt !== undefined, 'OPT');
}

/** The labels of the uncompressed question name at offset 12. */
function labelsOf(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 12; raw[p] !== 0; p += raw[p] + 1) out.push(raw.subarray(p + 1, p + 1 + raw[p]));
  return out;
}

const key = (r: StrictRecord) => `${r.section} ${r.owner} ${r.type} ${r.klass} ${r.rdata}`;

/**
 * `got` holds `sent`'s records (OPT aside) in order, none with a TTL above what was sent (high bit: 0). Additional
 * records after a mid-message OPT may be missing (src/wire/stored.ts), nothing else.
 */
function sameRecords(got: StrictMessage, sent: StrictMessage, maxTtl: number): void {
  const kept = sent.records.slice(0, got.records.length);
  same(got.records.map(key).join('\n'), kept.map(key).join('\n'), 'records');
  const missing = sent.records.slice(got.records.length);
  must(
    missing.length === 0 || (missing.every((r) => r.section === 'additional') && sent.opt !== undefined),
    'records missing from the reply',
  );
  got.records.forEach((r, i) => {
    const was = sent.records[i].ttl > 0x7fffffff ? 0 : sent.records[i].ttl;
    must(r.ttl <= Math.min(was, maxTtl), () => `record ${i}: TTL ${r.ttl} above ${Math.min(was, maxTtl)}`);
  });
}

const cache = new DnsCache(
  {
    maxEntries: 200,
    maxBytes: 256 * 1024,
    minTtlSeconds: 0,
    maxTtlSeconds: 604_800,
    maxNegativeTtlSeconds: 3600,
    staleMaxAgeSeconds: 86_400,
    refreshFrom: 0.75,
    refreshTo: 0.95,
  },
  { random: seededRandom(1) },
);
const T0 = 1_700_000_000_000;

/** A query the fuzz may send upstream: one ballast accepted. */
const client = query
  .map((c) => encode(c.message, false).bytes)
  .map((raw) => parseQuery(raw))
  .filter((q): q is Query => !isRejection(q));

describe('scanResponse, fuzzed', () => {
  it(`random bytes: throws nothing but MalformedMessageError, reads what the strict decoder reads (${runs(15_000)})`, () => {
    fc.assert(
      fc.property(noise, (b) => checkScan(b)),
      fuzz(15_000),
    );
  });

  it(`valid responses, some with one field broken (${runs(15_000)})`, () => {
    fc.assert(
      fc.property(client, responsePlan, fc.option(breakPlan, { freq: 2 }), (q, plan, brk) => {
        const encoded = buildResponse(plan, q.id, { name: [], type: q.qtype, klass: q.qclass });
        checkScan(brk === null ? encoded.bytes : applyBreak(encoded, brk));
      }),
      fuzz(15_000),
    );
  });
});

describe('an upstream answer through validation, the cache and rendering, fuzzed', () => {
  it(`every reply is well-formed, carries the client's ID and question, and the upstream's records (${runs(12_000)})`, () => {
    const args = fc.tuple(client, responsePlan, sometimesBroken, fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(args, fc.nat({ max: 100_000 }), fc.boolean(), ([q, plan, brk, id], ageMs, tcp) => {
        const sent = upstreamQuery(q, 1232);
        sent.writeUInt16BE(id, 0);
        const encoded = buildResponse(plan, id, { name: labelsOf(q.raw), type: q.qtype, klass: q.qclass });
        const response = brk === null ? encoded.bytes : applyBreak(encoded, brk);
        const verdict = checkResponse(response, sent, q.questionEnd);
        if (!isScan(verdict)) return;
        const upstream = strictDecode(response, UPSTREAM);
        same(upstream.id, id, 'accepted an answer with another ID');
        must(answersQuestion(upstream), 'accepted an answer section that does not answer the question');
        const { entry, cached } = cache.put(q.key, response, verdict, T0);
        if (cached) must(scan(entry.bytes) !== undefined, 'cached bytes that do not scan');
        const maxSize = tcp ? 65535 : Math.min(q.udpSize, 1232);
        const reply = entry.render(q, T0 + ageMs, { maxSize, udpSize: 1232 });
        const m = strictDecode(reply);
        same(m.id, q.id, 'reply ID');
        must(reply.subarray(12, q.questionEnd).equals(q.raw.subarray(12, q.questionEnd)), 'reply question');
        same(m.opt !== undefined, q.edns, 'OPT iff the client sent one (RFC 6891 §7)');
        // An extended rcode cannot reach a client without EDNS: it gets SERVFAIL instead (src/cache/entry.ts).
        const lost = verdict.rcode > 15 && !q.edns;
        same(m.rcode, lost ? 2 : verdict.rcode, 'rcode');
        must(reply.length <= maxSize, 'reply larger than the client takes');
        if (m.flags & 0x0200 || lost) same(m.records.length, 0, 'records in a TC=1 or SERVFAIL reply');
        // cache.maxTtlSeconds caps what is stored; an answer passed on uncached keeps its TTLs.
        else sameRecords(m, upstream, cached ? 604_800 : 0xffffffff);
        must(cache.entries <= 200 && cache.bytes <= cache.maxHeldBytes, 'cache over its bounds');
      }),
      fuzz(12_000),
    );
  });
});
