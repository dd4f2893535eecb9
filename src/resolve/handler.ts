import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { type CacheEntry, type DnsCache, NO_SLOT } from '../cache/index.js';
import { Askers, type ForwardDeps, queryOutcome, type ZoneTable } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { isRejection, MAX_MESSAGE_SIZE, type NegativeKind, parseQuery, type Query } from '../wire/index.js';
import { admit, type StaleReason } from './admission.js';
import { answerAny, isAny } from './any.js';
import type { Coalescer, Flight } from './coalesce.js';
import { type Contests, KeptLastKnownGood, lastKnownGoodText } from './contest.js';
import type { FailureCache } from './failures.js';
import { ErrorAnswer, fetchAndStore } from './fetch.js';
import type { LoopDetector } from './loop.js';
import type { ResolveMetrics } from './metrics.js';
import { prefetchDecision } from './prefetch.js';
import { Replies } from './reply.js';
import { outOfScope } from './scope.js';
import { raceStale, remainingWait, withoutDnssec } from './stale.js';
import type { BudgetOptions } from './zone-budget.js';
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

/** The upstream side as the request path sees it: the zone table and what forwarding needs (replaced on reload). */
export interface Upstreams {
  readonly zones: ZoneTable;
  readonly forward: ForwardDeps;
}

/** What the handler is built with and keeps for its life. */
export interface HandlerParts {
  readonly cache: DnsCache;
  readonly upstreams: Upstreams;
  /** Recognises ballast's own loop-check queries coming back (a forwarding loop). */
  readonly loops: LoopDetector;
  readonly clock: Clock;
  readonly metrics: ResolveMetrics;
  readonly log: Logger;
  /** The fetches in flight, one per key: identical misses share one fetch (docs/design.md §2.2). */
  readonly flights: Coalescer<CacheEntry>;
  /** Names whose negative answer is not believed yet (contest.ts), kept across reloads. */
  readonly contests: Contests;
}

/** Settings a hot reload may replace (RequestHandler.configure). */
export interface HandlerSettings {
  /** The UDP payload size ballast advertises to clients (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020). */
  readonly udpSize: number;
  readonly stale: StaleOptions;
  readonly failures: FailureCache;
  /** The EDNS payload size ballast asks upstreams for. */
  readonly upstreamUdpSize: number;
  /** Ask upstreams for AD and keep it (upstream.trustAd). */
  readonly trustAd: boolean;
  readonly budget: BudgetOptions;
  /** Hits in an entry's lifetime that make it eligible for a background refresh (CoreDNS prefetch: 2). */
  readonly refreshMinHits: number;
  /** The oldest positive answer kept in place of a negative one (lastKnownGood.maxAgeSeconds). */
  readonly lastKnownGoodMaxAgeMs: number;
}

export type HandlerDeps = HandlerParts & HandlerSettings;

/**
 * The request path, in order (the rows of docs/design.md §4's table); each step is a module of its own:
 *
 *   listener → parse → cache ─fresh→ reply (prefetch: maybe one jittered background refresh)
 *                            ─stale/none→ admit? (admission: zone health, failure cache, capacity, budget)
 *                                         ─no→ stale answer, or the error with its EDE, at once
 *                                         ─yes→ coalesce → forward (a fair turn at an upstream's capacity, then
 *                                               attempts) → store (fetch) → reply; with a stale entry, the refresh
 *                                               races the client timer (stale)
 *
 * `handle` answers a fresh hit synchronously: no promise, no allocation beyond the reply.
 */
export class RequestHandler {
  private readonly flights: Coalescer<CacheEntry>;
  private readonly zoneStates: ZoneStates;
  private readonly replies: Replies;
  private deps: HandlerDeps;

  constructor(deps: HandlerDeps) {
    this.deps = deps;
    this.flights = deps.flights;
    this.zoneStates = new ZoneStates(deps.budget, deps.clock, deps.log);
    this.replies = new Replies(deps.metrics, replySettings(deps));
  }

