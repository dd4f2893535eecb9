import type { CacheEntry, DnsCache } from '../cache/index.js';
import type { Clock } from '../util/clock.js';
import { cacheKey, type Query } from '../wire/index.js';

/** How a refresh raced against the client response timer ended. */
export type RaceResult<T> =
  | { readonly kind: 'answer'; readonly value: T }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'failed'; readonly err: unknown };

/**
 * RFC 8767 §5: with a stale entry and a healthy upstream, the refresh gets `waitMs` to answer; after that the client
 * gets the stale answer and the refresh goes on in the background. A refresh that fails first also means stale.
 */
export function raceStale<T>(flight: Promise<T>, waitMs: number, clock: Clock): Promise<RaceResult<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: RaceResult<T>) => {
      if (done) return;
      done = true;
      timer.cancel();
      resolve(r);
    };
    const timer = clock.setTimer(() => finish({ kind: 'timeout' }), waitMs);
    flight.then(
      (value) => finish({ kind: 'answer', value }),
      (err) => finish({ kind: 'failed', err }),
    );
  });
}

/**
 * How long a client joining a refresh still waits: the timer runs from when the refresh started, so a client that
 * joins a slow refresh late (a retry, say) gets the stale answer when the first asker does, not a full timer later.
 */
export function remainingWait(clientTimeoutMs: number, startedAt: number, now: number): number {
  return Math.max(0, clientTimeoutMs - (now - startedAt));
}

/**
 * A DO=1 query that failed with nothing of its own to fall back on: the same question's DO=0 answer, to be served in
 * stale form rather than SERVFAIL (RFC 8767; what Unbound and BIND serve). It carries no DNSSEC records, which a
 * validating client treats as it treats any answer without them.
 */
export function withoutDnssec(cache: DnsCache, q: Query, nowMs: number): CacheEntry | undefined {
  if (!q.dnssecOk) return undefined;
  const found = cache.lookup(cacheKey(q.qname, q.qtype, q.qclass, false, q.checkingDisabled), nowMs);
  return found !== undefined && found.state !== 'dead' ? found.entry : undefined;
}
