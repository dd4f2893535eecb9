import type { Logger } from 'pino';
import type { Cancel } from '../util/cancel.js';
import { Rcode } from '../wire/index.js';
import { ContradictionEvidence } from './contradiction.js';
import { type EvidenceOptions, TransportEvidence } from './evidence.js';
import { Health, type HealthState, type ProbeOptions } from './health.js';
import type { UpstreamMetrics } from './metrics.js';
import { ATTEMPT_RULES, type AttemptOutcome, attemptOutcome } from './outcome.js';
import { type RtoOptions, RttEstimator } from './rtt.js';
import type { Protocol } from './transport.js';
import type { Answer, Upstream } from './upstream.js';

/** A query a route sends of its own accord (a probe): its bytes and where its question ends. */
export interface ProbeQuery {
  readonly query: Buffer;
  readonly questionEnd: number;
}

export interface RouteOptions {
  readonly zone: string;
  readonly protocol: Protocol;
  readonly health: EvidenceOptions & ProbeOptions;
  readonly rto: RtoOptions;
  /** The zone's SOA query: what every probe asks (docs/resilience.md, "Probes"). */
  readonly soaProbe: ProbeQuery;
}

/** Which query one attempt is for, as the route's evidence counts it: its cache key, and its domain (outcome.ts). */
export interface Asked {
  readonly name: string;
  readonly domain: string;
}

const STATE_VALUE: Record<HealthState, number> = { closed: 0, suspect: 1, probing: 1, open: 2 };

/**
 * One upstream as one zone sees it: its health and retransmission timeout are kept per (upstream, zone), because
 * CoreDNS can serve cluster.local perfectly while its forwarding to the internet is broken — then only "." is
 * affected, even when both zones use the same address. The upstream object owns the sockets, the in-flight window
 * and the fair queue; the route classifies each attempt's outcome once (outcome.ts) and hands each part of it to its
 * consumer: the transport evidence to its own health, the congestion signal to the upstream's window.
 */
export class Route {
  readonly health: Health;
  private readonly evidence: TransportEvidence;
  private readonly contradictions: ContradictionEvidence;
  private readonly rtt: RttEstimator;
  /** Called when the route goes down, so the queries waiting on it end at once. */
  private readonly downListeners = new Set<() => void>();
  private readonly children;

  constructor(
    readonly upstream: Upstream,
    private readonly opts: RouteOptions,
    private readonly deps: { metrics: UpstreamMetrics; log: Logger },
  ) {
    this.rtt = new RttEstimator(opts.rto);
    const m = deps.metrics;
    const labels = [upstream.label, opts.zone] as const;
    this.children = {
      state: m.state.labels(...labels),
      probe: { ok: m.probes.labels(...labels, 'success'), failed: m.probes.labels(...labels, 'failure') },
      contradictions: m.contradictions.labels(...labels),
      wrong: m.wrong.labels(...labels),
    };
    this.children.state.set(0);
    this.children.wrong.set(0);
    const log = { upstream: upstream.label, zone: opts.zone };
    this.health = new Health(
      opts.health,
      upstream.clock,
      upstream.random,
      () => this.probe(),
      (state, reason) => {
        this.children.state.set(STATE_VALUE[state]);
        m.transitions.labels(...labels, state).inc();
        if (state === 'closed') this.evidence.reset();
        // Each change is logged once (docs/design.md §8); probing is too frequent to be worth a line.
        if (state === 'open' && reason !== 'probe failed') deps.log.warn({ ...log, reason }, 'upstream down for zone');
        else if (state === 'closed') deps.log.info({ ...log, reason }, 'upstream up for zone');
        else if (state === 'suspect') deps.log.info({ ...log, reason }, 'upstream suspect for zone; probing');
        if (state === 'open') for (const fn of [...this.downListeners]) fn();
      },
    );
    this.contradictions = new ContradictionEvidence(upstream.clock, (wrong, names) => {
      this.children.wrong.set(wrong ? 1 : 0);
      if (wrong) {
        deps.log.warn(
          { ...log, names },
          'upstream contradicts names it answered before, by turns or all at once: serving their last known good answers',
        );
      } else deps.log.info(log, 'upstream agrees with its earlier answers again');
    });
    this.evidence = new TransportEvidence(
      opts.health,
      upstream.clock,
      (reason) => this.health.suspect(reason),
      () => this.health.alive(),
    );
  }

  get zone(): string {
    return this.opts.zone;
  }

  get protocol(): Protocol {
    return this.opts.protocol;
  }

