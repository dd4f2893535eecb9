import type { Logger } from 'pino';
import type { CacheEntry, DnsCache, Lookup } from '../cache/index.js';
import { UpstreamBusyError, UpstreamsDownError, UpstreamTimeoutError } from '../errors.js';
import type { Zone, ZoneTable } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import {
  Ede,
  isRejection,
  MAX_MESSAGE_SIZE,
  parseQuery,
  type Query,
  type QueryRejection,
  qtypeLabel,
  Rcode,
  rcodeLabel,
  synthesize,
} from '../wire/index.js';
import { type BudgetOptions, ZoneBudget } from './budget.js';
import type { FailureCache } from './failures.js';
import { type ForwardOptions, forward, isAnswer } from './forward.js';
import type { ClientLimiter } from './limits.js';
import type { ResolveMetrics } from './metrics.js';

export type Transport = 'udp' | 'tcp';
type Source = 'cache' | 'stale' | 'upstream' | 'synthesized';

/** Why a query was not (or not in time) answered by its upstream; the metric label of a stale answer. */
export type StaleReason =
  | 'upstream_down'
  | 'failure_cached'
  | 'client_timeout'
  | 'refresh_failed'
  | 'recovering'
  | 'rate_limited'
  | 'busy';

export interface StaleOptions {
  /** TTL of every record in a stale answer (RFC 8767 §4: 30 s; never 0). */
  readonly answerTtlSeconds: number;
  /** How long a client with a stale entry waits on its refresh before getting the stale answer (RFC 8767 §5). */
  readonly clientTimeoutMs: number;
  /** Keep answering past staleMaxAge while every upstream of the entry's zone is down. */
  readonly keepPastMaxAgeWhileDown: boolean;
}

/** What the handler is built with and keeps for its life. */
export interface HandlerParts {
  readonly cache: DnsCache;
  readonly zones: () => ZoneTable;
  readonly clock: Clock;
  readonly metrics: ResolveMetrics;
  readonly log: Logger;
}

/** Settings a hot reload may replace (RequestHandler.configure). */
export interface HandlerSettings {
  /** The UDP payload size ballast advertises to clients (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020). */
  readonly udpSize: number;
  readonly stale: StaleOptions;
  readonly failures: FailureCache;
  readonly limiter: ClientLimiter;
  readonly forward: ForwardOptions;
  readonly budget: BudgetOptions;
  /** Hits in an entry's lifetime that make it eligible for a background refresh (CoreDNS prefetch: 2). */
  readonly refreshMinHits: number;
}

export type HandlerDeps = HandlerParts & HandlerSettings;

/** What the handler remembers per zone: its refresh budget and whether it is serving stale for lack of upstreams. */
interface ZoneState {
  readonly budget: ZoneBudget;
  staleSince: number | undefined;
  staleCount: number;
}

/** An upstream fetch in flight, shared by everyone asking for its key. */
interface Flight {
  readonly promise: Promise<CacheEntry>;
  readonly startedAt: number;
}

/** An upstream answered with an rcode that is not an answer; the client gets it as is when there is nothing stale. */
class ErrorAnswer extends Error {
  constructor(readonly entry: CacheEntry) {
    super(`upstream answered ${rcodeLabel(entry.rcode)}`);
  }
}

/**
 * The request path, in order (the rows of docs/design.md §4's table):
 *
 *   listener → parse → cache ─fresh→ reply (and maybe one jittered background refresh)
 *                            ─stale/none→ may we ask upstream? (zone health, failure cache, client limit, budget)
 *                                         ─no→ stale answer, or SERVFAIL/REFUSED with an EDE, at once
 *                                         ─yes→ coalesce → forward → store → reply
 *                                               (with a stale entry: the refresh races the client response timer)
 *
 * `handle` answers a fresh hit synchronously — no promise, no allocation beyond the reply.
 */
export class RequestHandler {
  /** One upstream fetch per cache key at a time, for misses, stale refreshes and prefetches alike. */
  private readonly inflight = new Map<string, Flight>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly requestCounters = new Map<number, { inc(): void }>();
  private readonly responseCounters = new Map<number, { inc(): void }>();
  private readonly fresh;
  private readonly staleHit;

  private deps: HandlerDeps;

