import type { Logger } from 'pino';
import { UpstreamBusyError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { Rcode, type ResponseScan } from '../wire/index.js';
import { Breaker, type BreakerOptions, type BreakerState, type Outcome } from './health.js';
import type { UpstreamMetrics } from './metrics.js';
import { RttEstimator } from './rtt.js';
import type { TcpPoolOptions } from './tcp.js';
import { type Protocol, SocketTransport, type Transport, type TransportEvents } from './transport.js';

export interface Answer {
  readonly bytes: Buffer;
  readonly scan: ResponseScan;
  readonly upstream: Upstream;
}

/** Puts something between an upstream and its transport (chaos faults); it sees every attempt. */
export type TransportInterceptor = (inner: Transport, ctx: { label: string; events: TransportEvents }) => Transport;

export interface UpstreamDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: UpstreamMetrics;
  readonly log: Logger;
  readonly tcp: TcpPoolOptions;
  readonly health: BreakerOptions;
  /** Floor of the RTT-based timeout. */
  readonly minTimeoutMs: number;
  /** Queries in flight to this upstream at most; beyond it the upstream is skipped (CoreDNS max_concurrent). */
  readonly maxInflight: number;
  /** Wraps the socket transport, when set (chaos.enabled: docs/design.md §9). */
  readonly intercept?: TransportInterceptor;
}

/** A query kept for probing: one that failed recently, so a probe asks what clients actually need. */
interface ProbeQuery {
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly protocol: Protocol;
  readonly maxTimeoutMs: number;
  readonly zone: string;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, probing: 1, open: 2 };

/** Distinct failed queries kept for probing. */
const PROBE_QUERIES = 4;

