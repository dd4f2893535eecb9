// observe/counting.ts: per-query counts kept in plain numbers and handed to prom-client when the registry is read
// (docs/performance.md §3). What a scrape shows must be what prom-client's own children would have shown.
import { describe, expect, it } from 'vitest';
import { tallies, tally } from '../../src/observe/counting.js';
import { Counter, Registry } from '../../src/observe/prom.js';

describe('tallies', () => {
  it('show every count at each read, per label set, and keep counting after a read', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 't_total', help: 'h', labelNames: ['a', 'b'], registers: [registry] });
    const x = tally(counter, 'x', '1');
    const y = tally(counter, 'y', '2');
    for (let i = 0; i < 5; i++) x.inc();
    y.inc();
    counter.labels('x', '1').inc(10); // prom-client's own child on the same counter adds up with the tally
    expect(await registry.metrics()).toContain('t_total{a="x",b="1"} 15');
    x.inc();
    const values = (await counter.get()).values;
    expect(values.find((v) => v.labels.a === 'x')?.value).toBe(16);
    expect(values.find((v) => v.labels.a === 'y')?.value).toBe(1);
  });

  it('keep the counter collect() it had, and work for counters without labels', async () => {
    const registry = new Registry();
    let collected = 0;
    const plain = new Counter({
      name: 'p_total',
      help: 'h',
      registers: [registry],
      collect() {
        collected++;
      },
    });
    const t = tally(plain);
    t.inc();
    t.inc();
    expect(await registry.metrics()).toContain('p_total 2');
    expect(collected).toBe(1);
  });

  it('make one tally per label value, on first use', async () => {
    const registry = new Registry();
    const byReason = tallies(
      new Counter({ name: 'r_total', help: 'h', labelNames: ['reason'], registers: [registry] }),
    );
    expect(byReason.labels('down')).toBe(byReason.labels('down'));
    byReason.labels('down').inc();
    byReason.labels('busy').inc();
    const text = await registry.metrics();
    expect(text).toContain('r_total{reason="down"} 1');
    expect(text).toContain('r_total{reason="busy"} 1');
  });
});