  constructor(deps: HandlerDeps) {
    this.deps = deps;
    this.fresh = deps.metrics.cacheHits.labels('fresh');
    this.staleHit = deps.metrics.cacheHits.labels('stale');
  }

  /** Applies reloaded settings; queries in flight finish under the settings they started with. */
  configure(settings: HandlerSettings): void {
    const budgetChanged = JSON.stringify(settings.budget) !== JSON.stringify(this.deps.budget);
    this.deps = { ...this.deps, ...settings };
    // New budget settings: budgets are rebuilt lazily, and their learned rates start over.
    if (budgetChanged) this.zoneStates.clear();
  }

  /** One query's bytes in; the reply's bytes out, or null to send nothing. */
  handle(raw: Buffer, transport: Transport, client: string): Buffer | null | Promise<Buffer | null> {
    // parse
    const parsed = parseQuery(raw);
    if (isRejection(parsed)) return this.reject(raw, parsed);
    const q = parsed;
    this.countRequest(transport, q.qtype);
    const maxSize = transport === 'udp' ? q.udpSize : MAX_MESSAGE_SIZE;

    // cache
    const now = this.deps.clock.now();
    const hit = this.deps.cache.lookup(q.key, now);
    if (hit !== undefined && hit.state === 'fresh') {
      const entry = hit.entry;
      entry.hits++;
      if (entry.hits >= this.deps.refreshMinHits && now >= entry.refreshAtMs && !entry.refreshing) {
        this.prefetch(q, entry);
      }
      this.fresh.inc();
      this.countResponse('cache', entry.rcode);
      return entry.render(q, now, { maxSize, udpSize: this.deps.udpSize });
    }
    this.deps.metrics.cacheMisses.inc();
    return this.resolve(q, maxSize, client, hit, now);
  }

  /** A stale entry or none: decide whether to ask upstream, then coalesce → forward → store → reply. */
  private resolve(q: Query, maxSize: number, client: string, hit: Lookup | undefined, now: number) {
    const zone = this.deps.zones().match(q.qname);
    const healthy = zone.upstreams.some((u) => u.healthy);
    const state = this.zoneState(zone);
    state.budget.observeHealth(healthy);
    if (healthy && state.staleSince !== undefined) this.staleEnded(zone, state);

    let stale: CacheEntry | undefined;
    if (hit !== undefined) {
      if (hit.state === 'stale' || (!healthy && this.deps.stale.keepPastMaxAgeWhileDown)) stale = hit.entry;
      else this.deps.cache.delete(q.key);
    }

    const joining = this.inflight.has(q.key);
    let reason: StaleReason | undefined;
    if (!healthy) reason = 'upstream_down';
    else if (!joining && !zone.upstreams.some((u) => u.available)) reason = 'busy';
    else if (!joining && this.deps.failures.heldUntil(q.key, now) !== undefined) {
      reason = 'failure_cached';
      this.deps.metrics.failureCacheHits.inc();
    } else if (!joining && !this.deps.limiter.allow(client)) {
      reason = 'rate_limited';
      this.deps.metrics.rateLimited.inc();
    } else if (stale !== undefined && !joining && !state.budget.allowStaleRefresh()) {
      reason = 'recovering';
      this.deps.metrics.refreshes.labels('stale', 'skipped').inc();
    }
    if (reason !== undefined) {
      if (stale !== undefined) return this.serveStale(q, maxSize, stale, reason, zone);
      return this.refuse(q, reason);
    }

    const flight = this.fetch(q, zone, stale !== undefined ? 'stale' : undefined);
    if (stale === undefined) return this.awaitAnswer(q, maxSize, flight.promise);
    // The client response timer runs from when the refresh started, so a client that joins a slow refresh late
    // (a retry, say) gets the stale answer when the first asker does, not a full timer later.
    const wait = Math.max(0, this.deps.stale.clientTimeoutMs - (now - flight.startedAt));
    return this.raceStale(q, maxSize, stale, flight.promise, zone, wait);
  }

