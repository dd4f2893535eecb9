import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type CacheOptions, createCacheMetrics, DnsCache } from './cache/index.js';
import type { Chaos } from './chaos/index.js';
import { type Config, parseEndpoint, rootServers, samePart } from './config/index.js';
import { createNodeMetrics, isLocalAddress, NodeNetwork } from './node/index.js';
import { AdminServer, createRegistry } from './observe/index.js';
import { createPersistMetrics, Persister, type PersistOptions } from './persist/index.js';
import {
  ClientLimiter,
  createResolveMetrics,
  FailureCache,
  type HandlerSettings,
  RequestHandler,
} from './resolve/index.js';
import { createServerMetrics, type Endpoint, ListenerSet } from './server/index.js';
import {
  createSelector,
  createUpstreamMetrics,
  type TransportInterceptor,
  Upstream,
  type UpstreamDeps,
  type UpstreamMetrics,
  type Zone,
  ZoneTable,
} from './upstream/index.js';
import { type Clock, systemClock } from './util/clock.js';
import { type Random, systemRandom } from './util/random.js';
import { TokenBucket } from './util/token-bucket.js';

/**
 * Builders from a Config to the parts of a running ballast. Start-up and hot reload use the same ones, so a
 * reloaded setting means exactly what it means at start.
 */

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

/** What every part is built with: injected time and randomness, the instance's registry, the root logger. */
export interface Context {
  readonly clock: Clock;
  readonly random: Random;
  readonly registry: Registry;
  readonly log: Logger;
}

export function createContext(deps: BallastDeps): Context {
  const registry = deps.registry ?? createRegistry();
  return { clock: deps.clock ?? systemClock, random: deps.random ?? systemRandom, registry, log: deps.log };
}

export function buildCache(config: Config, ctx: Context): DnsCache {
  let cache: DnsCache | undefined;
  const metrics = createCacheMetrics(ctx.registry, () => cache!);
  cache = new DnsCache(cacheOptions(config), { onEvict: (tier) => metrics.evicted(tier), random: ctx.random });
  return cache;
}

export function buildPersister(config: Config, cache: DnsCache, ctx: Context): Persister | undefined {
  if (!config.persistence.enabled) return undefined;
  const log = ctx.log.child({ component: 'persist' });
  return new Persister(cache, persistOptions(config), ctx.clock, log, createPersistMetrics(ctx.registry));
}

