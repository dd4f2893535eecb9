import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';

export interface BudgetOptions {
  /** Background refreshes (prefetch) per second for this zone at most; 0 = no limit. */
  readonly refreshPerSecond: number;
  /** Floor of the recovery rate, for a zone that had almost no traffic before its outage. */
  readonly recoveryMinPerSecond: number;
}

/** Healthy seconds remembered for the steady-state rate. */
const HISTORY_SECONDS = 60;

/**
 * The upstream query budget of one zone (an upstream group).
 *
 * In steady state it only bounds background prefetches. After an outage — the zone's upstreams were down and one
 * answered a probe — every stale entry wants a refresh at once; that burst is what would knock a recovering CoreDNS
 * over again. So while recovering, every refresh (prefetch or stale-triggered) draws from a bucket whose rate is the
 * zone's steady-state upstream rate: the mean of its per-second query counts over the last minute it was healthy
 * (seconds while down are not counted, so a long outage does not shrink it). Misses are never held back, but they
 * spend from the same bucket, so refreshes and misses together stay at that rate. Being a mean, it stays below the
 * steady-state peak second. Stale answers fill the gap; recovery ends after a whole second without a refused refresh.
 */
export class ZoneBudget {
  private readonly prefetch: TokenBucket;
  private recovery: TokenBucket | undefined;
  private healthy = true;
  private second = 0;
  private count = 0;
  private readonly history = new Float64Array(HISTORY_SECONDS);
  private recorded = 0;
  private refusedThisSecond = false;
  private recoveryStarted = 0;

  constructor(
    private readonly opts: BudgetOptions,
    private readonly clock: Clock,
  ) {
    this.prefetch = new TokenBucket(opts.refreshPerSecond, Math.max(opts.refreshPerSecond, 1), clock);
    this.second = Math.floor(clock.now() / 1000);
  }

  /**
   * Counts one upstream query of this zone towards the learned steady-state rate. While recovering, a query that is
   * not a refresh (a miss: new demand, never held back) still spends from the recovery bucket, into debt if need be,
   * so the refreshes fill only what the misses leave of the steady rate and the two together stay within it.
   */
  noteQuery(refresh: boolean): void {
    this.roll();
    this.count++;
    if (!refresh && this.recovery !== undefined) this.recovery.give(-1);
  }

  /** Tells the budget whether the zone has a usable upstream now; a return to health starts recovery. */
  observeHealth(healthy: boolean): void {
    this.roll();
    if (healthy && !this.healthy) {
      const rate = Math.max(this.opts.recoveryMinPerSecond, Math.floor(this.steadyRate));
      // Starts empty: the first second of recovery gets one second's worth, not a saved-up burst on top.
      this.recovery = new TokenBucket(rate, rate, this.clock, 0);
      this.recoveryStarted = this.clock.now();
      this.refusedThisSecond = false;
    }
    this.healthy = healthy;
  }

  /** Whether a background prefetch may go upstream now. */
  allowPrefetch(): boolean {
    this.roll();
    if (this.recovery !== undefined) return this.take();
    return this.prefetch.take();
  }

  /** Whether a refresh triggered by a stale hit may go upstream now (always, unless recovering). */
  allowStaleRefresh(): boolean {
    this.roll();
    return this.recovery === undefined ? true : this.take();
  }

  get recovering(): boolean {
    return this.recovery !== undefined;
  }

  /** The learned steady-state upstream rate, queries per second. */
  get steadyRate(): number {
    const n = Math.min(this.recorded, HISTORY_SECONDS);
    if (n === 0) return 0;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.history[i];
    return sum / n;
  }

  private take(): boolean {
    if (this.recovery!.take()) return true;
    this.refusedThisSecond = true;
    return false;
  }

  /** Closes finished one-second buckets: updates the learned rate (only while healthy) and ends recovery. */
  private roll(): void {
    const now = Math.floor(this.clock.now() / 1000);
    if (now === this.second) return;
    const elapsed = now - this.second;
    if (this.healthy && this.recovery === undefined) {
      // The second just closed, then any idle seconds since (zeros), into the ring.
      for (let i = 0; i < Math.min(elapsed, HISTORY_SECONDS); i++) {
        this.history[this.recorded++ % HISTORY_SECONDS] = i === 0 ? this.count : 0;
      }
    }
    if (this.recovery !== undefined && !this.refusedThisSecond && now * 1000 - this.recoveryStarted >= 1000) {
      this.recovery = undefined;
    }
    this.refusedThisSecond = false;
    this.second = now;
    this.count = 0;
  }
}
