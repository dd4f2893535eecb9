import type { Clock, Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';

/**
 * An upstream's circuit breaker. The states:
 *
 *   closed ──(failureThreshold consecutive failures, or SERVFAIL to ≥ servfailRatio of recent distinct names)──▶ open
 *   open ──(backoff elapses: full jitter over 0.5 s → 30 s, doubling)──▶ probing (exactly one probe in flight)
 *   probing ──(probe answered NOERROR/NXDOMAIN)──▶ closed      probing ──(probe failed)──▶ open (next backoff step)
 *
 * While not closed the upstream gets no client traffic at all, only the probes: a dead upstream costs about one
 * query per backoff interval instead of every client's retries (docs/design.md §2.2). CoreDNS probes every 0.5 s
 * without backoff; the full-jitter backoff also keeps a fleet of nodes from probing in lock-step.
 */
export type BreakerState = 'closed' | 'open' | 'probing';

export interface BreakerOptions {
  /** Consecutive failures (timeouts, network errors, REFUSED) that open the breaker. */
  readonly failureThreshold: number;
  readonly probeBackoffMinMs: number;
  readonly probeBackoffMaxMs: number;
  /** Share of recent distinct names answered SERVFAIL that opens the breaker (CoreDNS without its API server). */
  readonly servfailRatio: number;
  /** Distinct names that must have been seen before the SERVFAIL ratio counts. */
  readonly servfailMinNames: number;
}

/** Outcome classes the breaker learns from. */
export type Outcome = 'success' | 'failure' | 'servfail';

export class Breaker {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private attempt = 0;
  private timer: Timer | undefined;
  /** The last outcome per distinct name, oldest first; bounded to a window of recent names. */
  private readonly recent = new Map<string, boolean>();
  private servfails = 0;

  constructor(
    private readonly opts: BreakerOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    /** Sends one probe; resolves true when the upstream answered usefully. */
    private readonly probe: () => Promise<boolean>,
    private readonly onChange: (state: BreakerState, reason: string) => void,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Whether client traffic may be sent now. */
  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Records the outcome of one client-driven exchange; `name` is the cache key (distinct names for the ratio). */
  record(outcome: Outcome, name: string): void {
    if (this.current !== 'closed') return;
    if (outcome === 'failure') {
      this.consecutive++;
      if (this.consecutive >= this.opts.failureThreshold) this.trip(`${this.consecutive} consecutive failures`);
      return;
    }
    this.consecutive = 0;
    this.remember(name, outcome === 'servfail');
    const size = this.recent.size;
    if (size >= this.opts.servfailMinNames && this.servfails >= size * this.opts.servfailRatio) {
      this.trip(`SERVFAIL for ${this.servfails} of the last ${size} distinct names`);
    }
  }

  private remember(name: string, servfail: boolean): void {
    const previous = this.recent.get(name);
    if (previous !== undefined) {
      this.recent.delete(name);
      if (previous) this.servfails--;
    }
    this.recent.set(name, servfail);
    if (servfail) this.servfails++;
    // Window: the last max(4 × minNames, 32) distinct names.
    const window = Math.max(this.opts.servfailMinNames * 4, 32);
    while (this.recent.size > window) {
      const [oldest, wasServfail] = this.recent.entries().next().value as [string, boolean];
      this.recent.delete(oldest);
      if (wasServfail) this.servfails--;
    }
  }

  private trip(reason: string): void {
    this.current = 'open';
    this.attempt = 0;
    this.onChange('open', reason);
    this.schedule();
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(max, min·2^n)]. */
  private schedule(): void {
    const cap = Math.min(this.opts.probeBackoffMaxMs, this.opts.probeBackoffMinMs * 2 ** this.attempt);
    this.attempt++;
    this.timer = this.clock.setTimer(() => this.sendProbe(), this.random.float() * cap);
  }

  private sendProbe(): void {
    this.timer = undefined;
    if (this.current !== 'open') return;
    this.current = 'probing';
    this.onChange('probing', 'probe sent');
    this.probe().then(
      (ok) => this.probed(ok),
      () => this.probed(false),
    );
  }

  private probed(ok: boolean): void {
    if (this.current !== 'probing') return;
    if (ok) {
      this.current = 'closed';
      this.consecutive = 0;
      this.attempt = 0;
      this.recent.clear();
      this.servfails = 0;
      this.onChange('closed', 'probe answered');
      return;
    }
    this.current = 'open';
    this.onChange('open', 'probe failed');
    this.schedule();
  }

  /** Stops probing (on shutdown). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
