import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { type CacheEntry, type DnsCache, NO_SLOT } from '../cache/index.js';
import type { ZoneTable } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { isRejection, MAX_MESSAGE_SIZE, parseQuery, type Query } from '../wire/index.js';
import { admit, type StaleReason } from './admission.js';
import type { BudgetOptions } from './budget.js';
import { Coalescer, type Flight } from './coalesce.js';
import type { FailureCache } from './failures.js';
import { ErrorAnswer, fetchAndStore } from './fetch.js';
import type { ForwardOptions } from './forward.js';
import type { ClientLimiter } from './limits.js';
import type { ResolveMetrics } from './metrics.js';
import { prefetchDecision } from './prefetch.js';
import { Replies } from './reply.js';
import { raceStale, remainingWait } from './stale.js';
import { ZoneStates, type ZoneView, zoneHealthy } from './zone-state.js';

export type Transport = 'udp' | 'tcp';

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

/**
 * The request path, in order (the rows of docs/design.md §4's table); each step is a module of its own:
 *
 *   listener → parse → cache ─fresh→ reply (prefetch: maybe one jittered background refresh)
 *                            ─stale/none→ admit? (admission: zone health, failure cache, client limit, budget)
 *                                         ─no→ stale answer, or SERVFAIL/REFUSED with an EDE, at once
 *                                         ─yes→ coalesce → forward → store (fetch) → reply
 *                                               with a stale entry, the refresh races the client timer (stale)
 *
 * `handle` answers a fresh hit synchronously: no promise, no allocation beyond the reply.
 */
export class RequestHandler {
  private readonly flights = new Coalescer<CacheEntry>();
  private readonly zoneStates: ZoneStates;
  private readonly replies: Replies;
  private deps: HandlerDeps;

  constructor(deps: HandlerDeps) {
    this.deps = deps;
    this.zoneStates = new ZoneStates(deps.budget, deps.clock, deps.log);
    this.replies = new Replies(deps.metrics, replySettings(deps));
  }

  /** Applies reloaded settings; queries in flight finish under the settings they started with. */
  configure(settings: HandlerSettings): void {
    const budgetChanged = !isDeepStrictEqual(settings.budget, this.deps.budget);
    this.deps = { ...this.deps, ...settings };
    this.replies.configure(replySettings(this.deps));
    if (budgetChanged) this.zoneStates.configure(settings.budget);
  }

  /** One query's bytes in; the reply's bytes out, or null to send nothing. */
  handle(raw: Buffer, transport: Transport, client: string): Buffer | null | Promise<Buffer | null> {
    // parse
    const q = parseQuery(raw);
    if (isRejection(q)) return this.replies.reject(raw, q);
    const { metrics, clock, cache } = this.deps;
    metrics.request(transport, q.qtype);
    // UDP answers fit the smaller of the client's payload size and ballast's own (RFC 6891 §6.2.5).
    const maxSize = transport === 'udp' ? Math.min(q.udpSize, this.deps.udpSize) : MAX_MESSAGE_SIZE;

    // cache
    // A slot number, not an entry object: the hit path renders from the cache's arena (docs/performance.md §3).
    const now = clock.now();
    const slot = cache.find(q, now);
    if (slot !== NO_SLOT && cache.isFresh(slot, now)) {
      cache.noteHit(slot);
      this.maybePrefetch(q, slot, now);
      metrics.freshHit.inc();
      return this.replies.cached(q, cache, slot, now, maxSize);
    }
    metrics.cacheMisses.inc();
    return this.resolve(q, maxSize, client, slot, now);
  }

  /** A stale entry or none: admit, then coalesce → forward → store → reply. */
  private resolve(q: Query, maxSize: number, client: string, slot: number, now: number) {
    const view = this.zoneStates.view(this.deps.zones().match(q.qname));
    const stale = this.usableStale(slot, now, view);

    // admit
    const reason = admit(
      { key: q.key, client, view, joining: this.flights.has(q.key), hasStale: stale !== undefined, now },
      this.deps,
    );
    if (reason !== undefined) {
      return stale === undefined ? this.replies.refuse(q, reason) : this.serveStale(q, maxSize, stale, reason, view);
    }

    // coalesce → forward → store
    const flight = this.fetch(q, view, stale !== undefined ? 'stale' : undefined);

    // reply
    if (stale === undefined) return this.awaitAnswer(q, maxSize, flight.promise);
    const wait = remainingWait(this.deps.stale.clientTimeoutMs, flight.startedAt, now);
    return this.awaitOrStale(q, maxSize, stale, flight.promise, view, wait);
  }

