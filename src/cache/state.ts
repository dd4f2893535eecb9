import type { Random } from '../util/random.js';
import { Columns } from './columns.js';
import type { Store } from './store.js';
import { NO_SLOT } from './store.js';

export interface CacheOptions {
  readonly maxEntries: number;
  /** Bound of the arena slabs that hold keys and messages (docs/configuration.md, cache.maxBytes). */
  readonly maxBytes: number;
  /** Floor for positive TTLs. */
  readonly minTtlSeconds: number;
  /** Cap for any TTL (RFC 8767 §4 suggests 7 days). */
  readonly maxTtlSeconds: number;
  /** Cap for negative TTLs (RFC 2308 §5). */
  readonly maxNegativeTtlSeconds: number;
  /** How long an entry is kept past its expiry to be served stale (RFC 8767 §5 suggests 1–3 days). */
  readonly staleMaxAgeSeconds: number;
  /** The background refresh point, as fractions of the TTL: uniform between these, per entry. */
  readonly refreshFrom: number;
  readonly refreshTo: number;
  /** Keep the upstream's AD bit (upstream.trustAd); otherwise it is cleared before an answer is stored. */
  readonly trustAd?: boolean;
  /** Arena slab size (tests use small slabs to exercise compaction); the store's default otherwise. */
  readonly slabBytes?: number;
}

/** Bits of the cache's `flags` column. */
export const REFRESHING = 1;
export const NEGATIVE = 2;

/** The DNS rules' per-slot columns (docs/performance.md §1); the store keeps its own. */
export function entryColumns(capacity: number) {
  return new Columns(
    {
      storedAt: Float64Array,
      ttl: Uint32Array,
      refreshAfter: Uint32Array,
      hits: Uint16Array,
      flags: Uint8Array,
      rcode: Uint16Array,
      /** Bytes of the stored message, which leaves out the question (entry.ts). */
      storedLength: Uint16Array,
    },
    capacity,
  );
}

export type EntryColumns = ReturnType<typeof entryColumns>['arrays'];

/**
 * What storing and snapshot records work on (storable.ts, records.ts): the cache's parts, without its lookup API.
 * DnsCache is the one implementation.
 */
export interface CacheState {
  readonly options: CacheOptions;
  /** Read again after any store call: growth replaces the arrays. */
  readonly columns: EntryColumns;
  /** Scratch for the key being looked up or stored. */
  readonly scratchKey: Uint8Array;
  readonly storage: Store;
  readonly random: Random;
}

/** What prefetch decisions read and mark on an entry (resolve/prefetch.ts). */
export interface RefreshMarks {
  readonly hits: number;
  readonly refreshAtMs: number;
  refreshing: boolean;
}

/** The reused RefreshMarks view of DnsCache.refreshMarks. */
export class SlotMarks implements RefreshMarks {
  slot = NO_SLOT;
  constructor(private readonly cache: CacheState) {}
  get hits(): number {
    return this.cache.columns.hits[this.slot];
  }
  get refreshAtMs(): number {
    const c = this.cache.columns;
    return c.storedAt[this.slot] + c.refreshAfter[this.slot];
  }
  get refreshing(): boolean {
    return (this.cache.columns.flags[this.slot] & REFRESHING) !== 0;
  }
  set refreshing(v: boolean) {
    const f = this.cache.columns.flags;
    f[this.slot] = v ? f[this.slot] | REFRESHING : f[this.slot] & ~REFRESHING;
  }
}
