import type { CacheEntry, DnsCache } from '../cache/index.js';
import {
  BallastError,
  QueueFullError,
  UpstreamBusyError,
  UpstreamsDownError,
  UpstreamTimeoutError,
} from '../errors.js';
import { type ForwardDeps, forward, isAnswer, type Zone } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { Ede, type Query, Rcode, rcodeLabel, upstreamQuery } from '../wire/index.js';
import type { FailedAnswer, FailureCache } from './failures.js';

/** The upstream answered with an rcode that is not an answer; the client gets it as is when there is nothing stale. */
export class ErrorAnswer extends BallastError {
  override readonly code = 'BALLAST_UPSTREAM_ERROR_RCODE';

  constructor(readonly entry: CacheEntry) {
    super(`upstream answered ${rcodeLabel(entry.rcode)}`);
  }
}

export interface FetchDeps {
  readonly cache: DnsCache;
  readonly clock: Clock;
  readonly failures: FailureCache;
  readonly forward: ForwardDeps;
  /** The EDNS payload size ballast asks upstreams for. */
  readonly upstreamUdpSize: number;
}

/**
 * What a failed query is answered with, now and from the failure cache while it is held: a timeout is SERVFAIL with
 * EDE 22 (No Reachable Authority), a network error SERVFAIL with EDE 23; an error rcode is the upstream's own.
 * Capacity and zone-wide conditions are not this name's failure and are not held (RFC 9520 §3).
 */
export function failedAnswer(err: unknown): FailedAnswer | undefined {
  if (err instanceof UpstreamsDownError || err instanceof UpstreamBusyError || err instanceof QueueFullError) {
    return undefined;
  }
  if (err instanceof ErrorAnswer) return { rcode: err.entry.rcode };
  if (err instanceof UpstreamTimeoutError) return { rcode: Rcode.SERVFAIL, ede: Ede.NO_REACHABLE_AUTHORITY };
  return { rcode: Rcode.SERVFAIL, ede: Ede.NETWORK_ERROR };
}

/**
 * forward → store: asks the zone's upstreams, stores what the DNS rules let the cache keep, and keeps the failure
 * cache honest. Resolves with the entry of a NOERROR/NXDOMAIN answer; rejects with ErrorAnswer for an error rcode
 * (which never replaces a cached entry, RFC 8767 §4), or with the upstream's error when no answer came.
 */
export async function fetchAndStore(
  q: Query,
  zone: Zone,
  deps: FetchDeps,
  deadlineMs = zone.deadlineMs,
): Promise<CacheEntry> {
  const { cache, clock, failures } = deps;
  const request = { query: upstreamQuery(q, deps.upstreamUdpSize), questionEnd: q.questionEnd, name: q.key };
  try {
    const answer = await forward(zone, request, deps.forward, deadlineMs);
    const { entry } = cache.admit(q.key, answer.bytes, answer.scan, clock.now());
    if (!isAnswer(answer.scan.rcode)) throw new ErrorAnswer(entry);
    failures.clear(q.key);
    return entry;
  } catch (err) {
    const failed = failedAnswer(err);
    if (failed !== undefined) failures.record(q.key, clock.now(), cache.has(q.key), failed);
    throw err;
  }
}
