import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { createCacheMetrics, DnsCache } from '../cache/index.js';
import type { Chaos } from '../chaos/index.js';
import { type Config, parseEndpoint } from '../config/index.js';
import { createNodeMetrics, isLocalAddress, NodeNetwork } from '../node/index.js';
import { AdminServer, createRegistry } from '../observe/index.js';
import { createPersistMetrics, Persister } from '../persist/index.js';
import { createResolveMetrics, LoopDetector, RequestHandler } from '../resolve/index.js';
import { createServerMetrics, type Endpoint, ListenerSet } from '../server/index.js';
import type { UpstreamDeps } from '../upstream/index.js';
import { type Clock, systemClock } from '../util/clock.js';
import { type Random, systemRandom } from '../util/random.js';
import type { Routing } from './routing.js';
import { cacheOptions, handlerSettings, persistOptions } from './settings.js';

/**
 * Builders from a Config to the parts of a running ballast. Start-up and hot reload use the same ones, so a
 * reloaded setting means exactly what it means at start.
 */

export interface BallastDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly registry?: Registry;
  /** How upstreams are reached, when not over sockets (an in-memory network: the fleet simulation). */
  readonly transport?: UpstreamDeps['transport'];
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
  /** How upstreams are reached, when not over sockets (an in-memory network: the fleet simulation). */
  readonly transport?: UpstreamDeps['transport'];
}

export function createContext(deps: BallastDeps): Context {
  const registry = deps.registry ?? createRegistry();
  const { clock = systemClock, random = systemRandom, log, transport } = deps;
  return { clock, random, registry, log, transport };
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
  // The request path's drop counter (createResolveMetrics, registered by buildHandler): a client outside
  // server.allowClients is one more reason a query gets no reply.
  const dropped = ctx.registry.getSingleMetric('ballast_dropped_queries_total') as Counter<'reason'>;
  const notAllowed = dropped.labels('not_allowed');
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

/** The request path, reading the zone table through `routing` so a reload's new table is used at once. */
export function buildHandler(config: Config, cache: DnsCache, routing: Routing, ctx: Context): RequestHandler {
  const handler: RequestHandler = new RequestHandler({
    cache,
    upstreams: routing,
    loops: new LoopDetector(ctx.clock, ctx.log.child({ component: 'loop' }), ctx.registry),
    clock: ctx.clock,
    metrics: createResolveMetrics(ctx.registry, { failureCacheEntries: () => handler.settings.failures.size }),
    log: ctx.log.child({ component: 'resolve' }),
    ...handlerSettings(config),
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
