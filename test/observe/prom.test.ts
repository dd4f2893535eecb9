// observe/prom.ts loads prom-client's classes and default-metric modules by path, not through its index (docs/
// performance.md §2). These paths are not prom-client's public API, so a prom-client upgrade that moves them must
// fail here, and the metrics ballast documents must still be exported under their names.
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, registerProcessMetrics } from '../../src/observe/prom.js';
import { createRegistry } from '../../src/observe/registry.js';

describe('observe/prom', () => {
  it("loads the very classes prom-client's public index exports, from the modules the index takes them from", async () => {
    const index = await import('prom-client');
    expect(Registry).toBe(index.Registry);
    expect(Counter).toBe(index.Counter);
    expect(Gauge).toBe(index.Gauge);
    expect(Histogram).toBe(index.Histogram);
  });

  it('gives working prom-client classes', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 't_total', help: 'h', labelNames: ['k'], registers: [registry] });
    c.labels('a').inc(2);
    new Gauge({ name: 't_gauge', help: 'h', registers: [registry] }).set(3);
    new Histogram({ name: 't_hist', help: 'h', buckets: [1], registers: [registry] }).observe(0.5);
    const text = await registry.metrics();
    expect(text).toContain('t_total{k="a"} 2');
    expect(text).toContain('t_gauge 3');
    expect(text).toContain('t_hist_bucket{le="1"} 1');
  });

  it('exports the process metrics docs/metrics.md and the dashboards use, CPU included', async () => {
    const since = process.cpuUsage();
    const registry = createRegistry();
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of [
      'ballast_process_cpu_seconds_total',
      'ballast_process_cpu_user_seconds_total',
      'ballast_process_resident_memory_bytes',
      'ballast_process_start_time_seconds',
      'ballast_process_open_fds',
      'ballast_process_max_fds',
      'ballast_nodejs_heap_size_used_bytes',
      'ballast_nodejs_active_handles_total',
      'ballast_nodejs_heap_size_limit_bytes',
    ]) {
      expect(names).toContain(name);
    }
    // Some CPU time spent after the registry was made: the counter holds it, and no more than the process used.
    const until = performance.now() + 20;
    while (performance.now() < until);
    const cpu = (await registry.getSingleMetric('ballast_process_cpu_seconds_total')!.get()).values[0].value;
    const used = process.cpuUsage(since);
    expect(cpu).toBeGreaterThan(0);
    expect(cpu).toBeLessThanOrEqual((used.user + used.system) / 1e6);
    const limit = (await registry.getSingleMetric('ballast_nodejs_heap_size_limit_bytes')!.get()).values[0].value;
    expect(limit).toBe((await import('node:v8')).getHeapStatistics().heap_size_limit);
  });

  it('registers into the given registry only', async () => {
    const a = new Registry();
    registerProcessMetrics(a, 'x_');
    expect((await new Registry().getMetricsAsJSON()).length).toBe(0);
    expect((await a.getMetricsAsJSON()).length).toBeGreaterThan(5);
  });
});
