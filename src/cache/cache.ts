import type { Random } from '../util/random.js';
import { type Query, Rcode, type ResponseScan } from '../wire/index.js';
import { CacheEntry, NONE, renderAnswer, TTL_RECORD_SIZE } from './entry.js';
import { hashKey, keyOfQuery, keyOfString, MAX_KEY_LENGTH } from './key.js';
import { exportEntries, sampleNames } from './records.js';
import { moveEntries } from './resize.js';
import {
  type CacheOptions,
  type CacheState,
  entryColumns,
  NEGATIVE,
  REFRESHING,
  type RefreshMarks,
  SlotMarks,
} from './state.js';
import { restoreAnswer, storeAnswer } from './storable.js';
import { NO_SLOT, Store, type Tier } from './store.js';
import { sweepSlots } from './sweeper.js';

export type { CacheOptions, RefreshMarks };

export interface CacheHooks {
  onEvict?: (tier: Tier) => void;
  /** Randomness for refresh points; injected so tests are deterministic. */
  random: Random;
}

/** fresh: within its TTL. stale: expired, within staleMaxAge. dead: past staleMaxAge (kept only when asked). */
export type Freshness = 'fresh' | 'stale' | 'dead';

/** A lookup by string key: a detached copy of the entry and its state (not the hit path; see `find`). */
export interface Lookup {
  readonly entry: CacheEntry;
  readonly state: Freshness;
}

export { NO_SLOT };

const MAX_HITS = 0xffff;

/**
 * The DNS rules on top of the store: what may be cached, for how long (RFC 1035 TTLs, RFC 2308 negative caching),
 * and whether an entry is still fresh at a given time.
 *
 * The hit path works by slot number, allocation-free (docs/performance.md §3): `find(q, now)` returns the slot of
 * the query's key (or NO_SLOT), counting a use and demoting an expired entry; `isFresh`, `noteHit`, `refreshDue`
 * and `render(slot, …)` read and write the slot's columns. A slot is valid until the next call that stores,
 * deletes or sweeps: anything held across an await takes a detached copy with `entryAt(slot)`.
 */
export class DnsCache implements CacheState {
  private store: Store;
  private cols = entryColumns(0);
  private c = this.cols.arrays;
  /** Scratch for the key being looked up or stored. */
  private readonly key = new Uint8Array(MAX_KEY_LENGTH);
  private readonly marks = new SlotMarks(this);

  constructor(
    private opts: CacheOptions,
    private readonly hooks: CacheHooks,
  ) {
    this.store = this.newStore(opts);
  }

  private newStore(opts: CacheOptions): Store {
    const onEvict = this.hooks.onEvict;
    const store = new Store({
      maxEntries: opts.maxEntries,
      maxBytes: opts.maxBytes,
      slabBytes: opts.slabBytes,
      onEvict: onEvict ? (_slot, tier) => onEvict(tier) : undefined,
      onGrow: (capacity) => {
        this.cols.grow(capacity);
        this.c = this.cols.arrays;
      },
    });
    this.cols = entryColumns(store.capacity);
    this.c = this.cols.arrays;
    return store;
  }

  /**
   * New rules and bounds (a config reload). Entries are kept, in their recency order; with tighter bounds the
   * least recently used go (stale ones first). TTL rules apply to what is stored from now on.
   */
  reconfigure(opts: CacheOptions): void {
    const resize =
      opts.maxEntries !== this.opts.maxEntries ||
      opts.maxBytes !== this.opts.maxBytes ||
      opts.slabBytes !== this.opts.slabBytes;
    this.opts = opts;
    if (!resize) return;
    const old = this.store;
    const oldColumns = this.c;
    this.store = this.newStore(opts);
    moveEntries(old, oldColumns, this.store, () => this.c, this.key);
  }

  // ---- the hit path, by slot ----

  /**
   * The slot holding the query's key, or NO_SLOT. Counts a use (recency); an expired entry is demoted to the
   * store's secondary tier, so under memory pressure stale entries are evicted before fresh ones (docs/design.md §4).
   */
  find(q: Query, nowMs: number): number {
    const n = keyOfQuery(q, this.key);
    return this.use(this.store.find(this.key, n, hashKey(this.key, n)), nowMs);
  }

