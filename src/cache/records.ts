import { nameToString } from '../wire/index.js';
import { writeWhole } from './entry.js';
import { keyClass, keyStringLength, keyToString, keyType, writeKeyString } from './key.js';
import type { CacheState } from './state.js';
import { restoreAnswer } from './storable.js';

/**
 * The cache's entries as snapshot records (persist/snapshot.ts, docs/design.md §7), read from and written to the
 * arena directly: no key string, Buffer or entry object per entry.
 *
 *   u16 key length | key (latin1, the string form qname/qtype/qclass/DOCD) | f64 stored-at ms | u16 message
 *   length | message (stored form, with its question: the key's lower-cased name)
 */

/** The order a snapshot is written in: least recently used first, stale ones before fresh ones. */
export interface RecordOrder {
  readonly slots: Uint32Array;
  /** Each slot's generation when the order was taken: a slot whose generation changed no longer holds that entry. */
  readonly generations: Uint32Array;
}

export function recordOrder(cache: CacheState): RecordOrder {
  const store = cache.storage;
  const stale = store.slots('secondary', true);
  const fresh = store.slots('primary', true);
  const slots = new Uint32Array(stale.length + fresh.length);
  slots.set(stale);
  slots.set(fresh, stale.length);
  const generations = new Uint32Array(slots.length);
  for (let i = 0; i < slots.length; i++) generations[i] = store.generation(slots[i]);
  return { slots, generations };
}

/** Whether the slot still holds the entry the order saw. */
export function stillHeld(cache: CacheState, order: RecordOrder, i: number): boolean {
  const slot = order.slots[i];
  return cache.storage.tierOf(slot) !== undefined && cache.storage.generation(slot) === order.generations[i];
}

/** Bytes of the slot's snapshot record. */
export function recordLength(cache: CacheState, slot: number): number {
  const store = cache.storage;
  const slab = store.slab(slot);
  const at = store.keyOffset(slot);
  const n = store.keyLength(slot);
  // The message is written whole: its question (all of the key but its last byte) goes back in.
  const message = cache.columns.storedLength[slot] + n - 1;
  return 2 + keyStringLength(n, keyType(slab, at, n), keyClass(slab, at, n)) + 8 + 2 + message;
}

/** Writes the slot's record at `out[pos]` (room for recordLength bytes); returns the position after it. */
export function writeRecord(cache: CacheState, slot: number, out: Buffer, pos: number): number {
  const store = cache.storage;
  const slab = store.slab(slot);
  const keyAt = store.keyOffset(slot);
  const keyLength = store.keyLength(slot);
  const keyStart = pos + 2;
  const keyEnd = writeKeyString(out, keyStart, slab, keyAt, keyLength);
  out.writeUInt16BE(keyEnd - keyStart, pos);
  pos = out.writeDoubleBE(cache.columns.storedAt[slot], keyEnd);
  const length = cache.columns.storedLength[slot];
  pos = out.writeUInt16BE(length + keyLength - 1, pos);
  return writeWhole(out, pos, slab, store.valueOffset(slot), length, slab, keyAt, keyAt + keyLength - 1);
}

/** Every entry as {key, storedAtMs, bytes} (copies), in snapshot order; for tests and the JSON baseline. */
export function* exportEntries(
  cache: CacheState,
): IterableIterator<{ key: string; storedAtMs: number; bytes: Buffer }> {
  const order = recordOrder(cache);
  const store = cache.storage;
  for (let i = 0; i < order.slots.length; i++) {
    if (!stillHeld(cache, order, i)) continue;
    const slot = order.slots[i];
    const slab = store.slab(slot);
    const keyAt = store.keyOffset(slot);
    const keyLength = store.keyLength(slot);
    const length = cache.columns.storedLength[slot];
    const bytes = Buffer.allocUnsafe(length + keyLength - 1);
    writeWhole(bytes, 0, slab, store.valueOffset(slot), length, slab, keyAt, keyAt + keyLength - 1);
    yield { key: keyToString(slab, keyAt, keyLength), storedAtMs: cache.columns.storedAt[slot], bytes };
  }
}

/**
 * Restores a record whose key string is `data[keyAt, keyAt + keyLength)` (latin1) and message `message`, with its
 * real age. Returns whether the entry was kept (storable.ts restoreAnswer says when it is not).
 */
export function restoreRecord(
  cache: CacheState,
  data: Uint8Array,
  keyAt: number,
  keyLength: number,
  message: Buffer,
  storedAtMs: number,
  nowMs: number,
): boolean {
  const n = keyOfLatin1(data, keyAt, keyLength, cache.scratchKey);
  return n >= 0 && restoreAnswer(cache, n, message, storedAtMs, nowMs);
}

/** key.ts keyOfString for a key string given as latin1 bytes (no string is made). */
function keyOfLatin1(data: Uint8Array, at: number, length: number, out: Uint8Array): number {
  // The last three '/' separate qname, qtype, qclass and the DO/CD digits; the qname itself may contain '/'.
  const end = at + length;
  const cut = [0, 0, 0];
  let p = end;
  for (let i = 2; i >= 0; i--) {
    do p--;
    while (p >= at && data[p] !== 0x2f);
    if (p < at) return -1;
    cut[i] = p;
  }
  const nameLength = cut[0] - at;
  if (nameLength > 255 || end - cut[2] !== 3) return -1;
  out.set(data.subarray(at, cut[0]));
  const qtype = decimal(data, cut[0] + 1, cut[1]);
  const qclass = decimal(data, cut[1] + 1, cut[2]);
  const d = data[cut[2] + 1];
  const c = data[cut[2] + 2];
  if (qtype < 0 || qclass < 0 || (d !== 0x30 && d !== 0x31) || (c !== 0x30 && c !== 0x31)) return -1;
  let n = nameLength;
  out[n++] = qtype >> 8;
  out[n++] = qtype & 0xff;
  out[n++] = qclass >> 8;
  out[n++] = qclass & 0xff;
  out[n++] = (d === 0x31 ? 2 : 0) | (c === 0x31 ? 1 : 0);
  return n;
}

/** A decimal 0–65535 in data[from, to), or -1. */
function decimal(data: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 5) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = data[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= 0xffff ? v : -1;
}

/** Up to `limit` cached names with their qtypes, most recently used first (for `ballast drill`): read from the keys. */
export function sampleNames(cache: CacheState, limit: number): { name: string; type: number }[] {
  const store = cache.storage;
  const out: { name: string; type: number }[] = [];
  for (const tier of ['primary', 'secondary'] as const) {
    for (const slot of store.slots(tier)) {
      if (out.length >= limit) return out;
      const slab = store.slab(slot);
      const at = store.keyOffset(slot);
      const n = store.keyLength(slot);
      const name = Buffer.from(slab.buffer, slab.byteOffset + at, n);
      out.push({ name: nameToString(name, 0), type: (slab[at + n - 5] << 8) | slab[at + n - 4] });
    }
  }
  return out;
}