  /**
   * The entry to fall back on: a stale one, or a dead one while its zone is down and the option keeps those. A
   * detached copy (entryAt), since it may be held across an await while the slot is evicted or reused.
   */
  private usableStale(slot: number, now: number, view: ZoneView): CacheEntry | undefined {
    if (slot === NO_SLOT) return undefined;
    const { cache } = this.deps;
    if (cache.freshness(slot, now) === 'stale' || (!view.healthy && this.deps.stale.keepPastMaxAgeWhileDown)) {
      return cache.entryAt(slot);
    }
    cache.deleteSlot(slot);
    return undefined;
  }

  /** No stale entry: the client waits for the upstream (coalesced with any other asker of the same key). */
  private async awaitAnswer(q: Query, maxSize: number, flight: Promise<CacheEntry>): Promise<Buffer> {
    const { metrics, clock } = this.deps;
    metrics.inflight.inc();
    try {
      return this.replies.answer(q, await flight, clock.now(), maxSize, 'upstream');
    } catch (err) {
      if (err instanceof ErrorAnswer) return this.replies.answer(q, err.entry, clock.now(), maxSize, 'upstream');
      this.deps.log.debug({ err, qtype: q.qtype }, 'upstream failed');
      return this.replies.failed(q, err);
    } finally {
      metrics.inflight.dec();
    }
  }

  /** A stale entry and a healthy zone: the refresh's answer if it comes in time, else the stale one. */
  private async awaitOrStale(
    q: Query,
    maxSize: number,
    stale: CacheEntry,
    flight: Promise<CacheEntry>,
    view: ZoneView,
    waitMs: number,
  ): Promise<Buffer> {
    const { metrics, clock } = this.deps;
    metrics.inflight.inc();
    const result = await raceStale(flight, waitMs, clock);
    metrics.inflight.dec();
    if (result.kind === 'answer') return this.replies.answer(q, result.value, clock.now(), maxSize, 'upstream');
    return this.serveStale(q, maxSize, stale, result.kind === 'timeout' ? 'client_timeout' : 'refresh_failed', view);
  }

  private serveStale(q: Query, maxSize: number, entry: CacheEntry, reason: StaleReason, view: ZoneView): Buffer {
    if (reason === 'upstream_down') this.zoneStates.servedStaleWhileDown(view.zone);
    return this.replies.stale(q, entry, this.deps.clock.now(), maxSize, reason);
  }

  /**
   * A hot entry past its jittered refresh point: one background refresh, within the zone's budget. The cheap
   * column check comes first, so a hit that is not due builds no key string and no closure.
   */
  private maybePrefetch(q: Query, slot: number, now: number): void {
    const { cache } = this.deps;
    if (!cache.refreshDue(slot, now, this.deps.refreshMinHits) || this.flights.has(q.key)) return;
    let view: ZoneView | undefined;
    const decision = prefetchDecision(cache.refreshMarks(slot), now, this.deps.refreshMinHits, () => {
      view = this.zoneStates.view(this.deps.zones().match(q.qname));
      return view;
    });
    if (decision === 'skipped') this.deps.metrics.refreshes.labels('prefetch', 'skipped').inc();
    if (decision === 'go') this.fetch(q, view!, 'prefetch').promise.catch(() => {});
  }

  /** coalesce → forward → store, counting joins and refresh results. */
  private fetch(q: Query, view: ZoneView, refresh: 'prefetch' | 'stale' | undefined): Flight<CacheEntry> {
    const { flight, joined } = this.flights.run(q.key, this.deps.clock.now(), () => {
      view.budget.noteQuery();
      return fetchAndStore(q, view.zone, this.deps);
    });
    if (joined) {
      this.deps.metrics.coalesced.inc();
      return flight;
    }
    if (refresh !== undefined) {
      const counter = this.deps.metrics.refreshes;
      flight.promise.then(
        () => counter.labels(refresh, 'success').inc(),
        () => counter.labels(refresh, 'failure').inc(),
      );
    }
    return flight;
  }

  /** Whether any upstream of the zone serving `qname` may take traffic (for the stale sweep). */
  zoneHealthy(qname: string): boolean {
    return zoneHealthy(this.deps.zones().match(qname));
  }

  /** The settings in force (a reload builds the next ones from these, keeping what did not change). */
  get settings(): HandlerSettings {
    return this.deps;
  }

  /** Upstream fetches in flight (distinct cache keys). */
  get pending(): number {
    return this.flights.size;
  }
}

function replySettings(deps: HandlerSettings) {
  return { udpSize: deps.udpSize, staleTtlSeconds: deps.stale.answerTtlSeconds };
}
