/**
 * RTT-based timeouts (RFC 6298's estimator, applied to DNS): a healthy CoreDNS answers in about a millisecond, so
 * waiting a fixed 2 s before calling it dead lets thousands more queries pile up behind it. The timeout follows
 * SRTT + 4·RTTVAR, never below `minMs` (scheduling noise, a slow recursive miss) nor above `maxMs`.
 */
export class RttEstimator {
  private srtt = -1;
  private rttvar = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** Records one answered exchange's round-trip time. */
  sample(ms: number): void {
    if (this.srtt < 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /** An exchange timed out: back the estimate off (RFC 6298 §5.5 doubles the timer) so a slow spell is not a death. */
  timedOut(): void {
    if (this.srtt >= 0) this.srtt = Math.min(this.maxMs, this.srtt * 2 + this.minMs);
  }

  /** The timeout for the next exchange: `maxMs` until the first sample. */
  get timeoutMs(): number {
    if (this.srtt < 0) return this.maxMs;
    return Math.min(this.maxMs, Math.max(this.minMs, Math.ceil(this.srtt + 4 * this.rttvar)));
  }

  get smoothedMs(): number {
    return this.srtt;
  }
}