/** One upstream server: it owns its sockets, its health state machine and its metrics. */
export class Upstream {
  readonly label: string;
  private readonly transport: Transport;
  private readonly breaker: Breaker;
  private readonly rtt: RttEstimator;
  private readonly children;
  private inflightCount = 0;
  /** The last few distinct failed queries; probes take turns, so one broken name cannot keep the upstream down. */
  private readonly probeQueries = new Map<string, ProbeQuery>();
  private probeTurn = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly deps: UpstreamDeps,
  ) {
    this.label = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const m = deps.metrics;
    const reject = {
      source: m.rejected.labels(this.label, 'source'),
      id: m.rejected.labels(this.label, 'id'),
      question: m.rejected.labels(this.label, 'question'),
      malformed: m.rejected.labels(this.label, 'malformed'),
    };
    this.children = {
      udp: m.queries.labels(this.label, 'udp'),
      tcp: m.queries.labels(this.label, 'tcp'),
      reject,
      duration: m.duration.labels(this.label),
      inflight: m.inflight.labels(this.label),
      truncated: m.truncated.labels(this.label),
      state: m.state.labels(this.label),
      probes: { ok: m.probes.labels(this.label, 'success'), failed: m.probes.labels(this.label, 'failure') },
    };
    this.children.state.set(0);
    const events: TransportEvents = {
      sent: (protocol) => this.children[protocol].inc(),
      rejected: (reason) => reject[reason].inc(),
      truncated: () => this.children.truncated.inc(),
    };
    const socket = new SocketTransport(host, port, { clock: deps.clock, random: deps.random, tcp: deps.tcp, events });
    this.transport = deps.intercept?.(socket, { label: this.label, events }) ?? socket;
    this.rtt = new RttEstimator(deps.minTimeoutMs, 30_000);
    const log = deps.log.child({ upstream: this.label });
    this.breaker = new Breaker(
      deps.health,
      deps.clock,
      deps.random,
      () => this.probe(),
      (state, reason) => {
        this.children.state.set(STATE_VALUE[state]);
        m.transitions.labels(this.label, state).inc();
        // State changes are logged once each (docs/design.md §8); probing is too frequent to be worth a line.
        if (state === 'open' && reason !== 'probe failed') log.warn({ reason }, 'upstream down');
        else if (state === 'closed') log.info({ reason }, 'upstream up');
      },
    );
  }

  /** Whether client traffic may go to this upstream: its breaker is closed. */
  get healthy(): boolean {
    return this.breaker.closed;
  }

  /** Healthy and under its in-flight cap. */
  get available(): boolean {
    return this.breaker.closed && this.inflightCount < this.deps.maxInflight;
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  get inflight(): number {
    return this.inflightCount;
  }

  /** The timeout the next exchange gets: RTT-based, at most `maxTimeoutMs`. */
  timeoutFor(maxTimeoutMs: number): number {
    return Math.min(this.rtt.timeoutMs, maxTimeoutMs);
  }

  /**
   * Sends `query` (a private copy: its ID is overwritten) and resolves with a validated, scanned answer of any rcode;
   * the outcome feeds the breaker under `name` (the cache key). Rejects with UpstreamTimeoutError,
   * UpstreamNetworkError or UpstreamBusyError.
   */
  async exchange(
    query: Buffer,
    questionEnd: number,
    protocol: Protocol,
    maxTimeoutMs: number,
    name: string,
    zone: string,
  ): Promise<Answer> {
    if (this.inflightCount >= this.deps.maxInflight) {
      this.deps.metrics.errors.labels(this.label, 'busy').inc();
      throw new UpstreamBusyError(`${this.label}: ${this.inflightCount} queries in flight`);
    }
    try {
      const answer = await this.send(query, questionEnd, protocol, this.timeoutFor(maxTimeoutMs), zone);
      const rcode = answer.scan.rcode;
      const outcome: Outcome = rcode === Rcode.SERVFAIL ? 'servfail' : rcode === Rcode.REFUSED ? 'failure' : 'success';
      if (outcome !== 'success') this.rememberFailed(name, { query, questionEnd, protocol, maxTimeoutMs, zone });
      this.breaker.record(outcome, name);
      return answer;
    } catch (err) {
      if (err instanceof UpstreamTimeoutError) this.rtt.timedOut();
      if (!(err instanceof UpstreamBusyError)) {
        this.rememberFailed(name, { query, questionEnd, protocol, maxTimeoutMs, zone });
        this.breaker.record('failure', name);
      }
      throw err;
    }
  }

  private rememberFailed(name: string, p: ProbeQuery): void {
    this.probeQueries.delete(name);
    this.probeQueries.set(name, p);
    if (this.probeQueries.size > PROBE_QUERIES) this.probeQueries.delete(this.probeQueries.keys().next().value!);
  }

  /** One probe while the breaker is open: a recently failed query again, in turn, with the full timeout. */
  private async probe(): Promise<boolean> {
    const all = [...this.probeQueries.values()];
    if (all.length === 0) return false;
    const p = all[this.probeTurn++ % all.length];
    try {
      const answer = await this.send(Buffer.from(p.query), p.questionEnd, p.protocol, p.maxTimeoutMs, p.zone);
      const ok = answer.scan.rcode === Rcode.NOERROR || answer.scan.rcode === Rcode.NXDOMAIN;
      (ok ? this.children.probes.ok : this.children.probes.failed).inc();
      return ok;
    } catch {
      this.children.probes.failed.inc();
      return false;
    }
  }

  private async send(
    query: Buffer,
    questionEnd: number,
    protocol: Protocol,
    timeoutMs: number,
    zone: string,
  ): Promise<Answer> {
    const started = this.deps.clock.now();
    this.inflightCount++;
    this.children.inflight.inc();
    try {
      const answer = await this.transport.exchange({ query, questionEnd, protocol, timeoutMs, zone });
      const elapsed = this.deps.clock.now() - started;
      this.rtt.sample(elapsed);
      this.children.duration.observe(elapsed / 1000);
      return { ...answer, upstream: this };
    } catch (err) {
      this.deps.metrics.errors.labels(this.label, errorKind(err)).inc();
      throw err;
    } finally {
      this.inflightCount--;
      this.children.inflight.dec();
    }
  }

  close(): void {
    this.breaker.stop();
    this.transport.close();
  }
}

function errorKind(err: unknown): string {
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof UpstreamNetworkError) return 'network';
  return 'other';
}
