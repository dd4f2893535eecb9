// The pure parts of bench/conformance.js: DNS messages built and read byte by byte (so a probe can be as odd as a
// case needs: a 256-octet name, bytes after the question, QCLASS NONE), the scripted fake upstream's answers, and the
// report. It imports nothing from dist/ (only report.js's table writer), so test/bench/conformance.test.ts needs no
// build; bench/lib/conformance.d.ts types it for the test.

import { mdTable } from './report.js';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  RRSIG: 46,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
};
export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };
const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];
const byNumber = (table) => new Map(Object.entries(table).map(([k, v]) => [v, k]));
const TYPE_NAMES = byNumber(TYPE);
const CLASS_NAMES = byNumber(CLASS);

export const typeName = (n) => TYPE_NAMES.get(n) ?? `TYPE${n}`;
export const className = (n) => CLASS_NAMES.get(n) ?? `CLASS${n}`;
export const rcodeName = (n) => RCODE_NAMES[n] ?? (n === 16 ? 'BADVERS' : `RCODE${n}`);

/** EDNS option code of Extended DNS Errors (RFC 8914). */
export const EDE_OPTION = 15;

// ---------------------------------------------------------------------------------------------------------------
// Writing messages

/**
 * The wire form of `name` ('a.b', 'a.b.', '' or '.' for the root), uncompressed. Labels over 63 octets throw; the
 * total length is deliberately not checked, so a probe can carry a name longer than RFC 1035's 255 octets.
 */
