// The codec bugs the fuzz campaign (test/fuzz) found, each pinned down by a crafted message so it stays fixed
// whatever seed the campaign runs with.
import { describe, expect, it } from 'vitest';
import { DnsCache } from '../../src/cache/index.js';
import { checkResponse } from '../../src/upstream/validate.js';
import { seededRandom } from '../../src/util/random.js';
import {
  answersQuestion,
  isRejection,
  MalformedMessageError,
  parseQuery,
  scanResponse,
  storedForm,
  upstreamQuery,
} from '../../src/wire/index.js';
import { strictDecode } from '../fuzz/strict.js';
import { header, labels, opt, question, rr, u16 } from './bytes.js';

const WWW = labels('www', 'example', 'test');
const PTR_Q = Buffer.from([0xc0, 12]); // the question's name
const A = (bytes = [192, 0, 2, 1]) => Buffer.from(bytes);

/** A response to "www.example.test A" with `records` in the answer section and `extra` in the additional one. */
function response(records: Buffer[], extra: Buffer[] = [], flags = 0x8180): Buffer {
  return Buffer.concat([header({ flags, an: records.length, ar: extra.length }), question(WWW), ...records, ...extra]);
}

const malformed = (msg: Buffer) => expect(() => scanResponse(msg)).toThrow(MalformedMessageError);

describe('RDATA that does not fit its type (wire/rdata.ts)', () => {
  it.each([
    ['an A record of 3 bytes', rr(PTR_Q, 1, 60, A([1, 2, 3]))],
    ['an AAAA of 4 bytes', rr(PTR_Q, 28, 60, A())],
    ['a CNAME whose name runs past its RDATA', rr(PTR_Q, 5, 60, Buffer.from([3, 0x61, 0x62]))],
    ['a CNAME with a stray byte after its name', rr(PTR_Q, 5, 60, Buffer.concat([labels('a'), Buffer.from([7])]))],
    ['an MX of 2 bytes', rr(PTR_Q, 15, 60, u16(10))],
    ['a TXT string longer than its RDATA', rr(PTR_Q, 16, 60, Buffer.from([5, 0x61]))],
    ['an empty TXT', rr(PTR_Q, 16, 60, Buffer.alloc(0))],
  ])('%s is malformed', (_, record) => malformed(response([record])));

  it('leaves types it does not know alone (RFC 3597)', () => {
    expect(scanResponse(response([rr(PTR_Q, 65280, 60, A([1, 2, 3]))])).ancount).toBe(1);
  });
});

describe('compression pointers (RFC 1035 §4.1.4): only to a prior name', () => {
  it('refuses a name made from the header (the ID, which ballast rewrites per client)', () => {
    const owner = Buffer.from([0xc0, 0]);
    malformed(response([rr(owner, 1, 60, A())]));
  });

  it('refuses a name made from an earlier record’s TYPE, CLASS and TTL', () => {
    const first = rr(PTR_Q, 1, 60, A());
    // The first record starts at 34 (12 + 22-byte question); its TYPE at 36.
    malformed(response([first, rr(Buffer.from([0xc0, 36]), 1, 60, A())]));
  });

  it('refuses a name that runs into its own record (a label over its own TTL)', () => {
    // The first record's opaque RDATA (46–50) ends in 12: read as a label at 50, it would cover the second record's
    // owner pointer (51) and its own TYPE, CLASS and TTL.
    const first = rr(PTR_Q, 65280, 60, Buffer.from([3, 0x61, 0x62, 0x63, 12]));
    expect(scanResponse(response([first])).ancount).toBe(1);
    malformed(response([first, rr(Buffer.from([0xc0, 50]), 1, 60, A())]));
  });

  it('accepts what real servers write: pointers to the question and to earlier names', () => {
    const cname = rr(PTR_Q, 5, 60, Buffer.concat([Buffer.from([3, 0x63, 0x64, 0x6e]), PTR_Q])); // cdn.www.example.test
    expect(scanResponse(response([cname, rr(Buffer.from([0xc0, 46]), 1, 60, A())])).ancount).toBe(2);
  });
});

