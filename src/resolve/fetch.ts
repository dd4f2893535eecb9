import type { CacheEntry, DnsCache } from '../cache/index.js';
import { BallastError } from '../errors.js';
import {
  type Askers,
  domainOf,
  type ForwardDeps,
  type Forwarded,
  forward,
  isAnswer,
  QUERY_RULES,
  queryOutcome,
  unansweredReply,
  type Zone,
} from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { negativeKind, type Query, rcodeLabel, upstreamQuery } from '../wire/index.js';
import { type Contests, KeptLastKnownGood } from './contest.js';
import type { FailureCache } from './failures.js';
import { zoneEpoch } from './zone-state.js';

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
  /** Ask upstreams for AD (RFC 6840 §5.7), when their AD is trusted. */
  readonly trustAd: boolean;
  /** Names whose negative answer is not believed yet (contest.ts). */
  readonly contests: Contests;
  /** The oldest positive answer kept in place of a negative one. */
  readonly lastKnownGoodMaxAgeMs: number;
}

/** Who asks: the flow whose turn it waits for (a client, in a zone), and the askers that join it later. */
export interface Asker {
  readonly flow: string;
  readonly askers: Askers;
}

/**
 * forward → store: asks the zone's upstreams, stores what the DNS rules let the cache keep, and keeps the failure
 * cache honest. Resolves with the entry of a NOERROR/NXDOMAIN answer; rejects with ErrorAnswer for an error rcode
 * (which never replaces a cached entry, RFC 8767 §4), or with the error that names how the query ended. Only an
 * outcome that is the name's (outcome.ts: an error rcode, a deadline spent on the wire) is held against it; the
 * hold is answered as the failure was, and lasts while the zone stays in the epoch it was recorded in.
 */
export async function fetchAndStore(q: Query, zone: Zone, deps: FetchDeps, asker: Asker): Promise<CacheEntry> {
  const { cache, clock, failures } = deps;
  const request = {
    query: upstreamQuery(q, deps.upstreamUdpSize, deps.trustAd),
    questionEnd: q.questionEnd,
    name: q.key,
    domain: domainOf(q.qname, zone.labels),
    flow: asker.flow,
    askers: asker.askers,
  };
  let answered: Forwarded;
  try {
    answered = await forward(zone, request, deps.forward);
  } catch (err) {
    const outcome = queryOutcome(err);
    const { hold } = QUERY_RULES[outcome];
    if (hold !== 'none') {
      const answer = unansweredReply(outcome);
      failures.record(q.key, clock.now(), {
        hasStale: cache.has(q.key),
        answer,
        epoch: zoneEpoch(zone),
        backoff: hold === 'backoff',
      });
    }
    throw err;
  }
  const { answer } = answered;
  if (isAnswer(answer.scan.rcode)) keepOrBelieve(q.key, answered, zone, deps);
  const { entry } = cache.put(q.key, answer.bytes, answer.scan, clock.now());
  if (!isAnswer(answer.scan.rcode)) {
    failures.record(q.key, clock.now(), {
      hasStale: cache.has(q.key),
      answer: { rcode: entry.rcode },
      epoch: zoneEpoch(zone),
    });
    throw new ErrorAnswer(entry);
  }
  failures.clear(q.key);
  return entry;
}

/**
 * Last known good (contest.ts): a positive answer ends any contest about the name and counts for its route; a
 * negative one that contradicts nothing ends the contest too. A negative one that the cache's answer contradicts
 * (NODATA where it holds records; NXDOMAIN where it holds any NOERROR, which said the name exists) is a
 * contradiction, counted against the route; then the zone's policy keeps the held answer (throws KeptLastKnownGood,
 * an answer as good as a real one for the failure cache) or believes the negative one, which then replaces the held
 * answer even when it cannot be cached itself (no SOA, a negative TTL of 0).
 */
function keepOrBelieve(key: string, { answer, route }: Forwarded, zone: Zone, deps: FetchDeps): void {
  const said = negativeKind(answer.scan);
  if (said === undefined) {
    deps.contests.settle(key);
    route.agreed(key);
    return;
  }
  const now = deps.clock.now();
  if (!deps.cache.holdsContradicted(key, said === 'NXDOMAIN', now, deps.lastKnownGoodMaxAgeMs)) {
    deps.contests.settle(key);
    return;
  }
  route.contradicted(key);
  if (deps.contests.judge(key, said, zone.lastKnownGood, route.answersWrong, now) === 'keep') {
    deps.failures.clear(key);
    throw new KeptLastKnownGood(said, deps.cache.lookup(key, now)!.entry);
  }
  deps.cache.delete(key);
}