/** The DNS listeners; a node-local IP that is not on the interface yet is retried after each node resync. */
export function buildListeners(config: Config, handler: RequestHandler, ctx: Context): ListenerSet {
  return new ListenerSet(config.server, {
    handle: (raw, transport, client) => handler.handle(raw, transport, client),
    metrics: createServerMetrics(ctx.registry),
    log: ctx.log.child({ component: 'server' }),
    parse: (address) => parseEndpoint(address)!,
    retryLater: (address, err) =>
      (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' && isLocalAddress(config.node.localIps, address),
  });
}

/** The request path, reading the zone table through `routing` so a reload's new table is used at once. */
export function buildHandler(config: Config, cache: DnsCache, routing: Routing, ctx: Context): RequestHandler {
  const handler: RequestHandler = new RequestHandler({
    cache,
    zones: () => routing.zones,
    clock: ctx.clock,
    metrics: createResolveMetrics(ctx.registry, { failureCacheEntries: () => handler.settings.failures.size }),
    log: ctx.log.child({ component: 'resolve' }),
    ...handlerSettings(config, ctx.clock),
  });
  return handler;
}

/** The admin HTTP server for `config.admin`, with the chaos routes in front of /metrics, /health and /ready. */
export function buildAdmin(config: Config, ctx: Context, ready: () => boolean, chaos: Chaos, cache: DnsCache) {
  const endpoint = parseEndpoint(config.admin.listen)!;
  return new AdminServer({
    endpoint,
    registry: ctx.registry,
    ready,
    maxEventLoopDelayMs: config.admin.maxEventLoopDelayMs,
    log: ctx.log.child({ component: 'admin' }),
    routes: chaos.route(config.chaos, endpoint.host, (limit) => cache.sampleNames(limit)),
  });
}

/** The node contract (docs/design.md §3); its metrics exist even with node setup off, so every /metrics matches. */
export function buildNode(config: Config, ctx: Context): NodeNetwork {
  createNodeMetrics(ctx.registry);
  const opts = { ...config.node, adminPort: parseEndpoint(config.admin.listen)!.port };
  return new NodeNetwork(opts, { log: ctx.log.child({ component: 'node' }), registry: ctx.registry, clock: ctx.clock });
}

export function persistOptions(config: Config): PersistOptions {
  const p = config.persistence;
  return { path: p.path, intervalMs: p.intervalSeconds * 1000, maxBytes: p.maxBytes };
}

export function cacheOptions(config: Config): CacheOptions {
  return {
    ...config.cache,
    staleMaxAgeSeconds: config.stale.maxAgeSeconds,
    refreshFrom: config.refresh.fromFraction,
    refreshTo: config.refresh.toFraction,
  };
}

function upstreamDeps(
  config: Config,
  clock: Clock,
  random: Random,
  metrics: UpstreamMetrics,
  log: Logger,
  intercept: TransportInterceptor | undefined,
): UpstreamDeps {
  return {
    intercept,
    clock,
    random,
    metrics,
    log,
    tcp: config.upstream.tcp,
    health: config.upstream.health,
    minTimeoutMs: config.upstream.minTimeoutMs,
    maxInflight: config.upstream.maxInflight,
  };
}

/**
 * The zone table and the upstream objects behind it. A reload rebuilds the table and reuses each upstream whose
 * address and settings did not change, so it keeps its health state, RTT estimate and open connections; upstreams no
 * zone uses any more are closed.
 */
export class Routing {
  zones!: ZoneTable;
  private upstreams = new Map<string, Upstream>();
  private readonly metrics: UpstreamMetrics;

  constructor(
    config: Config,
    private readonly ctx: Context,
    private readonly intercept: (config: Config) => TransportInterceptor | undefined,
  ) {
    this.metrics = createUpstreamMetrics(ctx.registry);
    this.configure(config);
  }

  configure(config: Config): void {
    this.prepare(config)();
  }

  /**
   * Builds the next table without touching the running one, and returns what installs it: a reload prepares
   * everything that can fail (an unreadable resolv.conf) before it changes anything.
   */
  prepare(config: Config): () => void {
    const { ctx } = this;
    const log = ctx.log.child({ component: 'upstream' });
    const intercept = this.intercept(config);
    const deps = upstreamDeps(config, ctx.clock, ctx.random, this.metrics, log, intercept);
    const settings = JSON.stringify([deps.tcp, deps.health, deps.minTimeoutMs, deps.maxInflight, !!intercept]);
    const previous = this.upstreams;
    const upstreams = new Map<string, Upstream>();
    const upstreamFor = (ep: { host: string; port: number }) => {
      const k = `${ep.host}|${ep.port}|${settings}`;
      const u = upstreams.get(k) ?? previous.get(k) ?? new Upstream(ep.host, ep.port, deps);
      upstreams.set(k, u);
      return u;
    };
    const u = config.upstream;
    const list: Zone[] = [
      {
        name: '.',
        upstreams: rootServers(config).map(upstreamFor),
        protocol: u.protocol,
        timeoutMs: u.timeoutMs,
        selector: createSelector(u.policy, ctx.random),
      },
      ...config.zones.map((z) => ({
        name: z.name,
        upstreams: z.servers.map((s) => upstreamFor(parseEndpoint(s, 53)!)),
        protocol: z.protocol ?? u.protocol,
        timeoutMs: z.timeoutMs ?? u.timeoutMs,
        selector: createSelector(z.policy ?? u.policy, ctx.random),
      })),
    ];
    const zones = new ZoneTable(list);
    return () => {
      this.zones = zones;
      this.upstreams = upstreams;
      for (const [k, old] of previous) if (!upstreams.has(k)) old.close();
    };
  }

  /** Zones and their upstreams, for the start-up and reload log lines. */
  describe() {
    return this.zones.zones.map((z) => ({
      zone: z.name,
      upstreams: z.upstreams.map((u) => u.label),
      protocol: z.protocol,
    }));
  }

  close(): void {
    for (const u of this.upstreams.values()) u.close();
  }
}

/** The request path's settings; the failure cache and client limiter are kept when their own settings are equal. */
export function handlerSettings(
  config: Config,
  clock: Clock,
  previous?: { config: Config; settings: HandlerSettings },
): HandlerSettings {
  const same = (pick: (c: Config) => unknown) => samePart(previous?.config, config, pick);
  const failures =
    previous !== undefined && same((c) => [c.failureCache, c.stale.recheckSeconds])
      ? previous.settings.failures
      : new FailureCache({
          initialMs: config.failureCache.initialSeconds * 1000,
          maxMs: config.failureCache.maxSeconds * 1000,
          staleRecheckMs: config.stale.recheckSeconds * 1000,
          maxEntries: config.failureCache.maxEntries,
        });
  const limiter =
    previous !== undefined && same((c) => c.clientLimit)
      ? previous.settings.limiter
      : new ClientLimiter(config.clientLimit.queriesPerSecond, config.clientLimit.burst, clock);
  return {
    udpSize: config.server.udpPayloadSize,
    stale: {
      answerTtlSeconds: config.stale.answerTtlSeconds,
      clientTimeoutMs: config.stale.clientTimeoutMs,
      keepPastMaxAgeWhileDown: config.stale.keepPastMaxAgeWhileDown,
    },
    failures,
    limiter,
    forward: {
      udpSize: config.upstream.udpPayloadSize,
      // One retry token per second as a floor, so a quiet node can still retry; at most 10 banked.
      retryBudget: previous?.settings.forward.retryBudget ?? new TokenBucket(1, 10, clock),
      retryRatio: config.upstream.retryBudgetRatio,
    },
    budget: {
      refreshPerSecond: config.refresh.budgetPerSecond,
      recoveryMinPerSecond: config.refresh.recoveryMinPerSecond,
    },
    refreshMinHits: config.refresh.minHits,
  };
}
