// DNS messages read byte by byte: header bits, questions, the three sections, the OPT record and its EDE options, and
// where a malformed message stops making sense. Reads the servers' answers and the fake upstream's queries.

import { EDE_OPTION, TYPE } from './codes.js';

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
