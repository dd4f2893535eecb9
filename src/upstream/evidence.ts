import { afterPendingIo, type Clock, type Timer } from '../util/clock.js';
import type { AttemptRule } from './outcome.js';

export interface EvidenceOptions {
  /** No answer to any query for this long, while queries were outstanding, is a transport failure. */
  readonly silenceMs: number;
  /** Transport errors in a row (refused, unreachable, TCP connect failures) that are a transport failure. */
  readonly transportErrors: number;
  /** Share of recent distinct names that failed (an error rcode, or no answer by the deadline)… */
  readonly failureRatio: number;
  /** … once at least this many distinct names were seen … */
  readonly minNames: number;
  /** … and the failed ones span at least this many domains (one broken domain is that domain's trouble). */
  readonly minDomains: number;
}

/**
 * What one route (an upstream, for one zone) has seen, turned into a verdict about its transport (docs/resilience.md,
 * "What failed"). Each outcome on its own is about one name; these are the signals that are not:
 *
 * - silence: nothing answered for `silenceMs` while queries were out (any answer, whatever its rcode, restarts it);
 * - `transportErrors` transport errors in a row (an answer in between resets the run);
 * - failures for ≥ `failureRatio` of ≥ `minNames` recent distinct names, from ≥ `minDomains` domains: one name
 *   failing in a loop counts once, and a domain whose authority broke counts once, however many names it has.
 *
 * A verdict only makes the route suspect: its probe, which asks the zone's own SOA, decides (health.ts).
 */
export class TransportEvidence {
  /** Attempts out now, of this generation. */
  private outstanding = 0;
  /** Moves on when the route is found alive: attempts out before are explained (slow names), and no longer count. */
  private generation = 0;
  /** Names with attempts out in this generation, and how many. */
  private readonly out = new Map<string, number>();
  /**
   * Names that were out when the route was last found alive: the upstream answers, so they are slow or dead names,
   * and their retransmissions do not make it suspect again. A name leaves when it is answered or its deadline passes.
   */
  private explained = new Set<string>();
  /** Since when nothing has been answered while attempts were out; undefined while none is out. */
  private unansweredSince: number | undefined;
  private silenceTimer: Timer | undefined;
  private transportErrorRun = 0;
  /** The last verdict per distinct name (its domain when it failed, undefined when it did not), oldest first. */
  private readonly recent = new Map<string, string | undefined>();
  /** Failed names in `recent`, per domain. */
  private readonly failedDomains = new Map<string, number>();
  private failures = 0;

  constructor(
    private readonly opts: EvidenceOptions,
    private readonly clock: Clock,
    /** Called with the reason when the evidence says the transport, not a name, has failed. */
    private readonly verdict: (reason: string) => void,
    /** Called when an answer that is not SERVFAIL shows the transport serves the zone (it clears a suspicion). */
    private readonly alive: () => void = () => {},
  ) {}

  /** An attempt for `name` went out; returns what to hand to `ended` when it ends (undefined: not counted). */
  sent(name: string): number | undefined {
    if (this.explained.has(name)) return undefined;
    this.outstanding++;
    this.out.set(name, (this.out.get(name) ?? 0) + 1);
    if (this.unansweredSince === undefined) this.unansweredSince = this.clock.now();
    else if (this.checkSilence()) return this.generation;
    this.armSilence();
    return this.generation;
  }

  /** An attempt that `sent()` counted has ended, whatever its outcome (reported through `attempt`). */
  ended(generation: number, name: string): void {
    if (generation !== this.generation) return;
    const n = (this.out.get(name) ?? 1) - 1;
    if (n === 0) this.out.delete(name);
    else this.out.set(name, n);
    if (--this.outstanding === 0) this.quiet();
  }

