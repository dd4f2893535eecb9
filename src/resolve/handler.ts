import type { Logger } from 'pino';
import type { CacheEntry, DnsCache } from '../cache/index.js';
import { UpstreamTimeoutError } from '../errors.js';
import type { ZoneTable } from '../upstream/index.js';
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
import { forward } from './forward.js';
import type { ResolveMetrics } from './metrics.js';

export type Transport = 'udp' | 'tcp';
type Source = 'cache' | 'stale' | 'upstream' | 'synthesized';

export interface HandlerDeps {
  readonly cache: DnsCache;
  readonly zones: () => ZoneTable;
  readonly clock: Clock;
  readonly metrics: ResolveMetrics;
  readonly log: Logger;
  /** The UDP payload size ballast advertises, and asks upstreams for (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020). */
  readonly udpSize: number;
}

/**
 * The request path, in order (STYLE.md §4):
 *   listener → parse → cache → coalesce → forward → store → reply.
 * `handle` answers a cache hit synchronously — no promise, no allocation beyond the reply — and returns a promise
 * only when the query has to wait for an upstream.
 */
export class RequestHandler {
  /** One upstream fetch per cache key at a time; later askers wait on the same promise (kubernetes/dns#387). */
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly requestCounters = new Map<number, { inc(): void }>();
  private readonly responseCounters = new Map<number, { inc(): void }>();
  private readonly fresh;

  constructor(private readonly deps: HandlerDeps) {
    this.fresh = deps.metrics.cacheHits.labels('fresh');
  }

  /** One query's bytes in; the reply's bytes out, or null to send nothing. */
  handle(raw: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null> {
    // parse
    const parsed = parseQuery(raw);
    if (isRejection(parsed)) return this.refuse(raw, parsed);
    const q = parsed;
    this.countRequest(transport, q.qtype);
    const maxSize = transport === 'udp' ? q.udpSize : MAX_MESSAGE_SIZE;

    // cache
    const now = this.deps.clock.now();
    const hit = this.deps.cache.lookup(q.key, now);
    if (hit !== undefined && hit.state === 'fresh') {
      hit.entry.hits++;
      this.fresh.inc();
      this.countResponse('cache', hit.entry.rcode);
      return hit.entry.render(q, now, { maxSize, udpSize: this.deps.udpSize });
    }
    this.deps.metrics.cacheMisses.inc();
    return this.resolve(q, maxSize);
  }

  /** coalesce → forward → store → reply. */
  private async resolve(q: Query, maxSize: number): Promise<Buffer> {
    const { metrics, clock, udpSize } = this.deps;
    let flight = this.inflight.get(q.key);
    if (flight === undefined) {
      flight = this.fetch(q);
      this.inflight.set(q.key, flight);
      const settled = () => {
        if (this.inflight.get(q.key) === flight) this.inflight.delete(q.key);
      };
      flight.then(settled, settled);
    } else {
      metrics.coalesced.inc();
    }
    metrics.inflight.inc();
    try {
      const entry = await flight;
      this.countResponse('upstream', entry.rcode);
      return entry.render(q, clock.now(), { maxSize, udpSize });
    } catch (err) {
      this.deps.log.debug({ err, qtype: q.qtype }, 'upstream failed');
      this.countResponse('synthesized', Rcode.SERVFAIL);
      const ede = err instanceof UpstreamTimeoutError ? Ede.NO_REACHABLE_AUTHORITY : Ede.NETWORK_ERROR;
      return synthesize(q, Rcode.SERVFAIL, { udpSize, ede });
    } finally {
      metrics.inflight.dec();
    }
  }

  /** forward → store. Every answer is turned into an entry; only NOERROR/NXDOMAIN with a TTL are kept. */
  private async fetch(q: Query): Promise<CacheEntry> {
    const zone = this.deps.zones().match(q.qname);
    const answer = await forward(q, zone, this.deps.udpSize);
    return this.deps.cache.admit(q.key, answer.bytes, answer.scan, this.deps.clock.now()).entry;
  }

  /** DESIGN.md §6: FORMERR / NOTIMP / BADVERS for readable queries, silence for the rest. */
  private refuse(raw: Buffer, r: QueryRejection): Buffer | null {
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
