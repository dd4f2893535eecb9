import type { Clock, Timer } from '../util/clock.js';

export interface FairnessOptions {
  /** Lanes that flows are shuffle-sharded over. */
  readonly queues: number;
  /** Lanes in one flow's hand; its queries wait in the shortest of them. */
  readonly handSize: number;
  /** Queries one lane holds at most; beyond it the query is refused. */
  readonly queueLength: number;
}

/** Where the queue asks for capacity: whether one more query may start now, and news when some frees up. */
export interface Capacity {
  hasRoom(): boolean;
  /** Calls `fn` when capacity may have freed; returns the unsubscribe. */
  subscribe(fn: () => void): () => void;
}

/** What the queue reports as it works (the upstream's children of the fair-queue metrics). */
export interface QueueEvents {
  readonly waiting: { inc(): void; dec(): void };
  readonly refused: { inc(): void };
}

/** A query waiting for capacity: in the lane of the flow that asked, and in those of any flow that joined it. */
export interface Ticket {
  /** Another flow waits on the same query (a coalesced asker): it waits in that flow's lane too. */
  join(flow: string): void;
  /** The query no longer wants capacity (it ended some other way). */
  cancel(): void;
}

interface Lane {
  readonly waiters: Waiter[];
  /** Slot time charged to the lane so far (ms), the virtual clock of start-time fair queuing. */
  virtual: number;
}

interface Waiter extends Ticket {
  readonly lanes: Lane[];
}

/** Starting estimate of how long a query holds a slot, before any was measured. */
const INITIAL_HOLD_MS = 5;

/**
 * Fair sharing of one upstream's capacity among flows, as API Priority and Fairness shares the API server's
 * (docs/resilience.md, "Fair queuing"). It sits where the capacity is, on the upstream, so a flood in one zone waits
 * beside, not in front of, a quiet client of another zone on the same address. A query starts at once while there
 * is capacity and nobody waits, so a flow alone may use all of it. Under contention it waits in a lane of its flow's
 * hand (a deterministic, shuffle-sharded set of `handSize` of `queues`, the shortest one), and the lanes are served
 * by start-time fair queuing: the non-empty lane that has held slots for the least time goes next. Each start charges
 * the lane the mean slot time, corrected to the real time when the query lets go, so a flow of slow names gets
 * fewer turns than a flow of fast ones, not the same number. A lane that was idle starts at the current virtual
 * time, so idling saves no credit. Only a full lane refuses, and a query that waited its deadline fails.
 */
export class FairQueue {
  private readonly lanes: Lane[];
  private waiting = 0;
  /** The lane served last: ties go to the lanes after it, in turn. */
  private turn = 0;
  /** The virtual time of the last lane served: where a lane that was empty starts. */
  private now = 0;
  private meanHoldMs = INITIAL_HOLD_MS;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly opts: FairnessOptions,
    private readonly capacity: Capacity,
    private readonly clock: Clock,
    private readonly events?: QueueEvents,
  ) {
    this.lanes = Array.from({ length: opts.queues }, () => ({ waiters: [], virtual: 0 }));
  }

  /** Whether a query may start now without waiting: capacity is free and nobody waits for it. */
  get free(): boolean {
    return this.waiting === 0 && this.capacity.hasRoom();
  }

  /** Queries waiting now. */
  get size(): number {
    return this.waiting;
  }

  /**
   * Waits for capacity in a lane of `flow`. When its turn comes, `start` runs with the function that reports the
   * slot let go (for the time accounting); after `deadlineMs` without a turn, `expire` runs instead. Returns
   * undefined, calling neither, when the shortest lane of the flow's hand is full.
   */
  wait(flow: string, start: (release: () => void) => void, expire: () => void, deadlineMs: number): Ticket | undefined {
    const lane = this.shortestInHand(flow);
    if (lane.waiters.length >= this.opts.queueLength) {
      this.events?.refused.inc();
      return undefined;
    }
    let done = false;
    const waiter: Waiter & { go(lane: Lane): void } = {
      lanes: [],
      join: (other) => {
        if (done) return;
        const more = this.shortestInHand(other);
        if (!waiter.lanes.includes(more) && more.waiters.length < this.opts.queueLength) this.enter(more, waiter);
      },
      cancel: () => {
        if (done) return;
        done = true;
        timer.cancel();
        this.leave(waiter);
      },
      go: (from) => {
        done = true;
        timer.cancel();
        this.leave(waiter);
        start(this.charge(from));
      },
    };
    const timer: Timer = this.clock.setTimer(() => {
      if (done) return;
      done = true;
      this.leave(waiter);
      expire();
    }, deadlineMs);
    this.enter(lane, waiter);
    this.waiting++;
    this.events?.waiting.inc();
    this.unsubscribe ??= this.capacity.subscribe(() => this.pump());
    this.pump();
    return waiter;
  }

  private enter(lane: Lane, waiter: Waiter): void {
    if (lane.waiters.length === 0) lane.virtual = Math.max(lane.virtual, this.now);
    lane.waiters.push(waiter);
    waiter.lanes.push(lane);
  }

  /** Takes the waiter out of every lane it is in; it no longer counts as waiting. */
  private leave(waiter: Waiter): void {
    for (const lane of waiter.lanes) lane.waiters.splice(lane.waiters.indexOf(waiter), 1);
    waiter.lanes.length = 0;
    this.waiting--;
    this.events?.waiting.dec();
  }

  /** Charges `lane` the mean slot time now, and returns what corrects it to the real time when the slot is let go. */
  private charge(lane: Lane): () => void {
    const estimate = this.meanHoldMs;
    const started = this.clock.now();
    this.now = lane.virtual;
    lane.virtual += estimate;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = this.clock.now() - started;
      lane.virtual += held - estimate;
      this.meanHoldMs += (held - this.meanHoldMs) / 8;
    };
  }

  /** Starts waiters while there is capacity, each from the non-empty lane with the least slot time charged. */
  private pump(): void {
    while (this.waiting > 0 && this.capacity.hasRoom()) {
      const n = this.lanes.length;
      let next = -1;
      for (let k = 1; k <= n; k++) {
        const i = (this.turn + k) % n;
        const lane = this.lanes[i];
        if (lane.waiters.length > 0 && (next === -1 || lane.virtual < this.lanes[next].virtual)) next = i;
      }
      this.turn = next;
      const lane = this.lanes[next];
      (lane.waiters[0] as Waiter & { go(lane: Lane): void }).go(lane);
    }
    if (this.waiting === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }

  /**
   * The shortest lane of the flow's hand. The hand is dealt from a hash of the flow (FNV-1a), like APF's shuffle
   * sharding: two flows share all their lanes only with a vanishing probability.
   */
  private shortestInHand(flow: string): Lane {
    let h = 0x811c9dc5;
    for (let i = 0; i < flow.length; i++) h = Math.imul(h ^ flow.charCodeAt(i), 0x01000193) >>> 0;
    const n = this.lanes.length;
    const hand = Math.min(this.opts.handSize, n);
    const deck = Array.from({ length: n }, (_, i) => i);
    let best: Lane | undefined;
    for (let i = 0; i < hand; i++) {
      const j = i + (h % (n - i));
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      [deck[i], deck[j]] = [deck[j], deck[i]];
      const lane = this.lanes[deck[i]];
      if (best === undefined || lane.waiters.length < best.waiters.length) best = lane;
    }
    return best!;
  }
}
