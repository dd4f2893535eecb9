import type { Random } from '../util/random.js';
import {
  BAD_NAME,
  HEADER_SIZE,
  lowerName,
  MalformedMessageError,
  nameToString,
  qnameOfKey,
  Rcode,
  type ResponseScan,
  scanResponse,
  skipName,
  storedForm,
} from '../wire/index.js';
import { CacheEntry } from './entry.js';
import { Store, type Tier } from './store.js';

export interface CacheOptions {
  readonly maxEntries: number;
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
}

export interface CacheHooks {
  onEvict?: (tier: Tier) => void;
  /** Randomness for refresh points; injected so tests are deterministic. */
  random: Random;
}

/** fresh: within its TTL. stale: expired, within staleMaxAge. dead: past staleMaxAge (kept only when asked). */
export type Freshness = 'fresh' | 'stale' | 'dead';

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
    private opts: CacheOptions,
    private readonly hooks: CacheHooks,
  ) {
    const onEvict = hooks.onEvict;
    this.store = new Store<CacheEntry>({
      maxEntries: opts.maxEntries,
      maxBytes: opts.maxBytes,
      onEvict: onEvict ? (_key, tier) => onEvict(tier) : undefined,
    });
  }

  /** New rules and bounds (a config reload). Entries are kept; TTL rules apply to what is stored from now on. */
  reconfigure(opts: CacheOptions): void {
    const resize = opts.maxEntries !== this.opts.maxEntries || opts.maxBytes !== this.opts.maxBytes;
    this.opts = opts;
    if (resize) this.store.resize(opts.maxEntries, opts.maxBytes);
  }

  /**
   * The entry for `key` and its state at `nowMs`. An expired entry is demoted to the store's secondary tier, so
   * under memory pressure stale entries are evicted before fresh ones (docs/design.md §4).
   */
  lookup(key: string, nowMs: number): Lookup | undefined {
    const entry = this.store.get(key);
    if (entry === undefined) return undefined;
    if (nowMs < entry.expiresAtMs) return { entry, state: 'fresh' };
    this.store.demote(key);
    return { entry, state: nowMs < entry.expiresAtMs + this.opts.staleMaxAgeSeconds * 1000 ? 'stale' : 'dead' };
  }

  /**
   * Demotes every expired entry and drops every dead one unless `keepDead(key)` says otherwise (the option that keeps
   * answers past staleMaxAge while their zone's upstreams are down). O(entries); run every few seconds.
   */
  sweep(nowMs: number, keepDead: (key: string) => boolean): { demoted: number; dropped: number } {
    let demoted = 0;
    let dropped = 0;
    for (const [key, entry] of this.store.items('primary')) {
      if (nowMs >= entry.expiresAtMs) {
        this.store.demote(key);
        demoted++;
      }
    }
    const maxAgeMs = this.opts.staleMaxAgeSeconds * 1000;
    for (const [key, entry] of this.store.items('secondary')) {
      if (nowMs >= entry.expiresAtMs + maxAgeMs && !keepDead(key)) {
        this.store.delete(key);
        dropped++;
      }
    }
    return { demoted, dropped };
  }

  /** Every entry as a snapshot needs it, least recently used first (stale ones before fresh ones). */
  *exportEntries(): IterableIterator<{ key: string; storedAtMs: number; bytes: Buffer }> {
    for (const tier of ['secondary', 'primary'] as const) {
      for (const [key, entry] of this.store.itemsOldestFirst(tier))
        yield { key, storedAtMs: entry.storedAtMs, bytes: entry.bytes };
    }
  }

  /**
   * Restores one snapshot entry with its real age (so stale rules apply to it) and a fresh random refresh point.
   * The message is scanned again and must carry the key's own question; anything else, and anything dead or from
   * the future, is skipped. Returns whether the entry was kept.
   */
  restore(key: string, bytes: Buffer, storedAtMs: number, nowMs: number): boolean {
    if (!(storedAtMs <= nowMs + 60_000)) return false;
    let scan: ResponseScan;
    try {
      scan = scanResponse(bytes);
    } catch (err) {
      if (err instanceof MalformedMessageError) return false;
      throw err;
    }
    if (scan.qdcount !== 1 || lowerName(bytes, HEADER_SIZE, scan.questionEnd - 4) !== qnameOfKey(key)) return false;
    const [qtype, qclass] = key
      .slice(qnameOfKey(key).length + 1)
      .split('/')
      .map(Number);
    if (bytes.readUInt16BE(scan.questionEnd - 4) !== qtype || bytes.readUInt16BE(scan.questionEnd - 2) !== qclass)
      return false;
    const { entry, cached } = this.admit(key, bytes, scan, storedAtMs);
    if (!cached) return false;
    if (nowMs >= entry.expiresAtMs + this.opts.staleMaxAgeSeconds * 1000) {
      this.store.delete(key);
      return false;
    }
    return true;
  }

  /** Up to `limit` cached names with their qtypes, most recently used first (for `ballast drill`). */
  sampleNames(limit: number): { name: string; type: number }[] {
    const out: { name: string; type: number }[] = [];
    for (const tier of ['primary', 'secondary'] as const) {
      for (const [, entry] of this.store.items(tier)) {
        if (out.length >= limit) return out;
        const nameEnd = skipName(entry.bytes, HEADER_SIZE);
        if (nameEnd === BAD_NAME) continue;
        out.push({ name: nameToString(entry.bytes, HEADER_SIZE), type: entry.bytes.readUInt16BE(nameEnd) });
      }
    }
    return out;
  }

  /** Stale entries held now (the secondary tier, as of the last lookup or sweep). */
  get staleEntries(): number {
    return this.store.size('secondary');
  }

  /** Whether anything, fresh, stale or dead, is held for `key`. */
  has(key: string): boolean {
    return this.store.peek(key) !== undefined;
  }

  delete(key: string): void {
    this.store.delete(key);
  }

  /**
   * Turns an upstream response into an entry and stores it when the DNS rules allow; returns the entry either way
   * (so waiting clients can be answered from it) with `cached` saying whether it was kept.
   */
  admit(
    key: string,
    upstreamBytes: Buffer,
    upstreamScan: ResponseScan,
    nowMs: number,
  ): { entry: CacheEntry; cached: boolean } {
    const { bytes, scan } = storedForm(upstreamBytes, upstreamScan);
    const ttls = scan.ttls.slice();
    const lifetime = this.lifetime(scan, ttls);
    const negative = scan.rcode === Rcode.NXDOMAIN || (scan.rcode === Rcode.NOERROR && scan.ancount === 0);
    if (lifetime <= 0) return { entry: CacheEntry.fromScan(bytes, scan, ttls, 0, nowMs, negative), cached: false };
    // A message that is a view into a much larger buffer (several TCP frames read at once) is copied, so the entry
    // does not keep the whole read alive.
    const own = bytes.buffer.byteLength > 2 * bytes.length ? Buffer.from(bytes) : bytes;
    const entry = CacheEntry.fromScan(own, scan, ttls, lifetime, nowMs, negative);
    // A per-entry random refresh point, so entries stored together are not all refreshed together (docs/design.md §5).
    const { refreshFrom, refreshTo } = this.opts;
    const fraction = refreshFrom + (refreshTo - refreshFrom) * this.hooks.random.float();
    entry.refreshAtMs = nowMs + Math.floor(lifetime * 1000 * fraction);
    return { entry, cached: this.store.set(key, entry) };
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
