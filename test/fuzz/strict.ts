/**
 * A strict DNS message decoder written for the fuzz tests, independent of src/wire: it shares no code with ballast's
 * codec, so a bug in one is not hidden by the same bug in the other. It throws on anything RFC 1035 does not allow:
 * a record or name running past its bounds, a pointer that does not point to a prior name (§4.1.4), the reserved
 * label types 01 and 10, labels over 63 and names over 255 octets (§2.3.4), more than one OPT or an OPT outside the
 * additional section or not owned by the root (RFC 6891 §6.1.1), RDATA of a well-known type that does not have that
 * type's shape, and trailing bytes.
 */

export interface StrictRecord {
  readonly section: 'answer' | 'authority' | 'additional';
  /** Owner name, uncompressed, lower-cased, in presentation form ("." for the root). */
  readonly owner: string;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  /** Offset of the TTL field. */
  readonly ttlAt: number;
  /** RDATA with every name it holds decompressed, so it compares across messages. */
  readonly rdata: string;
}

export interface StrictMessage {
  readonly id: number;
  readonly flags: number;
  readonly question: { readonly name: string; readonly type: number; readonly klass: number; readonly end: number }[];
  /** Every record but OPT, in message order. */
  readonly records: StrictRecord[];
  readonly opt?: { readonly udpSize: number; readonly extendedRcode: number; readonly version: number; do: boolean };
  /** Header rcode plus the OPT's extended bits. */
  readonly rcode: number;
}

class Bad extends Error {}

function bad(what: string): never {
  throw new Bad(what);
}

/**
 * Bytes that are no part of any name: the header and each record's TYPE, CLASS, TTL and RDLENGTH. A pointer that makes
 * a name out of them does not point to "a prior occurrence of the same name" (RFC 1035 §4.1.4).
 */
let fixed = new Set<number>();

/** Reads a name at `at`; returns it and the offset past it in the record. */
function readName(buf: Buffer, at: number, limit: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = at;
  let end = -1;
  // RFC 1035 §4.1.4: a pointer refers to a prior occurrence of a name, so it lands before the name being read, and
  // the name it refers to lies wholly before the pointer.
  let floor = at;
  let bound = limit;
  let total = 1;
  for (;;) {
    if (pos >= bound) bad(`name at ${at} runs out`);
    if (end !== -1 && fixed.has(pos)) bad(`name at ${at} reaches a fixed field`);
    const len = buf[pos];
    if (len === 0) {
      if (end === -1) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= bound) bad('pointer runs out');
      if (end !== -1 && fixed.has(pos + 1)) bad(`name at ${at} reaches a fixed field`);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= floor) bad(`pointer at ${pos} to ${target} is not to a prior name`);
      if (end === -1) end = pos + 2;
      bound = pos;
      floor = target;
      pos = target;
      continue;
    }
    if (len & 0xc0) bad(`label type ${len >> 6} at ${pos}`);
    total += len + 1;
    if (total > 255) bad('name over 255 octets');
    if (pos + 1 + len > bound) bad('label runs out');
    for (let i = pos + 1; end !== -1 && i <= pos + len; i++)
      if (fixed.has(i)) bad(`name at ${at} reaches a fixed field`);
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = buf[i];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      label +=
        c === 0x2e || c === 0x5c || c < 0x21 || c > 0x7e ? `\\${String(c).padStart(3, '0')}` : String.fromCharCode(c);
    }
    labels.push(label);
    pos += len + 1;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), end };
}

/** The RDATA of a well-known type, names decompressed; anything else as hex. Throws when the shape is wrong. */
function readRdata(buf: Buffer, type: number, start: number, end: number): string {
  const name = (at: number) => readName(buf, at, end);
  const exact = (at: number) => at === end || bad(`type ${type} RDATA has ${end - at} stray bytes`);
  switch (type) {
    case 1:
      if (end - start !== 4) bad('A RDATA is not 4 bytes');
      return [...buf.subarray(start, end)].join('.');
    case 28:
      if (end - start !== 16) bad('AAAA RDATA is not 16 bytes');
      return buf.toString('hex', start, end);
    case 2:
    case 5:
    case 12:
    case 39: {
      const n = name(start);
      exact(n.end);
      return n.name;
    }
    case 15: {
      if (end - start < 3) bad('MX RDATA too short');
      const n = name(start + 2);
      exact(n.end);
      return `${buf.readUInt16BE(start)} ${n.name}`;
    }
    case 33: {
      if (end - start < 7) bad('SRV RDATA too short');
      const n = name(start + 6);
      exact(n.end);
      return `${buf.toString('hex', start, start + 6)} ${n.name}`;
    }
    case 6: {
      const m = name(start);
      const r = readName(buf, m.end, end);
      exact(r.end + 20);
      return `${m.name} ${r.name} ${buf.toString('hex', r.end, end)}`;
    }
    case 16: {
      if (end === start) bad('TXT RDATA empty');
      let p = start;
      while (p < end) p += buf[p] + 1;
      exact(p);
      return buf.toString('hex', start, end);
    }
    default:
      return buf.toString('hex', start, end);
  }
}

