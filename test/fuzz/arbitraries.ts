/**
 * fast-check generators for DNS messages: random bytes, valid queries and upstream responses built from a model
 * (test/fuzz/model.ts), and "breaks" that spoil exactly one field of a valid message, so the fuzz reaches the
 * parsers' deep branches instead of failing at the header.
 */
import fc from 'fast-check';
import { type Encoded, encode, type Message, type Name, optRecord, type Rdata, type Rec } from './model.js';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789-';

/** Mostly host-like labels; some upper case (0x20), some with any byte at all (RFC 2181 §11). */
export const label: fc.Arbitrary<Buffer> = fc
  .oneof(
    { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 1, maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...`${ALNUM}ABCXYZ_*`), minLength: 1, maxLength: 20 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 63 }) },
    { weight: 1, arbitrary: fc.constantFrom('a'.repeat(63), 'x.y', 'with/slash', 'ünï') },
  )
  .map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : Buffer.from(l)));

/** Names of up to 255 octets on the wire (longer ones are cut down to fit). */
export const name: fc.Arbitrary<Name> = fc.array(label, { maxLength: 6 }).map((labels) => {
  const out: Buffer[] = [];
  let total = 1;
  for (const l of labels) {
    if (total + l.length + 1 > 255) break;
    total += l.length + 1;
    out.push(l);
  }
  return out;
});

/** Common qtypes, meta types (ANY, AXFR, OPT) and anything at all. */
export const qtype = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(1, 28, 33, 16, 5, 12, 15, 6, 2, 65) },
  { weight: 1, arbitrary: fc.constantFrom(255, 252, 251, 41, 0, 250, 46, 43) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);

const qclass = fc.oneof(
  { weight: 9, arbitrary: fc.constant(1) },
  { weight: 1, arbitrary: fc.constantFrom(3, 4, 255, 254, 0) },
);

export interface QueryCase {
  readonly message: Message;
  readonly edns?: { udpSize: number; version: number; dnssecOk: boolean };
}

/** A well-formed query (a few with another opcode, an EDNS version we do not speak, or records besides OPT). */
export const query: fc.Arbitrary<QueryCase> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    opcode: fc.oneof(
      { weight: 19, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) },
    ),
    rd: fc.boolean(),
    cd: fc.boolean(),
    low: fc.oneof(
      { weight: 9, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7f }) },
    ),
    name,
    type: qtype,
    klass: qclass,
    edns: fc.option(
      fc.record({
        udpSize: fc.oneof(fc.constantFrom(512, 1232, 4096, 65535), fc.integer({ min: 0, max: 0xffff })),
        version: fc.oneof(
          { weight: 15, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
        ),
        dnssecOk: fc.boolean(),
      }),
      { nil: undefined, freq: 2 },
    ),
    extra: fc.array(fc.constantFrom<0 | 1 | 2>(0, 1, 2), { maxLength: 2 }),
  })
  .map(({ id, opcode, rd, cd, low, name, type, klass, edns, extra }) => {
    // `low` sets AA/TC/Z/AD and rcode bits that a query should not carry but a server must tolerate.
    const flags = (opcode << 11) | (rd ? 0x0100 : 0) | (cd ? 0x0010 : 0) | (low & 0x2f) | ((low & 0x40) << 4);
    const records: Rec[] = extra.map((section) => ({ section, owner: name, type: 1, klass: 1, ttl: 60, rdata: a() }));
    if (edns) records.push(optRecord(edns.udpSize, edns.version, edns.dnssecOk));
    return { message: { id, flags, question: [{ name, type, klass }], records }, edns };
  });

function a(): Rdata {
  return { kind: 'raw', bytes: Buffer.from([192, 0, 2, 1]) };
}

/** RDATA of the right shape for `type`, names drawn from `names`. */
function rdataFor(type: number, names: readonly Name[], pick: number, bytes: Uint8Array): Rdata {
  const n = names[pick % names.length];
  switch (type) {
    case 1:
      return {
        kind: 'raw',
        bytes: Buffer.from(bytes.subarray(0, 4).length === 4 ? bytes.subarray(0, 4) : [1, 2, 3, 4]),
      };
    case 28:
      return { kind: 'raw', bytes: Buffer.concat([Buffer.from(bytes), Buffer.alloc(16)]).subarray(0, 16) };
    case 2:
    case 5:
    case 12:
    case 39:
      return { kind: 'name', name: n };
    case 15:
      return { kind: 'mx', pref: pick & 0xffff, name: n };
    case 6:
      return { kind: 'soa', mname: n, rname: names[(pick + 1) % names.length], tail: Buffer.alloc(20, pick & 0xff) };
    case 16:
      return { kind: 'txt', strings: [Buffer.from(bytes)] };
    default:
      return { kind: 'raw', bytes: Buffer.from(bytes) };
  }
}

const ttl = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 86_400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80000000, max: 0xffffffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0x7fffffff, 604_801) },
);

