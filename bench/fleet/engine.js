// The discrete-event engine: one ManualClock (the product's own, a binary heap of timers) carries every node's
// timers, the pods' arrivals and the network's deliveries. Time moves from event to event; after each step the engine
// yields to Node's event loop (setImmediate) so that what ballast does in promise continuations and in its "after
// pending I/O" callbacks (src/util/clock.ts, which uses setImmediate) runs at the virtual instant it belongs to, before
// time moves on — the same order a real event loop gives them. Nothing here reads the wall clock.

import { ManualClock } from '../../dist/util/clock.js';

const EPOCH = 1_700_000_000_000;
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

export class Sim {
  /**
   * @param quantumMs events this close after the next one run in the same step (their promise continuations then
   *   see the step's end as "now"): a bound on timing error traded for fewer yields. 1 ms by default.
   */
  constructor(quantumMs = 1) {
    this.clock = new ManualClock(EPOCH);
    this.quantumMs = quantumMs;
    this.blocking = [];
  }

  /** Milliseconds since the run began. */
  get t() {
    return this.clock.now() - EPOCH;
  }

  after(ms, fn) {
    return this.clock.setTimer(fn, ms);
  }

  at(ms, fn) {
    return this.clock.setTimer(fn, ms - this.t);
  }

  /** Holds virtual time still until `promise` settles (a restart that writes its snapshot to disk). */
  block(promise) {
    this.blocking.push(promise);
  }

  /** Runs every event up to `untilMs` since the start. */
  async run(untilMs) {
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
