import type { Clock, Timer } from '../util/clock.js';

/** How long an answer for a name counts towards the judgement: a name's latest answer within it says where it stands. */
export const CONTRADICTION_WINDOW_MS = 30_000;
/**
 * A name answered positively after a contradiction and contradicted again within this long has been answered both
 * ways by turns, and that counts for as long. Short: a broken replica shows it again and again, within a re-ask and
 * a TTL, while a name wrongly contradicted in a fault and really deleted a little later is not taken for one.
 */
export const TURN_WINDOW_MS = 10_000;
/** A flip judges the upstream wrong while at least this many names stand contradicted (a turn: one). */
export const CONTRADICTION_MIN_NAMES = 2;
/** A zone-wide flip: at least this many names contradicted now, and ... */
export const MASS_MIN_NAMES = 3;
/** ... at least this share of the names answered within the window contradicted by their latest answer. */
export const MASS_MIN_SHARE = 0.8;
/** Names remembered at most, each way: past these, more names change no judgement. */
const MAX_CONTRADICTED = 4096;
const MAX_AGREEING = 1024;

/**
 * Whether one upstream answers one zone *wrongly* (docs/resilience.md, "Last known good"). A contradiction is a
 * negative answer (NXDOMAIN, or NODATA) for a name the cache holds a positive answer for; the request path, which
 * knows the cache, reports each one here, and each positive answer. A real deletion is news about some names while
 * the rest of the zone answers normally, and a deleted name stays deleted. A wrong upstream is judged from the signs
 * a deletion does not give, counting the names that *stand contradicted* (their latest answer, within 30 s,
 * contradicted):
 *
 * - *by turns*: a name it contradicted was answered positively again within 30 s, while two names stand
 *   contradicted; or such a name was contradicted once more within 10 s (answered both ways by turns), in the last
 *   10 s, while one does. This is a replica behind the Service with an empty or partial informer, answering some of
 *   the asks. A recovery flips each name once and leaves none standing; a broken replica flips them back and forth;
 * - *all at once*: three names or more stand contradicted, ≥ 80 % of the names it answered within 30 s (an empty
 *   informer on every replica, emptied Endpoints, a zone published empty).
 *
 * Names, not answers, are counted, so a contested name rechecked every 5 s weighs no more than a name refreshed
 * every 30 s. When the upstream agrees again, the names stop standing contradicted one by one as they are answered
 * positively, and the judgement ends with them; so a deletion right after a fault is not held back by it.
 */
export class ContradictionEvidence {
  /** Names whose latest answer contradicted, within the window: when, oldest first. */
  private readonly standing = new Map<string, number>();
  /** Names whose latest answer was positive, within the window: when, oldest first. */
  private readonly agreeing = new Map<string, number>();
  /** Names once contradicted and answered positively since, within the window: when they flipped, oldest first. */
  private readonly flipped = new Map<string, number>();
  /** When a name standing contradicted was last answered positively. */
  private flippedAt = -Infinity;
  /** When a flipped name was last contradicted again. */
  private turnedAt = -Infinity;
  private judged = false;
  private closed = false;
  private timer: Timer | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    /** Called when the judgement changes, with the names standing contradicted. */
    private readonly onChange: (wrong: boolean, names: number) => void,
  ) {}

  /** Whether the upstream is judged to answer the zone wrongly now. */
  get wrong(): boolean {
    return this.judged;
  }

  /** A negative answer for `name`, whose positive answer the cache holds. */
  contradicted(name: string): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.agreeing.delete(name);
    note(this.standing, name, now, MAX_CONTRADICTED);
    const flippedAt = this.flipped.get(name);
    if (flippedAt !== undefined) {
      this.flipped.delete(name);
      if (now - flippedAt < TURN_WINDOW_MS) this.turnedAt = now;
    }
    this.update(now);
  }

  /** A positive answer for `name`. */
  agreed(name: string): void {
    if (this.closed) return;
    const now = this.clock.now();
    note(this.agreeing, name, now, MAX_AGREEING);
    if (!this.standing.delete(name)) return;
    this.flippedAt = now;
    note(this.flipped, name, now, MAX_CONTRADICTED);
    this.update(now);
  }

  stop(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Ages out what is older than the window, judges again, and times the next ageing. */
  private update(now: number): void {
    ageOut(this.standing, now);
    ageOut(this.agreeing, now);
    ageOut(this.flipped, now, TURN_WINDOW_MS);
    const n = this.standing.size;
    const turned = n >= 1 && now - this.turnedAt < TURN_WINDOW_MS;
    const flipped = n >= CONTRADICTION_MIN_NAMES && now - this.flippedAt < CONTRADICTION_WINDOW_MS;
    const allAtOnce = n >= MASS_MIN_NAMES && n >= MASS_MIN_SHARE * (n + this.agreeing.size);
    const wrong = turned || flipped || allAtOnce;
    if (wrong !== this.judged) {
      this.judged = wrong;
      this.onChange(wrong, n);
    }
    this.time(now);
  }

  /** Arms the timer for the next ageing that can end the judgement: the oldest contradiction's, or the flip's. */
  private time(now: number): void {
    const oldest = this.standing.values().next().value;
    let at = oldest === undefined ? Infinity : oldest + CONTRADICTION_WINDOW_MS;
    if (this.judged) {
      at = Math.min(
        at,
        endsAfter(this.flippedAt + CONTRADICTION_WINDOW_MS, now),
        endsAfter(this.turnedAt + TURN_WINDOW_MS, now),
      );
    }
    if (at === this.timerAt) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = at;
    if (at !== Infinity) {
      this.timer = this.clock.setTimer(
        () => {
          this.timerAt = Infinity;
          this.timer = undefined;
          if (!this.closed) this.update(this.clock.now());
        },
        Math.max(0, at - now),
      );
    }
  }
}

/** `ends`, if it is still to come. */
function endsAfter(ends: number, now: number): number {
  return ends > now ? ends : Infinity;
}

/** Notes `name` as the newest of `names`, dropping the oldest past `max`. */
function note(names: Map<string, number>, name: string, now: number, max: number): void {
  names.delete(name);
  names.set(name, now);
  if (names.size > max) names.delete(names.keys().next().value!);
}

/** Drops the names older than `windowMs` (the map is oldest first). */
function ageOut(names: Map<string, number>, now: number, windowMs = CONTRADICTION_WINDOW_MS): void {
  for (const [name, at] of names) {
    if (now - at < windowMs) return;
    names.delete(name);
  }
}
