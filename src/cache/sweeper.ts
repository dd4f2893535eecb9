import type { Clock, Timer } from '../util/clock.js';
import { keyName } from './key.js';
import type { CacheState } from './state.js';

/**
 * The sweep over every slot (docs/design.md §4): demotes each expired entry to the stale tier, so stale ones are
 * evicted before fresh ones, and drops each one past stale.maxAgeSeconds unless `keepDead(qname)` keeps it (the
 * option that holds answers while their zone's upstreams are down). O(entries) over typed arrays; a name is read
 * from the key's bytes only for dead entries.
 */
export function sweepSlots(
  cache: CacheState,
  nowMs: number,
  keepDead: (qname: string) => boolean,
): { demoted: number; dropped: number } {
  const store = cache.storage;
  const { storedAt, ttl } = cache.columns;
  const expiresAt = (slot: number) => storedAt[slot] + ttl[slot] * 1000;
  let demoted = 0;
  let dropped = 0;
  for (const slot of store.slots('primary')) {
    if (nowMs >= expiresAt(slot)) {
      store.demote(slot);
      demoted++;
    }
  }
  const maxAgeMs = cache.options.staleMaxAgeSeconds * 1000;
  for (const slot of store.slots('secondary')) {
    if (nowMs < expiresAt(slot) + maxAgeMs) continue;
    if (keepDead(keyName(store.slab(slot), store.keyOffset(slot), store.keyLength(slot)))) continue;
    store.delete(slot);
    dropped++;
  }
  return { demoted, dropped };
}

/** How often expired entries are demoted and dead ones dropped. */
export const SWEEP_INTERVAL_MS = 5000;

/**
 * The cache's housekeeping on the injected clock: every few seconds, demote expired entries (so stale ones are
 * evicted before fresh ones, docs/design.md §4) and drop those past stale.maxAgeSeconds, unless `keepDead` keeps a
 * name (the option that holds answers past their maximum age while the zone's upstreams are down).
 */
export class Sweeper {
  private timer: Timer | undefined;

  constructor(
    private readonly cache: { sweep(nowMs: number, keepDead: (qname: string) => boolean): unknown },
    private readonly clock: Clock,
    private readonly keepDead: (qname: string) => boolean,
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
