import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { buildZones, cacheOptions, handlerSettings } from './assemble.js';
import { DnsCache } from './cache/index.js';
import { chaosRoute, FaultInjector, isLoopback } from './chaos/index.js';
import { type Config, parseEndpoint } from './config/index.js';
import { canonicalIp, createNodeMetrics, NodeNetwork } from './node/index.js';
import { AdminServer, createRegistry } from './observe/index.js';
import { createPersistMetrics, Persister } from './persist/index.js';
import { createResolveMetrics, type HandlerSettings, RequestHandler } from './resolve/index.js';
import {
  createServerMetrics,
  type Endpoint,
  formatEndpoint,
  type ServerMetrics,
  TcpListener,
  UdpListener,
} from './server/index.js';
import { createUpstreamMetrics, type Upstream, type UpstreamMetrics, type ZoneTable } from './upstream/index.js';
import { type Clock, systemClock, type Timer } from './util/clock.js';
import { type Random, systemRandom } from './util/random.js';
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

/** One listen address: its UDP and TCP listeners. */
interface Listener {
  readonly address: string;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
  readonly bound: Endpoint;
}

/**
 * One running ballast: config → components → listeners. `reload()` applies a new config without dropping the cache;
 * `close()` drains gracefully and is idempotent.
 */
export class Ballast {
  readonly registry: Registry;
  readonly cache: DnsCache;
  private config: Config;
  private readonly handler: RequestHandler;
  private settings: HandlerSettings;
  private zones: ZoneTable;
  private upstreams: Map<string, Upstream>;
  private readonly listeners: Listener[] = [];
  private admin: AdminServer;
  private adminEndpoint: Endpoint | undefined;
  private readonly serverMetrics: ServerMetrics;
  private readonly upstreamMetrics: UpstreamMetrics;
  private readonly reloads: Counter<'result'>;
  private ready = false;
  private closing: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly random: Random;
  private sweep: Timer | undefined;
  private readonly persister: Persister | undefined;
  private started = false;
  /** The node contract (docs/design.md §3): interface, local IPs, iptables rules. Does nothing unless node.setup* is on. */
  private readonly node: NodeNetwork;
  /** Listen addresses on a node-local IP that was missing at start; bound once a node resync puts the IP back. */
  private readonly unbound = new Set<string>();
  private readonly faults: FaultInjector;

  constructor(
    config: Config,
    private readonly deps: BallastDeps,
  ) {
    this.config = config;
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? systemRandom;
    const log = deps.log;
    this.registry = deps.registry ?? createRegistry();
    const registers = [this.registry];

    const evictions = new Counter({
      name: 'ballast_cache_evictions_total',
      help: 'Entries removed to stay within the entry or byte bound, by state (stale entries go first).',
      labelNames: ['state'] as const,
      registers,
    });
    this.cache = new DnsCache(cacheOptions(config), {
      onEvict: (tier) => evictions.labels(tier === 'secondary' ? 'stale' : 'fresh').inc(),
      random: this.random,
    });
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
    this.reloads = new Counter({
      name: 'ballast_config_reloads_total',
      help: 'Configuration reloads (SIGHUP or a changed file), by result (success, rejected, failure).',
      labelNames: ['result'] as const,
      registers,
    });

    this.upstreamMetrics = createUpstreamMetrics(this.registry);
    // Always built (so its gauge always exists), but only consulted by the transport when chaos is enabled.
    this.faults = new FaultInjector(
      config.chaos.maxDurationSeconds,
      this.clock,
      log.child({ component: 'chaos' }),
      this.registry,
    );
    const built = buildZones(config, new Map(), this.zoneContext());
    this.zones = built.zones;
    this.upstreams = built.upstreams;

    this.settings = handlerSettings(config, this.clock);
    const self = this;
    new Gauge({
      name: 'ballast_failure_cache_entries',
      help: 'Cache keys remembered as recently failed (RFC 9520), held or backing off.',
      registers,
      collect() {
        this.set(self.settings.failures.size);
      },
    });
    this.handler = new RequestHandler({
      cache: this.cache,
      zones: () => this.zones,
      clock: this.clock,
      metrics: createResolveMetrics(this.registry),
      log: log.child({ component: 'resolve' }),
      ...this.settings,
    });
    const p = config.persistence;
    this.persister = p.enabled
      ? new Persister(
          this.cache,
          { path: p.path, intervalMs: p.intervalSeconds * 1000, maxBytes: p.maxBytes },
          this.clock,
          log.child({ component: 'persist' }),
          createPersistMetrics(this.registry),
        )
      : undefined;
    this.serverMetrics = createServerMetrics(this.registry);
    this.admin = this.createAdmin(config);
    // Registered even with node setup off, so /metrics and docs/metrics.md list the same series everywhere.
    createNodeMetrics(this.registry);
    this.node = new NodeNetwork(
      { ...config.node, adminPort: parseEndpoint(config.admin.listen)!.port },
      { log: log.child({ component: 'node' }), registry: this.registry, clock: this.clock },
    );
  }

