/** What starting a fetch gives: its promise, and how to tell it that another client joined. */
export interface Started<T> {
  readonly promise: Promise<T>;
  readonly join?: (client: string) => void;
}

/** An upstream fetch in flight, shared by everyone asking for its key. */
export interface Flight<T> extends Started<T> {
  readonly startedAt: number;
}

/**
 * At most one upstream fetch per cache key at a time (docs/design.md §2.2), for misses, stale refreshes and
 * prefetches alike: a second asker joins the first one's flight, which is forgotten as soon as it settles.
 */
export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  has(key: string): boolean {
    return this.flights.has(key);
  }

  /** The flight for `key`: the one in the air (`joined`), or a new one from `start()`. */
  run(key: string, now: number, start: () => Started<T>): { flight: Flight<T>; joined: boolean } {
    const existing = this.flights.get(key);
    if (existing !== undefined) return { flight: existing, joined: true };
    const flight = { ...start(), startedAt: now };
    this.flights.set(key, flight);
    const settled = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.promise.then(settled, settled);
    return { flight, joined: false };
  }

  /** Fetches in flight (distinct keys). */
  get size(): number {
    return this.flights.size;
  }
}
