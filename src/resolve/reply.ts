import type { CacheEntry, DnsCache } from '../cache/index.js';
import { type Unanswered, unansweredReply } from '../upstream/index.js';
import { Ede, type Query, type QueryRejection, Rcode, synthesize } from '../wire/index.js';
import type { Refusal, StaleReason } from './admission.js';
import type { ResolveMetrics, Source } from './metrics.js';
import type { OutOfScope } from './scope.js';

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

  /**
   * RFC 8767 §4: the stale records with TTL staleTtlSeconds, and EDE 3 (19 for NXDOMAIN) for EDNS clients, with
   * `edeText` as its EXTRA-TEXT when given (a last known good answer says why).
   */
  stale(q: Query, entry: CacheEntry, now: number, maxSize: number, reason: StaleReason, edeText?: string): Buffer {
    this.countStale(reason, entry.rcode);
    return entry.render(q, now, {
      maxSize,
      udpSize: this.settings.udpSize,
      fixedTtl: this.settings.staleTtlSeconds,
      ede: staleEde(entry.rcode),
      edeText,
    });
  }

  /** The same, rendered by slot straight from the cache, for a stale answer sent before any await. */
  staleSlot(
    q: Query,
    cache: DnsCache,
    slot: number,
    now: number,
    maxSize: number,
    reason: StaleReason,
    edeText?: string,
  ): Buffer {
    const rcode = cache.rcodeOf(slot);
    this.countStale(reason, rcode);
    const { udpSize, staleTtlSeconds } = this.settings;
    return cache.render(slot, q, now, maxSize, udpSize, staleTtlSeconds, staleEde(rcode), edeText);
  }

  private countStale(reason: StaleReason, rcode: number): void {
    this.metrics.staleAnswers.labels(reason).inc();
    this.metrics.staleHit.inc();
    this.metrics.response('stale', rcode);
  }

  /**
   * Nothing to serve and upstream must not be asked: every EDE says what really happened (RFC 8914). A held failure
   * is answered as it was the first time, so a name the upstream refuses stays REFUSED.
   */
  notAsked(q: Query, refusal: Refusal | { readonly reason: 'loop' }): Buffer {
    switch (refusal.reason) {
      case 'upstream_down':
        return this.failed(q, 'zone_down');
      case 'failure_cached': {
        const f = (refusal as Refusal).failure!;
        return this.synthesized(q, f.rcode, f.ede);
      }
      case 'loop':
        return this.synthesized(q, Rcode.REFUSED, Ede.OTHER, 'forwarding loop');
      default:
        return this.failed(q, 'queue_timeout');
    }
  }

  /** A question ballast answers itself (resolve/scope.ts): its rcode, EDE 21 (Not Supported). */
  notSupported(q: Query, rcode: OutOfScope): Buffer {
    return this.synthesized(q, rcode, Ede.NOT_SUPPORTED);
  }

  /** RD=0 and nothing cached for it: REFUSED, EDE 20 (Not Authoritative): ballast only answers from its cache then. */
  notCached(q: Query): Buffer {
    return this.synthesized(q, Rcode.REFUSED, Ede.NOT_AUTHORITATIVE);
  }

  /** No answer came from upstream (and nothing stale): the reply outcome.ts gives the way the query ended. */
  failed(q: Query, outcome: Unanswered): Buffer {
    const r = unansweredReply(outcome);
    return this.synthesized(q, r.rcode, r.ede, r.text);
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

  private synthesized(q: Query, rcode: number, ede: number | undefined, edeText?: string): Buffer {
    this.metrics.response('synthesized' satisfies Source, rcode);
    return synthesize(q, rcode, { udpSize: this.settings.udpSize, ede, edeText });
  }
}

/** RFC 8914: EDE 3 (Stale Answer), or 19 (Stale NXDOMAIN Answer) for a stale NXDOMAIN. */
function staleEde(rcode: number): number {
  return rcode === Rcode.NXDOMAIN ? Ede.STALE_NXDOMAIN : Ede.STALE_ANSWER;
}
