import { LRUCache } from 'lru-cache';
import type { Random } from '../util/random.js';
import { Rcode } from '../wire/index.js';

export interface FailureCacheOptions {
  /** First hold after a failure for a key with no stale answer (RFC 9520 §3.2: at least 1 s; 5 s here). */
  readonly initialMs: number;
  /** Cap of the doubling backoff (RFC 9520 §3.2: at most 5 minutes). */
  readonly maxMs: number;
  /** Hold for a key that has a stale answer to give instead (RFC 8767 §5's failure recheck, 30 s). */
  readonly staleRecheckMs: number;
  /** Keys remembered at most; the least recently failed are forgotten first. */
  readonly maxEntries: number;
  /** Spreads each hold (HOLD_JITTER); injected so tests are deterministic. */
  readonly random: Random;
}

/**
 * Each hold is its nominal length times a uniform factor in [1 − HOLD_JITTER, 1 + HOLD_JITTER), never under 1 s
 * (RFC 9520 §3.2) and, when backing off, never over the cap. Names that failed together — every name a busy
 * upstream refused in the same second, on every node — then come back spread over half a hold rather than at one
 * instant, so the recheck does not arrive as a wave (docs/resilience.md).
 */
export const HOLD_JITTER = 0.25;
const MIN_HOLD_MS = 1000;
/** The epoch of a hold that no recovery voids. */
const ANY_EPOCH = -1;

/** How a failure is recorded: whether the key has a stale answer, how it failed, in which epoch, with backoff. */
export interface Failed {
  readonly hasStale?: boolean;
  readonly answer?: FailedAnswer;
  readonly epoch?: number;
  /** false: the first hold each time, never longer (a failure that may have been ballast's own, outcome.ts). */
  readonly backoff?: boolean;
}

const SERVFAIL: FailedAnswer = { rcode: Rcode.SERVFAIL };

/** How a query failed, so that the same failure is answered again while it is held (the same rcode, the same EDE). */
export interface FailedAnswer {
  readonly rcode: number;
  /** EDE info-code ballast adds (RFC 8914), or undefined for the upstream's own error rcode. */
  readonly ede?: number;
}

interface Failure {
  /** No upstream query for this key before this time… */
  until: number;
  /**
   * … while its zone is in the epoch it was recorded in (resolve/zone-state.ts): a recovery voids the hold. ANY_EPOCH
   * for a REFUSED, which a down upstream never produces (REFUSED is an answer), so no recovery voids it.
   */
  readonly epoch: number;
  /** The next hold for a key without stale data (doubles per consecutive failure). */
  backoffMs: number;
  readonly answer: FailedAnswer;
}

/**
 * RFC 9520 failure caching: after an upstream failure for a cache key, no query for that key goes upstream until
 * the hold expires; clients get a stale answer if there is one, otherwise SERVFAIL at once. Without it, every
 * client retry during an outage becomes an upstream query.
 *
 * A hold lasts only while its zone's upstreams stay as they were: when one comes back from being down (the zone's
 * epoch moves on), every hold of a timeout or a SERVFAIL recorded before is void, since it may have been the outage's
 * and not the name's (a REFUSED is not: an upstream that answers is not down, and its REFUSED stays held). So
 * after an outage a stale entry is refreshed, and a new name asked, at once — RFC 8767's failure recheck applies
 * while the upstream is still failing, not after it has recovered.
 */
export class FailureCache {
  private readonly failures: LRUCache<string, Failure>;

  constructor(private readonly opts: FailureCacheOptions) {
    // Bounded by count through maxSize, not max: with max, lru-cache preallocates its arrays for every key up front
    // (about 2.7 MiB for the default 100,000), held for the life of a process that mostly holds no failures at all.
    this.failures = new LRUCache<string, Failure>({ maxSize: opts.maxEntries, sizeCalculation: () => 1 });
  }

  /** How `key` failed, if it is held at `nowMs` in its zone's epoch `epoch`. */
  held(key: string, nowMs: number, epoch = 0): FailedAnswer | undefined {
    const f = this.failures.peek(key);
    return f !== undefined && nowMs < f.until && (f.epoch === epoch || f.epoch === ANY_EPOCH) ? f.answer : undefined;
  }

  /**
   * Records a failure for `key`. `hasStale` picks the stale recheck time over the backoff; `epoch` is the zone's
   * (resolve/zone-state.ts); `backoff: false` holds it for the first hold only, every time.
   */
  record(key: string, nowMs: number, failure: Failed = {}): void {
    const { hasStale = false, answer = SERVFAIL, epoch = 0 } = failure;
    let previous = this.failures.peek(key);
    // REFUSED is most often a server shedding load (CoreDNS's max_concurrent), which passes: it is held, and answered
    // the same way while held, but never backed off beyond the first hold; and no recovery voids it.
    const refused = answer.rcode === Rcode.REFUSED;
    const at = refused ? ANY_EPOCH : epoch;
    // A key that has been fine for longer than the longest hold, or whose zone has recovered since, starts over.
    if (previous !== undefined && (nowMs - previous.until > this.opts.maxMs || previous.epoch !== at)) {
      previous = undefined;
    }
    const first = previous === undefined || refused || failure.backoff === false;
    const backoffMs = first ? this.opts.initialMs : Math.min(previous!.backoffMs * 2, this.opts.maxMs);
    const nominal = hasStale ? Math.max(this.opts.staleRecheckMs, backoffMs) : backoffMs;
    let hold = Math.round(nominal * (1 - HOLD_JITTER + 2 * HOLD_JITTER * this.opts.random.float()));
    if (!hasStale) hold = Math.min(hold, this.opts.maxMs);
    this.failures.set(key, { until: nowMs + Math.max(hold, MIN_HOLD_MS), epoch: at, backoffMs, answer });
  }

  /** A good answer ends the backoff for `key`. */
  clear(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }
}
