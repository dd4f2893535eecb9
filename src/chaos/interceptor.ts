import { UpstreamTimeoutError } from '../errors.js';
import type { ExchangeRequest, RawAnswer, Transport, TransportInterceptor } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { errorResponseTo, Rcode, scanResponse } from '../wire/index.js';
import type { Fault } from './faults.js';

/** Where the interceptor asks whether a fault applies to one exchange. */
export interface FaultSource {
  match(upstream: string, zone: string): Fault | undefined;
}

/**
 * Chaos faults as a transport interceptor (docs/design.md §9): they sit where the network would be, so the breaker,
 * stale serving and coalescing react exactly as in a real outage, and the upstream object knows nothing of chaos.
 * A swallowed query counts as sent (so upstream q/s in a drill reads as it would), then times out like a dead
 * server; an error rcode comes back as a real response to the query; a delay holds the exchange back first.
 */
export function faultInterceptor(faults: FaultSource, clock: Clock, random: Random): TransportInterceptor {
  return (inner, { label, events }) => new FaultyTransport(inner, label, events, faults, clock, random);
}

class FaultyTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly label: string,
    private readonly events: { sent(protocol: 'udp' | 'tcp'): void },
    private readonly faults: FaultSource,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async exchange(req: ExchangeRequest): Promise<RawAnswer> {
    const fault = this.faults.match(this.label, req.zone);
    if (fault === undefined) return this.inner.exchange(req);
    const protocol = req.protocol === 'tcp' ? 'tcp' : 'udp';
    const swallow = async (): Promise<never> => {
      this.events.sent(protocol);
      await this.wait(req.timeoutMs);
      throw new UpstreamTimeoutError(`no answer from ${this.label} within ${req.timeoutMs} ms (chaos: ${fault.kind})`);
    };
    switch (fault.kind) {
      case 'blackhole':
        return swallow();
      case 'drop':
        if (this.random.float() * 100 < (fault.percent ?? 0)) return swallow();
        return this.inner.exchange(req);
      case 'delay': {
        const delayMs = fault.delayMs ?? 0;
        if (delayMs >= req.timeoutMs) return swallow();
        await this.wait(delayMs);
        return this.inner.exchange({ ...req, timeoutMs: req.timeoutMs - delayMs });
      }
      case 'servfail':
      case 'refused': {
        this.events.sent(protocol);
        req.query.writeUInt16BE(this.random.id16(), 0);
        const bytes = errorResponseTo(req.query, fault.kind === 'refused' ? Rcode.REFUSED : Rcode.SERVFAIL);
        return { bytes, scan: scanResponse(bytes) };
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, ms));
  }

  close(): void {
    this.inner.close();
  }
}
