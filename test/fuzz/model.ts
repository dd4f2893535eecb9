/**
 * DNS messages as plain data, and an encoder for them that records where every field it wrote sits ("sites"), so a
 * fuzz case can break exactly one field of an otherwise valid message: a count, a label length, a pointer, an RDLENGTH,
 * a type. The encoder is the tests' own (neither ballast's nor dns2's) and compresses names on request (RFC 1035 §4.1.4).
 */

/** A name as its raw labels (any bytes, any case); [] is the root. */
export type Name = readonly Buffer[];

export type Rdata =
  | { readonly kind: 'raw'; readonly bytes: Buffer }
  | { readonly kind: 'name'; readonly name: Name }
  | { readonly kind: 'mx'; readonly pref: number; readonly name: Name }
  | { readonly kind: 'soa'; readonly mname: Name; readonly rname: Name; readonly tail: Buffer }
  | { readonly kind: 'txt'; readonly strings: readonly Buffer[] };

export interface Rec {
  /** 0 answer, 1 authority, 2 additional. */
  readonly section: 0 | 1 | 2;
  readonly owner: Name;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  readonly rdata: Rdata;
}

export interface Message {
  readonly id: number;
  readonly flags: number;
  readonly question: readonly { readonly name: Name; readonly type: number; readonly klass: number }[];
  /** In section order (the encoder sorts them stably by section). */
  readonly records: readonly Rec[];
}

export type SiteKind = 'count' | 'label' | 'pointer' | 'rdlength' | 'type';

export interface Site {
  readonly kind: SiteKind;
  readonly at: number;
}

export interface Encoded {
  readonly bytes: Buffer;
  readonly sites: readonly Site[];
  /** Offset past the question section. */
  readonly questionEnd: number;
}

/** An OPT pseudo-record (RFC 6891 §6.1.2) as a Rec: class carries the payload size, TTL the flags. */
export function optRecord(udpSize: number, version = 0, dnssecOk = false, options = Buffer.alloc(0)): Rec {
  return {
    section: 2,
    owner: [],
    type: 41,
    klass: udpSize,
    ttl: ((version & 0xff) << 16) | (dnssecOk ? 0x8000 : 0),
    rdata: { kind: 'raw', bytes: options },
  };
}

export function nameFrom(text: string): Name {
  return text === '' || text === '.' ? [] : text.split('.').map((l) => Buffer.from(l, 'latin1'));
}

/** Lower-cases ASCII letters only, as DNS comparisons do (RFC 4343). */
function fold(label: Buffer): string {
  let s = '';
  for (const c of label) s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  return s;
}

class Writer {
  private readonly chunks: Buffer[] = [];
  length = 0;
  readonly sites: Site[] = [];
  /** Offsets of names written so far, by their folded suffix, for compression. */
  private readonly suffixes = new Map<string, number>();

  constructor(private readonly compress: boolean) {}

  bytes(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  u16(n: number, kind?: SiteKind): void {
    if (kind) this.sites.push({ kind, at: this.length });
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n & 0xffff, 0);
    this.bytes(b);
  }

  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0, 0);
    this.bytes(b);
  }

  name(name: Name): void {
    for (let i = 0; i < name.length; i++) {
      const key = name.slice(i).map(fold).join('\0');
      const prior = this.suffixes.get(key);
      if (this.compress && prior !== undefined) {
        this.u16(0xc000 | prior, 'pointer');
        return;
      }
      if (this.length < 0x4000) this.suffixes.set(key, this.length);
      this.sites.push({ kind: 'label', at: this.length });
      this.bytes(Buffer.from([name[i].length & 0xff]));
      this.bytes(name[i]);
    }
    this.bytes(Buffer.from([0]));
  }

  rdata(r: Rdata): void {
    switch (r.kind) {
      case 'raw':
        this.bytes(r.bytes);
        break;
      case 'name':
        this.name(r.name);
        break;
      case 'mx':
        this.u16(r.pref);
        this.name(r.name);
        break;
      case 'soa':
        this.name(r.mname);
        this.name(r.rname);
        this.bytes(r.tail);
        break;
      case 'txt':
        for (const s of r.strings) this.bytes(Buffer.concat([Buffer.from([s.length & 0xff]), s]));
    }
  }

  done(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

export function encode(m: Message, compress = true): Encoded {
  const w = new Writer(compress);
  const records = [...m.records].sort((a, b) => a.section - b.section);
  const counts = [0, 0, 0];
  for (const r of records) counts[r.section]++;
  w.u16(m.id);
  w.u16(m.flags);
  w.u16(m.question.length, 'count');
  for (const c of counts) w.u16(c, 'count');
  for (const q of m.question) {
    w.name(q.name);
    w.u16(q.type, 'type');
    w.u16(q.klass);
  }
  const questionEnd = w.length;
  // RDLENGTH is written as 0 and patched once the RDATA (its names possibly compressed) has been written.
  const patches: [number, number][] = [];
  for (const r of records) {
    w.name(r.owner);
    w.u16(r.type, 'type');
    w.u16(r.klass);
    w.u32(r.ttl);
    const lengthAt = w.length;
    w.u16(0, 'rdlength');
    const start = w.length;
    w.rdata(r.rdata);
    patches.push([lengthAt, w.length - start]);
  }
  const bytes = w.done();
  for (const [at, len] of patches) bytes.writeUInt16BE(len & 0xffff, at);
  return { bytes, sites: w.sites, questionEnd };
}
