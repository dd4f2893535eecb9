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

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  live: boolean;
}

/** Whether timer `a` fires before `b`: earlier first, and in creation order at the same time. */
function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A clock that only moves when told to: `advance(ms)` fires due timers in order. For tests and simulations.
 *
 * Timers wait in a binary heap ordered by (time, creation order), so a simulation of thousands of nodes, each with
 * its own timers, pays O(log n) per timer rather than a scan of every timer on every step. A cancelled timer stays in
 * the heap, marked dead, until it reaches the top (cancelling is O(1)); `pending` counts only live ones.
 */
export class ManualClock implements Clock {
  private readonly heap: ManualTimer[] = [];
  private seq = 0;
  private live = 0;

  constructor(private current = 1_700_000_000_000) {}

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: ManualTimer = { at: this.current + Math.max(ms, 0), seq: this.seq++, fn, live: true };
    this.push(timer);
    this.live++;
    return {
      cancel: () => {
        if (!timer.live) return;
        timer.live = false;
        this.live--;
      },
    };
  }

  /** Moves time forward by `ms`, running every timer that falls due, including ones scheduled on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.peek(); next !== undefined && next.at <= target; next = this.peek()) {
      this.pop();
      this.current = Math.max(this.current, next.at);
      next.live = false;
      this.live--;
      next.fn();
    }
    this.current = target;
  }

  /** When the next live timer is due, or undefined when none waits (a simulation steps from event to event). */
  get nextAt(): number | undefined {
    return this.peek()?.at;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.live;
  }

  /** The earliest live timer, dropping dead ones found on top. */
  private peek(): ManualTimer | undefined {
    const heap = this.heap;
    while (heap.length > 0 && !heap[0].live) this.pop();
    return heap[0];
  }

  private push(t: ManualTimer): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(t);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(t, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = t;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && before(heap[r], heap[l]) ? r : l;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}
