import type { CacheEntry, DnsCache } from '../cache/index.js';
import { UpstreamBusyError, UpstreamsDownError, UpstreamTimeoutError } from '../errors.js';
import { Ede, type Query, type QueryRejection, Rcode, synthesize } from '../wire/index.js';
import type { StaleReason } from './admission.js';
import type { ResolveMetrics, Source } from './metrics.js';

export interface ReplySettings {
  /** The UDP payload size ballast advertises to clients (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020). */
  readonly udpSize: number;
  /** TTL of every record in a stale answer (RFC 8767 §4: 30 s; never 0). */
  readonly staleTtlSeconds: number;
}

/**
 * Every reply the request path sends, and its count in ballast_responses_total: an entry rendered for one client,
 * a stale answer, or an error ballast writes itself (with an EDE for EDNS clients, RFC 8914).
 */
export class Replies {
  constructor(
    private readonly metrics: ResolveMetrics,
    private settings: ReplySettings,
  ) {}

  configure(settings: ReplySettings): void {
    this.settings = settings;
  }

  /** An entry as the client asked for it: its ID and question, aged TTLs, truncated to `maxSize`. */
  answer(q: Query, entry: CacheEntry, now: number, maxSize: number, source: 'cache' | 'upstream'): Buffer {
    this.metrics.response(source, entry.rcode);
    return entry.render(q, now, { maxSize, udpSize: this.settings.udpSize });
  }

  /** A fresh hit, rendered by slot straight from the cache (no entry object, no options object). */
  cached(q: Query, cache: DnsCache, slot: number, now: number, maxSize: number): Buffer {
    this.metrics.response('cache', cache.rcodeOf(slot));
    return cache.render(slot, q, now, maxSize, this.settings.udpSize);
  }

  /** RFC 8767 §4: the stale records with TTL staleTtlSeconds, and EDE 3 (19 for NXDOMAIN) for EDNS clients. */
  stale(q: Query, entry: CacheEntry, now: number, maxSize: number, reason: StaleReason): Buffer {
    this.metrics.staleAnswers.labels(reason).inc();
    this.metrics.staleHit.inc();
    this.metrics.response('stale', entry.rcode);
    return entry.render(q, now, {
      maxSize,
      udpSize: this.settings.udpSize,
      fixedTtl: this.settings.staleTtlSeconds,
      ede: entry.rcode === Rcode.NXDOMAIN ? Ede.STALE_NXDOMAIN : Ede.STALE_ANSWER,
    });
  }

  /** Nothing to serve and upstream must not be asked: SERVFAIL (or REFUSED when rate-limited) with an EDE. */
  refuse(q: Query, reason: StaleReason): Buffer {
    const limited = reason === 'rate_limited';
    const rcode = limited ? Rcode.REFUSED : Rcode.SERVFAIL;
    return this.synthesized(q, rcode, limited ? Ede.PROHIBITED : Ede.NO_REACHABLE_AUTHORITY);
  }

  /** No answer came from upstream (and nothing stale): what the error means for the client. */
  failed(q: Query, err: unknown): Buffer {
    if (err instanceof UpstreamsDownError) return this.refuse(q, 'upstream_down');
    if (err instanceof UpstreamBusyError) return this.refuse(q, 'busy');
    const ede = err instanceof UpstreamTimeoutError ? Ede.NO_REACHABLE_AUTHORITY : Ede.NETWORK_ERROR;
    return this.synthesized(q, Rcode.SERVFAIL, ede);
  }

  /** docs/design.md §6: FORMERR / NOTIMP / BADVERS for readable queries, silence for the rest. */
  reject(raw: Buffer, r: QueryRejection): Buffer | null {
    if (r.rcode === undefined) {
      this.metrics.dropped.labels(r.reason).inc();
      return null;
    }
    this.metrics.response('synthesized', r.rcode);
    return synthesize({ raw, questionEnd: r.questionEnd, edns: r.edns }, r.rcode, { udpSize: this.settings.udpSize });
  }

  private synthesized(q: Query, rcode: number, ede: number): Buffer {
    this.metrics.response('synthesized' satisfies Source, rcode);
    return synthesize(q, rcode, { udpSize: this.settings.udpSize, ede });
  }
}
