// Fair queuing of one upstream's capacity (docs/resilience.md, "Fair queuing"): a flow alone may use all of it;
// under contention flows take turns by the slot time they have used; a coalesced asker waits in its own lane too;
// only a full lane refuses. Capacity here is a counter the test controls, time a ManualClock.
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

/** A pool of `slots` that the test frees by hand; started queries are recorded in order, with their release. */
function pool(slots: number, opts = { queues: 16, handSize: 2, queueLength: 4 }) {
  const clock = new ManualClock();
  let free = slots;
  const listeners = new Set<() => void>();
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const expired: string[] = [];
  const capacity = {
    hasRoom: () => free > 0,
    subscribe: (fn: () => void) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const queue = new FairQueue(opts, capacity, clock);
  /** Asks for a slot for `name` as `flow`: at once if free, else a ticket (undefined when the lane is full). */
  const ask = (flow: string, name: string, deadlineMs = 4000) => {
    const start = (release: () => void) => {
      free--;
      started.push(name);
      releases.set(name, release);
    };
    if (queue.free) {
      start(() => {});
      return 'started' as const;
    }
    return queue.wait(flow, start, () => expired.push(name), deadlineMs);
  };
  /** `name` lets go of its slot after `heldMs`. */
  const finish = (name: string, heldMs = 0) => {
    clock.advance(heldMs);
    releases.get(name)?.();
    free++;
    for (const fn of [...listeners]) fn();
  };
  return { clock, queue, ask, finish, started, expired, listeners };
}

describe('FairQueue', () => {
  it('starts at once while there is capacity: a flow alone may use all of it', () => {
    const { ask, started, queue } = pool(3);
    for (const n of ['a1', 'a2', 'a3']) expect(ask('10.0.0.1 .', n)).toBe('started');
    expect(started).toEqual(['a1', 'a2', 'a3']);
    expect(queue.size).toBe(0);
  });

  it('under contention serves flows in turn, so a flood does not delay another flow behind it', () => {
    const { ask, finish, started, queue } = pool(1, { queues: 64, handSize: 1, queueLength: 100 });
    ask('flood cluster.local', 'busy');
    for (let i = 0; i < 10; i++) ask('flood cluster.local', `flood${i}`);
    ask('quiet .', 'other');
    expect(queue.size).toBe(11);
    finish('busy', 10);
    finish('flood0', 10);
    expect(started.slice(1)).toEqual(['flood0', 'other']); // the quiet flow is served next, not 11th
  });

  it('turns follow slot time, not count: a flow whose queries hold slots 10× longer gets about 1/10 of the turns', () => {
    const { ask, finish, started } = pool(1, { queues: 64, handSize: 1, queueLength: 1000 });
    ask('x', 'first');
    for (let i = 0; i < 200; i++) {
      ask('slow', `slow${i}`);
      ask('fast', `fast${i}`);
    }
    finish('first', 1);
    // Serve 110 turns: each slow query holds its slot 100 ms, each fast one 10 ms.
    for (let turn = 0; turn < 110; turn++) {
      const name = started[started.length - 1];
      finish(name, name.startsWith('slow') ? 100 : 10);
    }
    const slow = started.filter((n) => n.startsWith('slow')).length;
    const fast = started.filter((n) => n.startsWith('fast')).length;
    expect(fast).toBeGreaterThan(8 * slow);
  });

  it('a lane that was idle starts at the current virtual time: idling saves no credit', () => {
    const { ask, finish, started } = pool(1, { queues: 64, handSize: 1, queueLength: 1000 });
    ask('x', 'first');
    for (let i = 0; i < 20; i++) ask('a', `a${i}`);
    finish('first', 1);
    for (let i = 0; i < 10; i++) finish(started[started.length - 1], 10);
    // b arrives late: it shares turns with a from now on, it does not get ten turns in a row to catch up.
    for (let i = 0; i < 20; i++) ask('b', `b${i}`);
    for (let i = 0; i < 10; i++) finish(started[started.length - 1], 10);
    const last10 = started.slice(-10);
    expect(last10.filter((n) => n.startsWith('b')).length).toBeLessThanOrEqual(6);
    expect(last10.filter((n) => n.startsWith('a')).length).toBeGreaterThanOrEqual(4);
  });

  it('a flow that joins a waiting query waits in its own lane too: it does not inherit the first asker’s place', () => {
    const { ask, finish, started } = pool(1, { queues: 64, handSize: 1, queueLength: 1000 });
    ask('x', 'first');
    for (let i = 0; i < 50; i++) ask('flood', `flood${i}`);
    const shared = ask('flood', 'shared'); // the flood asked it first: 51st in the flood's lane
    if (shared === 'started' || shared === undefined) throw new Error('expected a ticket');
    shared.join('quiet');
    finish('first');
    finish(started[started.length - 1]);
    expect(started.slice(1, 3)).toContain('shared'); // served on the quiet flow's turn
    expect(started.filter((n) => n === 'shared')).toHaveLength(1); // once, not once per lane
  });

  it('refuses only when the flow’s lane is full, and leaves other flows alone', () => {
    const { ask, queue } = pool(0, { queues: 16, handSize: 1, queueLength: 2 });
    ask('10.0.0.1 .', 'q1');
    ask('10.0.0.1 .', 'q2');
    expect(ask('10.0.0.1 .', 'q3')).toBeUndefined();
    expect(queue.size).toBe(2);
    expect(ask('10.0.0.2 .', 'other')).toBeDefined();
    expect(queue.size).toBe(3);
  });

  it('a waiter that gets no capacity by its deadline expires and is forgotten; a cancelled one is too', () => {
    const { clock, ask, expired, queue } = pool(0);
    const t = ask('10.0.0.1 .', 'late', 4000);
    const c = ask('10.0.0.2 .', 'cancelled', 4000);
    if (typeof c !== 'object' || typeof t !== 'object') throw new Error('expected tickets');
    c.cancel();
    expect(queue.size).toBe(1);
    clock.advance(4000);
    expect(expired).toEqual(['late']);
    expect(queue.size).toBe(0);
  });

  it('deals each flow the same hand every time (shuffle sharding)', () => {
    const { ask } = pool(0, { queues: 64, handSize: 1, queueLength: 1 });
    ask('10.0.0.7 .', 'first');
    expect(ask('10.0.0.7 .', 'second')).toBeUndefined(); // same flow, same single lane, already full
  });
});
