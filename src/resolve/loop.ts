import type { Logger } from 'pino';
import { Gauge, type Registry } from '../observe/prom.js';
import type { Zone, ZoneTable } from '../upstream/index.js';
import type { Clock, Timer } from '../util/clock.js';
import { randomHex } from '../util/random.js';
import { encodeName, ownQuery, RrType } from '../wire/index.js';

/** How long a loop probe's name is watched for on the way back in. */
const WATCH_MS = 10_000;

interface Probe {
  readonly zone: string;
  readonly upstream: string;
  /** Ends the watch: the name is forgotten after WATCH_MS, or at close(). */
  readonly expiry: Timer;
}

/**
 * Forwarding loops (as CoreDNS's `loop` plugin finds them): at start and after each reload, one query for a random
 * name under each zone goes to each of its upstreams. If that name comes back in as a client query, the upstream
 * forwards to ballast — say, a node whose resolv.conf points at ballast's own address. The loop is logged once,
 * shown in `ballast_upstream_loop_detected` and on /ready, and the returning probe is refused at once; other looping
 * queries join their own flight (one per key) instead of multiplying, so a loop never amplifies.
 */
export class LoopDetector {
  private readonly watching = new Map<string, Probe>();
  private readonly found = new Map<string, Probe>();
  private readonly gauge: Gauge<'zone' | 'upstream'>;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.gauge = new Gauge({
      name: 'ballast_upstream_loop_detected',
      help: 'Whether a forwarding loop was found through this upstream for this zone at the last check (1) or not (0).',
      labelNames: ['zone', 'upstream'] as const,
      registers: [registry],
    });
  }

  /** Sends one probe per zone and upstream; what comes back within WATCH_MS is a loop. */
  check(zones: ZoneTable, udpSize: number): void {
    this.found.clear();
    this.gauge.reset();
    for (const zone of zones.zones) {
      for (const route of zone.routes) {
        const label = `ballast-loop-${randomHex(8)}`;
        const name = encodeName(zone.name === '.' ? label : `${label}.${zone.name}`);
        const key = name.toString('latin1');
        const expiry = this.clock.setTimer(() => this.watching.delete(key), WATCH_MS);
        const probe = { zone: zone.name, upstream: route.upstream.label, expiry };
        this.watching.set(key, probe);
        this.gauge.labels(probe.zone, probe.upstream).set(0);
        this.send(zone, route, name, udpSize);
      }
    }
  }

  /** Stops watching: a process that is shutting down is not held open for WATCH_MS by its last probes. */
  close(): void {
    for (const probe of this.watching.values()) probe.expiry.cancel();
    this.watching.clear();
  }

  private send(zone: Zone, route: Zone['routes'][number], name: Buffer, udpSize: number): void {
    const { query, questionEnd } = ownQuery(name, RrType.HINFO, udpSize);
    route.upstream
      .send({ query, questionEnd, protocol: zone.protocol, timeoutMs: 2000, zone: zone.name, own: true })
      .catch(() => {}); // the answer does not matter, only whether the name comes back in
  }

  /**
   * Whether a client query is one of our probes coming back: then it is a loop, and the caller refuses it at once.
   * Free when no probe is out: the query's name (a string built on first read) is only read while one is.
   */
  isProbe(q: { readonly qname: string }): boolean {
    if (this.watching.size === 0) return false;
    const probe = this.watching.get(q.qname);
    if (probe === undefined) return false;
    const key = `${probe.zone} ${probe.upstream}`;
    if (!this.found.has(key)) {
      this.found.set(key, probe);
      this.gauge.labels(probe.zone, probe.upstream).set(1);
      this.log.error(
        { zone: probe.zone, upstream: probe.upstream },
        'forwarding loop: this upstream sends queries for the zone back to ballast; fix its configuration (or resolv.conf)',
      );
    }
    return true;
  }

  /** One line per loop found at the last check, for /ready. */
  get problems(): string[] {
    return [...this.found.values()].map((p) => `forwarding loop: zone ${p.zone} via ${p.upstream}`);
  }
}
