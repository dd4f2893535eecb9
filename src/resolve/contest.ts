import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../cache/index.js';
import { BallastError } from '../errors.js';
import type { LastKnownGoodPolicy } from '../upstream/index.js';
import type { NegativeKind } from '../wire/index.js';

/**
 * A negative is believed in place of a positive one when the upstream has said it this many times, with no positive
 * answer in between ...
 */
export const CONFIRM_NEGATIVES = 3;
/**
 * ... over at least this long, first to last: the later asks may reach other replicas behind the Service, and a
 * replica that answers wrongly only by turns is caught by its positive answers in between (contradiction.ts) before
 * a name is confirmed. A deleted Service turns NXDOMAIN within its TTL and about 10 s.
 */
export const CONFIRM_MS = 10_000;
/** A contested name is asked upstream again at most this often (what its 5 s TTL asked in steady state) ... */
export const RECHECK_MS = 5000;
/**
 * ... except once, this soon after its first negative: a replica that answers wrongly only by turns shows it on the
 * re-ask (contradiction.ts) well before any name can be confirmed, while a deleted name just says it again.
 */
export const FIRST_RECHECK_MS = 1000;
/** Contested names remembered at most. */
const MAX_CONTESTS = 10_000;

interface Contest {
  /** When the first negative of this contest came. */
  readonly since: number;
  /** Negatives seen, the first included. */
  negatives: number;
  /** No upstream query for the name before this. */
  recheckAt: number;
  /** What the upstream said instead ("NXDOMAIN", "NODATA"), for the EDE text of the answers served meanwhile. */
  said: NegativeKind;
}

/**
 * Last known good (docs/resilience.md): a negative answer for a name the cache holds a positive answer for is not
 * believed at once. Under `correlated`, the name is *contested*: its positive answer is served (stale form, EDE 3)
 * and the name asked again after FIRST_RECHECK_MS, then every RECHECK_MS; CONFIRM_NEGATIVES negatives over at least
 * CONFIRM_MS, with no positive answer in between, are a real deletion and replace the positive one — unless the
 * upstream is judged wrong for the zone meanwhile (upstream/contradiction.ts), then it waits. A positive answer ends the contest. The negatives count
 * however far apart they come, so a name asked rarely still turns NXDOMAIN on its third ask. `prefer-positive` never
 * believes such a negative; `off` always does.
 */
export class Contests {
  private readonly contests = new LRUCache<string, Contest>({ max: MAX_CONTESTS });

  /**
   * A negative answer came for `key`, whose positive answer the cache holds: whether to keep the positive one (and
   * serve it) or to accept the negative one.
   */
  judge(
    key: string,
    said: NegativeKind,
    policy: LastKnownGoodPolicy,
    upstreamWrong: boolean,
    nowMs: number,
  ): 'keep' | 'accept' {
    if (policy === 'off') return 'accept';
    const contest = this.contests.get(key);
    if (contest === undefined) {
      this.contests.set(key, { since: nowMs, negatives: 1, recheckAt: nowMs + FIRST_RECHECK_MS, said });
      return 'keep';
    }
    contest.negatives++;
    const confirmed = contest.negatives >= CONFIRM_NEGATIVES && nowMs - contest.since >= CONFIRM_MS && !upstreamWrong;
    if (policy === 'correlated' && confirmed) {
      this.contests.delete(key);
      return 'accept';
    }
    contest.recheckAt = nowMs + RECHECK_MS;
    contest.said = said;
    return 'keep';
  }

  /** An answer for `key` that contradicts nothing: its contest, if any, is over. */
  settle(key: string): void {
    if (this.contests.size > 0) this.contests.delete(key);
  }

  /**
   * When `key` is contested and not to be asked upstream again yet: what the upstream said instead. Undefined when
   * it may be asked.
   */
  holding(key: string, nowMs: number): NegativeKind | undefined {
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
    readonly said: NegativeKind,
    /** The positive answer kept (a detached copy), for every client waiting on the fetch. */
    readonly entry: CacheEntry,
  ) {
    super(`upstream answered ${said} for a name it answered before; its last known good answer is kept`);
  }
}

const TEXTS: Record<NegativeKind, string> = {
  NXDOMAIN: 'last known good; upstream said NXDOMAIN',
  NODATA: 'last known good; upstream said NODATA',
};

/** The EDE EXTRA-TEXT of a last-known-good answer (constant strings: an incident allocates none per answer). */
export function lastKnownGoodText(said: NegativeKind): string {
  return TEXTS[said];
}
