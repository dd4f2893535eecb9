import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { DnsCache } from './cache/index.js';
import { type Config, parseEndpoint, rootServers } from './config/index.js';
import { AdminServer, createRegistry } from './observe/index.js';
import { createPersistMetrics, Persister } from './persist/index.js';
import { ClientLimiter, createResolveMetrics, FailureCache, RequestHandler } from './resolve/index.js';
import {
  createServerMetrics,
  type Endpoint,
  formatEndpoint,
  type ServerMetrics,
  TcpListener,
  UdpListener,
} from './server/index.js';
import { createSelector, createUpstreamMetrics, Upstream, type Zone, ZoneTable } from './upstream/index.js';
import { type Clock, systemClock, type Timer } from './util/clock.js';
import { type Random, systemRandom } from './util/random.js';
import { TokenBucket } from './util/token-bucket.js';
import { qnameOfKey } from './wire/index.js';

/** How often expired entries are demoted and dead ones dropped. */
const SWEEP_INTERVAL_MS = 5000;

export interface BallastDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly registry?: Registry;
}

export interface BoundAddresses {
  readonly udp: Endpoint[];
  readonly tcp: Endpoint[];
  readonly admin: Endpoint;
}

/**
 * One running ballast: config → components → listeners. `close()` drains gracefully (stop accepting, finish what
 * is in flight within the drain timeout); it is idempotent.
 */
export class Ballast {
  readonly registry: Registry;
  readonly cache: DnsCache;
  private readonly handler: RequestHandler;
  private readonly upstreams: Upstream[] = [];
  private readonly zones: ZoneTable;
  private readonly udp: UdpListener[] = [];
  private readonly tcp: TcpListener[] = [];
  private readonly admin: AdminServer;
  private readonly serverMetrics: ServerMetrics;
  private ready = false;
  private closing: Promise<void> | undefined;
  private bound: BoundAddresses | undefined;
  private readonly clock: Clock;
  private sweep: Timer | undefined;
  private readonly persister: Persister | undefined;
  private started = false;

  constructor(
    readonly config: Config,
    private readonly deps: BallastDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    const random = deps.random ?? systemRandom;
    const log = deps.log;
    this.registry = deps.registry ?? createRegistry();
    const registers = [this.registry];

    const evictions = new Counter({
      name: 'ballast_cache_evictions_total',
      help: 'Entries removed to stay within the entry or byte bound, by state (stale entries go first).',
      labelNames: ['state'] as const,
      registers,
    });
    this.cache = new DnsCache(
      {
        ...config.cache,
        staleMaxAgeSeconds: config.stale.maxAgeSeconds,
        refreshFrom: config.refresh.fromFraction,
        refreshTo: config.refresh.toFraction,
      },
      { onEvict: (tier) => evictions.labels(tier === 'secondary' ? 'stale' : 'fresh').inc(), random },
    );
    const cache = this.cache;
    new Gauge({
      name: 'ballast_cache_entries',
      help: 'Entries in the cache.',
      registers,
      collect() {
        this.set(cache.entries);
      },
    });
    new Gauge({
      name: 'ballast_cache_stale_entries',
      help: 'Entries past their TTL, kept to be served stale (as of the last lookup or sweep).',
      registers,
      collect() {
        this.set(cache.staleEntries);
      },
    });
    new Gauge({
      name: 'ballast_cache_bytes',
      help: 'Bytes held by the cache (messages plus per-entry overhead).',
      registers,
      collect() {
        this.set(cache.bytes);
      },
    });

    const upstreamMetrics = createUpstreamMetrics(this.registry);
    const upstreamDeps = {
      clock,
      random,
      metrics: upstreamMetrics,
      log: log.child({ component: 'upstream' }),
      tcp: config.upstream.tcp,
      health: config.upstream.health,
      minTimeoutMs: config.upstream.minTimeoutMs,
      maxInflight: config.upstream.maxInflight,
    };
    const known = new Map<string, Upstream>();
    const upstreamFor = (ep: { host: string; port: number }) => {
      const k = `${ep.host}|${ep.port}`;
      let u = known.get(k);
      if (u === undefined) {
        u = new Upstream(ep.host, ep.port, upstreamDeps);
        known.set(k, u);
        this.upstreams.push(u);
      }
      return u;
    };
    const u = config.upstream;
    const zoneList: Zone[] = [
      {
        name: '.',
        upstreams: rootServers(config).map(upstreamFor),
        protocol: u.protocol,
        timeoutMs: u.timeoutMs,
        selector: createSelector(u.policy, random),
      },
      ...config.zones.map((z) => ({
        name: z.name,
        upstreams: z.servers.map((s) => upstreamFor(parseEndpoint(s, 53)!)),
        protocol: z.protocol ?? u.protocol,
        timeoutMs: z.timeoutMs ?? u.timeoutMs,
        selector: createSelector(z.policy ?? u.policy, random),
      })),
    ];
    this.zones = new ZoneTable(zoneList);

    const zones = this.zones;
    const failures = new FailureCache({
      initialMs: config.failureCache.initialSeconds * 1000,
      maxMs: config.failureCache.maxSeconds * 1000,
      staleRecheckMs: config.stale.recheckSeconds * 1000,
      maxEntries: config.failureCache.maxEntries,
    });
    new Gauge({
      name: 'ballast_failure_cache_entries',
      help: 'Cache keys remembered as recently failed (RFC 9520), held or backing off.',
      registers,
      collect() {
        this.set(failures.size);
      },
    });
    this.handler = new RequestHandler({
      cache: this.cache,
      zones: () => zones,
      clock,
      metrics: createResolveMetrics(this.registry),
      log: log.child({ component: 'resolve' }),
      udpSize: config.server.udpPayloadSize,
      stale: {
        answerTtlSeconds: config.stale.answerTtlSeconds,
        clientTimeoutMs: config.stale.clientTimeoutMs,
        keepPastMaxAgeWhileDown: config.stale.keepPastMaxAgeWhileDown,
      },
      failures,
      limiter: new ClientLimiter(config.clientLimit.queriesPerSecond, config.clientLimit.burst, clock),
      forward: {
        udpSize: config.upstream.udpPayloadSize,
        // One retry token per second as a floor, so a quiet node can still retry; at most 10 banked.
        retryBudget: new TokenBucket(1, 10, clock),
        retryRatio: config.upstream.retryBudgetRatio,
      },
      budget: {
        refreshPerSecond: config.refresh.budgetPerSecond,
        recoveryMinPerSecond: config.refresh.recoveryMinPerSecond,
      },
      refreshMinHits: config.refresh.minHits,
    });
    this.clock = clock;
    const p = config.persistence;
    this.persister = p.enabled
      ? new Persister(
          this.cache,
          { path: p.path, intervalMs: p.intervalSeconds * 1000, maxBytes: p.maxBytes },
          clock,
          log.child({ component: 'persist' }),
          createPersistMetrics(this.registry),
        )
      : undefined;
    this.serverMetrics = createServerMetrics(this.registry);
    this.admin = new AdminServer({
      endpoint: parseEndpoint(config.admin.listen)!,
      registry: this.registry,
      ready: () => this.ready,
      maxEventLoopDelayMs: config.admin.maxEventLoopDelayMs,
      log: log.child({ component: 'admin' }),
    });
  }

