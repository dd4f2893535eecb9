// Fair queuing of upstream-bound capacity (docs/design.md §4): a client alone may use all of it; under contention
// each waits its turn in its own queues; only a full queue refuses. Capacity here is a counter the test controls.
import { describe, expect, it } from 'vitest';
import { QueueFullError, UpstreamBusyError } from '../../src/errors.js';
import { FairQueue } from '../../src/resolve/index.js';
import { ManualClock } from '../../src/util/clock.js';

/** A pool of `slots` that the test frees by hand; started jobs are recorded in order. */
function pool(slots: number, opts = { queues: 16, handSize: 2, queueLength: 4 }) {
  const clock = new ManualClock();
  let free = slots;
  const listeners = new Set<() => void>();
  const started: string[] = [];
  const capacity = {
    available: () => free > 0,
    subscribe: (fn: () => void) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const queue = new FairQueue(opts, capacity, clock);
  const job = (name: string) => () => {
    free--;
    started.push(name);
    return Promise.resolve(name);
  };
  const release = (n = 1) => {
    free += n;
    for (const fn of [...listeners]) fn();
  };
  return { clock, queue, job, release, started, listeners };
}

describe('FairQueue', () => {
  it('starts at once while there is capacity: a client alone may use all of it', async () => {
    const { queue, job, started } = pool(3);
    await Promise.all(['a1', 'a2', 'a3'].map((n) => queue.run('10.0.0.1', job(n), 4000)));
    expect(started).toEqual(['a1', 'a2', 'a3']);
    expect(queue.size).toBe(0);
  });

  it('under contention serves clients in turn, so a flood does not delay another client behind it', async () => {
    const { queue, job, release, started } = pool(1, { queues: 64, handSize: 1, queueLength: 100 });
    void queue.run('flood', job('busy'), 4000); // takes the one slot
    const results: Promise<string>[] = [];
    for (let i = 0; i < 10; i++) results.push(queue.run('10.0.0.1', job(`flood${i}`), 4000));
    results.push(queue.run('10.0.0.2', job('other'), 4000));
    expect(queue.size).toBe(11);
    release();
    release();
    expect(started.slice(1)).toEqual(['flood0', 'other']); // the second client's query is served next, not 11th
    for (let i = 0; i < 9; i++) release();
    expect(await Promise.all(results)).toHaveLength(11);
    expect(queue.size).toBe(0);
  });

  it('refuses only when the client’s queues are full, and leaves other clients alone', async () => {
    const { queue, job } = pool(0, { queues: 16, handSize: 1, queueLength: 2 });
    void queue.run('10.0.0.1', job('q1'), 4000);
    void queue.run('10.0.0.1', job('q2'), 4000);
    await expect(queue.run('10.0.0.1', job('q3'), 4000)).rejects.toBeInstanceOf(QueueFullError);
    // A different address almost surely has another queue in its hand (here: checked, it does).
    expect(queue.size).toBe(2);
    void queue.run('10.0.0.2', job('other'), 4000);
    expect(queue.size).toBe(3);
  });

  it('a waiter that gets no capacity by its deadline fails (busy), and is forgotten', async () => {
    const { clock, queue, job, listeners } = pool(0);
    const waiting = queue.run('10.0.0.1', job('late'), 4000);
    clock.advance(4000);
    await expect(waiting).rejects.toBeInstanceOf(UpstreamBusyError);
    expect(queue.size).toBe(0);
    expect(listeners.size).toBe(1); // still subscribed until the next pump finds nobody waiting
  });

  it('deals each client the same hand every time (shuffle sharding)', async () => {
    const { queue, job } = pool(0, { queues: 64, handSize: 1, queueLength: 1 });
    void queue.run('10.0.0.7', job('first'), 4000);
    // Same address, same single queue, already full.
    await expect(queue.run('10.0.0.7', job('second'), 4000)).rejects.toBeInstanceOf(QueueFullError);
  });
});