/** How a response answers a question: its rcode and flags, and records that mostly belong to it. */
export const responsePlan = fc.record({
  rcode: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(0, 0, 0, 3) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 15 }) },
  ),
  aa: fc.boolean(),
  tc: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  extendedRcode: fc.oneof(
    { weight: 15, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
  ),
  others: fc.array(name, { minLength: 1, maxLength: 3 }),
  records: fc.array(
    fc.record({
      section: fc.constantFrom<0 | 1 | 2>(0, 0, 0, 1, 2),
      // 0: the qname; 1: the last CNAME target; 2: another name.
      owner: fc.constantFrom(0, 0, 0, 0, 0, 1, 1, 2),
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constant(-1) },
        { weight: 2, arbitrary: fc.constantFrom(5, 6, 2, 1, 28, 16, 46) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) },
      ),
      klass: fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constantFrom(1, 3, 255) }),
      ttl,
      pick: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }),
    }),
    { maxLength: 6 },
  ),
  // OPT: none, last (as every server puts it), or between additional records.
  opt: fc.constantFrom('none', 'last', 'last', 'middle'),
  upperQuestion: fc.boolean(),
  compress: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});
export type ResponsePlan = typeof responsePlan extends fc.Arbitrary<infer T> ? T : never;

/** The response `plan` describes, to a query for `qname`/`type`/`klass` with message ID `id`. */
export function buildResponse(plan: ResponsePlan, id: number, q: Message['question'][number]): Encoded {
  // 0x20-style case change: ASCII letters only, the only ones DNS folds (RFC 4343).
  const qname = plan.upperQuestion
    ? q.name.map((l) => Buffer.from(l.map((c) => (c >= 0x61 && c <= 0x7a ? c ^ 0x20 : c))))
    : q.name;
  const names = [q.name, ...plan.others];
  let target: Name = q.name;
  const records: Rec[] = [];
  for (const r of plan.records) {
    const type = r.type === -1 ? q.type : r.type;
    const owner = r.owner === 0 ? q.name : r.owner === 1 ? target : plan.others[r.pick % plan.others.length];
    const rdata = rdataFor(type, names, r.pick, r.bytes);
    if (type === 5 && rdata.kind === 'name' && r.section === 0) target = rdata.name;
    records.push({ section: r.section, owner, type, klass: r.klass === -1 ? q.klass : r.klass, ttl: r.ttl, rdata });
  }
  const opt = { ...optRecord(1232, 0, false), ttl: plan.extendedRcode << 24 };
  if (plan.opt === 'last') records.push(opt);
  if (plan.opt === 'middle') {
    const i = records.findIndex((r) => r.section === 2);
    records.splice(i === -1 ? records.length : i, 0, opt);
  }
  const flags = 0x8000 | (plan.aa ? 0x0400 : 0) | (plan.tc ? 0x0200 : 0) | 0x0100 | 0x0080 | plan.rcode;
  return encode({ id, flags, question: [{ ...q, name: qname }], records }, plan.compress);
}

/** One field of an encoded message spoilt. */
export const breakPlan = fc.record({
  how: fc.constantFrom(
    'count',
    'label',
    'pointer',
    'rdlength',
    'type',
    'truncate',
    'trailing',
    'bitflip',
    'optAnswer',
    'optTwice',
  ),
  pick: fc.nat(),
  value: fc.nat({ max: 0xffff }),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
});
export type BreakPlan = typeof breakPlan extends fc.Arbitrary<infer T> ? T : never;

export function applyBreak(e: Encoded, plan: BreakPlan): Buffer {
  const b = Buffer.from(e.bytes);
  const sites = e.sites.filter((s) => s.kind === plan.how);
  const site = sites.length > 0 ? sites[plan.pick % sites.length] : undefined;
  const v = plan.value;
  switch (plan.how) {
    case 'count':
      if (site) b.writeUInt16BE((b.readUInt16BE(site.at) + 1 + (v % 3)) & 0xffff, site.at);
      return b;
    case 'label':
      // A reserved label type (01, 10), a label over 63, or a length that runs into the next field.
      if (site)
        b[site.at] = [0x40 | (v & 0x3f), 0x80 | (v & 0x3f), 64 + (v % 128), (b[site.at] + 1 + (v % 4)) & 0xff][v % 4];
      return b;
    case 'pointer':
      // Forward, to itself, into the header, past the end.
      if (site)
        b.writeUInt16BE(
          0xc000 | ([site.at + 2 + (v % 8), site.at, v % 12, b.length + (v % 64)][v % 4] & 0x3fff),
          site.at,
        );
      return b;
    case 'rdlength':
      if (site)
        b.writeUInt16BE(
          [b.readUInt16BE(site.at) + 1, Math.max(b.readUInt16BE(site.at) - 1, 0), 0, 0xffff][v % 4],
          site.at,
        );
      return b;
    case 'type':
      if (site) b.writeUInt16BE(v % 2 === 0 ? 41 : v, site.at);
      return b;
    case 'truncate':
      return b.subarray(0, v % Math.max(b.length, 1));
    case 'trailing':
      return Buffer.concat([b, Buffer.from(plan.bytes)]);
    case 'bitflip': {
      const at = v % Math.max(b.length, 1);
      if (b.length > 0) b[at] ^= 1 << (plan.pick % 8);
      return b;
    }
    default: {
      // An OPT in the answer section, or a second one at the end.
      const opt = Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
      const at = plan.how === 'optAnswer' ? e.questionEnd : b.length;
      const out = Buffer.concat([b.subarray(0, at), opt, b.subarray(at)]);
      const count = plan.how === 'optAnswer' ? 6 : 10;
      if (out.length >= 12) out.writeUInt16BE((out.readUInt16BE(count) + 1) & 0xffff, count);
      return out;
    }
  }
}

/** Messages with no structure at all, and valid ones with one to four random edits. */
export const noise = fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u));

/** A break for one case in four, none for the rest (null). */
export const sometimesBroken = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: breakPlan as fc.Arbitrary<BreakPlan | null> },
);