export function encodeName(name) {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const parts = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`label of ${bytes.length} octets in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A name under `suffix` whose wire form is exactly `octets` long (labels of 63 octets, then the rest). */
export function nameOfLength(octets, suffix = 'conf.test') {
  let left = octets - encodeName(suffix).length;
  if (left < 2) throw new Error(`no name of ${octets} octets under ${suffix}`);
  const labels = [];
  let i = 0;
  while (left > 0) {
    // A label costs its length plus one; never leave a remainder of 1, which no label can fill.
    let take = Math.min(64, left);
    if (left - take === 1) take -= 1;
    labels.push(String.fromCharCode(97 + (i++ % 26)).repeat(take - 1));
    left -= take;
  }
  return `${labels.join('.')}.${suffix}`;
}

const u16 = (n) => Buffer.from([(n >> 8) & 255, n & 255]);
const u32 = (n) => Buffer.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

/** An OPT pseudo-record (RFC 6891 §6.1.2): `options` is [{ code, data: Buffer }]. */
export function optRecord({ udpSize = 1232, do: doBit = false, extRcode = 0, version = 0, options = [] } = {}) {
  const rdata = Buffer.concat(options.map((o) => Buffer.concat([u16(o.code), u16(o.data.length), o.data])));
  const ttl = ((extRcode & 255) << 24) | ((version & 255) << 16) | (doBit ? 0x8000 : 0);
  return Buffer.concat([Buffer.from([0]), u16(TYPE.OPT), u16(udpSize), u32(ttl >>> 0), u16(rdata.length), rdata]);
}

/** One resource record; `rdata` is a Buffer (see `rdata` below). */
export function record(owner, type, cls, ttl, rdata) {
  return Buffer.concat([encodeName(owner), u16(type), u16(cls), u32(ttl >>> 0), u16(rdata.length), rdata]);
}

export const rdata = {
  a: (ip) => Buffer.from(ip.split('.').map(Number)),
  name: (name) => encodeName(name),
  txt: (...strings) =>
    Buffer.concat(
      strings.map((s) => {
        const b = Buffer.from(s, 'utf8');
        return Buffer.concat([Buffer.from([b.length]), b]);
      }),
    ),
  soa: ({ mname, rname, serial, refresh, retry, expire, minimum }) =>
    Buffer.concat([
      encodeName(mname),
      encodeName(rname),
      u32(serial),
      u32(refresh),
      u32(retry),
      u32(expire),
      u32(minimum),
    ]),
};

/**
 * A message from its parts. `flags` is an object of header bits (qr, aa, tc, rd, ra, ad, cd, opcode, rcode);
 * `question` is the question section's bytes (or null for none); each section is a list of record Buffers.
 * `counts` overrides the header counts (to lie about them); `trailing` is appended after everything.
 */
export function buildMessage({
  id = 0,
  flags = {},
  question = null,
  answer = [],
  authority = [],
  additional = [],
  counts = {},
  trailing = null,
}) {
  const f = flags;
  const bits =
    (f.qr ? 0x8000 : 0) |
    ((f.opcode ?? 0) << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    (f.ad ? 0x0020 : 0) |
    (f.cd ? 0x0010 : 0) |
    ((f.rcode ?? 0) & 15);
  const header = Buffer.concat([
    u16(id),
    u16(bits),
    u16(counts.qd ?? (question ? 1 : 0)),
    u16(counts.an ?? answer.length),
    u16(counts.ns ?? authority.length),
    u16(counts.ar ?? additional.length),
  ]);
  const tail = trailing ? [trailing] : [];
  return Buffer.concat([header, question ?? Buffer.alloc(0), ...answer, ...authority, ...additional, ...tail]);
}

/** The question section for one name, type and class. */
export const questionBytes = (name, type, cls = CLASS.IN) => Buffer.concat([encodeName(name), u16(type), u16(cls)]);

/**
 * A query as raw bytes. `edns` null (no OPT) or { udpSize, do, options }; `trailing` bytes go after the last section
 * without being counted (ARCOUNT stays as the sections say).
 */
export function buildQuery({
  id = 0,
  name,
  type = TYPE.A,
  cls = CLASS.IN,
  rd = true,
  ad = false,
  cd = false,
  edns = null,
  trailing = null,
}) {
  return buildMessage({
    id,
    flags: { rd, ad, cd },
    question: questionBytes(name, type, cls),
    additional: edns ? [optRecord(edns)] : [],
    trailing,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading messages

class WireError extends Error {}

/** The name at `off` (compression pointers followed, backwards only): { name, end }; throws WireError. */
export function readName(msg, off) {
  const labels = [];
  let end = -1;
  let octets = 1;
  let hops = 0;
  let pos = off;
  for (;;) {
    if (pos >= msg.length) throw new WireError('name runs past the end');
    const n = msg[pos];
    if ((n & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new WireError('pointer runs past the end');
      const target = ((n & 0x3f) << 8) | msg[pos + 1];
      if (end < 0) end = pos + 2;
      if (target >= pos || ++hops > 64) throw new WireError('bad compression pointer');
      pos = target;
      continue;
    }
    if (n > 63) throw new WireError(`label type 0x${n.toString(16)}`);
    if (n === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if (pos + 1 + n > msg.length) throw new WireError('label runs past the end');
    octets += n + 1;
    if (octets > 255) throw new WireError('name longer than 255 octets');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + n));
    pos += 1 + n;
  }
  return { name: labels.join('.'), end };
}

function readRdata(msg, type, start, length) {
  const raw = msg.subarray(start, start + length);
  try {
    switch (type) {
      case TYPE.A:
        return length === 4 ? [...raw].join('.') : raw.toString('hex');
      case TYPE.AAAA:
        return length === 16 ? (raw.toString('hex').match(/.{4}/g) ?? []).join(':') : raw.toString('hex');
      case TYPE.CNAME:
      case TYPE.NS:
      case TYPE.PTR:
        return readName(msg, start).name;
      case TYPE.TXT: {
        const strings = [];
        for (let p = 0; p < length; ) {
          const n = raw[p];
          strings.push(raw.toString('utf8', p + 1, p + 1 + n));
          p += 1 + n;
        }
        return strings;
      }
      case TYPE.SOA: {
        const m = readName(msg, start);
        const r = readName(msg, m.end);
        const at = r.end;
        const n = (i) => msg.readUInt32BE(at + 4 * i);
        return {
          mname: m.name,
          rname: r.name,
          serial: n(0),
          refresh: n(1),
          retry: n(2),
          expire: n(3),
          minimum: n(4),
        };
      }
      default:
        return raw.toString('hex');
    }
  } catch {
    return raw.toString('hex');
  }
}

function readOptions(raw) {
  const options = [];
  for (let p = 0; p + 4 <= raw.length; ) {
    const code = raw.readUInt16BE(p);
    const len = raw.readUInt16BE(p + 2);
    options.push({ code, data: raw.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return options;
}

/**
 * Everything in a DNS message: header bits, the questions, the three sections (the OPT record taken out of the
 * additional section into `opt`, with its EDE options decoded), and how many bytes follow the last counted
 * section (`trailing`). The rcode includes the OPT's extended bits. A message that cannot be read to its end keeps
 * what was read and says why in `error`; one shorter than a header is { error } only.
 */
export function parseMessage(msg) {
  if (!msg || msg.length < 12) return { error: 'shorter than a header' };
  const flags = msg.readUInt16BE(2);
  const out = {
    id: msg.readUInt16BE(0),
    qr: !!(flags & 0x8000),
    opcode: (flags >> 11) & 15,
    aa: !!(flags & 0x0400),
    tc: !!(flags & 0x0200),
    rd: !!(flags & 0x0100),
    ra: !!(flags & 0x0080),
    z: !!(flags & 0x0040),
    ad: !!(flags & 0x0020),
    cd: !!(flags & 0x0010),
    rcode: flags & 15,
    counts: { qd: msg.readUInt16BE(4), an: msg.readUInt16BE(6), ns: msg.readUInt16BE(8), ar: msg.readUInt16BE(10) },
    questions: [],
    answer: [],
    authority: [],
    additional: [],
    opt: null,
    /** Offset just past the question section (where the fake's echo of it ends). */
    questionEnd: 12,
    trailing: 0,
    error: null,
  };
  let off = 12;
  try {
    for (let i = 0; i < out.counts.qd; i++) {
      const { name, end } = readName(msg, off);
      if (end + 4 > msg.length) throw new WireError('question runs past the end');
      out.questions.push({ name, type: msg.readUInt16BE(end), cls: msg.readUInt16BE(end + 2) });
      off = end + 4;
    }
    out.questionEnd = off;
    for (const [section, count] of [
      ['answer', out.counts.an],
      ['authority', out.counts.ns],
      ['additional', out.counts.ar],
    ]) {
      for (let i = 0; i < count; i++) {
        const { name, end } = readName(msg, off);
        if (end + 10 > msg.length) throw new WireError(`${section} record runs past the end`);
        const type = msg.readUInt16BE(end);
        const cls = msg.readUInt16BE(end + 2);
        const ttl = msg.readUInt32BE(end + 4);
        const length = msg.readUInt16BE(end + 8);
        const start = end + 10;
        if (start + length > msg.length) throw new WireError(`${section} rdata runs past the end`);
        off = start + length;
        if (section === 'additional' && type === TYPE.OPT) {
          const options = readOptions(msg.subarray(start, start + length));
          out.opt = {
            udpSize: cls,
            extRcode: ttl >>> 24,
            version: (ttl >>> 16) & 255,
            do: !!(ttl & 0x8000),
            options,
            ede: options
              .filter((o) => o.code === EDE_OPTION && o.data.length >= 2)
              .map((o) => ({ code: o.data.readUInt16BE(0), text: o.data.toString('utf8', 2) })),
          };
          out.rcode |= out.opt.extRcode << 4;
          continue;
        }
        out[section].push({ name, type, cls, ttl, data: readRdata(msg, type, start, length) });
      }
    }
    out.trailing = msg.length - off;
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    out.error = err.message;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The scripted fake upstream

/** SOA of every zone the fake serves: SOA TTL 600, MINIMUM 5, so a negative answer lives min(600, 5) = 5 s. */
export const FAKE_SOA = { ttl: 600, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 5 };
/** The TXT the fake puts in its answer to any CH-class query: a reply carrying it was forwarded. */
export const FAKE_IDENTITY = 'fake-coredns-identity';
/** What the fake answers, for the report and the tests. */
export const FAKE_ZONE = {
  apex: 'conf.test',
  oldApex: 'old.test',
  ttl: 300,
  ad: { pattern: /^ad(-[a-z0-9-]+)?\.conf\.test$/, a: '192.0.2.1' },
  plain: { name: 'plain.conf.test', a: '192.0.2.2' },
  stale: { name: 'stale.conf.test', a: '192.0.2.3', ttl: 2 },
  ready: { name: 'ready.conf.test', a: '192.0.2.254' },
  target: { name: 'target.conf.test', a: '192.0.2.10' },
  cnameNodata: { name: 'cname-nodata.conf.test', target: 'target.conf.test' },
  cnameOnly: { name: 'cname-only.conf.test', target: 'elsewhere.other.test' },
  elsewhere: { name: 'elsewhere.other.test', a: '192.0.2.53' },
  old: { a: '192.0.2.20' },
};

const ZONES = ['conf.test', 'other.test', 'old.test'];
const zoneOf = (name) => ZONES.find((z) => name === z || name.endsWith(`.${z}`)) ?? '';
const soaRecord = (zone) =>
  record(
    zone,
    TYPE.SOA,
    CLASS.IN,
    FAKE_SOA.ttl,
    rdata.soa({
      mname: zone ? `ns.${zone}` : 'ns.root',
      rname: zone ? `hostmaster.${zone}` : 'hostmaster',
      ...FAKE_SOA,
    }),
  );

/** The main fake's answer for a lower-case IN-class name: { answer, authority, ad } (rcode is always NOERROR). */
function mainZone(name, type) {
  const z = FAKE_ZONE;
  const a = (owner, ip, ttl = z.ttl) => record(owner, TYPE.A, CLASS.IN, ttl, rdata.a(ip));
  const cname = (owner, target) => record(owner, TYPE.CNAME, CLASS.IN, z.ttl, rdata.name(target));
  const nodata = { answer: [], authority: [soaRecord(zoneOf(name))], ad: false };
  if (ZONES.includes(name) || name === '') {
    return type === TYPE.SOA ? { answer: [soaRecord(name)], authority: [], ad: false } : nodata;
  }
  if (name === z.cnameOnly.name) return { answer: [cname(name, z.cnameOnly.target)], authority: [], ad: false };
  if (name === z.cnameNodata.name && type !== TYPE.CNAME) {
    const rest = type === TYPE.A ? { answer: [a(z.target.name, z.target.a)], authority: [] } : nodata;
    return { answer: [cname(name, z.target.name), ...rest.answer], authority: rest.authority, ad: false };
  }
  if (type !== TYPE.A) return nodata;
  if (z.ad.pattern.test(name)) return { answer: [a(name, z.ad.a)], authority: [], ad: true };
  for (const r of [z.plain, z.stale, z.ready, z.target, z.elsewhere]) {
    if (name === r.name) return { answer: [a(name, r.a, r.ttl)], authority: [], ad: false };
  }
  return nodata;
}

/**
 * The fake upstream's reply to one query message: { reply, seen }. `role` 'main' serves conf.test, other.test and
 * the rest (with an OPT echoed, DO copied, when the query had one); 'old' serves old.test as a server without EDNS:
 * FORMERR without an OPT to any query carrying one, else A 192.0.2.20. Any CH-class query gets TXT
 * "fake-coredns-identity"; any other class or unknown name NOERROR/NODATA with the zone's SOA in authority.
 * `seen` ({ name, type, cls, edns, do }) is what the query log records, null for a datagram that is not a query;
 * `reply` is null when nothing should go back (a response, or a message too short to answer).
 */
export function fakeAnswer(msg, { role = 'main' } = {}) {
  if (msg.length < 12 || msg[2] & 0x80) return { reply: null, seen: null };
  const q = parseMessage(msg);
  const id = q.id;
  const base = { qr: true, opcode: q.opcode, aa: true, rd: q.rd, ra: true };
  const question = q.questions.length === 1 ? msg.subarray(12, q.questionEnd) : null;
  const seen =
    q.questions.length === 1
      ? { name: q.questions[0].name.toLowerCase(), type: q.questions[0].type, cls: q.questions[0].cls }
      : { name: null, type: null, cls: null };
  seen.edns = !!q.opt;
  seen.do = !!q.opt?.do;
  if (q.error || q.counts.qd !== 1) {
    return { reply: buildMessage({ id, flags: { ...base, rcode: 1 }, question }), seen };
  }
  if (q.opcode !== 0) return { reply: buildMessage({ id, flags: { ...base, rcode: 4 }, question }), seen };
  if (role === 'old' && q.opt) {
    // A server from before EDNS: FORMERR, and no OPT in the reply (RFC 6891 §7's sign of no EDNS support).
    return { reply: buildMessage({ id, flags: { ...base, rcode: 1 }, question }), seen };
  }
  const { name, type, cls } = seen;
  let part;
  if (cls === CLASS.CH) {
    part = { answer: [record(q.questions[0].name, TYPE.TXT, CLASS.CH, 0, rdata.txt(FAKE_IDENTITY))], authority: [] };
  } else if (cls !== CLASS.IN) {
    part = { answer: [], authority: [soaRecord(zoneOf(name))] };
  } else if (role === 'old') {
    part =
      type === TYPE.A && zoneOf(name) === 'old.test' && name !== 'old.test'
        ? { answer: [record(name, TYPE.A, CLASS.IN, FAKE_ZONE.ttl, rdata.a(FAKE_ZONE.old.a))], authority: [] }
        : { answer: [], authority: [soaRecord(zoneOf(name))] };
  } else {
    part = mainZone(name, type);
  }
  const additional = role === 'main' && q.opt ? [optRecord({ udpSize: 1232, do: q.opt.do })] : [];
  const reply = buildMessage({
    id,
    flags: { ...base, ad: !!part.ad },
    question,
    answer: part.answer,
    authority: part.authority,
    additional,
  });
  return { reply, seen };
}

// ---------------------------------------------------------------------------------------------------------------
// Describing and comparing answers

const FLAG_NAMES = ['aa', 'tc', 'rd', 'ra', 'ad', 'cd'];

/** The header bits set in a parsed message, as in dig: "qr aa rd ra". */
export const flagList = (m) => ['qr', ...FLAG_NAMES].filter((f) => m[f]);

function recordText(r, withData) {
  const cls = r.cls === CLASS.IN ? '' : `${className(r.cls)} `;
  let data = '';
  if (withData && r.type === TYPE.TXT && Array.isArray(r.data)) data = ` "${r.data.join('')}"`;
  if (withData && r.type === TYPE.CNAME) data = `→${r.data}`;
  return `${cls}${typeName(r.type)}${data} ${r.ttl}`;
}

/**
 * One answer in a line, for a table cell: rcode, header bits, each section's records as TYPE TTL (with CNAME targets
 * and TXT text), OPT and EDE, and how many queries the fake upstream saw meanwhile. `probe` is
 * { response (parsed or null), upstream: [...] , timeoutMs }.
 */
export function describeAnswer(probe) {
  const up = probe.upstream ? ` · ${upstreamText(probe.upstream)}` : '';
  const m = probe.response;
  if (!m) return `no answer in ${(probe.timeoutMs ?? 0) / 1000} s${up}`;
  if (m.error && !m.questions) return `unreadable (${m.error})${up}`;
  const parts = [`${rcodeName(m.rcode)} ${flagList(m).join(' ')}`];
  if (m.answer.length) parts.push(`an ${m.answer.map((r) => recordText(r, true)).join(', ')}`);
  if (m.authority.length) parts.push(`ns ${m.authority.map((r) => recordText(r, false)).join(', ')}`);
  if (m.additional.length) parts.push(`ar ${m.additional.map((r) => recordText(r, false)).join(', ')}`);
  if (m.opt) parts.push(`OPT${m.opt.do ? ' do' : ''}`);
  for (const e of m.opt?.ede ?? []) parts.push(`EDE ${e.code}${e.text ? ` "${e.text}"` : ''}`);
  if (m.error) parts.push(`malformed: ${m.error}`);
  return `${parts.join(' · ')}${up}`;
}

/**
 * The queries the fake upstream received, in short: "up 0", or "up 2: a.old.test A edns do, a.old.test A" with
 * repeats counted (×3) and the ones a blackholed fake dropped marked "dropped".
 */
export function upstreamText(queries) {
  if (!queries.length) return 'up 0';
  const groups = new Map();
  for (const q of queries) {
    const cls = q.cls === CLASS.IN ? '' : ` ${className(q.cls)}`;
    const bits = `${q.edns ? ' edns' : ''}${q.do ? ' do' : ''}${q.dropped ? ' dropped' : ''}`;
    const key = `${q.name || '.'}${cls} ${typeName(q.type)}${bits}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const parts = [...groups].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
  return `up ${queries.length}: ${parts.join(', ')}`;
}

