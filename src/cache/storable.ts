import {
  HEADER_SIZE,
  MalformedMessageError,
  negativeKind,
  Rcode,
  type ResponseScan,
  scanResponse,
  storedForm,
} from '../wire/index.js';
import { CacheEntry, TTL_RECORD_SIZE, writeStripped } from './entry.js';
import { hashKey, keyOfString } from './key.js';
import { type CacheOptions, type CacheState, NEGATIVE } from './state.js';
import { NO_SLOT } from './store.js';

/** A restored entry may claim to be this far in the future (clock skew between the writer and us). */
const FUTURE_SLACK_MS = 60_000;

/**
 * Turns an upstream response into an entry and stores it when the DNS rules allow (RFC 1035 TTLs, RFC 2308
 * negative caching); returns a detached entry either way, so clients waiting on the fetch are answered from it, with
 * `cached` saying whether the cache kept it. The response must answer the key's own question (the upstream layer
 * checks it; this checks it again, since a wrong answer stored here would be served to everyone).
 */
export function storeAnswer(
  cache: CacheState,
  key: string,
  upstreamBytes: Buffer,
  upstreamScan: ResponseScan,
  nowMs: number,
): { entry: CacheEntry; cached: boolean } {
  const { bytes, scan } = storedForm(upstreamBytes, upstreamScan, cache.options.trustAd);
  const ttls = scan.ttls.slice();
  const lifetime = entryLifetime(cache.options, scan, ttls);
  const negative = negativeKind(scan) !== undefined;
  const storedLength = bytes.length - (scan.questionEnd - HEADER_SIZE);
  // From Buffer's shared pool, not a malloc of its own: one per upstream answer would fragment the C heap.
  const data = Buffer.allocUnsafe(storedLength + ttls.length * TTL_RECORD_SIZE);
  writeStripped(data, 0, bytes, scan.questionEnd);
  writeTtlTable(data, storedLength, scan.ttlOffsets, ttls);
  const question = new Uint8Array(bytes.subarray(HEADER_SIZE, scan.questionEnd));
  const entry = new CacheEntry(data, storedLength, question, Math.max(lifetime, 0), nowMs, scan.rcode, negative);
  if (lifetime <= 0) return { entry, cached: false };
  const keyLength = keyOfString(key, cache.scratchKey);
  if (keyLength < 0 || !answersKey(cache.scratchKey, keyLength, bytes, scan)) return { entry, cached: false };
  const slot = put(cache, keyLength, data, data.length, storedLength, lifetime, nowMs, scan.rcode, negative);
  if (slot === NO_SLOT) return { entry, cached: false };
  entry.refreshAtMs = nowMs + cache.columns.refreshAfter[slot];
  return { entry, cached: true };
}

/**
 * Restores one snapshot entry (its key already in cache.scratchKey, `keyLength` bytes) with its real age and a
 * fresh random refresh point. Returns whether it was kept: a message that does not scan, does not carry the key's
 * question, is not cacheable under today's rules, comes from the future or is dead is skipped.
 */
export function restoreAnswer(
  cache: CacheState,
  keyLength: number,
  message: Buffer,
  storedAtMs: number,
  nowMs: number,
): boolean {
  if (!(storedAtMs <= nowMs + FUTURE_SLACK_MS)) return false;
  let scanned: ResponseScan;
  try {
    scanned = scanResponse(message);
  } catch (err) {
    if (err instanceof MalformedMessageError) return false;
    throw err;
  }
  const { bytes, scan } = storedForm(message, scanned, cache.options.trustAd);
  if (!answersKey(cache.scratchKey, keyLength, bytes, scan)) return false;
  const ttls = scan.ttls.slice();
  const lifetime = entryLifetime(cache.options, scan, ttls);
  if (lifetime <= 0) return false;
  if (nowMs >= storedAtMs + (lifetime + cache.options.staleMaxAgeSeconds) * 1000) return false;
  const negative = negativeKind(scan) !== undefined;
  // Straight into the arena: no detached copy is needed for a restored entry.
  const storedLength = bytes.length - (scan.questionEnd - HEADER_SIZE);
  const valueLength = storedLength + ttls.length * TTL_RECORD_SIZE;
  const slot = put(cache, keyLength, undefined, valueLength, storedLength, lifetime, storedAtMs, scan.rcode, negative);
  if (slot === NO_SLOT) return false;
  const slab = cache.storage.slab(slot);
  const at = cache.storage.valueOffset(slot);
  writeStripped(slab, at, bytes, scan.questionEnd);
  writeTtlTable(slab, at + storedLength, scan.ttlOffsets, ttls);
  return true;
}

