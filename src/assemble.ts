import type { Logger } from 'pino';
import type { CacheOptions } from './cache/index.js';
import { type Config, parseEndpoint, rootServers } from './config/index.js';
import { ClientLimiter, FailureCache, type HandlerSettings } from './resolve/index.js';
import {
  createSelector,
  type FaultSource,
  Upstream,
  type UpstreamDeps,
  type UpstreamMetrics,
  type Zone,
  ZoneTable,
} from './upstream/index.js';
import type { Clock } from './util/clock.js';
import type { Random } from './util/random.js';
import { TokenBucket } from './util/token-bucket.js';

/**
 * Pure builders from a Config to the parts of a running ballast. Start-up and hot reload use the same ones, so a
 * reloaded setting means exactly what it means at start.
 */

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
  faults: FaultSource | undefined,
): UpstreamDeps {
  return {
    faults,
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
 * The zone table. Upstream objects are reused by address when their settings did not change, so a reload keeps
 * their health state, RTT estimate and open connections; the ones no zone uses any more are returned to be closed.
 */
export function buildZones(
  config: Config,
  previous: Map<string, Upstream>,
  ctx: { clock: Clock; random: Random; metrics: UpstreamMetrics; log: Logger; faults?: FaultSource },
): { zones: ZoneTable; upstreams: Map<string, Upstream>; retired: Upstream[] } {
  const deps = upstreamDeps(config, ctx.clock, ctx.random, ctx.metrics, ctx.log, ctx.faults);
  const settings = JSON.stringify([deps.tcp, deps.health, deps.minTimeoutMs, deps.maxInflight]);
  const upstreams = new Map<string, Upstream>();
  const upstreamFor = (ep: { host: string; port: number }) => {
    const k = `${ep.host}|${ep.port}|${settings}`;
    let u = upstreams.get(k) ?? previous.get(k);
    if (u === undefined) u = new Upstream(ep.host, ep.port, deps);
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
  const retired = [...previous].filter(([k]) => !upstreams.has(k)).map(([, v]) => v);
  return { zones: new ZoneTable(list), upstreams, retired };
}

/** The request path's settings; the failure cache and client limiter are kept when their own settings are equal. */
export function handlerSettings(
  config: Config,
  clock: Clock,
  previous?: { config: Config; settings: HandlerSettings },
): HandlerSettings {
  const same = (pick: (c: Config) => unknown) =>
    previous !== undefined && JSON.stringify(pick(previous.config)) === JSON.stringify(pick(config));
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
