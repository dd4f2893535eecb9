import type { Clock, Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';

/**
 * The health of one upstream for one zone (docs/resilience.md, "What counts against an upstream"). Only a verdict
 * of the route's evidence (evidence.ts: silence, transport errors in a row, failures across names and domains) makes
 * it suspect, and only a probe of the zone's own SOA can take it down:
 *
 *   closed ──(evidence: the transport failed)──▶ suspect: client traffic still flows; one probe at once
 *   suspect ──(probe answered, or a client query answered, not SERVFAIL)──▶ closed
 *   suspect ──(probe failed)──▶ open
 *   open: no client traffic; queries waiting on it end at once ──(uniform in [¾, 1¼] × probeIntervalMs)──▶ probing
 *   probing ──(probe answered)──▶ closed        probing ──(probe failed)──▶ open
 *
 * Probing while down about once per probeIntervalMs (1 s) means a recovered upstream is back in use within about
 * two seconds, as Unbound and BIND notice one; the ±25 % jitter keeps a fleet of nodes from probing in step, and
 * there is one probe at a time, so a down upstream costs about one query per second per node and zone.
 */
export type HealthState = 'closed' | 'suspect' | 'open' | 'probing';

/** The last epoch stamp handed out, process-wide, so stamps only ever grow. */
let lastStamp = 0;

export interface ProbeOptions {
  /** While down, the next probe goes out at a uniform random point in [¾, 1¼] of this after the last one ended. */
  readonly probeIntervalMs: number;
}

export class Health {
  private current: HealthState = 'closed';
  private timer: Timer | undefined;
  private stopped = false;
  /** Counts probes: only the latest one's verdict counts (an older one may come back after the state moved on). */
  private probes = 0;
  /**
   * A stamp that changes when it comes back from open, never to a value any route had before (resolve/failures.ts
   * voids the holds recorded under an older one). A new route, after a reload, gets a fresh one too.
   */
  private stamp = ++lastStamp;

  constructor(
    private readonly opts: ProbeOptions,
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
  get acceptsTraffic(): boolean {
    return this.current === 'closed' || this.current === 'suspect';
  }

  /** Its epoch stamp: a new one each time it recovers from open. */
  get epoch(): number {
    return this.stamp;
  }

  /** The evidence says the transport failed: ask the upstream something it can answer before believing it. */
  suspect(reason: string): void {
    if (this.current !== 'closed' || this.stopped) return;
    this.current = 'suspect';
    this.onChange('suspect', reason);
    this.runProbe((alive) => (alive ? this.close('probe answered') : this.open(reason)));
  }

  /**
   * A client query was answered (not SERVFAIL) while the probe is out: a slow upstream, not a dead one. Any answer
   * proves the transport alive, so the suspicion ends here, whatever the probe later says.
   */
  alive(): void {
    if (this.current === 'suspect' && !this.stopped) this.close('a query was answered');
  }

  private open(reason: string): void {
    this.current = 'open';
    this.onChange('open', reason);
    this.schedule();
  }

  private close(reason: string): void {
    if (this.current === 'probing') this.stamp = ++lastStamp;
    this.current = 'closed';
    this.onChange('closed', reason);
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = this.opts.probeIntervalMs;
    this.timer = this.clock.setTimer(
      () => {
        this.timer = undefined;
        if (this.current !== 'open') return;
        this.current = 'probing';
        this.onChange('probing', 'probe sent');
        this.runProbe((alive) => (alive ? this.close('probe answered') : this.open('probe failed')));
      },
      interval * (0.75 + this.random.float() / 2),
    );
  }

  private runProbe(done: (alive: boolean) => void): void {
    const state = this.current;
    const n = ++this.probes;
    const settle = (alive: boolean) => {
      if (n === this.probes && this.current === state && !this.stopped) done(alive);
    };
    this.probe().then(settle, () => settle(false));
  }

  /** Stops probing (on shutdown, or when a reload drops this upstream). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
