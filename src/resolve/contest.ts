import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../cache/index.js';
import { BallastError } from '../errors.js';
import type { LastKnownGoodPolicy } from '../upstream/index.js';
import { Rcode } from '../wire/index.js';

/**
 * A negative must be seen again, this long after the first, with no positive answer in between, before it replaces
 * a positive one: long enough for the second ask to reach another replica behind the Service, short enough that a
 * deleted Service turns NXDOMAIN within its TTL and a few seconds.
 */
export const CONFIRM_MS = 5000;
/** A contested name is asked upstream again at most this often (what its 5 s TTL asked in steady state). */
export const RECHECK_MS = 5000;
/** Contested names remembered at most. */
const MAX_CONTESTS = 10_000;

interface Contest {
  /** When the first negative of this contest came. */
  readonly since: number;
  /** No upstream query for the name before this. */
  recheckAt: number;
  /** What the upstream said instead ("NXDOMAIN", "NODATA"), for the EDE text of the answers served meanwhile. */
  said: string;
}

/**
 * Last known good (docs/resilience.md): a negative answer for a name the cache holds a positive answer for is not
 * believed at once. Under `correlated`, the name is *contested*: its positive answer is served (stale form, EDE 3)
 * and the name asked again every RECHECK_MS; a second negative at least CONFIRM_MS after the first, with no positive
 * answer in between, is a real deletion and replaces the positive one — unless the upstream is judged wrong for the
 * zone meanwhile (it contradicts names in several domains: upstream/contradiction.ts), then it waits. A positive
 * answer ends the contest. `prefer-positive` never believes such a negative; `off` always does.
 */
export class Contests {
  private readonly contests = new LRUCache<string, Contest>({ max: MAX_CONTESTS });

  /**
   * A negative answer came for `key`, whose positive answer the cache holds: whether to keep the positive one (and
   * serve it) or to accept the negative one.
   */
  judge(
    key: string,
    said: string,
    policy: LastKnownGoodPolicy,
    upstreamWrong: boolean,
    nowMs: number,
  ): 'keep' | 'accept' {
    if (policy === 'off') return 'accept';
    const contest = this.contests.get(key);
    if (contest === undefined) {
      this.contests.set(key, { since: nowMs, recheckAt: nowMs + RECHECK_MS, said });
      return 'keep';
    }
    const confirmed = nowMs - contest.since >= CONFIRM_MS && !upstreamWrong;
    if (policy === 'correlated' && confirmed) {
      this.contests.delete(key);
      return 'accept';
    }
    contest.recheckAt = nowMs + RECHECK_MS;
    contest.said = said;
    return 'keep';
  }

  /** A positive answer for `key`: its contest, if any, is over; returns whether there was one. */
  settle(key: string): boolean {
    return this.contests.delete(key);
  }

  /**
   * When `key` is contested and not to be asked upstream again yet: what the upstream said instead. Undefined when
   * it may be asked.
   */
  holding(key: string, nowMs: number): string | undefined {
    const contest = this.contests.get(key);
    return contest !== undefined && nowMs < contest.recheckAt ? contest.said : undefined;
  }

  get size(): number {
    return this.contests.size;
  }
}

/**
 * The upstream answered NXDOMAIN or NODATA for a name whose positive answer the cache holds, and the zone's policy
 * keeps the positive one: the client gets it, in stale form (RFC 8767: TTL 30, EDE 3), with this as EXTRA-TEXT.
 */
export class KeptLastKnownGood extends BallastError {
  override readonly code = 'BALLAST_LAST_KNOWN_GOOD';

  constructor(
    readonly said: string,
    /** The positive answer kept (a detached copy), for every client waiting on the fetch. */
    readonly entry: CacheEntry,
  ) {
    super(`upstream answered ${said} for a name it answered before; its last known good answer is kept`);
  }
}

/** The EDE EXTRA-TEXT of a last-known-good answer. */
export function lastKnownGoodText(said: string): string {
  return `last known good; upstream said ${said}`;
}

/** Whether a cacheable answer is negative, and how: "NXDOMAIN", "NODATA", or undefined for a positive one. */
export function negativeKind(rcode: number, ancount: number): string | undefined {
  if (rcode === Rcode.NXDOMAIN) return 'NXDOMAIN';
  return rcode === Rcode.NOERROR && ancount === 0 ? 'NODATA' : undefined;
}
