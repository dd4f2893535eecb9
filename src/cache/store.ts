import { LRUCache } from 'lru-cache';

/** What the store needs from a value: its size in bytes, for the byte bound. */
export interface Sized {
  readonly size: number;
}

export interface StoreOptions {
  /** Most entries held; the least recently used goes first. */
  readonly maxEntries: number;
  /** Most bytes held, as reported by each value's `size`. */
  readonly maxBytes: number;
  /** Called when an entry leaves because of a bound (not on delete or replace). */
  readonly onEvict?: (key: string) => void;
}

/**
 * A bounded map from string keys to sized values, with least-recently-used eviction by entry count and by bytes.
 * It knows nothing about DNS (STYLE.md §3); the rules live in cache.ts. lru-cache does the bookkeeping.
 */
export class Store<V extends Sized> {
  private readonly lru: LRUCache<string, V>;

  constructor(opts: StoreOptions) {
    const onEvict = opts.onEvict;
    this.lru = new LRUCache<string, V>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (value, key) => value.size + key.length * 2,
      dispose: onEvict
        ? (_value, key, reason) => {
            if (reason === 'evict') onEvict(key);
          }
        : undefined,
    });
  }

  get(key: string): V | undefined {
    return this.lru.get(key);
  }

  /** Reads without refreshing recency (for snapshots and background work). */
  peek(key: string): V | undefined {
    return this.lru.peek(key);
  }

  set(key: string, value: V): void {
    this.lru.set(key, value);
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** Entries from most to least recently used. */
  *items(): IterableIterator<[string, V]> {
    yield* this.lru.entries();
  }
}
