import type { Logger } from 'pino';
import { AbandonedError, UpstreamBusyError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { Rcode, type ResponseScan } from '../wire/index.js';
import type { UpstreamMetrics } from './metrics.js';
import { InflightLimit } from './overload.js';
import type { TcpPoolOptions } from './tcp.js';
import { type ExchangeRequest, SocketTransport, type Transport, type TransportEvents } from './transport.js';

export interface Answer {
  readonly bytes: Buffer;
  readonly scan: ResponseScan;
  /** This attempt's own round trip. */
  readonly rttMs: number;
}

/** Puts something between an upstream and its transport (chaos faults); it sees every attempt. */
export type TransportInterceptor = (inner: Transport, ctx: { label: string; events: TransportEvents }) => Transport;

export interface UpstreamDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: UpstreamMetrics;
  readonly log: Logger;
  readonly tcp: TcpPoolOptions;
  /** Queries in flight to this upstream at most; the limit falls below it while the upstream refuses (overload). */
  readonly maxInflight: number;
  /** Wraps the socket transport, when set (chaos.enabled: docs/design.md §9). */
  readonly intercept?: TransportInterceptor;
  /** Builds the transport, when not the socket one (an in-memory network for a simulation). */
  readonly transport?: (host: string, port: number, events: TransportEvents) => Transport;
}

/** One attempt as the upstream sees it: the transport's request, plus the cache key it is for. */
export interface SendRequest extends ExchangeRequest {
  readonly name: string;
  /** A health probe or a loop check: one at a time per route, so it is not held to the in-flight limit. */
  readonly own?: boolean;
}

/**
 * One upstream server: it owns its sockets, its in-flight limit and its metrics. What is learnt per zone (health,
 * retransmission timeout) lives in the routes (route.ts), one per zone that uses it.
 */
export class Upstream {
  readonly label: string;
  readonly clock: Clock;
  readonly random: Random;
  private readonly transport: Transport;
  private readonly limit: InflightLimit;
  private readonly children;
  private readonly freeListeners = new Set<() => void>();
  private inflightCount = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly deps: UpstreamDeps,
  ) {
    this.label = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.clock = deps.clock;
    this.random = deps.random;
    this.limit = new InflightLimit(deps.maxInflight);
    const m = deps.metrics;
    const reject = {
      id: m.rejected.labels(this.label, 'id'),
      question: m.rejected.labels(this.label, 'question'),
      malformed: m.rejected.labels(this.label, 'malformed'),
      answer: m.rejected.labels(this.label, 'answer'),
      oversize: m.rejected.labels(this.label, 'oversize'),
      stalled: m.rejected.labels(this.label, 'stalled'),
    };
    this.children = {
      udp: m.queries.labels(this.label, 'udp'),
      tcp: m.queries.labels(this.label, 'tcp'),
      duration: m.duration.labels(this.label),
      inflight: m.inflight.labels(this.label),
      limit: m.limit.labels(this.label),
      truncated: m.truncated.labels(this.label),
      topBitTtls: m.topBitTtls.labels(this.label),
    };
    this.children.limit.set(this.limit.value);
    const events: TransportEvents = {
      sent: (protocol) => this.children[protocol].inc(),
      rejected: (reason) => reject[reason].inc(),
      truncated: () => this.children.truncated.inc(),
    };
    const inner = deps.transport?.(host, port, events) ?? new SocketTransport(host, port, { ...deps, events });
    this.transport = deps.intercept?.(inner, { label: this.label, events }) ?? inner;
  }

  /** Under its in-flight limit. */
  get available(): boolean {
    return this.inflightCount < this.limit.value;
  }

  get inflight(): number {
    return this.inflightCount;
  }

  /** Calls `fn` whenever an attempt ends, so whoever waits for capacity can try again. */
  onFree(fn: () => void): () => void {
    this.freeListeners.add(fn);
    return () => this.freeListeners.delete(fn);
  }

  /**
   * One attempt: resolves with a validated answer of any rcode; rejects with UpstreamTimeoutError,
   * UpstreamNetworkError (AbandonedError when the caller gave up on it) or UpstreamBusyError.
   */
  async send(req: SendRequest): Promise<Answer> {
    if (!req.own && !this.available) {
      this.deps.metrics.errors.labels(this.label, 'busy').inc();
      throw new UpstreamBusyError(`${this.label}: ${this.inflightCount} queries in flight`);
    }
    const started = this.clock.now();
    this.inflightCount++;
    this.children.inflight.inc();
    try {
      const answer = await this.transport.exchange(req);
      const rttMs = this.clock.now() - started;
      this.children.duration.observe(rttMs / 1000);
      if (answer.scan.topBitTtls > 0) this.children.topBitTtls.inc(answer.scan.topBitTtls);
      this.limit.observe(answer.scan.rcode === Rcode.REFUSED ? req.name : null, this.clock.now());
      this.children.limit.set(this.limit.value);
      return { ...answer, rttMs };
    } catch (err) {
      if (!(err instanceof AbandonedError)) this.deps.metrics.errors.labels(this.label, errorKind(err)).inc();
      throw err;
    } finally {
      this.inflightCount--;
      this.children.inflight.dec();
      for (const fn of this.freeListeners) fn();
    }
  }

  close(): void {
    this.transport.close();
  }
}

function errorKind(err: unknown): string {
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof UpstreamNetworkError) return 'network';
  return 'other';
}