  private use(slot: number, nowMs: number): number {
    if (slot === NO_SLOT) return NO_SLOT;
    this.store.touch(slot);
    if (nowMs >= this.expiresAt(slot)) this.store.demote(slot);
    return slot;
  }

  private expiresAt(slot: number): number {
    return this.c.storedAt[slot] + this.c.ttl[slot] * 1000;
  }

  isFresh(slot: number, nowMs: number): boolean {
    return nowMs < this.expiresAt(slot);
  }

  freshness(slot: number, nowMs: number): Freshness {
    const expires = this.expiresAt(slot);
    if (nowMs < expires) return 'fresh';
    return nowMs < expires + this.opts.staleMaxAgeSeconds * 1000 ? 'stale' : 'dead';
  }

  /** Counts a fresh hit: two or more make an entry eligible for a background refresh (CoreDNS prefetch). */
  noteHit(slot: number): void {
    if (this.c.hits[slot] < MAX_HITS) this.c.hits[slot]++;
  }

  /** Whether a fresh hit is due for its one background refresh (hot, past its jittered point, not yet started). */
  refreshDue(slot: number, nowMs: number, minHits: number): boolean {
    const c = this.c;
    return c.hits[slot] >= minHits && nowMs >= c.storedAt[slot] + c.refreshAfter[slot] && !(c.flags[slot] & REFRESHING);
  }

  /** The slot's refresh marks as an object for resolve/prefetch.ts: one reused view, valid until the next call. */
  refreshMarks(slot: number): RefreshMarks {
    this.marks.slot = slot;
    return this.marks;
  }

  rcodeOf(slot: number): number {
    return this.c.rcode[slot];
  }

  /** The reply for one client (entry.ts renderAnswer), straight from the arena. */
  render(
    slot: number,
    q: Query,
    nowMs: number,
    maxSize: number,
    udpSize: number,
    fixedTtl = NONE,
    ede = NONE,
    edeText = '',
  ): Buffer {
    const c = this.c;
    const store = this.store;
    const length = c.storedLength[slot];
    const ttlCount = (store.valueLength(slot) - length) / TTL_RECORD_SIZE;
    // The key is qname | qtype | qclass | one byte of DO and CD: all but its last byte is the question section.
    const questionLength = store.keyLength(slot) - 1;
    return renderAnswer(
      store.slab(slot),
      store.valueOffset(slot),
      length,
      questionLength,
      ttlCount,
      c.rcode[slot],
      c.storedAt[slot],
      q,
      nowMs,
      maxSize,
      udpSize,
      fixedTtl,
      ede,
      edeText,
    );
  }

  /** Room for `entries` entries now (a snapshot load), within maxEntries. */
  reserve(entries: number): void {
    this.store.reserve(entries);
  }

  /** A copy of the entry that outlives the slot (a stale answer held across an await). */
  entryAt(slot: number): CacheEntry {
    const c = this.c;
    const store = this.store;
    const at = store.valueOffset(slot);
    const slab = store.slab(slot);
    const keyAt = store.keyOffset(slot);
    const entry = new CacheEntry(
      slab.slice(at, at + store.valueLength(slot)),
      c.storedLength[slot],
      slab.slice(keyAt, keyAt + store.keyLength(slot) - 1),
      c.ttl[slot],
      c.storedAt[slot],
      c.rcode[slot],
      (c.flags[slot] & NEGATIVE) !== 0,
    );
    entry.hits = c.hits[slot];
    entry.refreshAtMs = c.storedAt[slot] + c.refreshAfter[slot];
    entry.refreshing = (c.flags[slot] & REFRESHING) !== 0;
    return entry;
  }

  deleteSlot(slot: number): void {
    this.store.delete(slot);
  }

  // ---- by string key (the request path's miss handling, sweeps, tests) ----

  private slotOf(key: string): number {
    const n = keyOfString(key, this.key);
    return n < 0 ? NO_SLOT : this.store.find(this.key, n, hashKey(this.key, n));
  }

  /** The entry for `key` (a detached copy) and its state at `nowMs`; counts a use like `find`. */
  lookup(key: string, nowMs: number): Lookup | undefined {
    const slot = this.use(this.slotOf(key), nowMs);
    return slot === NO_SLOT ? undefined : { entry: this.entryAt(slot), state: this.freshness(slot, nowMs) };
  }

