import type { Counter } from './prom.js';

/** What the request path calls per query: one more. */
export interface Tally {
  inc(): void;
}

/**
 * A child of a prom-client Counter that counts in a plain number and hands the count to the counter when the
 * registry is read (docs/performance.md §3). prom-client's own child builds a label hash string, checks the labels
 * and returns an object on every inc(): about a fifth of a cache hit's work, three times per hit. This one is a
 * field increment; /metrics shows the same values, since the counter's collect() adds what was counted first.
 */
class PendingTally implements Tally {
  count = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(): void {
    this.count++;
  }
}

const talliesOf = new WeakMap<object, PendingTally[]>();

/**
 * Tallies of a one-label counter by label value, made on first use: `labels(value).inc()` as with prom-client, for
 * counters counted on a per-query path with a label known only then (the stale path's reason).
 */
export function tallies(counter: Counter<string>): { labels(value: string): Tally } {
  const byValue = new Map<string, Tally>();
  return {
    labels(value: string): Tally {
      let t = byValue.get(value);
      if (t === undefined) {
        t = tally(counter, value);
        byValue.set(value, t);
      }
      return t;
    },
  };
}

/** A Tally for `counter` with these label values, in the order of the counter's labelNames. */
export function tally(counter: Counter<string>, ...values: string[]): Tally {
  let list = talliesOf.get(counter);
  if (list === undefined) {
    const tallies: PendingTally[] = [];
    list = tallies;
    talliesOf.set(counter, list);
    // prom-client calls a metric's collect() before every read of its values (registry.metrics(), get()).
    const metric = counter as unknown as { collect?: () => unknown };
    const previous = metric.collect;
    metric.collect = function (this: Counter<string>) {
      for (const t of tallies) {
        if (t.count === 0) continue;
        const n = t.count;
        t.count = 0;
        this.inc(t.labels, n);
      }
      return previous?.call(this);
    };
  }
  const names = (counter as unknown as { labelNames: string[] }).labelNames;
  const labels: Record<string, string> = {};
  names.forEach((name, i) => {
    labels[name] = values[i];
  });
  const t = new PendingTally(labels);
  list.push(t);
  return t;
}
