// observe/counting.ts: per-query counts kept in plain numbers and handed to prom-client when the registry is read
// (docs/performance.md §3), through the counter's own `collect` option. What a scrape shows must be what prom-client's
// own children would have shown.
import { describe, expect, it } from 'vitest';
import { TalliedCounter } from '../../src/observe/counting.js';
import { Registry } from '../../src/observe/prom.js';

describe('TalliedCounter', () => {
  it('shows every count at each read, per label set, and keeps counting after a read', async () => {
    const registry = new Registry();
    const tallied = new TalliedCounter({ name: 't_total', help: 'h', labelNames: ['a', 'b'], registers: [registry] });
    const x = tallied.tally('x', '1');
    const y = tallied.tally('y', '2');
    for (let i = 0; i < 5; i++) x.inc();
    y.inc();
    tallied.counter.labels('x', '1').inc(10); // prom-client's own child on the same counter adds up with the tally
    expect(await registry.metrics()).toContain('t_total{a="x",b="1"} 15');
    x.inc();
    const values = (await tallied.counter.get()).values;
    expect(values.find((v) => v.labels.a === 'x')?.value).toBe(16);
    expect(values.find((v) => v.labels.a === 'y')?.value).toBe(1);
  });

  it('works for a counter without labels', async () => {
    const registry = new Registry();
    const t = new TalliedCounter({ name: 'p_total', help: 'h', registers: [registry] }).tally();
    t.inc();
    t.inc();
    expect(await registry.metrics()).toContain('p_total 2');
    expect(await registry.metrics()).toContain('p_total 2'); // read twice: nothing counted twice
  });

  it('makes one tally per label value, on first use', async () => {
    const registry = new Registry();
    const byReason = new TalliedCounter({ name: 'r_total', help: 'h', labelNames: ['reason'], registers: [registry] });
    expect(byReason.labels('down')).toBe(byReason.labels('down'));
    byReason.labels('down').inc();
    byReason.labels('busy').inc();
    const text = await registry.metrics();
    expect(text).toContain('r_total{reason="down"} 1');
    expect(text).toContain('r_total{reason="busy"} 1');
  });
});