  /** Whether anything, fresh, stale or dead, is held for `key`. */
  has(key: string): boolean {
    return this.slotOf(key) !== NO_SLOT;
  }

  /**
   * Whether `key` holds an answer, stored at most `maxAgeMs` ago, that a new one contradicts: for NODATA (`name`
   * false), records of the type asked; for NXDOMAIN (`name` true), any NOERROR, since even a NODATA said the name
   * exists.
   */
  holdsContradicted(key: string, name: boolean, nowMs: number, maxAgeMs: number): boolean {
    const slot = this.slotOf(key);
    if (slot === NO_SLOT) return false;
    const c = this.c;
    if (c.rcode[slot] !== Rcode.NOERROR || nowMs - c.storedAt[slot] > maxAgeMs) return false;
    return name || (c.flags[slot] & NEGATIVE) === 0;
  }

  delete(key: string): void {
    const slot = this.slotOf(key);
    if (slot !== NO_SLOT) this.store.delete(slot);
  }

  /**
   * Demotes every expired entry and drops every dead one unless `keepDead(qname)` says otherwise (sweeper.ts); run every
   * few seconds by the Sweeper (sweeper.ts).
   */
  sweep(nowMs: number, keepDead: (qname: string) => boolean): { demoted: number; dropped: number } {
    return sweepSlots(this, nowMs, keepDead);
  }

  /** Every entry as a snapshot needs it, least recently used first (stale ones before fresh ones); copies. */
  exportEntries(): IterableIterator<{ key: string; storedAtMs: number; bytes: Buffer }> {
    return exportEntries(this);
  }

  /** Up to `limit` cached names with their qtypes, most recently used first (for `ballast drill`, records.ts). */
  sampleNames(limit: number): { name: string; type: number }[] {
    return sampleNames(this, limit);
  }

  /** Stale entries held now (the secondary tier, as of the last lookup or sweep). */
  get staleEntries(): number {
    return this.store.size('secondary');
  }

  get entries(): number {
    return this.store.entries;
  }

  /** Every byte the cache holds: arena slabs, the store's and the cache's columns, the index. Exact, not estimated. */
  get bytes(): number {
    return this.store.bytes + this.cols.bytes;
  }

  /** The most `bytes` can ever be under the current bounds (docs/configuration.md, cache.maxBytes). */
  get maxHeldBytes(): number {
    return this.store.maxHeldBytes + this.cols.bytesPerSlot * this.opts.maxEntries;
  }

  /** Bytes of the arena slabs (what cache.maxBytes bounds). */
  get arenaBytes(): number {
    return this.store.arenaBytes;
  }

  /** The store under the rules, for the snapshot writer and restore (storable.ts). */
  get storage(): Store {
    return this.store;
  }

  get options(): CacheOptions {
    return this.opts;
  }

  /** The columns of a slot, for storable.ts: read them again after any store call (growth replaces them). */
  get columns() {
    return this.c;
  }

  /** The scratch key buffer, for storable.ts. */
  get scratchKey(): Uint8Array {
    return this.key;
  }

  get random(): Random {
    return this.hooks.random;
  }

  // ---- storing: storable.ts ----

  /**
   * Turns an upstream response into an entry and stores it when the DNS rules allow; returns the entry either way
   * (so waiting clients can be answered from it) with `cached` saying whether it was kept.
   */
  put(
    key: string,
    upstreamBytes: Buffer,
    upstreamScan: ResponseScan,
    nowMs: number,
  ): { entry: CacheEntry; cached: boolean } {
    return storeAnswer(this, key, upstreamBytes, upstreamScan, nowMs);
  }

  /**
   * Restores one snapshot entry with its real age (so stale rules apply to it) and a fresh random refresh point.
   * The message is scanned again and must carry the key's own question; anything else, and anything dead or from
   * the future, is skipped. Returns whether the entry was kept.
   */
  restore(key: string, bytes: Buffer, storedAtMs: number, nowMs: number): boolean {
    const n = keyOfString(key, this.key);
    return n >= 0 && restoreAnswer(this, n, bytes, storedAtMs, nowMs);
  }
}
