import { type CacheEntry, createCacheMetrics, DnsCache, Sweeper } from '../cache/index.js';
import type { Chaos } from '../chaos/index.js';
import { type Config, parseEndpoint } from '../config/index.js';
import { createNodeMetrics, isLocalAddress, NodeNetwork } from '../node/index.js';
import { AdminServer } from '../observe/index.js';
import { createPersistMetrics, Persister } from '../persist/index.js';
import { Coalescer, Contests, createResolveMetrics, LoopDetector, RequestHandler } from '../resolve/index.js';
import { createServerMetrics, ListenerSet } from '../server/index.js';
import type { Context } from './context.js';
import type { Routing } from './routing.js';
import { cacheOptions, handlerSettings, persistOptions } from './settings.js';

/**
 * Builders from a Config to the parts of a running ballast. Start-up and hot reload use the same ones, so a
 * reloaded setting means exactly what it means at start.
 */

export function buildCache(config: Config, ctx: Context): DnsCache {
  let cache: DnsCache | undefined;
  const metrics = createCacheMetrics(ctx.registry, () => cache!);
  cache = new DnsCache(cacheOptions(config), { onEvict: (tier) => metrics.evicted(tier), random: ctx.random });
  return cache;
}

/**
 * The stale sweep. While stale.keepPastMaxAgeWhileDown is set (read live, so a reload applies) an entry past its
 * stale window stays while its zone is down, trading RFC 8767's bound on staleness for answers in a long outage.
 */
export function buildSweeper(cache: DnsCache, handler: RequestHandler, config: () => Config, ctx: Context): Sweeper {
  const keepDead = (qname: string) => config().stale.keepPastMaxAgeWhileDown && !handler.zoneHealthy(qname);
  return new Sweeper(cache, ctx.clock, keepDead);
}

export function buildPersister(config: Config, cache: DnsCache, ctx: Context): Persister | undefined {
  if (!config.persistence.enabled) return undefined;
  const log = ctx.log.child({ component: 'persist' });
  return new Persister(cache, persistOptions(config), ctx.clock, log, createPersistMetrics(ctx.registry));
}

/** The DNS listeners; a node-local IP that is not on the interface yet is retried after each node resync. */
export function buildListeners(config: Config, handler: RequestHandler, ctx: Context): ListenerSet {
  // The request path's drop counter: a client outside server.allowClients is one more reason a query gets no reply.
  const notAllowed = handler.metrics.dropped.labels('not_allowed');
  return new ListenerSet(config.server, {
    handle: (raw, transport, client) => handler.handle(raw, transport, client),
    denied: () => notAllowed.inc(),
    metrics: createServerMetrics(ctx.registry),
    log: ctx.log.child({ component: 'server' }),
    parse: (address) => parseEndpoint(address)!,
    retryLater: (address, err) =>
      (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' && isLocalAddress(config.node.localIps, address),
  });
}

/**
 * The request path, reading the zone table through `routing` so a reload's new table is used at once. `flights` is
 * the one part a caller may bring: the fleet simulation's ablation brings one that never joins (src/fleet).
 */
export function buildHandler(
  config: Config,
  cache: DnsCache,
  routing: Routing,
  ctx: Context,
  parts: { flights?: Coalescer<CacheEntry> } = {},
): RequestHandler {
  const handler: RequestHandler = new RequestHandler({
    cache,
    flights: parts.flights ?? new Coalescer<CacheEntry>(),
    contests: new Contests(),
    upstreams: routing,
    loops: new LoopDetector(ctx.clock, ctx.log.child({ component: 'loop' }), ctx.registry),
    clock: ctx.clock,
    metrics: createResolveMetrics(ctx.registry, { failureCacheEntries: () => handler.settings.failures.size }),
    log: ctx.log.child({ component: 'resolve' }),
    ...handlerSettings(config, ctx.random),
  });
  return handler;
}

/** The admin HTTP server for `config.admin`, with the chaos routes in front of /metrics, /health and /ready. */
export function buildAdmin(
  config: Config,
  ctx: Context,
  ready: () => boolean,
  chaos: Chaos,
  cache: DnsCache,
  readyDetail: () => string[],
) {
  const endpoint = parseEndpoint(config.admin.listen)!;
  return new AdminServer({
    endpoint,
    registry: ctx.registry,
    ready,
    readyDetail,
    maxEventLoopDelayMs: config.admin.maxEventLoopDelayMs,
    clock: ctx.clock,
    log: ctx.log.child({ component: 'admin' }),
    routes: chaos.route(config.chaos, (limit) => cache.sampleNames(limit)),
  });
}

/** The node contract (docs/design.md §3); its metrics exist even with node setup off, so every /metrics matches. */
export function buildNode(config: Config, ctx: Context): NodeNetwork {
  const opts = { ...config.node, adminPort: parseEndpoint(config.admin.listen)!.port };
  return new NodeNetwork(opts, {
    log: ctx.log.child({ component: 'node' }),
    metrics: createNodeMetrics(ctx.registry),
    clock: ctx.clock,
  });
}
