import { afterPendingIo, type Clock, type Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';

/**
 * The health of one upstream for one zone (docs/design.md §4, "what failed"). A failed query is its name's failure
 * (the failure cache); only signals that are not about one name count here:
 *
 *   closed ──(no answer to anything for silenceMs while queries were out; transportErrors in a row, such as
 *             connection refused or ICMP unreachable; or failures for ≥ failureRatio of ≥ minNames distinct names)──▶
 *   suspect (client traffic still flows; one probe asks something known to be answerable)
 *   suspect ──(probe answered)──▶ closed          suspect ──(probe failed)──▶ open
 *   open ──(backoff elapses: full jitter over probeBackoffMinMs → probeBackoffMaxMs, doubling)──▶ probing
 *   probing ──(probe answered)──▶ closed          probing ──(probe failed)──▶ open (next backoff step)
 *
 * Any answer, whatever its rcode, proves the transport alive. A probe never replays the names that failed: a few
 * dead names (a lame delegation, a gone external domain) must not keep a live upstream down. While open or probing
 * the upstream gets no client traffic, only probes: a dead upstream costs one query per backoff interval, not every
 * client's retries (docs/design.md §2.2); the full-jitter backoff keeps a fleet of nodes from probing in lock-step.
 */
export type HealthState = 'closed' | 'suspect' | 'open' | 'probing';

export interface HealthOptions {
  /** No answer to any query for this long, while queries were outstanding, makes the upstream suspect. */
  readonly silenceMs: number;
  /** Transport errors in a row (refused, unreachable, TCP connect failures) that make it suspect. */
  readonly transportErrors: number;
  /** Share of recent distinct names that failed (SERVFAIL, or no answer by the deadline) that makes it suspect. */
  readonly failureRatio: number;
  /** Distinct names that must have been seen before the failure ratio counts. */
  readonly minNames: number;
  readonly probeBackoffMinMs: number;
  readonly probeBackoffMaxMs: number;
}

export class Health {
  private current: HealthState = 'closed';
  private attempt = 0;
  private timer: Timer | undefined;
  /** When the oldest query sent since the last answer went out; undefined right after an answer. */
  private unansweredSince: number | undefined;
  /** Fires silenceMs after that query went out, unless an answer came first. */
  private silenceTimer: Timer | undefined;
  private transportErrorRun = 0;
  /** The last verdict per distinct name (true: failed), oldest first; a window of recent names. */
  private readonly recent = new Map<string, boolean>();
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly opts: HealthOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    /** Sends one probe; resolves true when the upstream answered it usefully. */
    private readonly probe: () => Promise<boolean>,
    private readonly onChange: (state: HealthState, reason: string) => void,
  ) {}

  get state(): HealthState {
    return this.current;
  }

  /** Whether client traffic may be sent: closed, or suspect while its probe is out. */
  get usable(): boolean {
    return this.current === 'closed' || this.current === 'suspect';
  }

  /** A query went out. */
  sent(): void {
    if (this.unansweredSince !== undefined) {
      this.checkSilence();
      return;
    }
    this.unansweredSince = this.clock.now();
    this.silenceTimer = this.clock.setTimer(() => afterPendingIo(() => this.checkSilence()), this.opts.silenceMs);
  }

  /** An answer came back for `name`; `failed` when it was SERVFAIL (the zone is not served there). */
  answered(name: string, failed: boolean): void {
    this.quiet();
    this.transportErrorRun = 0;
    this.verdict(name, failed);
  }

  /** Forgets the silence being timed (an answer came, or the health was reset). */
  private quiet(): void {
    this.unansweredSince = undefined;
    this.silenceTimer?.cancel();
    this.silenceTimer = undefined;
  }

  /** The query for `name` got no answer from this upstream by its deadline. */
  noAnswer(name: string): void {
    this.verdict(name, true);
    this.checkSilence();
  }

  /** The upstream refused the connection or is unreachable. */
  transportError(): void {
    if (++this.transportErrorRun >= this.opts.transportErrors) {
      this.suspect(`${this.transportErrorRun} transport errors in a row`);
    }
  }

  /** Called as attempts time out: no answer to anything for silenceMs while queries were out. */
  checkSilence(): void {
    const since = this.unansweredSince;
    if (since === undefined) return;
    const silent = this.clock.now() - since;
    if (silent >= this.opts.silenceMs) this.suspect(`no answer to any query for ${Math.round(silent)} ms`);
  }

  private verdict(name: string, failed: boolean): void {
    if (this.current !== 'closed') return;
    const previous = this.recent.get(name);
    if (previous !== undefined) {
      this.recent.delete(name);
      if (previous) this.failures--;
    }
    this.recent.set(name, failed);
    if (failed) this.failures++;
    const window = Math.max(this.opts.minNames * 4, 32);
    while (this.recent.size > window) {
      const [oldest, wasFailed] = this.recent.entries().next().value as [string, boolean];
      this.recent.delete(oldest);
      if (wasFailed) this.failures--;
    }
    const size = this.recent.size;
    if (size >= this.opts.minNames && this.failures >= size * this.opts.failureRatio) {
      this.suspect(`failures for ${this.failures} of the last ${size} distinct names`);
    }
  }

  /** Something not about one name went wrong: ask the upstream something it can answer before believing it. */
  private suspect(reason: string): void {
    if (this.current !== 'closed' || this.stopped) return;
    this.current = 'suspect';
    this.onChange('suspect', reason);
    this.runProbe((alive) => (alive ? this.close('probe answered') : this.open(reason)));
  }

  private open(reason: string): void {
    this.current = 'open';
    this.attempt = 0;
    this.onChange('open', reason);
    this.schedule();
  }

  private close(reason: string): void {
    this.current = 'closed';
    this.attempt = 0;
    this.quiet();
    this.transportErrorRun = 0;
    this.recent.clear();
    this.failures = 0;
    this.onChange('closed', reason);
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(max, min·2^n)]. */
  private schedule(): void {
    if (this.stopped) return;
    const cap = Math.min(this.opts.probeBackoffMaxMs, this.opts.probeBackoffMinMs * 2 ** this.attempt);
    this.attempt++;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      if (this.current !== 'open') return;
      this.current = 'probing';
      this.onChange('probing', 'probe sent');
      this.runProbe((alive) => {
        if (alive) {
          this.close('probe answered');
          return;
        }
        this.current = 'open';
        this.onChange('open', 'probe failed');
        this.schedule();
      });
    }, this.random.float() * cap);
  }

  private runProbe(done: (alive: boolean) => void): void {
    const state = this.current;
    this.probe().then(
      (alive) => this.current === state && !this.stopped && done(alive),
      () => this.current === state && !this.stopped && done(false),
    );
  }

  /** Stops probing (on shutdown, or when a reload drops this upstream). */
  stop(): void {
    this.stopped = true;
    this.quiet();
    this.timer?.cancel();
    this.timer = undefined;
  }
}
