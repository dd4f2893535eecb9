// DNS messages written byte by byte, so a probe can be as odd as a case needs: a 256-octet name, bytes after the
// question, QCLASS NONE, header counts that lie. Also what the fake upstream builds its replies with.

import { CLASS, TYPE } from './codes.js';

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