/**
 * What two servers' answers are compared on: rcode, header bits, the types in each section, OPT, EDE codes and
 * whether the upstream saw the query; TTLs only where a case says (`ttls`).
 */
export function shapeOf(probe, { ttls = false } = {}) {
  const m = probe.response;
  if (!m) return { answered: false, forwarded: probe.upstream?.length > 0 };
  const types = (rs) => rs.map((r) => typeName(r.type) + (ttls ? `/${r.ttl}` : '')).join(',');
  return {
    answered: true,
    rcode: rcodeName(m.rcode),
    flags: flagList(m).join(' '),
    answer: types(m.answer),
    authority: types(m.authority),
    additional: types(m.additional),
    opt: !!m.opt,
    ede: (m.opt?.ede ?? []).map((e) => e.code).join(','),
    forwarded: probe.upstream?.length > 0,
  };
}

/** The aspects in which two lists of probes differ (step by step), [] when they are alike. */
export function differences(a, b, opts = {}) {
  const out = new Set();
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i]) {
      out.add('steps');
      continue;
    }
    const x = shapeOf(a[i], opts);
    const y = shapeOf(b[i], opts);
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (x[k] !== y[k])
        out.add(
          k === 'answer' || k === 'authority' || k === 'additional' ? `${k}${opts.ttls ? ' (types/TTLs)' : ''}` : k,
        );
    }
    if (x.flags !== y.flags && x.answered && y.answered) {
      out.delete('flags');
      const fx = new Set(x.flags.split(' '));
      const fy = new Set(y.flags.split(' '));
      for (const f of ['qr', ...FLAG_NAMES]) if (fx.has(f) !== fy.has(f)) out.add(f.toUpperCase());
    }
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------------------------
// The report

