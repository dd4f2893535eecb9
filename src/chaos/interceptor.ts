import { AbandonedError, UpstreamTimeoutError } from '../errors.js';
import type { ExchangeRequest, RawAnswer, Transport, TransportInterceptor } from '../upstream/index.js';
import type { Cancel } from '../util/cancel.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import {
  encodeName,
  errorResponseTo,
  HEADER_SIZE,
  lowerName,
  negativeResponseTo,
  Rcode,
  scanResponse,
} from '../wire/index.js';
import type { Fault } from './faults.js';

/** The TTL and SOA MINIMUM of a wrong negative answer: CoreDNS's for cluster.local. */
const NEGATIVE_TTL = 5;

/** Where the interceptor asks whether a fault applies to one exchange. */
export interface FaultSource {
  match(upstream: string, zone: string): Fault | undefined;
}

/**
 * Chaos faults as a transport interceptor (docs/design.md §9): they sit where the network would be, so the health
 * model, retransmission, stale serving and coalescing react exactly as in a real outage, and the upstream object
 * knows nothing of chaos. A swallowed query counts as sent (so upstream q/s in a drill reads as it would) and then
 * gets no answer, like a dead server; an error rcode comes back as a real response to the query.
 */
export function faultInterceptor(faults: FaultSource, clock: Clock, random: Random): TransportInterceptor {
  // Attempts in flight under each overload fault, across upstreams: the fault's scope is one server's capacity.
  const inflight = new Map<string, number>();
  return (inner, { label, events }) => new FaultyTransport(inner, label, events, faults, clock, random, inflight);
}

class FaultyTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly label: string,
    private readonly events: { sent(protocol: 'udp' | 'tcp'): void },
    private readonly faults: FaultSource,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly inflight: Map<string, number>,
  ) {}

  async exchange(req: ExchangeRequest): Promise<RawAnswer> {
    const fault = this.faults.match(this.label, req.zone);
    if (fault === undefined) return this.inner.exchange(req);
    const chance = (percent: number | undefined) => this.random.float() * 100 < (percent ?? 0);
    switch (fault.kind) {
      case 'blackhole':
        return this.swallow(req, fault);
      case 'drop':
        return chance(fault.percent) ? this.swallow(req, fault) : this.inner.exchange(req);
      case 'lame':
        return lameShare(req) * 100 < (fault.percent ?? 0) ? this.swallow(req, fault) : this.inner.exchange(req);
      case 'loss': {
        if (req.protocol === 'tcp') return this.inner.exchange(req); // TCP retransmits by itself
        if (chance(fault.percent)) return this.swallow(req, fault); // the query is lost
        const answer = await this.inner.exchange(req);
        return chance(fault.percent) ? this.swallow(req, fault, false) : answer; // the answer is lost
      }
      case 'delay':
      case 'slow': {
        const delayMs =
          (fault.delayMs ?? 0) + (fault.kind === 'slow' ? this.random.float() * (fault.spreadMs ?? 0) : 0);
        if (delayMs >= req.timeoutMs) return this.swallow(req, fault);
        await this.wait(delayMs, req.signal);
        return this.inner.exchange({ ...req, timeoutMs: req.timeoutMs - delayMs });
      }
      case 'overload': {
        const n = this.inflight.get(fault.id) ?? 0;
        if (n >= (fault.concurrency ?? 0)) return this.respond(req, Rcode.REFUSED);
        this.inflight.set(fault.id, n + 1);
        try {
          return await this.inner.exchange(req);
        } finally {
          this.inflight.set(fault.id, (this.inflight.get(fault.id) ?? 1) - 1);
        }
      }
      case 'servfail':
        return this.respond(req, Rcode.SERVFAIL);
      case 'refused':
        return this.respond(req, Rcode.REFUSED);
      case 'nxdomain':
        return this.negative(req, Rcode.NXDOMAIN);
      case 'nodata':
        return this.negative(req, Rcode.NOERROR);
      case 'mixed':
        return chance(fault.percent) ? this.negative(req, Rcode.NXDOMAIN) : this.inner.exchange(req);
    }
  }

  /** A wrong negative answer, as CoreDNS writes one: NXDOMAIN or NODATA with the zone's SOA, TTL 5 (RFC 2308). */
  private negative(req: ExchangeRequest, rcode: number): RawAnswer {
    this.events.sent(req.protocol === 'tcp' ? 'tcp' : 'udp');
    req.query.writeUInt16BE(this.random.id16(), 0);
    const bytes = negativeResponseTo(req.query, req.questionEnd, rcode, encodeName(req.zone), NEGATIVE_TTL);
    return { bytes, scan: scanResponse(bytes) };
  }

  /** The query was sent and nothing came back: it times out, unless its caller gives up on it first. */
  private async swallow(req: ExchangeRequest, fault: Fault, count = true): Promise<never> {
    if (count) this.events.sent(req.protocol === 'tcp' ? 'tcp' : 'udp');
    await this.wait(req.timeoutMs, req.signal);
    throw new UpstreamTimeoutError(`no answer from ${this.label} within ${req.timeoutMs} ms (chaos: ${fault.kind})`);
  }

  /** The query turned into the server's response with `rcode`, as a real server would send it. */
  private respond(req: ExchangeRequest, rcode: number): RawAnswer {
    this.events.sent(req.protocol === 'tcp' ? 'tcp' : 'udp');
    req.query.writeUInt16BE(this.random.id16(), 0);
    const bytes = errorResponseTo(req.query, rcode);
    return { bytes, scan: scanResponse(bytes) };
  }

  private wait(ms: number, signal: Cancel | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      let off = () => {};
      const timer = this.clock.setTimer(() => {
        off();
        resolve();
      }, ms);
      off =
        signal?.onCancel(() => {
          timer.cancel();
          reject(new AbandonedError(`${this.label}: abandoned`));
        }) ?? off;
    });
  }

  close(): void {
    this.inner.close();
  }
}

/**
 * Where a query's name falls in [0, 1): the same for every attempt at the same name, so lame names stay lame. The
 * zone's own apex is never lame: a lame delegation is below the zone, and the zone itself is still served there.
 */
function lameShare(req: ExchangeRequest): number {
  const name = lowerName(req.query, HEADER_SIZE, req.questionEnd - 4);
  if (name === encodeName(req.zone).toString('latin1')) return 1;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32;
}
