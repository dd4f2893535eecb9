import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';

export interface BudgetOptions {
  /** Background refreshes (prefetch) per second for this zone at most; 0 = no limit. */
  readonly refreshPerSecond: number;
  /** Floor of the recovery rate, for a zone that had almost no traffic before its outage. */
  readonly recoveryMinPerSecond: number;
}

/**
 * The upstream query budget of one zone (an upstream group).
 *
 * In steady state it only bounds background prefetches. After an outage — the zone's upstreams were down and one
 * answered a probe — every stale entry wants a refresh at once; that burst is what would knock a recovering CoreDNS
 * over again. So while recovering, every refresh (prefetch or stale-triggered) draws from a bucket whose rate is the
 * zone's steady-state upstream rate, learned while healthy (an exponentially weighted average of per-second counts,
 * about a minute long). Stale answers fill the gap; recovery ends after a whole second without a refused refresh.
 */
export class ZoneBudget {
  private readonly prefetch: TokenBucket;
  private recovery: TokenBucket | undefined;
  private healthy = true;
  private second = 0;
  private count = 0;
  private average = 0;
  private refusedThisSecond = false;
  private recoveryStarted = 0;

  constructor(
    private readonly opts: BudgetOptions,
    private readonly clock: Clock,
  ) {
    this.prefetch = new TokenBucket(opts.refreshPerSecond, Math.max(opts.refreshPerSecond, 1), clock);
    this.second = Math.floor(clock.now() / 1000);
  }

  /** Counts one upstream query of this zone (any kind) towards the learned steady-state rate. */
  noteQuery(): void {
    this.roll();
    this.count++;
  }

  /** Tells the budget whether the zone has a usable upstream now; a return to health starts recovery. */
  observeHealth(healthy: boolean): void {
    this.roll();
    if (healthy && !this.healthy) {
      const rate = Math.max(this.opts.recoveryMinPerSecond, Math.floor(this.average));
      this.recovery = new TokenBucket(rate, rate, this.clock);
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
    return this.average;
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
      // EWMA with a one-minute memory; seconds with no query count as zeros.
      const alpha = 1 / 60;
      this.average = this.average * (1 - alpha) + alpha * this.count;
      for (let i = 1; i < Math.min(elapsed, 600); i++) this.average *= 1 - alpha;
    }
    if (this.recovery !== undefined && !this.refusedThisSecond && now * 1000 - this.recoveryStarted >= 1000) {
      this.recovery = undefined;
    }
    this.refusedThisSecond = false;
    this.second = now;
    this.count = 0;
  }
}
