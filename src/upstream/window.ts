/** Recent answers remembered to tell overload from one domain's policy. */
const WINDOW = 32;
/** REFUSED for at least this many answers in the window … */
const MIN_REFUSED = 8;
/** … making up at least this share of it … */
const REFUSED_SHARE = 0.25;
/** … for names in at least this many domains means the server is shedding load (CoreDNS `max_concurrent`). */
const MIN_REFUSED_DOMAINS = 3;
/** At most one decrease per this long, so a burst of REFUSED answers to queries sent together halves it once. */
const DECREASE_INTERVAL_MS = 100;
/** The window grows once per this long of answers without a decrease. */
const GROW_INTERVAL_MS = 250;
/** Below the size at which it was last congested it doubles; at or above it, it grows by this share. */
const PROBE_GROWTH = 0.125;
/** Without a decrease for this long, the congested size is forgotten: the window doubles back to its maximum. */
const FORGET_MS = 2000;

/**
 * The in-flight window of one upstream (docs/resilience.md, "REFUSED is back-pressure"). CoreDNS answers REFUSED
 * when its `max_concurrent` is reached: that is congestion, not death, so the window halves. It is a congestion
 * signal only when it is spread: at least 8 of the last 32 answers, for names in at least 3 domains. REFUSED for one
 * domain, however many of its names are asked, is that domain's policy (an ACL, a view), which the failure cache
 * holds name by name; it never shrinks what every other zone and client may send.
 *
 * It grows back like TCP after a loss, in steps of 250 ms of answers: doubling up to the size at which the server
 * last refused, then 12.5 % a step above it, so a server that stays overloaded is probed gently rather than
 * refused again at once; once 2 s pass without a decrease, that size is forgotten and the window doubles back to
 * its maximum: from 1 to 1000 within about 4 s of the last REFUSED — seconds of answers, not a window's worth of
 * answers per step.
 */
export class InflightWindow {
  private current: number;
  /** The size at which the server last refused; the maximum when it has not lately. */
  private congestedAt: number;
  /** Domains of the last WINDOW answers: the refused name's domain, or null for any other answer. */
  private readonly recent: (string | null)[] = [];
  private lastChange = Number.NEGATIVE_INFINITY;
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(private readonly max: number) {
    this.current = max;
    this.congestedAt = max;
  }

  get value(): number {
    return this.current;
  }

  /** One answer from the upstream that was not REFUSED. */
  good(nowMs: number): void {
    this.remember(null);
    if (this.current >= this.max || nowMs - this.lastChange < GROW_INTERVAL_MS) return;
    if (nowMs - this.lastDecrease >= FORGET_MS) this.congestedAt = this.max;
    const next =
      this.current < this.congestedAt
        ? Math.min(this.current * 2, this.congestedAt)
        : Math.ceil(this.current * (1 + PROBE_GROWTH));
    this.current = Math.min(this.max, next);
    this.lastChange = nowMs;
  }

  /** REFUSED for a name in `domain`. */
  refused(domain: string, nowMs: number): void {
    this.remember(domain);
    let refused = 0;
    const domains = new Set<string>();
    for (const d of this.recent) {
      if (d === null) continue;
      refused++;
      domains.add(d);
    }
    const congested =
      refused >= MIN_REFUSED && refused >= this.recent.length * REFUSED_SHARE && domains.size >= MIN_REFUSED_DOMAINS;
    if (congested && nowMs - this.lastDecrease >= DECREASE_INTERVAL_MS) {
      this.congestedAt = this.current;
      this.current = Math.max(1, Math.floor(this.current / 2));
      this.lastDecrease = this.lastChange = nowMs;
    }
  }

  private remember(domain: string | null): void {
    this.recent.push(domain);
    if (this.recent.length > WINDOW) this.recent.shift();
  }
}
