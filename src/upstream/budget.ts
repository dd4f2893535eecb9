import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';

export interface RetryBudgetOptions {
  /** Tokens earned per upstream answer; a retransmission spends one. */
  readonly perAnswer: number;
  /** Tokens earned per second whatever happens, so a quiet node can still retransmit. */
  readonly minPerSecond: number;
  /** Tokens banked at most. */
  readonly burst: number;
}

/**
 * Bounds retransmissions for the whole node (RFC 9520 §3.1: retries must be bounded). They are paid for by answers:
 * an upstream that answers most queries earns the few retransmissions its lost datagrams need, while one that has
 * gone silent earns nothing and gets first attempts only, plus the small per-second floor. So in an outage,
 * retransmissions add at most the floor to the load; on a lossy path, about one per lost datagram.
 */
export class RetryBudget {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly opts: RetryBudgetOptions,
    clock: Clock,
  ) {
    // A rate of 0 would mean unlimited to TokenBucket; a floor of 0 here means answers alone pay.
    this.bucket = new TokenBucket(Math.max(opts.minPerSecond, 1e-9), opts.burst, clock);
  }

  /** An upstream answered. */
  earn(): void {
    this.bucket.give(this.opts.perAnswer);
  }

  /** Whether one retransmission may be sent now (and pays for it). */
  take(): boolean {
    return this.bucket.take();
  }
}
