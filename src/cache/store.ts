import { Arena, BLOCK_HEADER } from './arena.js';
import { Columns } from './columns.js';
import { IndexTable } from './index-table.js';

export interface StoreOptions {
  /** Most entries held, across both tiers. */
  readonly maxEntries: number;
  /** Most bytes of arena slabs (keys, values, block headers), across both tiers. */
  readonly maxBytes: number;
  /** Slab size; the default suits production, tests use small slabs to exercise compaction. */
  readonly slabBytes?: number;
  /** Called when an entry leaves because of a bound (not on delete or replace), before its slot is reused. */
  readonly onEvict?: (slot: number, tier: Tier) => void;
  /** Called after the per-slot columns grew to `capacity` slots (the caller grows its own columns alike). */
  readonly onGrow?: (capacity: number) => void;
}

/** `primary` holds live values; `secondary` holds demoted ones, which go first under pressure. */
export type Tier = 'primary' | 'secondary';

export const NO_SLOT = -1;
/** 1 MiB: 64 slabs for the default cache.maxBytes; a compaction moves at most this much (about 0.1 ms). */
export const DEFAULT_SLAB_BYTES = 1 << 20;
const NIL = 0xffffffff;
const FREE_TIER = 0;
const PRIMARY = 1;
const SECONDARY = 2;
const INITIAL_SLOTS = 1024;

/**
 * A bounded map from byte-string keys to byte values with two least-recently-used tiers (docs/design.md §4): when
 * the entry or byte bound is reached, the least recently used *secondary* value goes first, and a primary one only
 * when no secondary is left. It knows nothing about DNS; cache.ts demotes expired entries, which is how stale
 * answers are evicted before fresh ones.
 *
 * Each entry is a slot number. Its key and value bytes are one block in the arena (arena.ts); its recency links,
 * tier, hash and block address are columns (columns.ts); the index (index-table.ts) maps key bytes to slots.
 * Slots are stable while an entry lives; block offsets are not (compaction moves them), so read them again after
 * any call that may store or evict. `generation(slot)` changes whenever a slot is freed, so a reader that let go
 * of the event loop can tell whether a slot still holds the entry it saw.
 */
export class Store {
  private arena: Arena;
  private readonly index = new IndexTable();
  private readonly cols: Columns<{
    slab: Uint32Array;
    offset: Uint32Array;
    keyLength: Uint16Array;
    valueLength: Uint32Array;
    hash: Uint32Array;
    prev: Uint32Array;
    next: Uint32Array;
    tier: Uint8Array;
    generation: Uint32Array;
  }>;
  private c;
  private readonly head = [NIL, NIL, NIL];
  private readonly tail = [NIL, NIL, NIL];
  private readonly counts = [0, 0, 0];
  /** Never-used slots start here; freed slots are chained through `next`. */
  private unused = 0;
  private freeList = NIL;
  /** The probe of the current lookup, read by `equals` (bound once, so a lookup allocates nothing). */
  private probe: Uint8Array = new Uint8Array(0);
  private probeLength = 0;
  private readonly equals = (slot: number): boolean => this.keyEquals(slot);
  private readonly hashOf = (slot: number): number => this.c.hash[slot];
  private readonly moved = (slot: number, packed: number): void => {
    const slab = Math.floor(packed / this.arena.slabBytes);
    this.c.slab[slot] = slab;
    this.c.offset[slot] = packed - slab * this.arena.slabBytes;
  };

  constructor(private opts: StoreOptions) {
    this.arena = new Arena(opts.maxBytes, opts.slabBytes ?? DEFAULT_SLAB_BYTES);
    this.cols = new Columns(
      {
        slab: Uint32Array,
        offset: Uint32Array,
        keyLength: Uint16Array,
        valueLength: Uint32Array,
        hash: Uint32Array,
        prev: Uint32Array,
        next: Uint32Array,
        tier: Uint8Array,
        generation: Uint32Array,
      },
      Math.min(INITIAL_SLOTS, opts.maxEntries),
    );
    this.c = this.cols.arrays;
  }

  get options(): StoreOptions {
    return this.opts;
  }

