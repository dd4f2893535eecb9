/**
 * Hand builders for crafted DNS messages, so malformed-input tests spell out their bytes instead of relying on an
 * encoder (ballast's or dns2's) that would refuse to produce them.
 */

export interface HeaderFields {
  readonly id?: number;
  readonly flags?: number;
  readonly qd?: number;
  readonly an?: number;
  readonly ns?: number;
  readonly ar?: number;
}

export function header({ id = 0xabcd, flags = 0x0100, qd = 1, an = 0, ns = 0, ar = 0 }: HeaderFields = {}): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}

/** A raw wire name from label strings, with no checks at all (labels may be over 63 bytes). */
export function labels(...parts: string[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from([p.length]), Buffer.from(p, 'latin1'));
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function question(name: Buffer, qtype = 1, qclass = 1): Buffer {
  return Buffer.concat([name, u16(qtype), u16(qclass)]);
}

/** A resource record; `rdlength` defaults to the real RDATA length and can be set to lie. */
export function rr(
  owner: Buffer,
  type: number,
  ttl: number,
  rdata: Buffer,
  rdlength = rdata.length,
  klass = 1,
): Buffer {
  return Buffer.concat([owner, u16(type), u16(klass), u32(ttl), u16(rdlength), rdata]);
}

export interface OptFields {
  readonly owner?: Buffer;
  readonly udpSize?: number;
  readonly extendedRcode?: number;
  readonly version?: number;
  readonly dnssecOk?: boolean;
  readonly rdata?: Buffer;
}

/** An OPT pseudo-record (RFC 6891 §6.1.2). */
export function opt({
  owner = Buffer.from([0]),
  udpSize = 1232,
  extendedRcode = 0,
  version = 0,
  dnssecOk = false,
  rdata = Buffer.alloc(0),
}: OptFields = {}): Buffer {
  const ttl = Buffer.from([extendedRcode, version, dnssecOk ? 0x80 : 0, 0]);
  return Buffer.concat([owner, u16(41), u16(udpSize), ttl, u16(rdata.length), rdata]);
}

/** Sets header counts in a copy of `msg`. */
export function withCounts(msg: Buffer, counts: { qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const b = Buffer.from(msg);
  if (counts.qd !== undefined) b.writeUInt16BE(counts.qd, 4);
  if (counts.an !== undefined) b.writeUInt16BE(counts.an, 6);
  if (counts.ns !== undefined) b.writeUInt16BE(counts.ns, 8);
  if (counts.ar !== undefined) b.writeUInt16BE(counts.ar, 10);
  return b;
}

/** Copy of `msg` with ASCII letters in [start, end) flipped to the other case, every other letter (0x20 style). */
export function mixCase(msg: Buffer, start: number, end: number): Buffer {
  const b = Buffer.from(msg);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (letter && n++ % 2 === 0) b[i] = c ^ 0x20;
  }
  return b;
}

/** Copy of `msg` with ASCII upper-case letters in [start, end) lower-cased. */
export function lowerCase(msg: Buffer, start: number, end: number): Buffer {
  const b = Buffer.from(msg);
  for (let i = start; i < end; i++) if (b[i] >= 0x41 && b[i] <= 0x5a) b[i] |= 0x20;
  return b;
}

/** mulberry32: a tiny seeded PRNG, so fuzz runs are repeatable and a failure names its seed. */
export function prng(seed: number): { next(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

export function randomBytes(rand: ReturnType<typeof prng>, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = rand.int(256);
  return b;
}

/**
 * Applies 1–4 random edits to a copy of `msg`: overwrite a byte, flip a bit, truncate, append, insert a compression
 * pointer, or rewrite a section count. The result is at most `maxLength` bytes.
 */
export function mutate(rand: ReturnType<typeof prng>, msg: Buffer, maxLength: number): Buffer {
  let b = Buffer.from(msg);
  const edits = 1 + rand.int(4);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rand.int(b.length);
    switch (rand.int(7)) {
      case 0:
        if (b.length > 0) b[at] = rand.int(256);
        break;
      case 1:
        if (b.length > 0) b[at] ^= 1 << rand.int(8);
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b, randomBytes(rand, rand.int(40))]);
        break;
      case 4:
        if (b.length > 1 && at + 1 < b.length) {
          const target = rand.int(Math.max(b.length, 1));
          b[at] = 0xc0 | (target >> 8);
          b[at + 1] = target & 0xff;
        }
        break;
      case 5:
        if (b.length >= 12) b.writeUInt16BE(rand.int(4), 4 + 2 * rand.int(4));
        break;
      default:
        // A small length byte somewhere: labels that run past their name or message.
        if (b.length > 0) b[at] = rand.int(70);
        break;
    }
  }
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}