  private zoneContext() {
    return {
      faults: this.config.chaos.enabled ? this.faults : undefined,
      clock: this.clock,
      random: this.random,
      metrics: this.upstreamMetrics,
      log: this.deps.log.child({ component: 'upstream' }),
    };
  }

  private createAdmin(config: Config): AdminServer {
    return new AdminServer({
      endpoint: parseEndpoint(config.admin.listen)!,
      registry: this.registry,
      ready: () => this.ready && this.unbound.size === 0,
      maxEventLoopDelayMs: config.admin.maxEventLoopDelayMs,
      log: this.deps.log.child({ component: 'admin' }),
      routes: (req, res, path) =>
        chaosRoute(
          {
            enabled: config.chaos.enabled,
            injector: this.faults,
            exposed: () => !isLoopback(parseEndpoint(config.admin.listen)!.host),
            tokenFile: config.chaos.tokenFile,
            names: (limit) => this.cache.sampleNames(limit),
          },
          req,
          res,
          path,
        ),
    });
  }

  /** Binds every listener and the admin port, then logs one start-up line. */
  async start(): Promise<BoundAddresses> {
    // docs/design.md §7: the snapshot is loaded before any listener opens, so the first query already sees it.
    this.persister?.load();
    this.started = true;
    // The interface and the local IPs first, so the listeners can bind them. Never throws: failures are counted.
    await this.node.prepare();
    for (const address of this.config.listen) {
      try {
        this.listeners.push(await this.listen(address));
      } catch (err) {
        // A node-local IP that could not be put on the interface: serve the others, not ready, retry after each
        // node resync, rather than exit into a crash loop.
        if (!this.isNodeLocal(address, err)) throw err;
        this.unbound.add(address);
        this.deps.log.error({ err, address }, 'node-local address missing; retrying after each node resync');
      }
    }
    this.adminEndpoint = await this.admin.start();
    // The rules only now that the sockets are bound (NodeLocal DNSCache waits the same way): NOTRACK towards an
    // address nobody serves would black-hole DNS.
    this.node.onSync(() => this.bindUnbound());
    await this.node.setup();
    this.node.start();
    this.scheduleSweep();
    this.persister?.start();
    this.ready = true;
    this.deps.log.info(
      {
        listen: this.listeners.map((l) => formatEndpoint(l.bound)),
        admin: formatEndpoint(this.adminEndpoint),
        zones: this.describeZones(),
        cache: { maxEntries: this.config.cache.maxEntries, maxBytes: this.config.cache.maxBytes },
      },
      'ballast started',
    );
    return this.addresses!;
  }

  /** UDP and TCP on one address. Port 0 means "any": TCP then takes the port UDP got. */
  private async listen(address: string): Promise<Listener> {
    const want = parseEndpoint(address)!;
    const handle = (raw: Buffer, transport: 'udp' | 'tcp', client: string) =>
      this.handler.handle(raw, transport, client);
    const log = this.deps.log.child({ component: 'server' });
    // With port 0 the kernel picks UDP's port, and that TCP port may already be taken by someone else: pick again.
    for (let attempt = 1; ; attempt++) {
      const udp = new UdpListener(want, handle, this.serverMetrics, log, this.config.server.udpReceiveBufferBytes);
      const bound = await udp.start();
      const tcp = new TcpListener(
        want.port === 0 ? bound : want,
        handle,
        this.config.server.tcp,
        this.serverMetrics,
        log,
      );
      try {
        await tcp.start();
        return { address, udp, tcp, bound };
      } catch (err) {
        await udp.close(0);
        const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (want.port !== 0 || !taken || attempt >= 10) throw err;
      }
    }
  }