  /** The slot holding `key[0, keyLength)` (whose hash is `hash`), or NO_SLOT. Recency is not changed. */
  find(key: Uint8Array, keyLength: number, hash: number): number {
    this.probe = key;
    this.probeLength = keyLength;
    return this.index.find(hash, this.equals);
  }

  private keyEquals(slot: number): boolean {
    const c = this.c;
    const n = this.probeLength;
    if (c.keyLength[slot] !== n) return false;
    const bytes = this.arena.bytes[c.slab[slot]];
    const at = c.offset[slot] + BLOCK_HEADER;
    const probe = this.probe;
    for (let i = 0; i < n; i++) if (bytes[at + i] !== probe[i]) return false;
    return true;
  }

  /** Marks a use: the slot becomes the most recently used of its tier. */
  touch(slot: number): void {
    const tier = this.c.tier[slot];
    if (this.head[tier] === slot) return;
    this.unlink(slot, tier);
    this.pushHead(slot, tier);
  }

  /**
   * A slot for `key` with room for `valueLength` value bytes, as the most recently used primary entry; an entry
   * already under `key` is replaced. Evicts (secondary tier first) to stay within the bounds. The value bytes are
   * uninitialised: write them at `valueOffset(slot)` of `slab(slot)` before the next store call. NO_SLOT when the
   * entry alone exceeds the byte bound.
   */
  insert(key: Uint8Array, keyLength: number, hash: number, valueLength: number): number {
    const payload = keyLength + valueLength;
    if (!this.arena.fits(payload)) return NO_SLOT;
    const old = this.find(key, keyLength, hash);
    if (old !== NO_SLOT) this.delete(old);
    while (this.entries >= this.opts.maxEntries) this.evictOne();
    const slot = this.takeSlot();
    // Room: the open slab, a new slab, or a compacted one; evicting in recency order until one of those works. A
    // compaction must reclaim at least 1/32 of a slab, so one compaction pays for many stores (arena.ts).
    const minReclaim = this.arena.slabBytes >>> 5;
    let packed = this.arena.allocate(slot, payload, minReclaim, this.moved);
    while (packed < 0) {
      this.evictOne();
      packed = this.arena.allocate(slot, payload, minReclaim, this.moved);
    }
    const c = this.c;
    this.moved(slot, packed);
    c.keyLength[slot] = keyLength;
    c.valueLength[slot] = valueLength;
    c.hash[slot] = hash;
    this.arena.bytes[c.slab[slot]].set(key.subarray(0, keyLength), c.offset[slot] + BLOCK_HEADER);
    this.pushHead(slot, PRIMARY);
    this.index.add(slot, hash, this.hashOf);
    return slot;
  }

  /**
   * Sizes the columns and the index for `entries` entries now (at most maxEntries), instead of doubling step by step
   * while they arrive: a snapshot load knows its count.
   */
  reserve(entries: number): void {
    const n = Math.min(entries, this.opts.maxEntries);
    if (n > this.cols.capacity) {
      this.cols.grow(n);
      this.c = this.cols.arrays;
      this.opts.onGrow?.(this.cols.capacity);
    }
    this.index.reserve(n, this.hashOf);
  }

  /** Moves a primary slot to the secondary tier, as its most recently used entry; no-op otherwise. */
  demote(slot: number): void {
    if (this.c.tier[slot] !== PRIMARY) return;
    this.unlink(slot, PRIMARY);
    this.pushHead(slot, SECONDARY);
  }

  delete(slot: number): void {
    const c = this.c;
    const tier = c.tier[slot];
    if (tier === FREE_TIER) return;
    this.unlink(slot, tier);
    this.index.remove(slot, c.hash[slot], this.hashOf);
    this.arena.free(c.slab[slot], c.offset[slot]);
    c.tier[slot] = FREE_TIER;
    c.generation[slot]++;
    c.next[slot] = this.freeList;
    this.freeList = slot;
  }

  private evictOne(): void {
    const tier = this.counts[SECONDARY] > 0 ? SECONDARY : PRIMARY;
    const slot = this.tail[tier];
    if (slot === NIL) throw new Error('store: nothing left to evict');
    this.opts.onEvict?.(slot, tier === SECONDARY ? 'secondary' : 'primary');
    this.delete(slot);
  }

