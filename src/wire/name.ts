import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './constants.js';

/** Returned by the name readers when a name cannot be read; callers decide between FORMERR and drop. */
export const BAD_NAME = -1;

/**
 * Skips one (possibly compressed) domain name starting at `offset` and returns the offset just past it in the
 * message, or BAD_NAME.
 *
 * RFC 1035 §4.1.4: a pointer refers to a *prior* occurrence of a name. Requiring every pointer to land strictly
 * before the previous jump makes loops impossible without a hop counter, and the name it refers to must end before
 * the pointer itself. Label types 01 and 10 (RFC 6891 §5,
 * deprecated extended labels) are rejected, as are labels over 63 bytes and names over 255 bytes (§2.3.4).
 */
export function skipName(buf: Buffer, offset: number, end: number = buf.length): number {
  let pos = offset;
  let after = -1; // offset past the first pointer: where the caller continues
  let floor = offset; // every pointer must land before this
  let limit = end; // the name read must end before this: the message's end, then the last pointer followed
  let length = 1; // the root label's length byte
  for (;;) {
    if (pos >= limit) return BAD_NAME;
    const len = buf[pos];
    if (len === 0) return after === -1 ? pos + 1 : after;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= limit) return BAD_NAME;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= floor) return BAD_NAME;
      if (after === -1) after = pos + 2;
      limit = pos;
      floor = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return BAD_NAME;
    if (len > MAX_LABEL_LENGTH) return BAD_NAME;
    length += len + 1;
    if (length > MAX_NAME_LENGTH) return BAD_NAME;
    if (after !== -1 && pos + len >= limit) return BAD_NAME;
    pos += len + 1;
  }
}

/**
 * skipName for a response that ballast will rewrite in place. RFC 1035 §4.1.4 has a pointer refer to "a prior
 * occurrence of the same name", so everything read through a pointer must lie before that pointer, and no byte of it
 * may be one that `fixed` marks — the header and the TYPE, CLASS, TTL and RDLENGTH of the records before. A pointer
 * that made a name out of the ID, or out of a TTL (its own record's included), would make a name that changes from
 * one client to the next, since ballast writes each client's ID and the aged TTLs into the bytes it serves
 * (docs/design.md §6). No real server's pointer ever does.
 */
export function skipNameIn(buf: Buffer, offset: number, end: number, fixed: Uint8Array): number {
  let pos = offset;
  let after = -1;
  let floor = offset;
  // Where the bytes of the name being read must end: the message's end, then each pointer followed.
  let limit = end;
  let length = 1;
  for (;;) {
    if (pos >= limit || (after !== -1 && fixed[pos] === 1)) return BAD_NAME;
    const len = buf[pos];
    if (len === 0) return after === -1 ? pos + 1 : after;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= limit || (after !== -1 && fixed[pos + 1] === 1)) return BAD_NAME;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= floor) return BAD_NAME;
      if (after === -1) after = pos + 2;
      limit = pos;
      floor = pos = target;
      continue;
    }
    if (len > MAX_LABEL_LENGTH) return BAD_NAME;
    length += len + 1;
    if (length > MAX_NAME_LENGTH) return BAD_NAME;
    if (after !== -1) {
      if (pos + len >= limit) return BAD_NAME;
      for (let i = pos + 1; i <= pos + len; i++) if (fixed[i] === 1) return BAD_NAME;
    }
    pos += len + 1;
  }
}

/**
 * Reads an uncompressed name (as in a query's question) and returns the offset past it, or BAD_NAME. A pointer in a
 * query's question can only point into the header, so any pointer here is malformed. `maxLength` is 255 (RFC 1035
 * §2.3.4) but for telling a name that is only too long from one that cannot be read at all.
 */
export function skipUncompressedName(
  buf: Buffer,
  offset: number,
  end: number = buf.length,
  maxLength = MAX_NAME_LENGTH,
): number {
  let pos = offset;
  let length = 1;
  for (;;) {
    if (pos >= end) return BAD_NAME;
    const len = buf[pos];
    if (len === 0) return pos + 1;
    if (len > MAX_LABEL_LENGTH) return BAD_NAME;
    length += len + 1;
    if (length > maxLength) return BAD_NAME;
    pos += len + 1;
  }
}

/**
 * The wire-format name between `start` and `end` as a latin1 string with ASCII letters lower-cased — the cache key
 * form. Only A–Z fold (RFC 4343 §3): folding latin1 letters too would merge distinct names. Length bytes are ≤ 63,
 * below 'A', so they never fold. Most names arrive in lower case, so that path is one scan and one slice.
 */
export function lowerName(buf: Buffer, start: number, end: number): string {
  let i = start;
  while (i < end && !(buf[i] >= 0x41 && buf[i] <= 0x5a)) i++;
  if (i === end) return buf.toString('latin1', start, end);
  const copy = Buffer.from(buf.subarray(start, end));
  for (let j = i - start; j < copy.length; j++) {
    const c = copy[j];
    if (c >= 0x41 && c <= 0x5a) copy[j] = c | 0x20;
  }
  return copy.toString('latin1');
}

/** Case-insensitive comparison of two equal-length wire ranges (RFC 4343): used to match an upstream's question. */
export function equalsIgnoreCase(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    let x = a[aStart + i];
    let y = b[bStart + i];
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** Presentation form of an uncompressed wire name, for logs and zone matching: "www.example.com" ("." for root). */
export function nameToString(buf: Buffer, start: number): string {
  const labels: string[] = [];
  let pos = start;
  while (pos < buf.length && buf[pos] !== 0) {
    const len = buf[pos];
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += len + 1;
  }
  return labels.length === 0 ? '.' : labels.join('.');
}

/** Encodes a presentation-form name ("example.com" or "example.com.") to wire format, lower-cased. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const labels = trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    // Fold A–Z only, as lowerName does for queries (RFC 4343 §3).
    for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x41 && bytes[i] <= 0x5a) bytes[i] |= 0x20;
    if (bytes.length === 0 || bytes.length > MAX_LABEL_LENGTH) {
      throw new RangeError(`invalid DNS name ${JSON.stringify(name)}: empty label or label over 63 bytes`);
    }
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME_LENGTH) throw new RangeError(`invalid DNS name ${JSON.stringify(name)}: over 255 bytes`);
  return out;
}

/**
 * Reads a (possibly compressed) name at `offset` into the cache-key form — uncompressed wire labels as latin1, A–Z
 * folded — or undefined when it cannot be read (the same rules as skipName). Used where names must be compared, not
 * only skipped: an upstream's answer section against the question (docs/design.md §6).
 */
export function readName(buf: Buffer, offset: number, end: number = buf.length): string | undefined {
  let pos = offset;
  let floor = offset;
  let out = '';
  for (;;) {
    if (pos >= end) return undefined;
    const len = buf[pos];
    if (len === 0) return `${out}\0`;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= end) return undefined;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= floor) return undefined;
      floor = pos = target;
      continue;
    }
    if (len > MAX_LABEL_LENGTH || pos + 1 + len > end || out.length + len + 2 > MAX_NAME_LENGTH) return undefined;
    out += lowerName(buf, pos, pos + 1 + len);
    pos += len + 1;
  }
}