  /** Applies reloaded settings; queries in flight finish under the settings they started with. */
  configure(settings: HandlerSettings): void {
    const previous = this.deps;
    const budgetChanged = !isDeepStrictEqual(settings.budget, previous.budget);
    this.deps = { ...previous, ...settings };
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
    const scope = outOfScope(q);
    if (scope !== undefined) return this.replies.notSupported(q, scope);
    // RFC 8482 §4.2: ANY is answered here, never forwarded (docs/design.md §6).
    if (isAny(q)) return answerAny(q, this.deps.udpSize, metrics);
    // UDP answers fit the smaller of the client's payload size and ballast's own (RFC 6891 §6.2.5).
    const maxSize = transport === 'udp' ? Math.min(q.udpSize, this.deps.udpSize) : MAX_MESSAGE_SIZE;

    // cache
    // A slot number, not an entry object: the hit path renders from the cache's arena (docs/performance.md §3).
    const now = clock.now();
    const slot = cache.find(q, now);
    if (slot !== NO_SLOT && cache.isFresh(slot, now)) {
      cache.noteHit(slot);
      if (q.recursionDesired) this.maybePrefetch(q, slot, now);
      metrics.freshHit.inc();
      return this.replies.cached(q, cache, slot, now, maxSize);
    }
    metrics.cacheMisses.inc();
    // RD=0 asks for what the cache holds and nothing more (RFC 1034 §4.3.1): never an upstream query.
    if (!q.recursionDesired) {
      if (slot !== NO_SLOT && cache.freshness(slot, now) === 'stale') {
        return this.serveStale(q, maxSize, slot, 'no_recursion', undefined);
      }
      return this.replies.notCached(q);
    }
    return this.resolve(q, maxSize, client, slot, now);
  }

  /** A stale entry or none: admit, then coalesce → forward → store → reply. */
  private resolve(q: Query, maxSize: number, client: string, slot: number, now: number) {
    // A loop check of ours, back from an upstream that forwards to ballast: refused, so the loop ends here.
    if (this.deps.loops.isProbe(q)) return this.replies.notAsked(q, { reason: 'loop' });
    const view = this.zoneStates.view(this.deps.upstreams.zones.matchQuery(q));
    const hasStale = this.usableStale(slot, now, view);

    // admit
    // Joining only matters to a healthy zone (admission refuses a down one first), and admission reads the key
    // only when it asks the failure cache, so while a zone is down its stale answers build no key string
    // (docs/performance.md §3).
    const joining = view.acceptsTraffic && this.flights.has(q.key);
    const refusal = admit({ query: q, view, joining, hasStale, now }, this.deps);
    if (refusal !== undefined) {
      if (!hasStale) {
        const plain = withoutDnssec(this.deps.cache, q, now);
        if (plain !== undefined) return this.replies.stale(q, plain, now, maxSize, refusal.reason);
        return this.replies.notAsked(q, refusal);
      }
      // Nothing since the lookup stored or evicted, so the slot is still this entry: rendered in place, no copy.
      return this.serveStale(q, maxSize, slot, refusal.reason, view, refusal.said);
    }

    // coalesce → queue → forward → store
    // The stale entry may be needed after an await, when its slot may have been evicted or reused: a detached copy.
    const stale = hasStale ? this.deps.cache.entryAt(slot) : undefined;
    const flight = this.fetch(q, view, stale !== undefined ? 'stale' : undefined, client);

    // reply
    if (stale === undefined) return this.awaitAnswer(q, maxSize, flight.promise);
    const wait = remainingWait(this.deps.stale.clientTimeoutMs, flight.startedAt, now);
    return this.awaitOrStale(q, maxSize, stale, flight.promise, wait);
  }

  /**
   * Whether the slot holds an entry to fall back on: a stale one, or a dead one while its zone is down and the
   * option keeps those. A dead entry that may not be served is deleted here.
   */
  private usableStale(slot: number, now: number, view: ZoneView): boolean {
    if (slot === NO_SLOT) return false;
    const { cache } = this.deps;
    if (cache.freshness(slot, now) === 'stale' || (!view.acceptsTraffic && this.deps.stale.keepPastMaxAgeWhileDown)) {
      return true;
    }
    cache.deleteSlot(slot);
    return false;
  }

