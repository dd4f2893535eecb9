import type { CacheOptions } from '../cache/index.js';
import { type Config, samePart } from '../config/index.js';
import type { PersistOptions } from '../persist/index.js';
import { FailureCache, type HandlerSettings } from '../resolve/index.js';
import type { Random } from '../util/random.js';

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
    trustAd: config.upstream.trustAd,
  };
}

/** The request path's settings; the failure cache is kept when its own settings are equal. */
export function handlerSettings(
  config: Config,
  random: Random,
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
          random,
        });
  return {
    udpSize: config.server.udpPayloadSize,
    stale: {
      answerTtlSeconds: config.stale.answerTtlSeconds,
      clientTimeoutMs: config.stale.clientTimeoutMs,
      keepPastMaxAgeWhileDown: config.stale.keepPastMaxAgeWhileDown,
    },
    failures,
    upstreamUdpSize: config.upstream.udpPayloadSize,
    trustAd: config.upstream.trustAd,
    budget: {
      refreshPerSecond: config.refresh.budgetPerSecond,
      recoveryMinPerSecond: config.refresh.recoveryMinPerSecond,
    },
    refreshMinHits: config.refresh.minHits,
    lastKnownGoodMaxAgeMs: config.lastKnownGood.maxAgeSeconds * 1000,
  };
}
