/** Recent answers remembered to tell overload from one refused name. */
const WINDOW = 32;
/** REFUSED for at least this many distinct names in the window means the server is shedding load. */
const MIN_REFUSED_NAMES = 8;
/** ... and for at least this share of the window. */
const REFUSED_SHARE = 0.25;
/** At most one decrease per this long, so a burst of REFUSED answers to queries sent together halves the limit once. */
const DECREASE_INTERVAL_MS = 100;

/**
 * The in-flight limit of one upstream, as a congestion window (additive increase, multiplicative decrease). CoreDNS
 * answers REFUSED when its `max_concurrent` is reached: that is back-pressure, not death, so the limit halves and
 * grows back by one per window of good answers. One name refused by policy is not overload: the limit moves only
 * when many distinct names are refused at once.
 */
export class InflightLimit {
  private current: number;
  private credit = 0;
  private readonly recent: (string | null)[] = [];
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(private readonly max: number) {
    this.current = max;
  }

  get value(): number {
    return Math.floor(this.current);
  }

  /** One answer from the upstream: `refusedName` is the name it refused, or null for any other answer. */
  observe(refusedName: string | null, nowMs: number): void {
    this.recent.push(refusedName);
    if (this.recent.length > WINDOW) this.recent.shift();
    if (refusedName === null) {
      // Additive increase: one more per `limit` good answers.
      if (this.current < this.max && ++this.credit >= this.current) {
        this.credit = 0;
        this.current = Math.min(this.max, this.current + 1);
      }
      return;
    }
    const refused = new Set(this.recent.filter((n) => n !== null));
    const overloaded = refused.size >= MIN_REFUSED_NAMES && refused.size >= this.recent.length * REFUSED_SHARE;
    if (overloaded && nowMs - this.lastDecrease >= DECREASE_INTERVAL_MS) {
      this.lastDecrease = nowMs;
      this.current = Math.max(1, Math.floor(this.current / 2));
      this.credit = 0;
    }
  }
}
