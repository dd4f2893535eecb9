import { Counter, type CounterConfiguration } from './prom.js';

/** What the request path calls per query: one more. */
export interface Tally {
  inc(): void;
}

/** A count kept in a plain number for one label set, handed to the counter at the next read. */
class PendingTally implements Tally {
  count = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(): void {
    this.count++;
  }
}

/**
 * A prom-client Counter for a per-query path (docs/performance.md §3). prom-client's own child builds a label hash
 * string, checks the labels and returns an object on every inc(): about a fifth of a cache hit's work, three times
 * per hit. A tally is a field increment; the counter's `collect` (prom-client's documented hook, called before every
 * read of its values: registry.metrics(), get()) adds what was counted, so /metrics shows the same values.
 */
export class TalliedCounter<T extends string = string> {
  readonly counter: Counter<T>;
  private readonly pending: PendingTally[] = [];
  private readonly byValue = new Map<string, Tally>();
  private readonly labelNames: readonly T[];

  constructor(config: Omit<CounterConfiguration<T>, 'collect'>) {
    const pending = this.pending;
    this.labelNames = config.labelNames ?? [];
    this.counter = new Counter<T>({
      ...config,
      collect() {
        for (const t of pending) {
          if (t.count === 0) continue;
          const n = t.count;
          t.count = 0;
          this.inc(t.labels as Partial<Record<T, string>>, n);
        }
      },
    });
  }

  /** A tally for these label values, in the order of `labelNames`. */
  tally(...values: string[]): Tally {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => {
      labels[name] = values[i];
    });
    const t = new PendingTally(labels);
    this.pending.push(t);
    return t;
  }

  /** The tally of a one-label counter for `value`, made on first use (a label known only on the path). */
  labels(value: string): Tally {
    let t = this.byValue.get(value);
    if (t === undefined) {
      t = this.tally(value);
      this.byValue.set(value, t);
    }
    return t;
  }
}