  private isNodeLocal(address: string, err: unknown): boolean {
    const host = parseEndpoint(address)?.host;
    return (
      (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' &&
      host !== undefined &&
      this.config.node.localIps.some((ip) => canonicalIp(ip) === canonicalIp(host))
    );
  }

  private async bindUnbound(): Promise<void> {
    for (const address of this.unbound) {
      if (this.closing !== undefined) return;
      try {
        this.listeners.push(await this.listen(address));
      } catch {
        continue; // still missing; the node error is counted already
      }
      this.unbound.delete(address);
      this.deps.log.info({ address }, 'node-local address bound');
    }
  }

  private describeZones() {
    return this.zones.zones.map((z) => ({
      zone: z.name,
      upstreams: z.upstreams.map((u) => u.label),
      protocol: z.protocol,
    }));
  }

  /**
   * Applies a new, already validated config without dropping the cache (docs/design.md §7): upstreams and zones, limits,
   * stale and refresh settings, cache bounds, log level, listen and admin addresses. If opening a new address fails,
   * the error is thrown, counted as a failure, and everything else stays as it was before.
   */
  async reload(next: Config): Promise<string[]> {
    const changed = Object.keys(next).filter(
      (k) => JSON.stringify(next[k as keyof Config]) !== JSON.stringify(this.config[k as keyof Config]),
    );
    try {
      // Listen addresses first: the only step that can fail on the outside (a port in use).
      const added: Listener[] = [];
      try {
        for (const address of next.listen) {
          if (!this.listeners.some((l) => l.address === address)) added.push(await this.listen(address));
        }
      } catch (err) {
        await Promise.all(added.flatMap((l) => [l.udp.close(0), l.tcp.close(0)]));
        throw err;
      }
      const removed = this.listeners.filter((l) => !next.listen.includes(l.address));
      this.listeners.splice(
        0,
        this.listeners.length,
        ...this.listeners.filter((l) => next.listen.includes(l.address)),
        ...added,
      );
      const drain = next.server.drainTimeoutMs;
      void Promise.all(removed.flatMap((l) => [l.udp.close(drain), l.tcp.close(drain)]));

      const built = buildZones(next, this.upstreams, this.zoneContext());
      this.zones = built.zones;
      this.upstreams = built.upstreams;
      for (const u of built.retired) u.close();
      this.settings = handlerSettings(next, this.clock, { config: this.config, settings: this.settings });
      this.handler.configure(this.settings);
      this.cache.reconfigure(cacheOptions(next));
      this.persister?.configure({
        path: next.persistence.path,
        intervalMs: next.persistence.intervalSeconds * 1000,
        maxBytes: next.persistence.maxBytes,
      });
      this.deps.log.level = next.log.level;
      if (next.admin.listen !== this.config.admin.listen) {
        const admin = this.createAdmin(next);
        this.adminEndpoint = await admin.start();
        await this.admin.close();
        this.admin = admin;
      }
      this.config = next;
      if (changed.includes('node')) this.deps.log.warn('node.* settings take effect at the next restart');
      this.reloads.labels('success').inc();
      this.deps.log.info({ changed, zones: this.describeZones() }, 'config reloaded');
      return changed;
    } catch (err) {
      this.reloads.labels('failure').inc();
      this.deps.log.error({ err, changed }, 'config reload failed; keeping the running config');
      throw err;
    }
  }

  /** A reload that failed validation: counted and logged here, so every trigger reports the same way. */
  rejectReload(message: string): void {
    this.reloads.labels('rejected').inc();
    this.deps.log.error({ reason: message }, 'config rejected; keeping the running config');
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
    if (this.adminEndpoint === undefined) return undefined;
    return {
      udp: this.listeners.map((l) => l.bound),
      tcp: this.listeners.map((l) => l.bound),
      admin: this.adminEndpoint,
    };
  }

  get currentConfig(): Config {
    return this.config;
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
      await Promise.all(this.listeners.flatMap((l) => [l.udp.close(drain), l.tcp.close(drain)]));
      // Teardown is skipped while another instance serves (a rollout), and never touches another's rules.
      await Promise.all([this.node.teardown(), this.started ? this.persister?.write() : undefined]);
      for (const u of this.upstreams.values()) u.close();
      this.faults.clear();
      await this.admin.close();
    })();
    return this.closing;
  }
}