describe('what validation and storing do with odd answers', () => {
  const q = parseQuery(Buffer.concat([header({ id: 7 }), question(WWW)]));
  if (isRejection(q)) throw new Error('the query is valid');
  const sent = upstreamQuery(q, 1232);
  sent.writeUInt16BE(7, 0);

  it('rejects an answer with another opcode than the query (RFC 1035 §4.1.1)', () => {
    const msg = response([rr(PTR_Q, 1, 60, A())], [], 0x8180 | (2 << 11));
    msg.writeUInt16BE(7, 0);
    expect(checkResponse(msg, sent, q.questionEnd)).toBe('malformed');
  });

  it('serves an extended rcode to a client without EDNS as SERVFAIL, not as its low bits (16 as NOERROR)', () => {
    const msg = response([], [opt({ extendedRcode: 1 })]);
    const cache = new DnsCache(
      {
        maxEntries: 10,
        maxBytes: 1 << 20,
        minTtlSeconds: 0,
        maxTtlSeconds: 3600,
        maxNegativeTtlSeconds: 3600,
        staleMaxAgeSeconds: 0,
        refreshFrom: 0.75,
        refreshTo: 0.95,
      },
      { random: seededRandom(1) },
    );
    const { entry } = cache.put(q.key, msg, scanResponse(msg), 0);
    expect(entry.rcode).toBe(16);
    const out = entry.render(q, 0, { maxSize: 512, udpSize: 1232 });
    expect(out.readUInt16BE(2) & 0xf).toBe(2);
    expect(out.readUInt16BE(10)).toBe(0);
  });

  it('moves records after a mid-message OPT up with their pointers, or cuts them when they point into it', () => {
    const glue = rr(labels('ns', 'example', 'test'), 1, 60, A());
    const more = rr(Buffer.from([0xc0, 34 + 11]), 1, 60, A([192, 0, 2, 2])); // its owner points at the glue's
    const moved = response([], [opt(), glue, more]);
    const stored = storedForm(moved, scanResponse(moved));
    expect(strictDecode(stored.bytes).records.map((r) => `${r.owner} ${r.rdata}`)).toEqual([
      'ns.example.test 192.0.2.1',
      'ns.example.test 192.0.2.2',
    ]);
    // A name inside the OPT record (its root owner at 34): nothing after the OPT can be kept.
    const into = response(
      [],
      [opt(), rr(Buffer.concat([Buffer.from([1, 0x78]), Buffer.from([0xc0, 34])]), 1, 60, A())],
    );
    expect(strictDecode(storedForm(into, scanResponse(into)).bytes).records).toEqual([]);
  });
});

describe('answersQuestion (RFC 1034 §4.3.2, RFC 6672)', () => {
  const accepts = (msg: Buffer) => answersQuestion(msg, scanResponse(msg));
  const target = labels('cdn', 'other', 'test');

  it('accepts the qname’s records, a CNAME chain in any order, and a DNAME above the qname', () => {
    expect(accepts(response([rr(PTR_Q, 1, 60, A())]))).toBe(true);
    const chain = [rr(target, 1, 60, A()), rr(PTR_Q, 5, 60, target)];
    expect(accepts(response(chain))).toBe(true);
    expect(accepts(response([rr(labels('example', 'test'), 39, 60, labels('other', 'test')), ...chain]))).toBe(true);
  });

  it('refuses a record for a name outside the chain, of another type, or of another class', () => {
    expect(accepts(response([rr(PTR_Q, 1, 60, A()), rr(labels('victim', 'test'), 1, 60, A())]))).toBe(false);
    expect(accepts(response([rr(PTR_Q, 16, 60, Buffer.from([1, 0x78]))]))).toBe(false);
    expect(accepts(response([rr(PTR_Q, 1, 60, A(), 4, 3)]))).toBe(false);
    expect(accepts(response([rr(labels('example', 'test'), 1, 60, A())]))).toBe(false);
  });
});
