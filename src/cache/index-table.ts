/**
 * The index from key to slot: an open-addressing hash table of slot numbers in one Int32Array, linear probing, at
 * most half full, deletion by backward shift (no tombstones, so a long-lived table never degrades). It stores no
 * keys: the caller's `equals(slot)` compares the probe with the key bytes the slot holds, so a hash collision costs
 * a comparison, never a wrong answer.
 *
 * Why not lru-cache (or a Map) keyed by strings, as before: a string key is an object per entry (about 60 bytes
 * for a cluster name) plus a Map entry, and a new string per query to look it up — the cache-key string that
 * parseQuery built on every query. Keyed by the bytes already in the arena, the index costs 8–16 bytes per entry
 * and a lookup allocates nothing (docs/performance.md §1 has the measurements).
 */
export class IndexTable {
  private table: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialBuckets = 1024) {
    const size = 1 << Math.ceil(Math.log2(Math.max(16, initialBuckets)));
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  /** The most bytes a table holding at most `entries` keys reaches (it doubles while over half full). */
  static maxBytesFor(entries: number, initialBuckets = 1024): number {
    let size = 1 << Math.ceil(Math.log2(Math.max(16, initialBuckets)));
    while (entries * 2 > size) size *= 2;
    return size * Int32Array.BYTES_PER_ELEMENT;
  }

  get size(): number {
    return this.count;
  }

  /** The slot whose key hashes to `hash` and satisfies `equals`, or -1. */
  find(hash: number, equals: (slot: number) => boolean): number {
    const t = this.table;
    const mask = this.mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = t[i];
      if (slot === -1) return -1;
      if (equals(slot)) return slot;
    }
  }

  /** Adds `slot` under `hash` (the caller has checked that its key is not present). `hashOf` reads any slot's hash. */
  add(slot: number, hash: number, hashOf: (slot: number) => number): void {
    if ((this.count + 1) * 2 > this.table.length) this.grow(hashOf);
    const t = this.table;
    const mask = this.mask;
    let i = hash & mask;
    while (t[i] !== -1) i = (i + 1) & mask;
    t[i] = slot;
    this.count++;
  }

  /** Removes `slot` (stored under `hash`); the entries after it in its probe run shift back into the gap. */
  remove(slot: number, hash: number, hashOf: (slot: number) => number): void {
    const t = this.table;
    const mask = this.mask;
    let i = hash & mask;
    while (t[i] !== slot) {
      if (t[i] === -1) return;
      i = (i + 1) & mask;
    }
    this.count--;
    // Backward-shift deletion: move up any later entry of the run whose home bucket is not in (gap, j].
    let gap = i;
    for (let j = (i + 1) & mask; t[j] !== -1; j = (j + 1) & mask) {
      const home = hashOf(t[j]) & mask;
      const between = gap <= j ? home > gap && home <= j : home > gap || home <= j;
      if (!between) {
        t[gap] = t[j];
        gap = j;
      }
    }
    t[gap] = -1;
  }

  /** Grows the table now to hold `entries` keys at most half full (a snapshot load knows its count up front). */
  reserve(entries: number, hashOf: (slot: number) => number): void {
    let size = this.table.length;
    while (entries * 2 > size) size *= 2;
    if (size > this.table.length) this.grow(hashOf, size);
  }

  private grow(hashOf: (slot: number) => number, size = this.table.length * 2): void {
    const old = this.table;
    const t = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let k = 0; k < old.length; k++) {
      const slot = old[k];
      if (slot === -1) continue;
      let i = hashOf(slot) & mask;
      while (t[i] !== -1) i = (i + 1) & mask;
      t[i] = slot;
    }
    this.table = t;
    this.mask = mask;
  }
}
