import type { CacheEntry, DnsCache } from '../cache/index.js';
import { BallastError, UpstreamBusyError, UpstreamsDownError } from '../errors.js';
import type { Zone } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { type Query, rcodeLabel } from '../wire/index.js';
import type { FailureCache } from './failures.js';
import { type ForwardOptions, forward, isAnswer } from './forward.js';

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
  readonly forward: ForwardOptions;
}

/**
 * forward → store: asks the zone's upstreams, stores what the DNS rules let the cache keep, and keeps the failure
 * cache honest. Resolves with the entry of a NOERROR/NXDOMAIN answer; rejects with ErrorAnswer for an error rcode
 * (which never replaces a cached entry, RFC 8767 §4), or with the upstream's error when no answer came.
 */
export async function fetchAndStore(q: Query, zone: Zone, deps: FetchDeps): Promise<CacheEntry> {
  const { cache, clock, failures } = deps;
  let answer: Awaited<ReturnType<typeof forward>>;
  try {
    answer = await forward(q, zone, deps.forward);
  } catch (err) {
    // Zone-wide conditions are not this key's failure; everything else is (RFC 9520 §3).
    if (!(err instanceof UpstreamsDownError || err instanceof UpstreamBusyError)) {
      failures.record(q.key, clock.now(), cache.has(q.key));
    }
    throw err;
  }
  const { entry } = cache.admit(q.key, answer.bytes, answer.scan, clock.now());
  if (isAnswer(answer.scan.rcode)) {
    failures.clear(q.key);
    return entry;
  }
  failures.record(q.key, clock.now(), cache.has(q.key));
  throw new ErrorAnswer(entry);
}
