import type { Clock, Timer } from '../util/clock.js';

/** How long a contradicted name counts towards the judgement, unless the upstream agrees about it again first. */
export const CONTRADICTION_WINDOW_MS = 30_000;
/** Contradicted names must come from this many domains before the upstream is judged wrong for the zone. */
export const CONTRADICTION_MIN_DOMAINS = 3;

/**
 * Whether one upstream answers one zone *wrongly* (docs/resilience.md, "Last known good"). A contradiction is a
 * negative answer (NXDOMAIN, or NODATA) for a name the cache holds a positive answer for; the request path, which
 * knows the cache, reports each one here, and reports the upstream agreeing again (a positive answer for a name it
 * had contradicted). One name, or one domain, turning negative is news about that name or domain: a Service or a
 * namespace deleted. Names in several domains contradicted within 30 s are not: they are what a CoreDNS replica with
 * an empty or partial informer, emptied Endpoints or a zone published empty look like, and the upstream is judged
 * wrong until it agrees again or the contradictions age out.
 */
export class ContradictionEvidence {
  /** Names contradicted within the window: their domain and when, oldest first. */
  private readonly names = new Map<string, { readonly domain: string; at: number }>();
  /** Contradicted names per domain. */
  private readonly domains = new Map<string, number>();
  private judged = false;
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    /** Called when the judgement changes, with the domains that made it. */
    private readonly onChange: (wrong: boolean, domains: number) => void,
  ) {}

  /** Whether the upstream is judged to answer the zone wrongly now. */
  get wrong(): boolean {
    return this.judged;
  }

  /** A negative answer for `name` (in `domain`), whose positive answer the cache holds. */
  contradicted(name: string, domain: string): void {
    this.forget(name);
    this.names.set(name, { domain, at: this.clock.now() });
    this.domains.set(domain, (this.domains.get(domain) ?? 0) + 1);
    this.update();
  }

  /** A positive answer for `name`: about it, the upstream agrees with what it said before. */
  agreed(name: string): void {
    if (!this.names.has(name)) return;
    this.forget(name);
    this.update();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private forget(name: string): void {
    const old = this.names.get(name);
    if (old === undefined) return;
    this.names.delete(name);
    const n = this.domains.get(old.domain)! - 1;
    if (n === 0) this.domains.delete(old.domain);
    else this.domains.set(old.domain, n);
  }

  /** Ages out what is older than the window, judges again, and times the next ageing. */
  private update(): void {
    const now = this.clock.now();
    for (const [name, c] of this.names) {
      if (now - c.at < CONTRADICTION_WINDOW_MS) break;
      this.forget(name);
    }
    const wrong = this.domains.size >= CONTRADICTION_MIN_DOMAINS;
    if (wrong !== this.judged) {
      this.judged = wrong;
      this.onChange(wrong, this.domains.size);
    }
    this.timer?.cancel();
    this.timer = undefined;
    const oldest = this.names.values().next().value;
    if (oldest !== undefined) {
      this.timer = this.clock.setTimer(() => this.update(), oldest.at + CONTRADICTION_WINDOW_MS - now);
    }
  }
}
