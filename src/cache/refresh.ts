import type { Clock, Timer } from '../util/clock.js';
import type { DnsCache } from './cache.js';

/** How often expired entries are demoted and dead ones dropped. */
export const SWEEP_INTERVAL_MS = 5000;

/**
 * The cache's housekeeping on the injected clock: every few seconds, demote expired entries (so stale ones are
 * evicted before fresh ones, docs/design.md §4) and drop those past stale.maxAgeSeconds, unless `keepDead` keeps a
 * key (the option that holds answers past their maximum age while the zone's upstreams are down).
 */
export class Sweeper {
  private timer: Timer | undefined;

  constructor(
    private readonly cache: DnsCache,
    private readonly clock: Clock,
    private readonly keepDead: (key: string) => boolean,
    private readonly intervalMs = SWEEP_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = this.clock.setTimer(() => {
      this.cache.sweep(this.clock.now(), this.keepDead);
      if (this.timer !== undefined) this.start();
    }, this.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
