// The discrete-event engine: one ManualClock (the product's own, a binary heap of timers) carries every node's
// timers, the pods' arrivals and the network's deliveries. Time moves from event to event; after each step the engine
// yields to Node's event loop (setImmediate) so that what ballast does in promise continuations and in its "after
// pending I/O" callbacks (src/util/clock.ts, which uses setImmediate) runs at the virtual instant it belongs to, before
// time moves on — the same order a real event loop gives them. Nothing here reads the wall clock.

import { ManualClock, type Timer } from '../util/clock.js';

const EPOCH = 1_700_000_000_000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Sim {
  readonly clock = new ManualClock(EPOCH);
  private readonly blocking: Promise<unknown>[] = [];

  /**
   * @param quantumMs events this close after the next one run in the same step (their promise continuations then
   *   see the step's end as "now"): a bound on timing error traded for fewer yields. 1 ms by default.
   */
  constructor(private readonly quantumMs = 1) {}

  /** Milliseconds since the run began. */
  get t() {
    return this.clock.now() - EPOCH;
  }

  after(ms: number, fn: () => void): Timer {
    return this.clock.setTimer(fn, ms);
  }

  at(ms: number, fn: () => void): Timer {
    return this.clock.setTimer(fn, ms - this.t);
  }

  /** Holds virtual time still until `promise` settles (a restart that writes its snapshot to disk). */
  block(promise: Promise<unknown>): void {
    this.blocking.push(promise);
  }

  /** Runs every event up to `untilMs` since the start. */
  async run(untilMs: number): Promise<void> {
    const clock = this.clock;
    for (;;) {
      const next = clock.nextAt;
      if (next === undefined || next - EPOCH > untilMs) break;
      const stepEnd = Math.min(next - EPOCH + this.quantumMs, untilMs);
      clock.advance(Math.max(0, stepEnd - this.t));
      await yieldToLoop();
      while (this.blocking.length > 0) await Promise.all(this.blocking.splice(0));
    }
    if (untilMs > this.t) clock.advance(untilMs - this.t);
  }
}