  /** No stale entry: the client waits for the upstream (coalesced with any other asker of the same key). */
  private async awaitAnswer(q: Query, maxSize: number, flight: Promise<CacheEntry>): Promise<Buffer> {
    const { metrics, clock, udpSize } = this.deps;
    metrics.inflight.inc();
    try {
      const entry = await flight;
      this.countResponse('upstream', entry.rcode);
      return entry.render(q, clock.now(), { maxSize, udpSize });
    } catch (err) {
      if (err instanceof ErrorAnswer) {
        this.countResponse('upstream', err.entry.rcode);
        return err.entry.render(q, clock.now(), { maxSize, udpSize });
      }
      this.deps.log.debug({ err, qtype: q.qtype }, 'upstream failed');
      if (err instanceof UpstreamsDownError) return this.refuse(q, 'upstream_down');
      if (err instanceof UpstreamBusyError) return this.refuse(q, 'busy');
      this.countResponse('synthesized', Rcode.SERVFAIL);
      const ede = err instanceof UpstreamTimeoutError ? Ede.NO_REACHABLE_AUTHORITY : Ede.NETWORK_ERROR;
      return synthesize(q, Rcode.SERVFAIL, { udpSize, ede });
    } finally {
      metrics.inflight.dec();
    }
  }

  /**
   * RFC 8767 §5: with a stale entry and a healthy upstream, the refresh gets `clientTimeoutMs` to answer; then the
   * client gets the stale answer and the refresh goes on in the background. A failed refresh also means stale.
   */
  private raceStale(
    q: Query,
    maxSize: number,
    stale: CacheEntry,
    flight: Promise<CacheEntry>,
    zone: Zone,
    waitMs: number,
  ) {
    const { metrics, clock, udpSize } = this.deps;
    metrics.inflight.inc();
    return new Promise<Buffer>((resolve) => {
      let done = false;
      const finish = (reply: () => Buffer) => {
        if (done) return;
        done = true;
        timer.cancel();
        metrics.inflight.dec();
        resolve(reply());
      };
      const timer = clock.setTimer(
        () => finish(() => this.serveStale(q, maxSize, stale, 'client_timeout', zone)),
        waitMs,
      );
      flight.then(
        (entry) =>
          finish(() => {
            this.countResponse('upstream', entry.rcode);
            return entry.render(q, clock.now(), { maxSize, udpSize });
          }),
        () => finish(() => this.serveStale(q, maxSize, stale, 'refresh_failed', zone)),
      );
    });
  }

  /** RFC 8767 §4: the stale records with TTL answerTtlSeconds, and EDE 3 (19 for NXDOMAIN) for EDNS clients. */
  private serveStale(q: Query, maxSize: number, entry: CacheEntry, reason: StaleReason, zone: Zone): Buffer {
    const { metrics, clock, udpSize } = this.deps;
    metrics.staleAnswers.labels(reason).inc();
    this.staleHit.inc();
    this.countResponse('stale', entry.rcode);
    if (reason === 'upstream_down') {
      const state = this.zoneState(zone);
      state.staleCount++;
      if (state.staleSince === undefined) {
        state.staleSince = clock.now();
        this.deps.log.warn({ zone: zone.name }, 'stale serving started: every upstream of the zone is down');
      }
    }
    return entry.render(q, clock.now(), {
      maxSize,
      udpSize,
      fixedTtl: this.deps.stale.answerTtlSeconds,
      ede: entry.rcode === Rcode.NXDOMAIN ? Ede.STALE_NXDOMAIN : Ede.STALE_ANSWER,
    });
  }

  private staleEnded(zone: Zone, state: ZoneState): void {
    const seconds = Math.round((this.deps.clock.now() - state.staleSince!) / 1000);
    this.deps.log.info({ zone: zone.name, seconds, staleAnswers: state.staleCount }, 'stale serving ended');
    state.staleSince = undefined;
    state.staleCount = 0;
  }

  /** Nothing to serve and upstream must not be asked: SERVFAIL (or REFUSED when rate-limited) with an EDE. */
  private refuse(q: Query, reason: StaleReason): Buffer {
    const rcode = reason === 'rate_limited' ? Rcode.REFUSED : Rcode.SERVFAIL;
    const ede = reason === 'rate_limited' ? Ede.PROHIBITED : Ede.NO_REACHABLE_AUTHORITY;
    this.countResponse('synthesized', rcode);
    return synthesize(q, rcode, { udpSize: this.deps.udpSize, ede });
  }