  private takeSlot(): number {
    if (this.freeList !== NIL) {
      const slot = this.freeList;
      this.freeList = this.c.next[slot];
      return slot;
    }
    if (this.unused === this.cols.capacity) {
      this.cols.grow(Math.min(this.cols.capacity * 2, this.opts.maxEntries));
      this.c = this.cols.arrays;
      this.opts.onGrow?.(this.cols.capacity);
    }
    return this.unused++;
  }

  private pushHead(slot: number, tier: number): void {
    const c = this.c;
    const first = this.head[tier];
    c.tier[slot] = tier;
    c.prev[slot] = NIL;
    c.next[slot] = first;
    if (first !== NIL) c.prev[first] = slot;
    else this.tail[tier] = slot;
    this.head[tier] = slot;
    this.counts[tier]++;
  }

  private unlink(slot: number, tier: number): void {
    const c = this.c;
    const p = c.prev[slot];
    const n = c.next[slot];
    if (p !== NIL) c.next[p] = n;
    else this.head[tier] = n;
    if (n !== NIL) c.prev[n] = p;
    else this.tail[tier] = p;
    this.counts[tier]--;
  }

  /** The slab holding the slot's block; with `valueOffset` and `valueLength`, where its value bytes are. */
  slab(slot: number): Uint8Array {
    return this.arena.bytes[this.c.slab[slot]];
  }

  keyOffset(slot: number): number {
    return this.c.offset[slot] + BLOCK_HEADER;
  }

  keyLength(slot: number): number {
    return this.c.keyLength[slot];
  }

  valueOffset(slot: number): number {
    return this.c.offset[slot] + BLOCK_HEADER + this.c.keyLength[slot];
  }

  valueLength(slot: number): number {
    return this.c.valueLength[slot];
  }

  tierOf(slot: number): Tier | undefined {
    const t = this.c.tier[slot];
    return t === PRIMARY ? 'primary' : t === SECONDARY ? 'secondary' : undefined;
  }

  isSecondary(slot: number): boolean {
    return this.c.tier[slot] === SECONDARY;
  }

  generation(slot: number): number {
    return this.c.generation[slot];
  }

  /**
   * The slots of one tier in recency order (most recent first, or oldest first), copied out, so the caller may
   * change the store while it walks them.
   */
  slots(tier: Tier, oldestFirst = false): Uint32Array {
    const t = tier === 'primary' ? PRIMARY : SECONDARY;
    const out = new Uint32Array(this.counts[t]);
    const c = this.c;
    let i = 0;
    if (oldestFirst) for (let s = this.tail[t]; s !== NIL; s = c.prev[s]) out[i++] = s;
    else for (let s = this.head[t]; s !== NIL; s = c.next[s]) out[i++] = s;
    return out;
  }

  get entries(): number {
    return this.counts[PRIMARY] + this.counts[SECONDARY];
  }

  size(tier: Tier): number {
    return this.counts[tier === 'primary' ? PRIMARY : SECONDARY];
  }

  /** Slot capacity of the columns now (grows by doubling up to maxEntries). */
  get capacity(): number {
    return this.cols.capacity;
  }

  /** Every byte the store holds: slabs, per-slot columns and the index (typed-array lengths, nothing estimated). */
  get bytes(): number {
    return this.arena.heldBytes + this.cols.bytes + this.index.bytes;
  }

  /**
   * The most bytes this store can ever hold under its bounds: every slab, columns for maxEntries slots, and the
   * index at its largest. What docs/configuration.md documents as the cache's memory bound.
   */
  get maxHeldBytes(): number {
    return (
      this.arena.maxSlabs * this.arena.slabBytes +
      this.cols.bytesPerSlot * this.opts.maxEntries +
      IndexTable.maxBytesFor(this.opts.maxEntries)
    );
  }

  /** Bytes of slab memory held (what maxBytes bounds). */
  get arenaBytes(): number {
    return this.arena.heldBytes;
  }

  /** Bytes in live blocks: keys, values, block headers and alignment. */
  get liveBytes(): number {
    return this.arena.liveBytes;
  }
}
