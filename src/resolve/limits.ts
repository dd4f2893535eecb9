import { LRUCache } from 'lru-cache';
import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';

/**
 * Per-client token buckets on upstream-bound queries, so one noisy pod cannot spend the node's upstream budget.
 * Only queries that would go upstream are charged; cache hits are free. Clients are tracked by address in a
 * bounded LRU, so a spoofed-source flood cannot grow memory.
 */
export class ClientLimiter {
  private readonly buckets: LRUCache<string, TokenBucket>;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
    maxClients = 65_536,
  ) {
    this.buckets = new LRUCache<string, TokenBucket>({ max: maxClients });
  }

  /** Whether `client` may send one more query upstream now. Always true when the limit is 0 (disabled). */
  allow(client: string): boolean {
    if (this.perSecond === 0) return true;
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.perSecond, this.burst, this.clock);
      this.buckets.set(client, bucket);
    }
    return bucket.take();
  }
}
