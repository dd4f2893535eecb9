import { Rcode, type ResponseScan } from '../wire/index.js';
import { CacheEntry } from './entry.js';
import { Store } from './store.js';

export interface CacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Floor for positive TTLs. */
  readonly minTtlSeconds: number;
  /** Cap for any TTL (RFC 8767 §4 suggests 7 days). */
  readonly maxTtlSeconds: number;
  /** Cap for negative TTLs (RFC 2308 §5). */
  readonly maxNegativeTtlSeconds: number;
}

export interface CacheHooks {
  onEvict?: () => void;
}

export type Freshness = 'fresh' | 'expired';

export interface Lookup {
  readonly entry: CacheEntry;
  readonly state: Freshness;
}

/**
 * The DNS rules on top of the store: what may be cached, for how long (RFC 1035 TTLs, RFC 2308 negative caching),
 * and whether an entry is still fresh at a given time.
 */
export class DnsCache {
  private readonly store: Store<CacheEntry>;

  constructor(
    private readonly opts: CacheOptions,
    hooks: CacheHooks = {},
  ) {
    const onEvict = hooks.onEvict;
    this.store = new Store<CacheEntry>({
      maxEntries: opts.maxEntries,
      maxBytes: opts.maxBytes,
      onEvict: onEvict ? () => onEvict() : undefined,
    });
  }

  /** The entry for `key` and whether it is fresh at `nowMs`. */
  lookup(key: string, nowMs: number): Lookup | undefined {
    const entry = this.store.get(key);
    if (entry === undefined) return undefined;
    return { entry, state: nowMs < entry.expiresAtMs ? 'fresh' : 'expired' };
  }

  delete(key: string): void {
    this.store.delete(key);
  }

  /**
   * Turns an upstream response into an entry and stores it when the DNS rules allow; returns the entry either way
   * (so waiting clients can be answered from it) with `cached` saying whether it was kept.
   */
  admit(key: string, bytes: Buffer, scan: ResponseScan, nowMs: number): { entry: CacheEntry; cached: boolean } {
    const ttls = scan.ttls.slice();
    const lifetime = this.lifetime(scan, ttls);
    const negative = scan.rcode === Rcode.NXDOMAIN || (scan.rcode === Rcode.NOERROR && scan.ancount === 0);
    const entry = CacheEntry.fromScan(bytes, scan, ttls, Math.max(lifetime, 0), nowMs, negative);
    if (lifetime <= 0) return { entry, cached: false };
    this.store.set(key, entry);
    // lru-cache refuses a single value larger than the whole byte budget.
    return { entry, cached: this.store.peek(key) === entry };
  }

  /**
   * The entry lifetime in seconds, clamping `ttls` in place to what will be served; ≤ 0 means "do not cache".
   * Positive answers live for their smallest record TTL. NXDOMAIN and NODATA live for min(SOA TTL, SOA MINIMUM)
   * and are not cached without an SOA (RFC 2308 §5). Truncated answers and other rcodes are never cached.
   */
  private lifetime(scan: ResponseScan, ttls: number[]): number {
    if (scan.truncated) return 0;
    const { minTtlSeconds, maxTtlSeconds, maxNegativeTtlSeconds } = this.opts;
    if (scan.rcode === Rcode.NOERROR && scan.ancount > 0) {
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ttls.length; i++) {
        ttls[i] = Math.min(Math.max(ttls[i], minTtlSeconds), maxTtlSeconds);
        if (ttls[i] < min) min = ttls[i];
      }
      return min;
    }
    if (scan.rcode === Rcode.NXDOMAIN || scan.rcode === Rcode.NOERROR) {
      if (scan.soaTtl < 0) return 0;
      const negative = Math.min(scan.soaTtl, scan.soaMinimum, maxNegativeTtlSeconds, maxTtlSeconds);
      for (let i = 0; i < ttls.length; i++) ttls[i] = Math.min(ttls[i], negative);
      return negative;
    }
    return 0;
  }

  get entries(): number {
    return this.store.entries;
  }

  get bytes(): number {
    return this.store.bytes;
  }
}
