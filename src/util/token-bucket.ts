import type { Clock } from './clock.js';

/**
 * A token bucket on an injected clock: `rate` tokens per second up to `burst`. Used for the refresh budget, the
 * recovery pacing after an outage and the retry budget. A rate of 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    private readonly clock: Clock,
    /** Tokens at the start; a full bucket unless told otherwise. */
    initial = burst,
  ) {
    this.tokens = Math.min(initial, burst);
    this.last = clock.now();
  }

  /** Takes `n` tokens if there are enough; returns whether it did. */
  take(n = 1): boolean {
    if (this.rate === 0) return true;
    this.refill();
    // The epsilon absorbs float error from fractional deposits (ten give(0.1) make one token).
    if (this.tokens + 1e-9 < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Adds tokens without exceeding the burst (the retry budget earns a fraction of a token per query); a negative `n`
   * spends into debt, which the rate pays back before anything can be taken again (the recovery budget's misses).
   */
  give(n: number): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  /** Changes rate and burst, keeping the tokens already earned (up to the new burst). */
  reconfigure(rate: number, burst: number): void {
    this.refill();
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  get available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.last;
    this.last = now;
    if (elapsed > 0) this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rate);
  }
}