  /** One attempt's outcome, by its rule's `health` column (outcome.ts). */
  attempt(health: AttemptRule['health'], name: string, domain: string): void {
    switch (health) {
      case 'alive':
        this.answered(name);
        this.nameVerdict(name, undefined);
        this.alive();
        return;
      case 'name_failed':
        this.answered(name);
        this.nameVerdict(name, domain);
        return;
      case 'transport_error':
        if (++this.transportErrorRun >= this.opts.transportErrors) {
          this.verdict(`${this.transportErrorRun} transport errors in a row`);
        }
        return;
      case 'silence':
        this.checkSilence();
        return;
      case 'none':
        return;
    }
  }

  /** The query for `name` spent its whole deadline on the wire without an answer from this route. */
  deadline(name: string, domain: string): void {
    this.explained.delete(name);
    this.nameVerdict(name, domain);
    this.checkSilence();
  }

  /**
   * Forgets everything (the route was just found alive). Attempts still out no longer count towards a silence: the
   * upstream answers, so they are slow names, and one slow name does not make it suspect again and again.
   */
  reset(): void {
    this.quiet();
    this.explained = new Set(this.out.keys());
    this.out.clear();
    this.generation++;
    this.outstanding = 0;
    this.transportErrorRun = 0;
    this.recent.clear();
    this.failedDomains.clear();
    this.failures = 0;
  }

  /** An answer: the silence, if attempts are still out, counts again from now. */
  private answered(name: string): void {
    this.explained.delete(name);
    this.transportErrorRun = 0;
    if (this.unansweredSince !== undefined) this.unansweredSince = this.clock.now();
  }

  private quiet(): void {
    this.unansweredSince = undefined;
    this.silenceTimer?.cancel();
    this.silenceTimer = undefined;
  }

  /**
   * One timer, re-armed only when it fires early (an answer moved the start of the silence on): an answer costs an
   * assignment, not a timer.
   */
  private armSilence(): void {
    if (this.silenceTimer !== undefined || this.unansweredSince === undefined) return;
    const due = this.unansweredSince + this.opts.silenceMs - this.clock.now();
    this.silenceTimer = this.clock.setTimer(
      () =>
        afterPendingIo(() => {
          this.silenceTimer = undefined;
          // Silent: the verdict is given, and the clock waits for an answer or a new attempt to move on.
          if (!this.checkSilence()) this.armSilence();
        }),
      Math.max(0, due),
    );
  }

  /** Gives the silence verdict if nothing was answered for silenceMs while attempts were out; returns whether. */
  private checkSilence(): boolean {
    const since = this.unansweredSince;
    if (since === undefined) return false;
    const silent = this.clock.now() - since;
    if (silent < this.opts.silenceMs) return false;
    this.verdict(`no answer to any query for ${Math.round(silent)} ms`);
    return true;
  }

  /** Records the latest verdict for `name`: failed (with its domain) or not (undefined). */
  private nameVerdict(name: string, failedDomain: string | undefined): void {
    this.forget(name);
    this.recent.set(name, failedDomain);
    if (failedDomain !== undefined) {
      this.failures++;
      this.failedDomains.set(failedDomain, (this.failedDomains.get(failedDomain) ?? 0) + 1);
    }
    const window = Math.max(this.opts.minNames * 4, 32);
    while (this.recent.size > window) this.forget(this.recent.keys().next().value as string);
    const size = this.recent.size;
    const domains = this.failedDomains.size;
    if (
      size >= this.opts.minNames &&
      this.failures >= size * this.opts.failureRatio &&
      domains >= this.opts.minDomains
    ) {
      this.verdict(`failures for ${this.failures} of the last ${size} distinct names, from ${domains} domains`);
    }
  }

  private forget(name: string): void {
    if (!this.recent.has(name)) return;
    const domain = this.recent.get(name);
    this.recent.delete(name);
    if (domain === undefined) return;
    this.failures--;
    const n = this.failedDomains.get(domain)! - 1;
    if (n === 0) this.failedDomains.delete(domain);
    else this.failedDomains.set(domain, n);
  }

  stop(): void {
    this.quiet();
  }
}
