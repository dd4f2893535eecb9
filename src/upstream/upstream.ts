import type { Logger } from 'pino';
import { UpstreamBusyError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { type ResponseScan, withoutEdns } from '../wire/index.js';
import { EdnsSupport } from './edns.js';
import type { UpstreamMetrics } from './metrics.js';
import type { AttemptRule } from './outcome.js';
import { type FairnessOptions, FairQueue } from './queue.js';
import type { TcpPoolOptions } from './tcp.js';
import { type ExchangeRequest, SocketTransport, type Transport, type TransportEvents } from './transport.js';
import { InflightWindow } from './window.js';

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
  /** Queries in flight to this upstream at most; the window falls below it while the upstream refuses (overload). */
  readonly maxInflight: number;
  /** How waiting queries share this upstream's capacity. */
  readonly fairness: FairnessOptions;
  /** Wraps the socket transport, when set (chaos.enabled: docs/design.md §9). */
  readonly intercept?: TransportInterceptor;
  /** Builds the transport, when not the socket one (an in-memory network for a simulation). */
  readonly transport?: (host: string, port: number, events: TransportEvents) => Transport;
}

/** One attempt as the upstream sees it: the transport's request. */
export interface SendRequest extends ExchangeRequest {
  /** A health probe or a loop check: one at a time per route, so it is not held to the in-flight window. */
  readonly own?: boolean;
}

/**
 * One upstream server: it owns its sockets, its in-flight window, the fair queue in front of that window, and its
 * metrics. What is learnt per zone (health, retransmission timeout) lives in the routes (route.ts), one per zone
 * that uses it.
 */
export class Upstream {
  readonly label: string;
  readonly clock: Clock;
  readonly random: Random;
  private readonly transport: Transport;
  private readonly window: InflightWindow;
  private fairQueue: FairQueue;
  private fairness: FairnessOptions;
  private readonly children;
  private readonly freeListeners = new Set<() => void>();
  private inflightCount = 0;
  private readonly edns = new EdnsSupport();

  constructor(
    readonly host: string,
    readonly port: number,
    deps: UpstreamDeps,
  ) {
    this.label = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.clock = deps.clock;
    this.random = deps.random;
    this.window = new InflightWindow(deps.maxInflight);
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
      ednsFallbacks: m.ednsFallbacks.labels(this.label),
      topBitTtls: m.topBitTtls.labels(this.label),
      queue: { waiting: m.queueWaiting.labels(this.label), refused: m.queueRefused.labels(this.label) },
    };
    this.children.limit.set(this.window.value);
    this.fairness = deps.fairness;
    this.fairQueue = this.newQueue();
    const events: TransportEvents = {
      sent: (protocol) => this.children[protocol].inc(),
      rejected: (reason) => reject[reason].inc(),
      truncated: () => this.children.truncated.inc(),
    };
    const inner = deps.transport?.(host, port, events) ?? new SocketTransport(host, port, { ...deps, events });
    this.transport = deps.intercept?.(inner, { label: this.label, events }) ?? inner;
  }

  /** Under its in-flight window. */
  get hasRoom(): boolean {
    return this.inflightCount < this.window.value;
  }

  /** The fair queue in front of the window: where a query waits when the window is full. */
  get queue(): FairQueue {
    return this.fairQueue;
  }

  /**
   * New fairness settings (a reload): queries that arrive from now on wait in a new queue; those already waiting
   * keep their places in the old one, which drains as capacity frees.
   */
  configure(fairness: FairnessOptions): void {
    if (JSON.stringify(fairness) === JSON.stringify(this.fairness)) return;
    this.fairness = fairness;
    this.fairQueue = this.newQueue();
  }

  private newQueue(): FairQueue {
    const capacity = { hasRoom: () => this.hasRoom, subscribe: (fn: () => void) => this.onFree(fn) };
    return new FairQueue(this.fairness, capacity, this.clock, this.children.queue);
  }

  /** What one attempt's outcome says about this upstream's capacity (the `window` column of outcome.ts). */
  congestion(signal: AttemptRule['window'], domain: string): void {
    if (signal === 'none') return;
    const before = this.window.value;
    if (signal === 'good') this.window.good(this.clock.now());
    else this.window.refused(domain, this.clock.now());
    this.children.limit.set(this.window.value);
    // A wider window is capacity freed: whoever waits for it may start now.
    if (this.window.value > before) this.freed();
  }

  private freed(): void {
    for (const fn of this.freeListeners) fn();
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
   * UpstreamNetworkError (AbandonedError when the caller gave up on it) or UpstreamBusyError. What the outcome means
   * is for the caller to classify (outcome.ts); the upstream only moves the bytes and counts them.
   */
  async send(req: SendRequest): Promise<Answer> {
    if (!req.own && !this.hasRoom) {
      throw new UpstreamBusyError(`${this.label}: ${this.inflightCount} queries in flight`);
    }
    const started = this.clock.now();
    this.inflightCount++;
    this.children.inflight.inc();
    try {
      const answer = await this.exchange(req, started);
      const rttMs = this.clock.now() - started;
      this.children.duration.observe(rttMs / 1000);
      if (answer.scan.topBitTtls > 0) this.children.topBitTtls.inc(answer.scan.topBitTtls);
      return { ...answer, rttMs };
    } finally {
      this.inflightCount--;
      this.children.inflight.dec();
      this.freed();
    }
  }

  /**
   * The exchange, without EDNS for a server that does not speak it (edns.ts): asked again at once without the OPT
   * when its answer says so, within what is left of the attempt's time.
   */
  private async exchange(req: SendRequest, started: number): Promise<Omit<Answer, 'rttMs'>> {
    if (this.edns.plain(started)) {
      return this.transport.exchange({ ...req, query: withoutEdns(req.query, req.questionEnd) });
    }
    const answer = await this.transport.exchange(req);
    if (!this.edns.lacking(answer.scan, this.clock.now())) return answer;
    this.children.ednsFallbacks.inc();
    const timeoutMs = Math.max(1, req.timeoutMs - (this.clock.now() - started));
    return this.transport.exchange({ ...req, query: withoutEdns(req.query, req.questionEnd), timeoutMs });
  }

  close(): void {
    this.transport.close();
  }
}