  /** Whether client traffic may go this way. */
  get acceptsTraffic(): boolean {
    return this.health.acceptsTraffic;
  }

  /** Usable, and the upstream is under its in-flight window. */
  get hasRoom(): boolean {
    return this.health.acceptsTraffic && this.upstream.hasRoom;
  }

  /** How long attempt `n` (0-based) of one query waits before the next is sent: the RTO, doubled per attempt. */
  rto(n: number): number {
    return this.rtt.rtoMs * 2 ** n;
  }

  /** One attempt, open until `timeoutMs` or `signal`; its outcome is classified and reported before it settles. */
  async exchange(query: Buffer, questionEnd: number, timeoutMs: number, asked: Asked, signal: Cancel): Promise<Answer> {
    // The silence clock counts attempts that go out, not one the window turns away (`busy`).
    const counted = this.upstream.hasRoom ? this.evidence.sent(asked.name) : undefined;
    const { zone, protocol } = this.opts;
    let answer: Answer;
    try {
      answer = await this.upstream.send({ query, questionEnd, protocol, timeoutMs, zone, signal });
    } catch (err) {
      const outcome = attemptOutcome(undefined, err);
      if (outcome !== 'abandoned') this.deps.metrics.errors.labels(this.upstream.label, outcome).inc();
      this.report(outcome, asked, counted);
      throw err;
    }
    this.rtt.sample(answer.rttMs);
    this.report(attemptOutcome(answer.scan.rcode), asked, counted);
    return answer;
  }

  /**
   * The query spent its whole deadline on the wire and this route never answered it. `starved`: a retransmission it
   * needed was not sent (retry budget, capacity), so only the silence counts, not the name.
   */
  deadline(asked: Asked, starved: boolean): void {
    if (starved) this.evidence.attempt('silence', asked.name, asked.domain);
    else this.evidence.deadline(asked.name, asked.domain);
  }

  /** Whether the upstream is judged to answer this zone wrongly (contradiction.ts). */
  get answersWrong(): boolean {
    return this.contradictions.wrong;
  }

  /** A negative answer from this route for `name`, which the cache holds a positive answer for. */
  contradicted(name: string): void {
    this.children.contradictions.inc();
    this.contradictions.contradicted(name);
  }

  /** A positive answer from this route for `name`. */
  agreed(name: string): void {
    this.contradictions.agreed(name);
  }

  /** Calls `fn` when this route goes down; returns the unsubscribe. */
  onDown(fn: () => void): () => void {
    this.downListeners.add(fn);
    return () => this.downListeners.delete(fn);
  }

  /** The one place an attempt's outcome is handed out: the table's columns, each to its consumer. */
  private report(outcome: AttemptOutcome, asked: Asked, counted: number | undefined): void {
    const rule = ATTEMPT_RULES[outcome];
    this.upstream.congestion(rule.window, asked.domain);
    this.evidence.attempt(rule.health, asked.name, asked.domain);
    if (counted !== undefined) this.evidence.ended(counted, asked.name);
  }

  /**
   * One probe: the zone's own SOA, whose answer depends on no one domain — never a name that failed, never a name
   * remembered from earlier, so one broken domain cannot keep a live upstream down. Any answer but SERVFAIL means
   * alive: REFUSED is overload, not death; SERVFAIL means the zone is not served there. It waits twice the RTO, at
   * least 0.5 s: the apex's SOA is answered from the server's memory, not by a slow recursion.
   */
  private async probe(): Promise<boolean> {
    const p = this.opts.soaProbe;
    try {
      const answer = await this.upstream.send({
        query: Buffer.from(p.query),
        questionEnd: p.questionEnd,
        protocol: this.opts.protocol,
        timeoutMs: Math.max(500, 2 * this.rtt.rtoMs),
        zone: this.opts.zone,
        own: true,
      });
      const alive = answer.scan.rcode !== Rcode.SERVFAIL;
      (alive ? this.children.probe.ok : this.children.probe.failed).inc();
      return alive;
    } catch {
      this.children.probe.failed.inc();
      return false;
    }
  }

  close(): void {
    this.health.stop();
    this.evidence.stop();
    this.contradictions.stop();
    // A route that is gone answers nothing wrongly: its alert clears (a reload that removes an upstream).
    if (this.contradictions.wrong) this.children.wrong.set(0);
  }

  /** This route's epoch stamp: a new one each time it recovers (its zone's epoch is the newest of them). */
  get epoch(): number {
    return this.health.epoch;
  }
}
