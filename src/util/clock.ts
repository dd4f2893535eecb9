/** A cancellable timer handle. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as ballast sees it. Everything that reads the time or waits goes through a Clock, so tests drive time by
 * hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Runs `fn` once the I/O already waiting has been handled. Node runs due timers before it polls sockets, so after
 * the event loop was blocked (a busy process, a GC pause) a timeout can fire while its answer sits unread in the
 * socket buffer. Deciding "no answer" after pending I/O means a late timer never blames an upstream for ballast's
 * own stall.
 */
export function afterPendingIo(fn: () => void): void {
  setImmediate(fn);
}

/** A clock that only moves when told to: `advance(ms)` fires due timers in order. For tests and simulations. */
export class ManualClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  private seq = 0;

  constructor(private current = 1_700_000_000_000) {}

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer = { at: this.current + Math.max(ms, 0), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  /** Moves time forward by `ms`, running every timer that falls due, including ones scheduled on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      let next: (typeof this.timers)[number] | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = t;
      }
      if (next === undefined) break;
      this.current = Math.max(this.current, next.at);
      next.live = false;
      next.fn();
    }
    this.current = target;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
}