/**
 * Stores a value of `valueLength` bytes under the key in cache.scratchKey, writing `data` at its start when given
 * (otherwise the caller writes the value before the next store call); the new slot, or NO_SLOT.
 */
function put(
  cache: CacheState,
  keyLength: number,
  data: Uint8Array | undefined,
  valueLength: number,
  storedLength: number,
  lifetime: number,
  storedAtMs: number,
  rcode: number,
  negative: boolean,
): number {
  const store = cache.storage;
  const key = cache.scratchKey;
  const slot = store.insert(key, keyLength, hashKey(key, keyLength), valueLength);
  if (slot === NO_SLOT) return NO_SLOT;
  if (data !== undefined) store.slab(slot).set(data, store.valueOffset(slot));
  const c = cache.columns;
  c.storedAt[slot] = storedAtMs;
  c.ttl[slot] = lifetime;
  // A per-entry random refresh point, so entries stored together are not all refreshed together (docs/design.md §5).
  const { refreshFrom, refreshTo } = cache.options;
  const fraction = refreshFrom + (refreshTo - refreshFrom) * cache.random.float();
  c.refreshAfter[slot] = Math.floor(lifetime * 1000 * fraction);
  c.hits[slot] = 0;
  c.flags[slot] = negative ? NEGATIVE : 0;
  c.rcode[slot] = rcode;
  c.storedLength[slot] = storedLength;
  return slot;
}

/** Whether the message's one question is the key's: same name ignoring ASCII case (RFC 4343), qtype and qclass. */
function answersKey(key: Uint8Array, keyLength: number, bytes: Buffer, scan: ResponseScan): boolean {
  const questionLength = scan.questionEnd - HEADER_SIZE;
  if (scan.qdcount !== 1 || questionLength !== keyLength - 1) return false;
  const nameEnd = questionLength - 4;
  for (let i = 0; i < questionLength; i++) {
    let c = bytes[HEADER_SIZE + i];
    if (i < nameEnd && c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== key[i]) return false;
  }
  return true;
}

function writeTtlTable(data: Uint8Array, at: number, offsets: number[], ttls: number[]): void {
  for (let i = 0; i < offsets.length; i++, at += TTL_RECORD_SIZE) {
    const o = offsets[i];
    const t = ttls[i];
    data[at] = o >> 8;
    data[at + 1] = o & 0xff;
    data[at + 2] = t >>> 24;
    data[at + 3] = (t >>> 16) & 0xff;
    data[at + 4] = (t >>> 8) & 0xff;
    data[at + 5] = t & 0xff;
  }
}

/**
 * The entry lifetime in seconds, clamping `ttls` in place to what will be served; ≤ 0 means "do not cache".
 * Positive answers live for their smallest record TTL. NXDOMAIN and NODATA live for min(SOA TTL, SOA MINIMUM)
 * and are not cached without an SOA (RFC 2308 §5); so does a NODATA at the end of a CNAME chain (answers, but none
 * of the asked type, and an SOA: RFC 2308 §2.2), whatever the CNAME's own TTL. Every record of a negative answer,
 * the SOA included, is served counting down from that lifetime. Truncated answers and other rcodes are never cached.
 */
export function entryLifetime(opts: CacheOptions, scan: ResponseScan, ttls: number[]): number {
  if (scan.truncated) return 0;
  const { minTtlSeconds, maxTtlSeconds, maxNegativeTtlSeconds } = opts;
  const negative = negativeKind(scan);
  if (scan.rcode === Rcode.NOERROR && negative === undefined) {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ttls.length; i++) {
      ttls[i] = Math.min(Math.max(ttls[i], minTtlSeconds), maxTtlSeconds);
      if (ttls[i] < min) min = ttls[i];
    }
    return min;
  }
  if (negative === undefined || scan.soaTtl < 0) return 0;
  const lifetime = Math.min(scan.soaTtl, scan.soaMinimum, maxNegativeTtlSeconds, maxTtlSeconds);
  for (let i = 0; i < ttls.length; i++) ttls[i] = Math.min(ttls[i], lifetime);
  return lifetime;
}
