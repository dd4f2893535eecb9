import { QueueFullError, UpstreamBusyError } from '../errors.js';
import type { Clock, Timer } from '../util/clock.js';

export interface FairnessOptions {
  /** Queues that client addresses are shuffle-sharded over. */
  readonly queues: number;
  /** Queues in one client's hand; its queries wait in the shortest of them. */
  readonly handSize: number;
  /** Queries one queue holds at most; beyond it the query is refused. */
  readonly queueLength: number;
}

/** Where the queue asks for capacity: whether one more upstream query may start now, and news when some frees up. */
export interface Capacity {
  available(): boolean;
  /** Calls `fn` when capacity may have freed; returns the unsubscribe. */
  subscribe(fn: () => void): () => void;
}

interface Waiter {
  readonly start: () => void;
  readonly expire: Timer;
}

/** What the queue reports as it works (the zone's children of the fair-queue metrics). */
export interface QueueEvents {
  readonly waiting: { inc(): void; dec(): void };
  readonly refused: { inc(): void };
}

/**
 * Fair sharing of upstream-bound capacity among clients, as API Priority and Fairness shares the API server's
 * (docs/design.md §4, "fairness, not refusal"). A query starts at once while there is capacity and nobody waits, so a
 * client alone may use all of it. Under contention it waits in one of the queues of its client's hand — a
 * deterministic, shuffle-sharded set of `handSize` out of `queues`, the shortest one — and the queues are served in
 * turn as capacity frees, so a flood from one address cannot starve anyone else: another client shares few or none
 * of the flooder's queues. Only a full queue refuses, and a query that waited past its deadline fails.
 */
export class FairQueue {
  private readonly queues: Waiter[][];
  private turn = 0;
  private waiting = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly opts: FairnessOptions,
    private readonly capacity: Capacity,
    private readonly clock: Clock,
    private readonly events?: QueueEvents,
  ) {
    this.queues = Array.from({ length: opts.queues }, () => []);
  }

  /**
   * Runs `start` now, or when the client's turn comes, telling it how long the query waited (the deadline runs from
   * when the query arrived, not from when it got capacity). Rejects with QueueFullError when the queue is full, and
   * with UpstreamBusyError when the query waited `deadlineMs` without getting capacity.
   */
  run<T>(client: string, start: (waitedMs: number) => Promise<T>, deadlineMs: number): Promise<T> {
    if (this.waiting === 0 && this.capacity.available()) return start(0);
    const queue = this.shortestInHand(client);
    if (queue.length >= this.opts.queueLength) {
      this.events?.refused.inc();
      return Promise.reject(new QueueFullError(`queue of ${client} is full (${queue.length} waiting)`));
    }
    const queuedAt = this.clock.now();
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => start(this.clock.now() - queuedAt).then(resolve, reject),
        expire: this.clock.setTimer(() => {
          const i = queue.indexOf(waiter);
          if (i === -1) return;
          queue.splice(i, 1);
          this.waiting--;
          this.events?.waiting.dec();
          reject(new UpstreamBusyError(`no upstream capacity within ${deadlineMs} ms`));
        }, deadlineMs),
      };
      queue.push(waiter);
      this.waiting++;
      this.events?.waiting.inc();
      this.unsubscribe ??= this.capacity.subscribe(() => this.pump());
      this.pump();
    });
  }

  /** Queries waiting now. */
  get size(): number {
    return this.waiting;
  }

  /** Starts waiters in turn, one queue after the other, while there is capacity. */
  private pump(): void {
    while (this.waiting > 0 && this.capacity.available()) {
      let queue = this.queues[this.turn];
      while (queue.length === 0) {
        this.turn = (this.turn + 1) % this.queues.length;
        queue = this.queues[this.turn];
      }
      const waiter = queue.shift()!;
      this.turn = (this.turn + 1) % this.queues.length;
      this.waiting--;
      this.events?.waiting.dec();
      waiter.expire.cancel();
      waiter.start();
    }
    if (this.waiting === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }

  /**
   * The shortest queue of the client's hand. The hand is dealt from a hash of the address (FNV-1a), like APF's
   * shuffle sharding: two clients share all their queues only with a vanishing probability.
   */
  private shortestInHand(client: string): Waiter[] {
    let h = 0x811c9dc5;
    for (let i = 0; i < client.length; i++) h = Math.imul(h ^ client.charCodeAt(i), 0x01000193) >>> 0;
    const n = this.queues.length;
    const hand = Math.min(this.opts.handSize, n);
    const deck = Array.from({ length: n }, (_, i) => i);
    let best: Waiter[] | undefined;
    for (let i = 0; i < hand; i++) {
      const j = i + (h % (n - i));
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      [deck[i], deck[j]] = [deck[j], deck[i]];
      const q = this.queues[deck[i]];
      if (best === undefined || q.length < best.length) best = q;
    }
    return best!;
  }
}