export interface DecodeOptions {
  /** Check the RDATA of well-known types (default). Off for queries, whose records ballast skips unread. */
  readonly rdata?: boolean;
  /**
   * Check that the OPT RDATA is a list of options (default). Off for what ballast reads but never passes on: a
   * client's or an upstream's OPT (hop-by-hop, RFC 6891 §6.1.1).
   */
  readonly ednsOptions?: boolean;
  /**
   * Refuse a name reached through a pointer that takes in header bytes or a record's fixed fields (default). Off for
   * queries: ballast skips their records unread, so it only needs them to end where they say.
   */
  readonly fixedFields?: boolean;
  /** Allow bytes after the last record (off by default): a query's are ignored, not refused. */
  readonly trailing?: boolean;
}

export function strictDecode(buf: Buffer, opts: DecodeOptions = {}): StrictMessage {
  if (buf.length < 12) bad('shorter than a header');
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  const guard = opts.fixedFields !== false;
  fixed = new Set(guard ? Array.from({ length: 12 }, (_, i) => i) : []);
  let pos = 12;
  const question: StrictMessage['question'] = [];
  for (let i = 0; i < counts[0]; i++) {
    const n = readName(buf, pos, buf.length);
    if (n.end + 4 > buf.length) bad('question runs out');
    question.push({ name: n.name, type: buf.readUInt16BE(n.end), klass: buf.readUInt16BE(n.end + 2), end: n.end + 4 });
    pos = n.end + 4;
  }
  const records: StrictRecord[] = [];
  let opt: StrictMessage['opt'];
  const sections = ['answer', 'authority', 'additional'] as const;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const owner = readName(buf, pos, buf.length);
      const at = owner.end;
      if (at + 10 > buf.length) bad('record header runs out');
      for (let b = at; guard && b < at + 10; b++) fixed.add(b);
      const type = buf.readUInt16BE(at);
      const rdlength = buf.readUInt16BE(at + 8);
      const end = at + 10 + rdlength;
      if (end > buf.length) bad('RDATA runs out');
      if (type === 41) {
        // RFC 6891 §6.1.2: the owner MUST be 0, the root, written as the single zero byte.
        if (opt !== undefined || s !== 2 || buf[pos] !== 0) bad('misplaced, repeated or non-root OPT');
        opt = {
          udpSize: buf.readUInt16BE(at + 2),
          extendedRcode: buf[at + 4],
          version: buf[at + 5],
          do: (buf[at + 6] & 0x80) !== 0,
        };
        let p = opts.ednsOptions === false ? end : at + 10;
        while (p < end) {
          if (p + 4 > end) bad('EDNS option header runs out');
          p += 4 + buf.readUInt16BE(p + 2);
        }
        if (p !== end) bad('EDNS option runs out');
      } else {
        const rdata = opts.rdata === false ? buf.toString('hex', at + 10, end) : readRdata(buf, type, at + 10, end);
        records.push({
          section: sections[s],
          owner: owner.name,
          type,
          klass: buf.readUInt16BE(at + 2),
          ttl: buf.readUInt32BE(at + 4),
          ttlAt: at + 4,
          rdata,
        });
      }
      pos = end;
    }
  }
  if (pos !== buf.length && opts.trailing !== true) bad(`${buf.length - pos} trailing bytes`);
  return {
    id: buf.readUInt16BE(0),
    flags,
    question,
    records,
    opt,
    rcode: ((opt?.extendedRcode ?? 0) << 4) | (flags & 0xf),
  };
}

/** strictDecode, or undefined when the message is malformed. */
export function tryStrictDecode(buf: Buffer, opts: DecodeOptions = {}): StrictMessage | undefined {
  try {
    return strictDecode(buf, opts);
  } catch (err) {
    if (err instanceof Bad) return undefined;
    throw err;
  }
}
