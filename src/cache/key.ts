import { fillRandom } from '../util/random.js';
import { HEADER_SIZE, type Query } from '../wire/index.js';

/**
 * The cache key as bytes (docs/design.md §4): the question's wire-format qname with A–Z lower-cased (RFC 4343), its
 * qtype and qclass as on the wire, and one byte for the DO and CD bits, which change what an upstream returns.
 *
 *   qname (wire, lower-cased, ends in the root label 0) | qtype u16 | qclass u16 | DO·2 + CD
 *
 * The store compares these bytes exactly, so two keys are equal only when all of it is; the hash only picks where
 * to look. Outside src/cache a key has one form, the string `qname/qtype/qclass/DOCD` (`Query.key`, wire/query.ts
 * cacheKey): the request path's maps, the cache's API and the snapshot file use it. The bytes are the store's
 * encoding of that same string (keyOfString; keyOfQuery writes identical bytes straight from a query on the hit
 * path) and never leave src/cache: the sweeper hands out the qname (keyName), the snapshot the string.
 */
export const MAX_KEY_LENGTH = 255 + 5;
const DO_BIT = 2;
const CD_BIT = 1;

/** Writes the key of a parsed query into `out`; returns its length. Allocates nothing (the hit path). */
export function keyOfQuery(q: Query, out: Uint8Array): number {
  const raw = q.raw;
  const nameEnd = q.questionEnd - 4;
  let n = 0;
  for (let i = HEADER_SIZE; i < nameEnd; i++) {
    const c = raw[i];
    // Length bytes are at most 63, below 'A', so folding every byte in the range only folds letters.
    out[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  out[n++] = raw[nameEnd];
  out[n++] = raw[nameEnd + 1];
  out[n++] = raw[nameEnd + 2];
  out[n++] = raw[nameEnd + 3];
  out[n++] = (q.dnssecOk ? DO_BIT : 0) | (q.checkingDisabled ? CD_BIT : 0);
  return n;
}

/**
 * Writes the key for a string key into `out`; returns its length, or -1 when the string is not a key. The qname
 * part is the latin1 wire form, already lower-cased (wire/query.ts cacheKey).
 */
export function keyOfString(key: string, out: Uint8Array): number {
  let end = key.length;
  const cuts = [0, 0, 0];
  for (let i = 2; i >= 0; i--) {
    end = key.lastIndexOf('/', end - 1);
    if (end < 0) return -1;
    cuts[i] = end;
  }
  const nameLength = cuts[0];
  if (nameLength > 255) return -1;
  for (let i = 0; i < nameLength; i++) out[i] = key.charCodeAt(i) & 0xff;
  const qtype = Number(key.slice(cuts[0] + 1, cuts[1]));
  const qclass = Number(key.slice(cuts[1] + 1, cuts[2]));
  const bits = key.slice(cuts[2] + 1);
  if (!(qtype >= 0 && qtype <= 0xffff && qclass >= 0 && qclass <= 0xffff) || !/^[01][01]$/.test(bits)) return -1;
  let n = nameLength;
  out[n++] = qtype >> 8;
  out[n++] = qtype & 0xff;
  out[n++] = qclass >> 8;
  out[n++] = qclass & 0xff;
  out[n++] = (bits[0] === '1' ? DO_BIT : 0) | (bits[1] === '1' ? CD_BIT : 0);
  return n;
}

/** The qname of the key at `bytes[at, at + length)`, in the string form's spelling (latin1 wire form, lower-cased). */
export function keyName(bytes: Uint8Array, at: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, length - 5).toString('latin1');
}

/** The string form of the key at `bytes[at, at + length)`. */
export function keyToString(bytes: Uint8Array, at: number, length: number): string {
  const nameEnd = at + length - 5;
  const name = keyName(bytes, at, length);
  const qtype = (bytes[nameEnd] << 8) | bytes[nameEnd + 1];
  const qclass = (bytes[nameEnd + 2] << 8) | bytes[nameEnd + 3];
  const bits = bytes[nameEnd + 4];
  return `${name}/${qtype}/${qclass}/${bits & DO_BIT ? 1 : 0}${bits & CD_BIT ? 1 : 0}`;
}

/**
 * Writes the string form of a key, as latin1 bytes, into `out` at `pos` without building a string (snapshot
 * writes); returns the position after it. `out` needs room for keyStringLength().
 */
export function writeKeyString(out: Uint8Array, pos: number, bytes: Uint8Array, at: number, length: number): number {
  const nameEnd = at + length - 5;
  out.set(bytes.subarray(at, nameEnd), pos);
  pos += nameEnd - at;
  out[pos++] = 0x2f;
  pos = writeDecimal(out, pos, (bytes[nameEnd] << 8) | bytes[nameEnd + 1]);
  out[pos++] = 0x2f;
  pos = writeDecimal(out, pos, (bytes[nameEnd + 2] << 8) | bytes[nameEnd + 3]);
  out[pos++] = 0x2f;
  out[pos++] = bytes[nameEnd + 4] & DO_BIT ? 0x31 : 0x30;
  out[pos++] = bytes[nameEnd + 4] & CD_BIT ? 0x31 : 0x30;
  return pos;
}

/** Length of the string form of a key of `length` bytes whose qtype and qclass are as given. */
export function keyStringLength(length: number, qtype: number, qclass: number): number {
  return length - 5 + 1 + digits(qtype) + 1 + digits(qclass) + 3;
}

/** qtype and qclass of the key at `bytes[at, at + length)`. */
export function keyType(bytes: Uint8Array, at: number, length: number): number {
  return (bytes[at + length - 5] << 8) | bytes[at + length - 4];
}

export function keyClass(bytes: Uint8Array, at: number, length: number): number {
  return (bytes[at + length - 3] << 8) | bytes[at + length - 2];
}

/** Whether the key asks with the DO bit. */
export function keyDnssecOk(bytes: Uint8Array, at: number, length: number): boolean {
  return (bytes[at + length - 1] & DO_BIT) !== 0;
}

const digits = (v: number) => (v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5);

function writeDecimal(out: Uint8Array, pos: number, v: number): number {
  const n = digits(v);
  for (let i = n - 1; i >= 0; i--) {
    out[pos + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + n;
}

/**
 * A per-process random seed, so which names collide in the index cannot be worked out in advance from the source
 * (a client sending colliding names would lengthen probe runs, never cause a wrong answer).
 */
const SEED = fillRandom(new Uint32Array(1))[0];

/** FNV-1a over the key bytes from a random start value, with a final avalanche (murmur3's fmix32). */
export function hashKey(bytes: Uint8Array, length: number): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
