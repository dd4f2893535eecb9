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
  /** When the oldest query sent since the last answer went out; undefined right after an answer. */
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

  /** A query went out. */
  sent(): void {
    if (this.unansweredSince !== undefined) {
      this.checkSilence();
      return;
    }
    this.unansweredSince = this.clock.now();
    this.silenceTimer = this.clock.setTimer(() => afterPendingIo(() => this.checkSilence()), this.opts.silenceMs);
  }

  /** One attempt's outcome, by its rule's `health` column (outcome.ts). */
  attempt(health: AttemptRule['health'], name: string, domain: string): void {
    switch (health) {
      case 'alive':
        this.answered();
        this.nameVerdict(name, undefined);
        this.alive();
        return;
      case 'name_failed':
        this.answered();
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
    this.nameVerdict(name, domain);
    this.checkSilence();
  }

  /** Forgets everything (the route was just found alive, or is shutting down). */
  reset(): void {
    this.quiet();
    this.transportErrorRun = 0;
    this.recent.clear();
    this.failedDomains.clear();
    this.failures = 0;
  }

  private answered(): void {
    this.quiet();
    this.transportErrorRun = 0;
  }

  private quiet(): void {
    this.unansweredSince = undefined;
    this.silenceTimer?.cancel();
    this.silenceTimer = undefined;
  }

  private checkSilence(): void {
    const since = this.unansweredSince;
    if (since === undefined) return;
    const silent = this.clock.now() - since;
    if (silent >= this.opts.silenceMs) this.verdict(`no answer to any query for ${Math.round(silent)} ms`);
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