const mark = (ok) => (ok === true ? '✓ ' : ok === false ? '✗ ' : '');

/** The markdown table cell of one server's steps for a case: each step's answer, labelled when there are several. */
export function cellOf(result) {
  const steps = result.steps.map((s) => (s.label ? `${s.label}: ` : '') + describeAnswer(s));
  return mark(result.ok) + steps.join('; ');
}

/**
 * The report: a generated-file header (command, date, BIND version, what was compared), the table (case, what the
 * RFCs expect, ballast, BIND, same or differs), the legend and a summary. `cases` come from bench/conformance.js:
 * { id, title, expects, ballast: { steps, ok }, bind: { steps, ok }, differences: [...] }.
 */
export function renderReport({ command, date, bindVersion, ballastVersion, nodeVersion, seconds, setup, cases }) {
  const rows = cases.map((c) => [
    `${c.title} (\`${c.id}\`)`,
    c.expects,
    cellOf(c.ballast),
    cellOf(c.bind),
    c.differences.length ? `differs: ${c.differences.join(', ')}` : 'same',
  ]);
  const table = mdTable(
    [
      ['Case', 'left'],
      ['RFC expects', 'left'],
      ['ballast', 'left'],
      ['BIND', 'left'],
      ['Same?', 'left'],
    ],
    rows,
  );
  const s = summaryOf(cases);
  return `# Differential conformance: ballast and BIND 9 in front of one scripted upstream

Generated by \`bench/conformance.js\`; do not edit by hand, run it again.

- Command: \`${command}\`
- Date: ${date}
- BIND: ${bindVersion}
- ballast: ${ballastVersion}; Node.js ${nodeVersion}
- Run time: ${seconds.toFixed(1)} s

${setup}

${table}

Legend: each cell is the server's answer to the probe, over UDP from 127.0.0.1: rcode, header bits, then \`an\`/\`ns\`/\`ar\`
with each record's type (CNAME target, TXT text) and TTL, \`OPT\` (\`do\`: DO bit set) and EDE code and text when the
answer had them, and \`up N\`: the queries the fake upstream received while that server was being asked (0: the
answer came from the server itself or its cache), each as name and type, with \`edns\` and \`do\` when the query had
an OPT and the DO bit, and \`dropped\` when the blackholed fake did not answer it. ✓ or ✗: whether the answer meets
the expectation where it is a clear-cut one; no mark where the RFCs leave a choice. "Same?" compares rcode, header
bits, the record types of each section, OPT, EDE codes and whether the upstream was asked (TTLs only in the TTL
cases); it lists what differs.

Summary: ${s.differ} of ${cases.length} cases differ. Clear-cut expectations met: ballast ${s.ballastOk} of ${s.checked},
BIND ${s.bindOk} of ${s.checked}.
`;
}

/** Counts for the summary line: cases that differ, clear-cut expectations, and how many each server met. */
export function summaryOf(cases) {
  const checked = cases.filter((c) => c.ballast.ok !== null && c.ballast.ok !== undefined).length;
  return {
    differ: cases.filter((c) => c.differences.length).length,
    checked,
    ballastOk: cases.filter((c) => c.ballast.ok === true).length,
    bindOk: cases.filter((c) => c.bind.ok === true).length,
  };
}
