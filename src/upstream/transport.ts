import { UpstreamNetworkError } from '../errors.js';
import type { Cancel } from '../util/cancel.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { MalformedMessageError, type ResponseScan, scanResponse } from '../wire/index.js';
import { TcpPool, type TcpPoolOptions } from './tcp.js';
import { udpExchange } from './udp.js';
import type { RejectReason } from './validate.js';

/**
 * How to reach an upstream (per zone):
 * - `prefer-udp`: UDP first whatever the client used; a TC=1 answer is asked again over TCP (RFC 7766 §5).
 * - `tcp`: always TCP, on reused, pipelined connections (NodeLocal DNSCache's choice towards CoreDNS).
 * - `udp`: UDP only, for upstreams without TCP; a TC=1 answer is passed on to the client as it is.
 */
export type Protocol = 'udp' | 'tcp' | 'prefer-udp';

/** One attempt at one upstream. */
export interface ExchangeRequest {
  /** A private copy of the query: the transport writes a fresh random ID into it. */
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly protocol: Protocol;
  readonly timeoutMs: number;
  /** The zone the query is for; the socket transport ignores it, interceptors (chaos) may scope by it. */
  readonly zone: string;
  /** The caller gives up on this attempt (another one answered): close its socket, reject with AbandonedError. */
  readonly signal?: Cancel;
}

/** A validated answer to the question that was asked, of any rcode. */
export interface RawAnswer {
  readonly bytes: Buffer;
  readonly scan: ResponseScan;
}

/** What a transport reports as it works, for the upstream's metrics. */
export interface TransportEvents {
  /** A query went out on the wire (or would have: chaos counts swallowed queries too). */
  sent(protocol: 'udp' | 'tcp'): void;
  /** A datagram or frame that was not the answer (wrong source, ID or question, or garbage). */
  rejected(reason: RejectReason): void;
  /** A TC=1 answer over UDP, asked again over TCP. */
  truncated(): void;
}

/**
 * Moves one query to one upstream and back. The socket transport below is the real one; an interceptor (chaos
 * faults) or an in-memory network (a simulation) can stand in for it without the upstream object knowing.
 * Rejects with UpstreamTimeoutError, UpstreamNetworkError or UpstreamBusyError.
 */
export interface Transport {
  exchange(req: ExchangeRequest): Promise<RawAnswer>;
  close(): void;
}

export interface SocketTransportDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly tcp: TcpPoolOptions;
  readonly events: TransportEvents;
}

/** UDP on a fresh socket per attempt, and a pool of pipelined TCP connections (docs/design.md §6). */
export class SocketTransport implements Transport {
  private readonly tcp: TcpPool;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly deps: SocketTransportDeps,
  ) {
    this.tcp = new TcpPool(host, port, deps.tcp, deps.clock, deps.random, (r) => deps.events.rejected(r));
  }

  async exchange(req: ExchangeRequest): Promise<RawAnswer> {
    const { query, questionEnd, protocol, timeoutMs, signal } = req;
    const events = this.deps.events;
    if (protocol !== 'tcp') {
      query.writeUInt16BE(this.deps.random.id16(), 0);
      events.sent('udp');
      const reject = (r: RejectReason) => events.rejected(r);
      const udp = await udpExchange(
        this.host,
        this.port,
        query,
        questionEnd,
        timeoutMs,
        this.deps.clock,
        reject,
        signal,
        protocol === 'udp' ? 'ignore' : 'truncated',
      );
      if (udp.scan !== undefined) return { bytes: udp.bytes, scan: udp.scan };
      if (protocol === 'udp') return { bytes: udp.bytes, scan: this.scanTruncated(udp.bytes) };
      events.truncated();
    }
    events.sent('tcp');
    return this.tcp.exchange(query, questionEnd, timeoutMs, signal);
  }

  /** A TC=1 answer kept for a `udp`-only zone must still scan, or it is unusable. */
  private scanTruncated(bytes: Buffer): ResponseScan {
    try {
      return scanResponse(bytes);
    } catch (err) {
      if (err instanceof MalformedMessageError) {
        throw new UpstreamNetworkError(`${this.host}:${this.port}: truncated answer could not be read`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  close(): void {
    this.tcp.close();
  }
}