  /** No stale entry: the client waits for the upstream (coalesced with any other asker of the same key). */
  private async awaitAnswer(q: Query, maxSize: number, flight: Promise<CacheEntry>): Promise<Buffer> {
    const { metrics, clock } = this.deps;
    metrics.inflight.inc();
    try {
      return this.replies.answer(q, await flight, clock.now(), maxSize, 'upstream');
    } catch (err) {
      const now = clock.now();
      if (err instanceof KeptLastKnownGood) {
        return this.replies.stale(q, err.entry, now, maxSize, 'last_known_good', lastKnownGoodText(err.said));
      }
      const plain = withoutDnssec(this.deps.cache, q, now);
      if (plain !== undefined) return this.replies.stale(q, plain, now, maxSize, 'refresh_failed');
      if (err instanceof ErrorAnswer) return this.replies.answer(q, err.entry, now, maxSize, 'upstream');
      this.deps.log.debug({ err, qtype: q.qtype }, 'upstream failed');
      return this.replies.failed(q, queryOutcome(err));
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
    waitMs: number,
  ): Promise<Buffer> {
    const { metrics, clock } = this.deps;
    metrics.inflight.inc();
    const result = await raceStale(flight, waitMs, clock);
    metrics.inflight.dec();
    if (result.kind === 'answer') return this.replies.answer(q, result.value, clock.now(), maxSize, 'upstream');
    if (result.kind === 'timeout') return this.replies.stale(q, stale, clock.now(), maxSize, 'client_timeout');
    if (result.err instanceof KeptLastKnownGood) {
      const text = lastKnownGoodText(result.err.said);
      return this.replies.stale(q, stale, clock.now(), maxSize, 'last_known_good', text);
    }
    return this.replies.stale(q, stale, clock.now(), maxSize, 'refresh_failed');
  }

  /** A stale answer straight from its slot, at once (the refusal and RD=0 paths: no await since the lookup). */
  private serveStale(
    q: Query,
    maxSize: number,
    slot: number,
    reason: StaleReason,
    view: ZoneView | undefined,
    said?: NegativeKind,
  ): Buffer {
    if (reason === 'upstream_down' && view !== undefined) this.zoneStates.servedStaleWhileDown(view.zone);
    const text = said === undefined ? undefined : lastKnownGoodText(said);
    return this.replies.staleSlot(q, this.deps.cache, slot, this.deps.clock.now(), maxSize, reason, text);
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
      view = this.zoneStates.view(this.deps.upstreams.zones.matchQuery(q));
      return view;
    });
    if (decision === 'skipped') this.deps.metrics.refreshes.labels('prefetch', 'skipped').inc();
    // Background refreshes share capacity as one flow of their own, behind no client and ahead of none.
    if (decision === 'go') this.fetch(q, view!, 'prefetch', REFRESH_FLOW).promise.catch(() => {});
  }

  /**
   * coalesce → forward → store, counting joins and refresh results. The flow is the client in the zone: its turn at
   * an upstream's capacity (upstream/queue.ts). A client that joins a flight still waiting for capacity waits in its
   * own lane too, so it does not inherit the first asker's place behind a flood.
   */
  private fetch(
    q: Query,
    view: ZoneView,
    refresh: 'prefetch' | 'stale' | undefined,
    client: string,
  ): Flight<CacheEntry> {
    const zone = view.zone;
    const { flight, joined } = this.flights.run(q.key, this.deps.clock.now(), () => {
      view.budget.noteQuery(refresh !== undefined);
      const askers = new Askers();
      const deps = { ...this.deps, forward: this.deps.upstreams.forward };
      const promise = fetchAndStore(q, zone, deps, { flow: flowOf(client, zone.name), askers });
      return { promise, join: (other: string) => askers.join(flowOf(other, zone.name)) };
    });
    if (joined) {
      this.deps.metrics.coalesced.inc();
      flight.join?.(client);
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
    return zoneHealthy(this.deps.upstreams.zones.match(qname));
  }

  /** The loop detector, checked by ballast at start and after each reload. */
  get loops(): LoopDetector {
    return this.deps.loops;
  }

  /** The request path's metrics, for the listeners that drop queries before it (server.allowClients). */
  get metrics(): ResolveMetrics {
    return this.deps.metrics;
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

/** The client background refreshes share capacity as. */
const REFRESH_FLOW = 'ballast:refresh';

/** A flow of the fair queues: one client's queries for one zone. */
function flowOf(client: string, zone: string): string {
  return `${client} ${zone}`;
}

function replySettings(deps: HandlerSettings) {
  return { udpSize: deps.udpSize, staleTtlSeconds: deps.stale.answerTtlSeconds };
}
