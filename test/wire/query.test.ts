import { describe, expect, it } from 'vitest';
import { isRejection, type ParseResult, parseQuery, type Query, type QueryRejection } from '../../src/wire/index.js';
import {
  header,
  labels,
  lowerCase,
  mixCase,
  mutate,
  opt,
  prng,
  question,
  randomBytes,
  rr,
  u16,
  withCounts,
} from './bytes.js';
import { fixture, fixtureCases, qtypeNumber, wireName } from './fixtures.js';

function asQuery(r: ParseResult): Query {
  if (isRejection(r)) throw new Error(`expected a query, got rejection ${JSON.stringify(r)}`);
  return r;
}

function asRejection(r: ParseResult): QueryRejection {
  if (!isRejection(r)) throw new Error(`expected a rejection, got a query for ${r.key}`);
  return r;
}

describe('parseQuery on every fixture query', () => {
  for (const meta of fixtureCases()) {
    it(meta.name, () => {
      const { query } = fixture(meta.name);
      const q = asQuery(parseQuery(query));
      const lowerWire = wireName(meta.qname.toLowerCase()).toString('latin1');
      expect(q.raw).toBe(query);
      expect(q.id).toBe(query.readUInt16BE(0));
      expect(q.qtype).toBe(qtypeNumber(meta.qtype));
      expect(q.qclass).toBe(1);
      expect(q.qname).toBe(lowerWire);
      expect(q.key.startsWith(lowerWire)).toBe(true);
      expect(q.key).toBe(q.key.toLowerCase());
      expect(q.questionEnd).toBe(12 + wireName(meta.qname).length + 4);
      expect(q.edns).toBe(meta.edns_udp_size !== null);
      expect(q.udpSize).toBe(meta.edns_udp_size ?? 512);
      expect(q.dnssecOk).toBe(meta.do);
      expect(q.checkingDisabled).toBe(false);
    });
  }

  it('gives the 0x20 mixed-case query the key of its lower-case form', () => {
    const { query } = fixture('mixed-case-0x20');
    const mixed = asQuery(parseQuery(query));
    expect(query.toString('latin1', 12, mixed.questionEnd - 4)).not.toBe(mixed.qname);
    const lower = asQuery(parseQuery(lowerCase(query, 12, mixed.questionEnd - 4)));
    expect(mixed.key).toBe(lower.key);
    expect(mixed.qname).toBe(wireName('svc-2.ns-0.svc.cluster.local').toString('latin1'));
  });

  it('keys apart what changes an answer (qtype, qclass, DO, CD) and not what does not (ID, RD, case)', () => {
    const name = wireName('Svc-1.ns-0.svc.cluster.local');
    const key = (h: Parameters<typeof header>[0], qtype = 1, qclass = 1, o?: Buffer) =>
      asQuery(
        parseQuery(
          Buffer.concat([header({ ...h, ar: o ? 1 : 0 }), question(name, qtype, qclass), o ?? Buffer.alloc(0)]),
        ),
      ).key;
    const base = key({});
    expect(key({ id: 1, flags: 0 })).toBe(base);
    expect(asQuery(parseQuery(mixCase(Buffer.concat([header(), question(name)]), 12, 42))).key).toBe(base);
    expect(key({}, 1, 1, opt())).toBe(base);
    expect(key({}, 28)).not.toBe(base);
    expect(key({}, 1, 3)).not.toBe(base);
    expect(key({}, 1, 1, opt({ dnssecOk: true }))).not.toBe(base);
    expect(key({ flags: 0x0110 })).not.toBe(base);
    expect(key({ flags: 0x0110 })).not.toBe(key({}, 1, 1, opt({ dnssecOk: true })));
  });

  it('reads CD, and raises a UDP size under 512 to 512 (RFC 6891 §6.2.5)', () => {
    const q = asQuery(
      parseQuery(Buffer.concat([header({ flags: 0x0110, ar: 1 }), question(labels('a')), opt({ udpSize: 100 })])),
    );
    expect(q.checkingDisabled).toBe(true);
    expect(q.edns).toBe(true);
    expect(q.udpSize).toBe(512);
    expect(q.flags).toBe(0x0110);
  });
});

const NAME = wireName('svc-1.ns-0.svc.cluster.local');
const Q = question(NAME);
const QEND = 12 + Q.length; // 46
const STATUS = 2 << 11;
const NOTIFY = 4 << 11;

interface BadCase {
  readonly name: string;
  readonly bytes: Buffer;
  readonly reason: QueryRejection['reason'];
  readonly rcode: number | undefined;
  readonly questionEnd: number;
  readonly edns?: boolean;
}

const label64 = 'x'.repeat(64);
const l63 = 'y'.repeat(63);

