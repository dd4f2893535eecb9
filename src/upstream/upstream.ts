import { UpstreamBusyError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { MalformedMessageError, type ResponseScan, scanResponse } from '../wire/index.js';
import type { UpstreamMetrics } from './metrics.js';
import { TcpPool, type TcpPoolOptions } from './tcp.js';
import { udpExchange } from './udp.js';

/**
 * How to reach an upstream (per zone):
 * - `prefer-udp`: UDP first whatever the client used; a TC=1 answer is asked again over TCP (RFC 7766 §5).
 * - `tcp`: always TCP, on reused, pipelined connections (NodeLocal DNSCache's choice towards CoreDNS).
 * - `udp`: UDP only, for upstreams without TCP; a TC=1 answer is passed on to the client as it is.
 */
export type Protocol = 'udp' | 'tcp' | 'prefer-udp';

export interface Answer {
  readonly bytes: Buffer;
  readonly scan: ResponseScan;
  readonly upstream: Upstream;
}

export interface UpstreamDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics: UpstreamMetrics;
  readonly tcp: TcpPoolOptions;
}

/** One upstream server: it owns its sockets and its metrics (STYLE.md §5). */
export class Upstream {
  readonly label: string;
  private readonly tcp: TcpPool;
  private readonly children;
  private inflightCount = 0;

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
    };
    this.tcp = new TcpPool(host, port, deps.tcp, deps.clock, deps.random, (r) => reject[r].inc());
  }

  /** Queries in flight to this upstream now. */
  get inflight(): number {
    return this.inflightCount;
  }

  /**
   * Sends `query` (a private copy: its ID is overwritten) and resolves with a validated, scanned answer. Rejects
   * with UpstreamTimeoutError, UpstreamNetworkError or UpstreamBusyError.
   */
  async exchange(query: Buffer, questionEnd: number, protocol: Protocol, timeoutMs: number): Promise<Answer> {
    const started = this.deps.clock.now();
    this.inflightCount++;
    this.children.inflight.inc();
    try {
      let answer: { bytes: Buffer; scan: ResponseScan } | undefined;
      if (protocol !== 'tcp') {
        query.writeUInt16BE(this.deps.random.id16(), 0);
        this.children.udp.inc();
        const udp = await udpExchange(this.host, this.port, query, questionEnd, timeoutMs, this.deps.clock, (r) =>
          this.children.reject[r].inc(),
        );
        if (udp.scan !== undefined) answer = { bytes: udp.bytes, scan: udp.scan };
        else if (protocol === 'udp') answer = { bytes: udp.bytes, scan: this.scanTruncated(udp.bytes) };
        else this.children.truncated.inc();
      }
      if (answer === undefined) {
        this.children.tcp.inc();
        answer = await this.tcp.exchange(query, questionEnd, timeoutMs);
      }
      this.children.duration.observe((this.deps.clock.now() - started) / 1000);
      return { ...answer, upstream: this };
    } catch (err) {
      this.deps.metrics.errors.labels(this.label, errorKind(err)).inc();
      throw err;
    } finally {
      this.inflightCount--;
      this.children.inflight.dec();
    }
  }

  /** A TC=1 answer kept for a `udp`-only zone must still scan, or it is unusable. */
  private scanTruncated(bytes: Buffer): ResponseScan {
    try {
      return scanResponse(bytes);
    } catch (err) {
      if (err instanceof MalformedMessageError) {
        throw new UpstreamNetworkError(`${this.label}: truncated answer could not be read`, { cause: err });
      }
      throw err;
    }
  }

  close(): void {
    this.tcp.close();
  }
}

function errorKind(err: unknown): string {
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof UpstreamNetworkError) return 'network';
  return 'other';
}
