import type { Logger } from 'pino';
import type { Cancel } from '../util/cancel.js';
import { Rcode } from '../wire/index.js';
import { Health, type HealthOptions, type HealthState } from './health.js';
import type { UpstreamMetrics } from './metrics.js';
import { type RtoOptions, RttEstimator } from './rtt.js';
import type { Protocol } from './transport.js';
import { isUnreachable } from './udp.js';
import type { Answer, Upstream } from './upstream.js';

/** What a route asks when it probes: a query known to be answerable (docs/design.md §4). */
export interface ProbeQuery {
  readonly query: Buffer;
  readonly questionEnd: number;
}

export interface RouteOptions {
  readonly zone: string;
  readonly protocol: Protocol;
  readonly health: HealthOptions;
  readonly rto: RtoOptions;
  /** The zone's SOA query, the probe of last resort (before any name of the zone has been answered). */
  readonly soaProbe: ProbeQuery;
}

const STATE_VALUE: Record<HealthState, number> = { closed: 0, suspect: 1, probing: 1, open: 2 };

/**
 * One upstream as one zone sees it: its health and retransmission timeout are kept per (upstream, zone), because
 * CoreDNS can serve cluster.local perfectly while its forwarding to the internet is broken — then only "." is
 * affected, even when both zones use the same address. The upstream object owns the sockets and the in-flight
 * limit; the route owns what is learnt about answers for its zone.
 */
export class Route {
  readonly health: Health;
  private readonly rtt: RttEstimator;
  /** The zone's most recently answered query: the first choice for a probe. */
  private lastAnswered: ProbeQuery | undefined;
  /** Called when the route goes down, so queries waiting on it can give up at once. */
  private readonly downListeners = new Set<() => void>();
  private readonly children;

  constructor(
    readonly upstream: Upstream,
    private readonly opts: RouteOptions,
    deps: { metrics: UpstreamMetrics; log: Logger },
  ) {
    this.rtt = new RttEstimator(opts.rto);
    const m = deps.metrics;
    const labels = [upstream.label, opts.zone] as const;
    this.children = {
      state: m.state.labels(...labels),
      probe: { ok: m.probes.labels(...labels, 'success'), failed: m.probes.labels(...labels, 'failure') },
    };
    this.children.state.set(0);
    const log = { upstream: upstream.label, zone: opts.zone };
    this.health = new Health(
      opts.health,
      upstream.clock,
      upstream.random,
      () => this.probe(),
      (state, reason) => {
        this.children.state.set(STATE_VALUE[state]);
        m.transitions.labels(...labels, state).inc();
        // Each change is logged once (docs/design.md §8); probing is too frequent to be worth a line.
        if (state === 'open' && reason !== 'probe failed') deps.log.warn({ ...log, reason }, 'upstream down for zone');
        else if (state === 'closed') deps.log.info({ ...log, reason }, 'upstream up for zone');
        else if (state === 'suspect') deps.log.info({ ...log, reason }, 'upstream suspect for zone; probing');
      },
    );
  }

  get zone(): string {
    return this.opts.zone;
  }

  get protocol(): Protocol {
    return this.opts.protocol;
  }

  /** Whether client traffic may go this way. */
  get usable(): boolean {
    return this.health.usable;
  }

  /** Usable, and the upstream is under its in-flight limit. */
  get available(): boolean {
    return this.health.usable && this.upstream.available;
  }

  /** How long attempt `n` (0-based) of one query waits before the next is sent: the RTO, doubled per attempt. */
  rto(n: number): number {
    return this.rtt.rtoMs * 2 ** n;
  }

  /**
   * One attempt for `name` (the cache key), open until `timeoutMs` or `signal`. The outcome teaches the route: any
   * answer proves the transport alive; SERVFAIL counts against the zone's distinct-name ratio; an unreachable
   * upstream counts towards the transport-error run.
   */
  async exchange(query: Buffer, questionEnd: number, timeoutMs: number, name: string, signal: Cancel): Promise<Answer> {
    this.health.sent();
    try {
      const answer = await this.upstream.send({
        query,
        questionEnd,
        protocol: this.opts.protocol,
        timeoutMs,
        zone: this.opts.zone,
        name,
        signal,
      });
      this.rtt.sample(answer.rttMs);
      const rcode = answer.scan.rcode;
      this.health.answered(name, rcode === Rcode.SERVFAIL);
      if (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN) this.lastAnswered = { query, questionEnd };
      return answer;
    } catch (err) {
      if (isUnreachable(err)) this.health.transportError();
      else this.health.checkSilence();
      throw err;
    }
  }

  /** Calls `fn` when this route goes down; returns the unsubscribe. */
  onDown(fn: () => void): () => void {
    this.downListeners.add(fn);
    return () => this.downListeners.delete(fn);
  }

  /** The query for `name` got nothing from this route by its deadline. */
  noAnswer(name: string): void {
    this.health.noAnswer(name);
  }

  /**
   * One probe: the zone's most recently answered query, else its SOA — never a name that failed. Any answer but
   * SERVFAIL means alive: REFUSED is overload, not death; SERVFAIL means the zone is not served there. It waits twice
   * the RTO, at least 0.5 s: a known name is answered from the upstream's memory, so this is not a slow recursion.
   */
  private async probe(): Promise<boolean> {
    const p = this.lastAnswered ?? this.opts.soaProbe;
    try {
      const answer = await this.upstream.send({
        query: Buffer.from(p.query),
        questionEnd: p.questionEnd,
        protocol: this.opts.protocol,
        timeoutMs: Math.max(500, 2 * this.rtt.rtoMs),
        zone: this.opts.zone,
        name: '',
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
  }
}
