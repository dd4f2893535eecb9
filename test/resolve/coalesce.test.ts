// Coalescing (docs/design.md §2.2): one upstream fetch per cache key at a time.
import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/resolve/index.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Coalescer', () => {
  it('starts one fetch per key; later askers join it and share its result', async () => {
    const c = new Coalescer<string>();
    const d = deferred<string>();
    let starts = 0;
    const start = () => {
      starts++;
      return { promise: d.promise };
    };
    const first = c.run('k', 1000, start);
    const second = c.run('k', 1500, start);
    expect(first.joined).toBe(false);
    expect(second.joined).toBe(true);
    expect(second.flight).toBe(first.flight);
    expect(second.flight.startedAt).toBe(1000);
    expect(c.run('other', 1500, () => ({ promise: Promise.resolve('x') })).joined).toBe(false);
    expect(c.size).toBe(2);
    d.resolve('answer');
    expect(await second.flight.promise).toBe('answer');
    expect(starts).toBe(1);
  });

  it('forgets a flight once it settles, either way, so the next asker starts a new one', async () => {
    const c = new Coalescer<string>();
    const d = deferred<string>();
    const { flight } = c.run('k', 0, () => ({ promise: d.promise }));
    d.reject(new Error('timeout'));
    await expect(flight.promise).rejects.toThrow('timeout');
    expect(c.has('k')).toBe(false);
    expect(c.run('k', 1, () => ({ promise: Promise.resolve('fresh') })).joined).toBe(false);
  });
});
