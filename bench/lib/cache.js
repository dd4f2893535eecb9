// DnsCache options for the scripts that drive the built cache in-process (snapshot.js, jitter.js): no TTL clamping
// beyond the RFC caps, refresh between 75 % and 95 % of the TTL, and bounds the caller sets large enough to evict nothing.
export function inProcessCacheOptions({ maxEntries, maxBytes }) {
  return {
    maxEntries,
    maxBytes,
    minTtlSeconds: 0,
    maxTtlSeconds: 604800,
    maxNegativeTtlSeconds: 3600,
    staleMaxAgeSeconds: 86400,
    refreshFrom: 0.75,
    refreshTo: 0.95,
  };
}
