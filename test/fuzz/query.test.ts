// Property-based fuzzing of the query side of the codec (docs/design.md §6): parseQuery and the error replies
// ballast writes for what it rejects, against the independent decoder in strict.ts. See params.ts to re-run a failure.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { isRejection, parseQuery, type Query, type QueryRejection, synthesize } from '../../src/wire/index.js';
import { applyBreak, breakPlan, noise, query } from './arbitraries.js';
import { encode } from './model.js';
import { fuzz, must, runs, same } from './params.js';
import { strictDecode, tryStrictDecode } from './strict.js';

/**
 * How a query is read: ballast skips its records (an OPT aside) unread, so only their bounds matter, and ignores
 * bytes after the last one (as BIND and Unbound do).
 */
const QUERY = { rdata: false, ednsOptions: false, fixedFields: false, trailing: true };

/** What an independent reading says ballast must do with `raw`: accept it, answer it with an error, or drop it. */
function expected(raw: Buffer): 'query' | 'error' | 'drop' {
  if (raw.length < 12 || raw[2] & 0x80) return 'drop';
  const qdcount = raw.readUInt16BE(4);
  const opcode = (raw[2] >> 3) & 0xf;
  // An unreadable question is dropped, but a name too long of well-formed labels is a format error (RFC 1035 §2.3.4).
  if (qdcount === 1 && uncompressedQuestionEnd(raw) === undefined && opcode === 0)
    return overlong(raw) ? 'error' : 'drop';
  if (opcode !== 0 || qdcount !== 1) return 'error';
  const m = tryStrictDecode(raw, QUERY);
  if (m === undefined) return 'error';
  return m.opt !== undefined && m.opt.version !== 0 ? 'error' : 'query';
}

/** Offset past an uncompressed question at 12 (a query's question may not use pointers), or undefined. */
function uncompressedQuestionEnd(raw: Buffer): number | undefined {
  let pos = 12;
  let total = 1;
  for (;;) {
    if (pos >= raw.length) return undefined;
    const len = raw[pos];
    if (len === 0) return pos + 5 <= raw.length ? pos + 5 : undefined;
    if (len > 63) return undefined;
    total += len + 1;
    if (total > 255) return undefined;
    pos += len + 1;
  }
}

/** Whether the question's name is labels of at most 63 octets, ending inside the datagram, over 255 octets in all. */
function overlong(raw: Buffer): boolean {
  let total = 1;
  for (let pos = 12; pos < raw.length; pos += raw[pos] + 1) {
    if (raw[pos] === 0) return total > 255;
    if (raw[pos] > 63) return false;
    total += raw[pos] + 1;
  }
  return false;
}

function checkAccepted(raw: Buffer, q: Query): void {
  const m = strictDecode(raw, QUERY);
  const end = uncompressedQuestionEnd(raw)!;
  same(q.questionEnd, end, 'questionEnd');
  same(q.id, raw.readUInt16BE(0), 'id');
  same(q.qtype, raw.readUInt16BE(end - 4), 'qtype');
  same(q.qclass, raw.readUInt16BE(end - 2), 'qclass');
  same(q.edns, m.opt !== undefined, 'edns');
  same(q.dnssecOk, m.opt?.do ?? false, 'DO');
  same(q.udpSize, Math.max(m.opt?.udpSize ?? 512, 512), 'udpSize');
  same(q.checkingDisabled, (raw[3] & 0x10) !== 0, 'CD');
  // The key holds the name with A–Z folded and nothing else changed (RFC 4343).
  const folded = Buffer.from(raw.subarray(12, end - 4)).map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c));
  same(q.qname, Buffer.from(folded).toString('latin1'), 'qname');
}

/** An error reply: strictly well-formed, the client's ID, opcode and question, the rcode, OPT iff the query had one. */
function checkErrorReply(raw: Buffer, r: QueryRejection): void {
  const reply = synthesize({ raw, questionEnd: r.questionEnd, edns: r.edns }, r.rcode!, { udpSize: 1232, ede: 22 });
  const m = strictDecode(reply);
  same(m.id, raw.readUInt16BE(0), 'id');
  must(m.flags & 0x8000, 'QR=0 in a reply');
  same((m.flags >> 11) & 0xf, (raw[2] >> 3) & 0xf, 'opcode');
  same(m.rcode, r.rcode, 'rcode');
  same(m.records.length, 0, 'records');
  if (r.questionEnd > 0) must(reply.subarray(12, r.questionEnd).equals(raw.subarray(12, r.questionEnd)), 'question');
  else same(m.question.length, 0, 'questions');
  same(m.opt !== undefined, r.edns, 'OPT');
}

/** The invariants for any datagram: no exception; accepted, answered with an error, or dropped exactly as expected. */
function check(raw: Buffer): void {
  const r = parseQuery(raw);
  const want = expected(raw);
  if (!isRejection(r)) {
    same('query', want, 'accepted');
    checkAccepted(raw, r);
  } else if (r.rcode === undefined) {
    same('drop', want, `dropped (${r.reason})`);
  } else {
    same('error', want, `answered with rcode ${r.rcode} (${r.reason})`);
    checkErrorReply(raw, r);
  }
}

describe('parseQuery, fuzzed', () => {
  it(`random bytes: never throws, and drops or answers each as an independent reading says (${runs(25_000)})`, () => {
    fc.assert(
      fc.property(noise, (raw) => check(raw)),
      fuzz(25_000),
    );
  });

  it(`random bytes behind a plausible query header (${runs(15_000)})`, () => {
    const plausible = fc.tuple(noise, fc.integer({ min: 0, max: 0xffff })).map(([b, id]) => {
      const raw = Buffer.concat([Buffer.alloc(12), b]);
      raw.writeUInt16BE(id, 0);
      raw.writeUInt16BE(0x0100, 2);
      raw.writeUInt16BE(1, 4);
      if (b.length > 0) raw.writeUInt16BE(b[0] & 1, 10);
      return raw;
    });
    fc.assert(
      fc.property(plausible, (raw) => check(raw)),
      fuzz(15_000),
    );
  });

  it(`valid queries are accepted with every field right (${runs(10_000)})`, () => {
    fc.assert(
      fc.property(query, (c) => {
        const raw = encode(c.message, false).bytes;
        check(raw);
        const ok = ((c.message.flags >> 11) & 0xf) === 0 && (c.edns?.version ?? 0) === 0;
        same(isRejection(parseQuery(raw)), !ok, 'rejected');
      }),
      fuzz(10_000),
    );
  });

  it(`valid queries with one field broken: counts, label lengths and types, pointers, RDLENGTH, OPT placement (${runs(20_000)})`, () => {
    fc.assert(
      fc.property(query, breakPlan, (c, b) => check(applyBreak(encode(c.message, true), b))),
      fuzz(20_000),
    );
  });
});