const BAD: BadCase[] = [
  { name: 'empty datagram', bytes: Buffer.alloc(0), reason: 'short', rcode: undefined, questionEnd: 0 },
  {
    name: 'truncated header (11 bytes)',
    bytes: header().subarray(0, 11),
    reason: 'short',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'QR=1 (a response)',
    bytes: Buffer.concat([header({ flags: 0x8100 }), Q]),
    reason: 'response',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'opcode STATUS with a readable question',
    bytes: Buffer.concat([header({ flags: STATUS | 0x0100 }), Q]),
    reason: 'opcode',
    rcode: 4,
    questionEnd: QEND,
  },
  {
    name: 'opcode NOTIFY with a readable question',
    bytes: Buffer.concat([header({ flags: NOTIFY }), Q]),
    reason: 'opcode',
    rcode: 4,
    questionEnd: QEND,
  },
  {
    name: 'opcode NOTIFY with no question',
    bytes: header({ flags: NOTIFY, qd: 0 }),
    reason: 'opcode',
    rcode: 4,
    questionEnd: 0,
  },
  {
    name: 'opcode STATUS with an unreadable question',
    bytes: Buffer.concat([header({ flags: STATUS }), Q.subarray(0, 10)]),
    reason: 'opcode',
    rcode: 4,
    questionEnd: 0,
  },
  { name: 'QDCOUNT 0', bytes: header({ qd: 0 }), reason: 'qdcount', rcode: 1, questionEnd: 0 },
  {
    name: 'QDCOUNT 2',
    bytes: Buffer.concat([header({ qd: 2 }), Q, question(wireName('other.example'))]),
    reason: 'qdcount',
    rcode: 1,
    questionEnd: 0,
  },
  {
    name: 'compression pointer in the question',
    bytes: Buffer.concat([header(), Buffer.from([3, 0x61, 0x62, 0x63, 0xc0, 0x0c]), u16(1), u16(1)]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'question that is only a pointer into the header',
    bytes: Buffer.concat([header(), Buffer.from([0xc0, 0x00]), u16(1), u16(1)]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'label of 64 bytes',
    bytes: Buffer.concat([header(), question(labels(label64, 'local'))]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'extended label type 0b01 (RFC 6891 §5)',
    bytes: Buffer.concat([header(), Buffer.from([0x41, 0, 0]), u16(1), u16(1)]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    // 4 × 63-byte labels: 4 × 64 + 1 = 257 bytes on the wire.
    name: 'name of 257 bytes',
    bytes: Buffer.concat([header(), question(labels(l63, l63, l63, l63))]),
    reason: 'long_name',
    rcode: 1,
    questionEnd: 0,
  },
  {
    // 3 × 63 + 62: 3 × 64 + 63 + 1 = 256 bytes, one over.
    name: 'name of 256 bytes',
    bytes: Buffer.concat([header(), question(labels(l63, l63, l63, 'z'.repeat(62)))]),
    reason: 'long_name',
    rcode: 1,
    questionEnd: 0,
  },
  {
    name: 'question without QCLASS',
    bytes: Buffer.concat([header(), Q.subarray(0, Q.length - 2)]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'question name without its root label',
    bytes: Buffer.concat([header(), NAME.subarray(0, NAME.length - 1)]),
    reason: 'question',
    rcode: undefined,
    questionEnd: 0,
  },
  {
    name: 'two OPT records',
    bytes: Buffer.concat([header({ ar: 2 }), Q, opt(), opt()]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
    edns: true,
  },
  {
    name: 'OPT with a non-root owner',
    bytes: Buffer.concat([header({ ar: 1 }), Q, opt({ owner: labels('foo') })]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'OPT whose owner is a pointer to the qname',
    bytes: Buffer.concat([header({ ar: 1 }), Q, opt({ owner: Buffer.from([0xc0, 0x0c]) })]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'OPT in the answer section',
    bytes: Buffer.concat([header({ an: 1 }), Q, opt()]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'ARCOUNT 1 with no record',
    bytes: Buffer.concat([header({ ar: 1 }), Q]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'record whose RDLENGTH overruns the datagram',
    bytes: Buffer.concat([header({ ar: 1 }), Q, rr(Buffer.from([0]), 1, 0, Buffer.from([1, 2]), 4)]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'record with a forward compression pointer',
    bytes: Buffer.concat([header({ ns: 1 }), Q, rr(Buffer.from([0xc0, 0x40]), 1, 0, Buffer.alloc(4))]),
    reason: 'malformed',
    rcode: 1,
    questionEnd: QEND,
  },
  {
    name: 'EDNS version 1',
    bytes: Buffer.concat([header({ ar: 1 }), Q, opt({ version: 1 })]),
    reason: 'badvers',
    rcode: 16,
    questionEnd: QEND,
    edns: true,
  },
];

describe('parseQuery on crafted bad queries', () => {
  for (const c of BAD) {
    it(c.name, () => {
      const r = asRejection(parseQuery(c.bytes));
      expect(r.reason).toBe(c.reason);
      expect(r.rcode).toBe(c.rcode);
      expect(r.questionEnd).toBe(c.questionEnd);
      if (c.edns !== undefined) expect(r.edns).toBe(c.edns);
    });
  }

  it('answers despite bytes after the last record, as BIND and Unbound do: they are ignored', () => {
    const afterQuestion = asQuery(parseQuery(Buffer.concat([header(), Q, Buffer.from([0xde, 0xad, 0xbe, 0xef])])));
    expect([afterQuestion.questionEnd, afterQuestion.edns, afterQuestion.qtype]).toEqual([QEND, false, 1]);
    const afterOpt = asQuery(parseQuery(Buffer.concat([header({ ar: 1 }), Q, opt(), Buffer.from([0])])));
    expect([afterOpt.questionEnd, afterOpt.edns]).toEqual([QEND, true]);
  });

  it('accepts the boundaries those cases sit just past', () => {
    const ok = (bytes: Buffer) => asQuery(parseQuery(bytes));
    // 63-byte label; 255-byte name (3 × 64 + 62 + 1).
    expect(ok(Buffer.concat([header(), question(labels(l63, 'local'))])).qtype).toBe(1);
    const longest = labels(l63, l63, l63, 'z'.repeat(61));
    expect(longest.length).toBe(255);
    expect(ok(Buffer.concat([header(), question(longest)])).questionEnd).toBe(12 + 255 + 4);
    // The root name, and a compressed owner pointing back at the qname in the additional section.
    expect(ok(Buffer.concat([header(), question(Buffer.from([0]), 2)])).qname).toBe('\0');
    const withRecord = Buffer.concat([
      header({ ar: 2 }),
      Q,
      rr(Buffer.from([0xc0, 0x0c]), 1, 0, Buffer.alloc(4)),
      opt(),
    ]);
    expect(ok(withRecord).edns).toBe(true);
    // The OPT need not be the last additional record.
    const optFirst = Buffer.concat([
      header({ ar: 2 }),
      Q,
      opt({ udpSize: 4096 }),
      rr(Buffer.from([0]), 1, 0, Buffer.alloc(4)),
    ]);
    expect(ok(optFirst).udpSize).toBe(4096);
  });

  it('puts the question bytes a NOTIMP reply echoes at the right place', () => {
    const bytes = withCounts(fixture('a-basic').query, {});
    bytes.writeUInt16BE(NOTIFY, 2);
    const r = asRejection(parseQuery(bytes));
    expect(r.rcode).toBe(4);
    expect(bytes.subarray(12, r.questionEnd)).toEqual(fixture('a-basic').query.subarray(12));
  });
});

describe('parseQuery on random and mutated datagrams', () => {
  it('never throws, and every result is a well-formed query or rejection (10,000 seeded inputs)', () => {
    const seed = 0x5eed;
    const rand = prng(seed);
    const queries = fixtureCases().map((c) => fixture(c.name).query);
    const reasons = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const pick = rand.int(10);
      let buf: Buffer;
      if (pick < 3) {
        buf = randomBytes(rand, rand.int(601));
      } else if (pick < 5) {
        // A plausible header (QR=0, QUERY, QDCOUNT 1, a few records) and random bytes after it.
        const h = header({ id: rand.int(65536), flags: rand.int(2) << 8, an: rand.int(2), ar: rand.int(3) });
        buf = Buffer.concat([h, randomBytes(rand, rand.int(589))]);
      } else {
        buf = mutate(rand, queries[rand.int(queries.length)], 600);
      }
      let r: ParseResult;
      try {
        r = parseQuery(buf);
      } catch (err) {
        throw new Error(`seed ${seed}, input ${i} (${buf.toString('hex')}) threw: ${err}`);
      }
      const where = `seed ${seed}, input ${i}: ${buf.toString('hex')}`;
      if (isRejection(r)) {
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
        expect([undefined, 1, 4, 16], where).toContain(r.rcode);
        if (r.rcode === undefined) expect(r.questionEnd, where).toBe(0);
        else if (r.questionEnd !== 0) {
          expect(r.questionEnd, where).toBeGreaterThanOrEqual(12 + 1 + 4);
          expect(r.questionEnd, where).toBeLessThanOrEqual(buf.length);
        }
      } else {
        accepted++;
        expect(r.raw, where).toBe(buf);
        expect(r.questionEnd, where).toBeGreaterThanOrEqual(12 + 1 + 4);
        expect(r.questionEnd, where).toBeLessThanOrEqual(buf.length);
        expect(r.qname.length, where).toBe(r.questionEnd - 4 - 12);
        expect(r.udpSize, where).toBeGreaterThanOrEqual(512);
        expect(r.udpSize, where).toBeLessThanOrEqual(65535);
        expect(r.qtype, where).toBe(buf.readUInt16BE(r.questionEnd - 4));
      }
    }
    // The inputs reach every branch, not just the header checks.
    expect(accepted).toBeGreaterThan(500);
    for (const reason of ['short', 'response', 'opcode', 'qdcount', 'question', 'malformed']) {
      expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
  });
});
