import { LRUCache } from 'lru-cache';

/** What the store needs from a value: its size in bytes, for the byte bound. */
export interface Sized {
  readonly size: number;
}

export interface StoreOptions {
  /** Most entries held, across both tiers. */
  readonly maxEntries: number;
  /** Most bytes held, across both tiers, as reported by each value's `size` (plus the key). */
  readonly maxBytes: number;
  /** Called when an entry leaves because of a bound (not on delete or replace), with the tier it left from. */
  readonly onEvict?: (key: string, tier: Tier) => void;
}

/** `primary` holds live values; `secondary` holds demoted ones, which go first under pressure. */
export type Tier = 'primary' | 'secondary';

/**
 * A bounded map from string keys to sized values with two least-recently-used tiers: when the entry or byte bound is
 * exceeded, the least recently used *secondary* value goes first, and a primary one only when no secondary is left.
 * It knows nothing about DNS: cache.ts demotes expired entries, which is how stale answers are evicted
 * before fresh ones (docs/design.md §4). lru-cache keeps the recency order of each tier.
 */
export class Store<V extends Sized> {
  private readonly tiers: Record<Tier, LRUCache<string, V>>;
  private count = 0;
  private total = 0;

  constructor(private opts: StoreOptions) {
    // Each tier could hold everything; the shared bounds are enforced here, across both.
    this.tiers = {
      primary: new LRUCache<string, V>({ max: opts.maxEntries + 1 }),
      secondary: new LRUCache<string, V>({ max: opts.maxEntries + 1 }),
    };
  }

  get(key: string): V | undefined {
    return this.tiers.primary.get(key) ?? this.tiers.secondary.get(key);
  }

  /** Reads without refreshing recency (snapshots, background work). */
  peek(key: string): V | undefined {
    return this.tiers.primary.peek(key) ?? this.tiers.secondary.peek(key);
  }

  /** The tier holding `key`, if any. */
  tierOf(key: string): Tier | undefined {
    if (this.tiers.primary.has(key)) return 'primary';
    if (this.tiers.secondary.has(key)) return 'secondary';
    return undefined;
  }

  /** New bounds (a config reload): entries are kept, oldest first out if the new bounds are tighter. */
  resize(maxEntries: number, maxBytes: number): void {
    const keep = { primary: [...this.itemsOldestFirst('primary')], secondary: [...this.itemsOldestFirst('secondary')] };
    this.opts = { ...this.opts, maxEntries, maxBytes };
    this.tiers.primary = new LRUCache<string, V>({ max: maxEntries + 1 });
    this.tiers.secondary = new LRUCache<string, V>({ max: maxEntries + 1 });
    this.count = 0;
    this.total = 0;
    for (const tier of ['secondary', 'primary'] as const) {
      for (const [k, v] of keep[tier]) {
        this.tiers[tier].set(k, v);
        this.count++;
        this.total += weigh(k, v);
      }
    }
    this.evict();
  }

  /** Stores `value` in the primary tier, replacing any value for `key`; false when it alone exceeds maxBytes. */
  set(key: string, value: V): boolean {
    const size = weigh(key, value);
    if (size > this.opts.maxBytes) return false;
    this.delete(key);
    this.tiers.primary.set(key, value);
    this.count++;
    this.total += size;
    this.evict();
    return true;
  }

  /** Moves `key` to the secondary tier (keeping its value); no-op if it is not primary. */
  demote(key: string): void {
    const value = this.tiers.primary.peek(key);
    if (value === undefined) return;
    this.tiers.primary.delete(key);
    this.tiers.secondary.set(key, value);
  }

  delete(key: string): boolean {
    for (const tier of [this.tiers.primary, this.tiers.secondary]) {
      const value = tier.peek(key);
      if (value !== undefined) {
        tier.delete(key);
        this.count--;
        this.total -= weigh(key, value);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.tiers.primary.clear();
    this.tiers.secondary.clear();
    this.count = 0;
    this.total = 0;
  }

  private evict(): void {
    while (this.count > this.opts.maxEntries || this.total > this.opts.maxBytes) {
      const tier: Tier = this.tiers.secondary.size > 0 ? 'secondary' : 'primary';
      const key = this.tiers[tier].rkeys().next().value;
      if (key === undefined) return;
      this.delete(key);
      this.opts.onEvict?.(key, tier);
    }
  }

  get entries(): number {
    return this.count;
  }

  get bytes(): number {
    return this.total;
  }

  /** Entries per tier. */
  size(tier: Tier): number {
    return this.tiers[tier].size;
  }

  /** Every entry of one tier, least recently used first (for snapshots: loading in this order rebuilds recency). */
  *itemsOldestFirst(tier: Tier): IterableIterator<[string, V]> {
    for (const [k, v] of [...this.tiers[tier].rentries()] as [string, V][]) yield [k, v];
  }

  /** Every entry of one tier, most recently used first (a snapshot of keys, safe against changes). */
  *items(tier: Tier): IterableIterator<[string, V]> {
    for (const [k, v] of [...this.tiers[tier].entries()]) yield [k, v];
  }
}

function weigh(key: string, value: Sized): number {
  return value.size + key.length * 2;
}