  /** Binds every listener and the admin port, then logs one start-up line. */
  async start(): Promise<BoundAddresses> {
    // DESIGN.md §7: the snapshot is loaded before any listener opens, so the first query already sees it.
    this.persister?.load();
    this.started = true;
    const udp: Endpoint[] = [];
    const tcp: Endpoint[] = [];
    const handle = (raw: Buffer, transport: 'udp' | 'tcp', client: string) =>
      this.handler.handle(raw, transport, client);
    const log = this.deps.log.child({ component: 'server' });
    for (const address of this.config.listen) {
      const want = parseEndpoint(address)!;
      const udpListener = new UdpListener(
        want,
        handle,
        this.serverMetrics,
        log,
        this.config.server.udpReceiveBufferBytes,
      );
      this.udp.push(udpListener);
      const got = await udpListener.start();
      udp.push(got);
      // Port 0 means "any": TCP then takes the port UDP got, so one address serves both.
      const tcpListener = new TcpListener(
        want.port === 0 ? got : want,
        handle,
        this.config.server.tcp,
        this.serverMetrics,
        log,
      );
      this.tcp.push(tcpListener);
      tcp.push(await tcpListener.start());
    }
    const admin = await this.admin.start();
    this.bound = { udp, tcp, admin };
    this.scheduleSweep();
    this.persister?.start();
    this.ready = true;
    this.deps.log.info(
      {
        listen: udp.map(formatEndpoint),
        admin: formatEndpoint(admin),
        zones: this.zones.zones.map((z) => ({
          zone: z.name,
          upstreams: z.upstreams.map((u) => u.label),
          protocol: z.protocol,
        })),
        cache: { maxEntries: this.config.cache.maxEntries, maxBytes: this.config.cache.maxBytes },
      },
      'ballast started',
    );
    return this.bound;
  }

  /**
   * Every few seconds: demote expired entries (so stale ones are evicted first) and drop those past
   * stale.maxAgeSeconds — unless the option keeps them while their zone's upstreams are down.
   */
  private scheduleSweep(): void {
    this.sweep = this.clock.setTimer(() => {
      const keep = this.config.stale.keepPastMaxAgeWhileDown;
      this.cache.sweep(
        this.clock.now(),
        (key) => keep && !this.zones.match(qnameOfKey(key)).upstreams.some((u) => u.healthy),
      );
      if (this.closing === undefined) this.scheduleSweep();
    }, SWEEP_INTERVAL_MS);
  }

  get addresses(): BoundAddresses | undefined {
    return this.bound;
  }

  /**
   * Graceful stop, idempotent: not ready at once; with `drainPeriod` (SIGTERM), keep serving for
   * server.drainPeriodMs; then stop accepting, answer what is in flight (≤ server.drainTimeoutMs), write the
   * snapshot, close.
   */
  close(opts: { drainPeriod?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      this.sweep?.cancel();
      this.persister?.stop();
      if (opts.drainPeriod && this.config.server.drainPeriodMs > 0) {
        await new Promise((r) => setTimeout(r, this.config.server.drainPeriodMs));
      }
      const drain = this.config.server.drainTimeoutMs;
      await Promise.all([...this.udp.map((l) => l.close(drain)), ...this.tcp.map((l) => l.close(drain))]);
      if (this.started) await this.persister?.write();
      for (const u of this.upstreams) u.close();
      await this.admin.close();
    })();
    return this.closing;
  }
}
