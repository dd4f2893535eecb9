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

/** Flows whose own credit is remembered at most; beyond it the least recently seen is forgotten (memory stays bounded). */
const MAX_FLOWS = 4096;
/** What a flow may resend from the lower half of the bank before any of its own queries was answered. */
const START_CREDIT = 3;
/** A flow banks at most this share of the bank (or START_CREDIT) as its own credit: no one flow empties the lower half. */
const MAX_CREDIT_SHARE = 1 / 8;
/** TokenBucket's tolerance for fractions (ten answers at perAnswer 0.1 make one token). */
const EPSILON = 1e-9;

/**
 * Bounds retransmissions for the whole node (RFC 9520 §3.1: retries must be bounded). They are paid for by answers:
 * an upstream that answers most queries earns the few retransmissions its lost datagrams need, while one that has
 * gone silent earns nothing and gets first attempts only, plus the small per-second floor. So in an outage,
 * retransmissions add at most the floor to the load; on a lossy path, about one per lost datagram.
 *
 * The bank is shared like upstream capacity (docs/resilience.md, "Fair queuing"): while it is at least half full,
 * anyone may take from it, so a client alone may use all of it; below half, each flow (a client, in a zone) pays
 * with its own credit, earned by its own answers (a few to start with, an eighth of the bank at most). So a client
 * asking names that never answer empties the upper half at most, and then resends nothing, while another client
 * whose datagrams are lost keeps earning, with each answer it gets, the resend its next lost datagram needs.
 */
export class RetryBudget {
  private readonly bucket: TokenBucket;
  /** Each flow's own credit, least recently seen first. */
  private readonly credit = new Map<string, number>();

  constructor(
    private readonly opts: RetryBudgetOptions,
    clock: Clock,
  ) {
    // A rate of 0 would mean unlimited to TokenBucket; a floor of 0 here means answers alone pay.
    this.bucket = new TokenBucket(Math.max(opts.minPerSecond, 1e-9), opts.burst, clock);
  }

  /** An upstream answered a query of `flow`. */
  earn(flow: string): void {
    this.bucket.give(this.opts.perAnswer);
    const cap = Math.max(START_CREDIT, this.opts.burst * MAX_CREDIT_SHARE);
    this.setCredit(flow, Math.min(cap, this.creditOf(flow) + this.opts.perAnswer));
  }

  /** Whether `flow` may send one retransmission now (and pays for it). */
  take(flow: string): boolean {
    const available = this.bucket.available;
    if (available + EPSILON < 1) return false;
    if (available <= this.opts.burst / 2) {
      const mine = this.creditOf(flow);
      if (mine + EPSILON < 1) return false;
      this.setCredit(flow, mine - 1);
    }
    return this.bucket.take();
  }

  private creditOf(flow: string): number {
    return this.credit.get(flow) ?? START_CREDIT;
  }

  private setCredit(flow: string, n: number): void {
    this.credit.delete(flow);
    if (this.credit.size >= MAX_FLOWS) this.credit.delete(this.credit.keys().next().value as string);
    this.credit.set(flow, n);
  }
}