  /** A hot entry past its jittered refresh point: one background refresh, within the zone's budget. */
  private prefetch(q: Query, entry: CacheEntry): void {
    if (this.inflight.has(q.key)) return;
    const zone = this.deps.zones().match(q.qname);
    const healthy = zone.upstreams.some((u) => u.healthy);
    const state = this.zoneState(zone);
    state.budget.observeHealth(healthy);
    // Refreshes pause for a zone whose upstreams are down: this entry is left to expire and be served stale.
    if (!healthy) {
      entry.refreshing = true;
      this.deps.metrics.refreshes.labels('prefetch', 'skipped').inc();
      return;
    }
    if (!state.budget.allowPrefetch()) {
      this.deps.metrics.refreshes.labels('prefetch', 'skipped').inc();
      return;
    }
    entry.refreshing = true;
    this.fetch(q, zone, 'prefetch').promise.catch(() => {});
  }

  /** coalesce → forward → store. Rejects with ErrorAnswer for an error rcode, or the upstream's error. */
  private fetch(q: Query, zone: Zone, refresh: 'prefetch' | 'stale' | undefined): Flight {
    const existing = this.inflight.get(q.key);
    if (existing !== undefined) {
      this.deps.metrics.coalesced.inc();
      return existing;
    }
    const promise = this.fetchOnce(q, zone);
    const flight = { promise, startedAt: this.deps.clock.now() };
    this.inflight.set(q.key, flight);
    const settled = () => {
      if (this.inflight.get(q.key) === flight) this.inflight.delete(q.key);
    };
    promise.then(settled, settled);
    if (refresh !== undefined) {
      const counter = this.deps.metrics.refreshes;
      promise.then(
        () => counter.labels(refresh, 'success').inc(),
        () => counter.labels(refresh, 'failure').inc(),
      );
    }
    return flight;
  }

  private async fetchOnce(q: Query, zone: Zone): Promise<CacheEntry> {
    const { cache, clock, failures } = this.deps;
    this.zoneState(zone).budget.noteQuery();
    let answer: Awaited<ReturnType<typeof forward>>;
    try {
      answer = await forward(q, zone, this.deps.forward);
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
    // SERVFAIL, REFUSED, FORMERR…: never replaces a cached entry (RFC 8767 §4), and is a failure for this key.
    failures.record(q.key, clock.now(), cache.has(q.key));
    throw new ErrorAnswer(entry);
  }

  private zoneState(zone: Zone): ZoneState {
    let s = this.zoneStates.get(zone.name);
    if (s === undefined) {
      s = { budget: new ZoneBudget(this.deps.budget, this.deps.clock), staleSince: undefined, staleCount: 0 };
      this.zoneStates.set(zone.name, s);
    }
    return s;
  }

  /** docs/design.md §6: FORMERR / NOTIMP / BADVERS for readable queries, silence for the rest. */
  private reject(raw: Buffer, r: QueryRejection): Buffer | null {
    if (r.rcode === undefined) {
      this.deps.metrics.dropped.labels(r.reason).inc();
      return null;
    }
    this.countResponse('synthesized', r.rcode);
    return synthesize({ raw, questionEnd: r.questionEnd, edns: r.edns }, r.rcode, { udpSize: this.deps.udpSize });
  }

  private countRequest(transport: Transport, qtype: number): void {
    const k = (transport === 'udp' ? 0 : 0x10000) | qtype;
    let c = this.requestCounters.get(k);
    if (c === undefined) {
      c = this.deps.metrics.requests.labels(transport, qtypeLabel(qtype));
      this.requestCounters.set(k, c);
    }
    c.inc();
  }

  private countResponse(source: Source, rcode: number): void {
    const k = (SOURCES.indexOf(source) << 16) | rcode;
    let c = this.responseCounters.get(k);
    if (c === undefined) {
      c = this.deps.metrics.responses.labels(rcodeLabel(rcode), source);
      this.responseCounters.set(k, c);
    }
    c.inc();
  }

  /** Upstream fetches in flight (distinct cache keys). */
  get pending(): number {
    return this.inflight.size;
  }
}

const SOURCES: readonly Source[] = ['cache', 'stale', 'upstream', 'synthesized'];
